"""Peak memory of the torch-free runtime on a 24-megapixel photo.

Each measurement runs ``edgerestore denoise`` in a fresh subprocess with torch
blocked (so nothing but the runtime is loaded) on a generated 6000x4000 noisy PNG,
and reads the child's peak resident set size from ``getrusage(RUSAGE_CHILDREN)``.
The budget the README states is checked here: the image itself (read as float32
HxWx3, the output, and the tiler's weight plane) is ~0.8 GB; the network's
activations are bounded by the tile size, not the photo.

Usage::

    python benchmarks/runtime_memory.py MODEL.onnx [MODEL.tflite ...] \
        [--width 6000 --height 4000] [--threads 2] [--json benchmarks/results/runtime_memory.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from edgerestore.runtime.image_io import write_image

#: The peak-RSS budget the README promises for a 24-megapixel photo.
BUDGET_GB = 2.0


def synthetic_photo(path: Path, width: int, height: int) -> None:
    """A smooth gradient scene with Gaussian noise (sigma 25/255), written as PNG."""
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    x = np.linspace(0, 1, width, dtype=np.float32)[None, :]
    rng = np.random.default_rng(0)
    image = np.empty((height, width, 3), np.float32)
    for c, (fy, fx) in enumerate(((3, 5), (7, 2), (4, 4))):
        image[:, :, c] = 0.5 + 0.3 * np.sin(fy * np.pi * y) * np.cos(fx * np.pi * x)
        image[:, :, c] += rng.normal(0, 25 / 255, (height, width)).astype(np.float32)
    write_image(path, image)


def measure(model: Path, photo: Path, out: Path, threads: int) -> dict:
    """Run one denoise in a torch-free child; return its wall time and peak RSS."""
    with tempfile.TemporaryDirectory() as blocker:
        (Path(blocker) / "torch").mkdir()
        (Path(blocker) / "torch" / "__init__.py").write_text("raise ImportError('blocked')\n")
        env = dict(os.environ, PYTHONPATH=blocker)
        start = time.perf_counter()
        with tempfile.TemporaryFile() as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", "edgerestore", "-q", "denoise", str(photo), "-o",
                 str(out), "--model", str(model), "--sigma", "25", "--threads", str(threads)],
                env=env, stdout=subprocess.DEVNULL, stderr=err)
            # wait4 gives this child's own rusage (RUSAGE_CHILDREN is a running maximum).
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            seconds = time.perf_counter() - start
            err.seek(0)
            stderr = err.read().decode(errors="replace")
    if proc.returncode != 0:
        raise SystemExit(f"{model}: denoise failed:\n{stderr}")
    peak_kb = usage.ru_maxrss
    return {"model": model.name, "seconds": round(seconds, 1),
            "peak_rss_gb": round(peak_kb / 1024**2, 3), "threads": threads}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", type=Path, nargs="+")
    parser.add_argument("--width", type=int, default=6000)
    parser.add_argument("--height", type=int, default=4000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        photo = Path(tmp) / "photo.png"
        synthetic_photo(photo, args.width, args.height)
        for model in args.models:
            row = measure(model, photo, Path(tmp) / "out.png", args.threads)
            row["within_budget"] = row["peak_rss_gb"] < BUDGET_GB
            rows.append(row)
            print(json.dumps(row), flush=True)
    result = {"image": f"{args.width}x{args.height}", "budget_gb": BUDGET_GB,
              "machine": {"cpu": platform.processor() or platform.machine(),
                          "cores": os.cpu_count(), "python": platform.python_version()},
              "command": " ".join(["python", *sys.argv]), "runs": rows}
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
