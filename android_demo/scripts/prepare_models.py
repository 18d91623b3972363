"""Export the demo's models with ``edgerestore export`` and write the web manifest.

Run by prepare_web.sh with the project's virtualenv. Re-exports from the shipped
weights every time (a retrained ``map_rgb.safetensors`` is picked up as is), copies
each fp32 .onnx and its .onnx.json sidecar into web/models/, writes
web/models/models.json, and saves the sample photo web/samples/astronaut.png.
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


def export(venv: Path, name: str, work: Path) -> Path:
    weights = REPO / "models" / "weights" / f"{name}.safetensors"
    out = work / name
    if out.exists():
        shutil.rmtree(out)
    subprocess.run(
        [str(venv / "bin" / "edgerestore"), "-q", "export", "--model", str(weights),
         "--format", "onnx", "--precision", "fp32", "--out", str(out)],
        check=True,
    )
    onnx = out / f"{name}_fp32.onnx"
    if not onnx.is_file():
        raise SystemExit(f"export did not write {onnx}")
    return onnx


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--venv", type=Path, required=True)
    ap.add_argument("--web", type=Path, required=True)
    ap.add_argument("--work", type=Path, required=True)
    args = ap.parse_args()

    models_dir = args.web / "models"
    models_dir.mkdir(parents=True, exist_ok=True)
    for old in models_dir.glob("*.onnx*"):
        old.unlink()
    manifest = []
    for name, role in MODELS:
        onnx = export(args.venv, name, args.work)
        card = json.loads(Path(f"{onnx}.json").read_text())
        shutil.copy2(onnx, models_dir / onnx.name)
        shutil.copy2(f"{onnx}.json", models_dir / f"{onnx.name}.json")
        data = onnx.read_bytes()
        manifest.append({
            "id": name,
            "role": role,
            "file": onnx.name,
            "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "format": card["format"],
            "precision": card["precision"],
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
        print(f"prepare_models: {onnx.name} {len(data)} bytes")
    (models_dir / "models.json").write_text(json.dumps({"models": manifest}, indent=2) + "\n")

    from PIL import Image
    from skimage import data

    samples = args.web / "samples"
    samples.mkdir(parents=True, exist_ok=True)
    Image.fromarray(data.astronaut()).resize((256, 256), Image.LANCZOS).save(
        samples / "astronaut.png", optimize=True)


if __name__ == "__main__":
    main()
