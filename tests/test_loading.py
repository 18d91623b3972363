"""The one denoiser-file dispatch: refused suffixes, and how DMSP's prior is found."""

from __future__ import annotations

import json

import pytest

from edgerestore.errors import ModelFileError
from edgerestore.loading import LoadedDenoiser, load_dae_prior, load_denoiser


def test_unsupported_suffix_is_a_model_file_error(tmp_path):
    with pytest.raises(ModelFileError, match=r"unsupported denoiser file type '\.pt'"):
        load_denoiser(tmp_path / "net.pt")


def test_dae_prior_falls_back_to_the_denoiser_when_its_card_names_none(tmp_path):
    loaded = LoadedDenoiser(lambda v, s: v, 11 / 255)
    denoiser = tmp_path / "map.onnx"
    assert load_dae_prior(denoiser, loaded, None, "cpu", 1) == (denoiser, loaded)
    # A card naming a DAE that is not there: still the denoiser itself, not an error.
    denoiser.with_suffix(".json").write_text(json.dumps({"dae": "gone.onnx"}))
    assert load_dae_prior(denoiser, loaded, None, "cpu", 1) == (denoiser, loaded)


def test_dae_prior_named_explicitly_is_loaded(tmp_path):
    loaded = LoadedDenoiser(lambda v, s: v, 11 / 255)
    with pytest.raises(ModelFileError, match="unsupported denoiser file type"):
        load_dae_prior(tmp_path / "map.onnx", loaded, tmp_path / "dae.bin", "cpu", 1)
