"""The one image-folder lister: what counts as an image, order, and its errors."""

from __future__ import annotations

import pytest

from edgerestore.errors import InputError
from edgerestore.runtime.image_files import IMAGE_SUFFIXES, is_image_file, list_images


def test_lists_images_by_name_any_case_and_nothing_else(tmp_path):
    for name in ("b.PNG", "a.jpg", "c.webp", "notes.txt", "d.tif"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "sub.png").mkdir()  # a folder named like an image is not one
    assert [p.name for p in list_images(tmp_path)] == ["a.jpg", "b.PNG", "c.webp", "d.tif"]
    assert not is_image_file(tmp_path / "notes.txt")
    assert ".webp" in IMAGE_SUFFIXES


def test_missing_or_empty_folders_name_the_option(tmp_path):
    with pytest.raises(InputError, match=r"^--images .*: not a folder of images"):
        list_images(tmp_path / "nope", "--images")
    with pytest.raises(InputError, match="contains no images"):
        list_images(tmp_path)
