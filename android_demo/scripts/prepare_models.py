"""Export the demo's models with ``edgerestore export`` and write the web manifest.

Run by prepare_web.sh with the project's virtualenv. Exports from the shipped weights
(a retrained ``map_rgb.safetensors`` is picked up as is; an export is reused only while
its report records the current weights hash), copies every file the pages run and its
.json card into web/models/, writes web/models/models.json (one entry per file), and
saves the sample photo web/samples/astronaut.png.

Files per model: ONNX fp32 (today's path, dynamic shape) and int8 for onnxruntime-web,
TFLite int8 (the phone-speed path) and fp32 (LiteRT.js parity and WebGPU) at the fixed
256x256 tile for LiteRT.js.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# (weights file, role in the demo)
MODELS = [
    ("blindspot_eff_gauss25_rgb", "denoise"),
    ("map_rgb", "map_denoiser"),
]


#: TFLite tile (fixed input shape of the .tflite files).
TILE = 256


def files_of(name: str) -> list[str]:
    return [f"{name}_fp32.onnx", f"{name}_int8.onnx",
            f"{name}_int8_{TILE}x{TILE}.tflite", f"{name}_fp32_{TILE}x{TILE}.tflite"]


def export(venv: Path, name: str, work: Path) -> list[Path]:
    """The model's files, exported again unless ``work`` has them for these weights."""
    weights = REPO / "src" / "edgerestore" / "models" / "weights" / f"{name}.safetensors"
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
    for name, role in MODELS:
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
                "training_sigma": card["noise"]["training_sigma"],
                "level_input": card["noise"].get("level_input"),
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
