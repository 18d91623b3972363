"""Export the demo's models with ``edgerestore export`` and write the web manifest.

Run by prepare_web.sh with the project's virtualenv. Exports from the shipped weights
(a retrained ``map_rgb.safetensors`` is picked up as is; an export is reused only while
its report records the current weights hash), copies every file the pages run and its
.json card into web/models/, writes web/models/models.json (one entry per file), and
saves the sample photo web/samples/astronaut.png.

Files per model: ONNX fp32 (today's path, dynamic shape) and int8 for onnxruntime-web,
TFLite int8 (the phone-speed path) and fp32 (LiteRT.js parity and WebGPU) at the fixed
256x256 tile for LiteRT.js.

Denoisers are of two noise kinds: ``gaussian`` (synthetic white noise: the page's
default when it adds noise itself) and ``real`` (camera noise: the default for a photo
as it is). A ``NAME_fast`` model is a distilled student (phone speed) of its kind; the
page prefers it when the manifest lists it. Optional models (the students) are
exported when their weights exist and skipped with a note otherwise. Everything the
page needs to run a model is copied from its card into the manifest: the task (and so
the inputs), ``tile_align`` (tile origins must be multiples of it), ``receptive_field``
and ``input_blend`` (the (noise level, weight) table applied once to the whole image).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# (weights file, role in the demo): exported always (their weights are shipped).
MODELS = [
    ("blindspot_eff_gauss25_rgb", "denoise"),
    ("blindspot_real_rgb", "denoise"),
    ("map_rgb", "map_denoiser"),
]
#: Exported when their weights exist, skipped with a note otherwise (the distilled
#: students, trained separately): name -> role.
OPTIONAL_MODELS = {
    "blindspot_gauss25_rgb_fast": "denoise",
    "blindspot_real_rgb_fast": "denoise",
}
#: Noise kind of each denoiser: "gaussian" (synthetic white noise) or "real" (camera).
NOISE_KIND = {
    "blindspot_eff_gauss25_rgb": "gaussian",
    "blindspot_gauss25_rgb_fast": "gaussian",
    "blindspot_real_rgb": "real",
    "blindspot_real_rgb_fast": "real",
}
#: Suffix of a distilled student's name: the phone-speed version of its noise kind.
FAST_SUFFIX = "_fast"


#: TFLite tile (fixed input shape of the .tflite files).
TILE = 256


def files_of(name: str) -> list[str]:
    return [f"{name}_fp32.onnx", f"{name}_int8.onnx",
            f"{name}_int8_{TILE}x{TILE}.tflite", f"{name}_fp32_{TILE}x{TILE}.tflite"]


def weights_of(name: str) -> Path:
    return REPO / "src" / "edgerestore" / "models" / "weights" / f"{name}.safetensors"


def export(venv: Path, name: str, work: Path) -> list[Path]:
    """The model's files, exported again unless ``work`` has them for these weights."""
    weights = weights_of(name)
    out = work / name
    sha = hashlib.sha256(weights.read_bytes()).hexdigest()
    report = out / "report.json"
    wanted = [out / f for f in files_of(name)]
    if not (report.is_file() and json.loads(report.read_text()).get("weights_sha256") == sha
            and all(p.is_file() for p in wanted)):
        if out.exists():
            shutil.rmtree(out)
        subprocess.run(
            [str(venv / "bin" / "edgerestore"), "-q", "export", "--model", str(weights),
             "--format", "all", "--precision", "fp32", "int8", "--tile", str(TILE),
             "--out", str(out)],
            check=True,
        )
    for p in wanted:
        if not p.is_file():
            raise SystemExit(f"export did not write {p}")
    return wanted


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--venv", type=Path, required=True)
    ap.add_argument("--web", type=Path, required=True)
    ap.add_argument("--work", type=Path, required=True)
    args = ap.parse_args()

    models_dir = args.web / "models"
    models_dir.mkdir(parents=True, exist_ok=True)
    for old in [*models_dir.glob("*.onnx*"), *models_dir.glob("*.tflite*")]:
        old.unlink()
    manifest = []
    targets = {}
    listed = [(name, role, False) for name, role in MODELS]
    listed += [(name, role, True) for name, role in OPTIONAL_MODELS.items()]
    for name, role, optional in listed:
        kind = NOISE_KIND.get(name)
        if not weights_of(name).is_file():
            if not optional:
                raise SystemExit(f"prepare_models: {weights_of(name)} is missing")
            print(f"prepare_models: note: skipping {name}: no {weights_of(name).name} "
                  "(not trained yet)")
            continue
        for path in export(args.venv, name, args.work):
            targets = json.loads((path.parent / "report.json").read_text())["targets"]
            card = json.loads(Path(f"{path}.json").read_text())
            shutil.copy2(path, models_dir / path.name)
            shutil.copy2(f"{path}.json", models_dir / f"{path.name}.json")
            data = path.read_bytes()
            manifest.append({
                "id": name,
                "role": role,
                "file": path.name,
                "bytes": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
                "format": card["format"],
                "precision": card["precision"],
                "tile": card.get("tile"),
                "task": card["task"],
                "inputs": card["inputs"],
                "output": card["output"],
                "layout": card["layout"],
                "channels": card["channels"],
                "value_range": card["value_range"],
                "receptive_field": card["receptive_field"],
                "tile_align": card.get("tile_align") or 1,
                "input_blend": card.get("input_blend"),
                "noise_kind": kind,
                "fast": name.endswith(FAST_SUFFIX),
                "training_sigma": (card.get("noise") or {}).get("training_sigma"),
                "level_input": (card.get("noise") or {}).get("level_input"),
                "macs_per_pixel": card.get("macs_per_pixel"),
            })
            print(f"prepare_models: {path.name} {len(data)} bytes")
    (models_dir / "models.json").write_text(json.dumps({"models": manifest, "export_targets": targets}, indent=2) + "\n")

    from PIL import Image
    from skimage import data

    samples = args.web / "samples"
    samples.mkdir(parents=True, exist_ok=True)
    Image.fromarray(data.astronaut()).resize((256, 256), Image.LANCZOS).save(
        samples / "astronaut.png", optimize=True)


if __name__ == "__main__":
    main()
