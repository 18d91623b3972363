"""How long a 12-megapixel photo takes with each packaged model (the README's table).

For every packaged model and every file of it the installed backends can run (by
default the file each backend would pick: the fastest of that backend), one
``edgerestore denoise`` / MAP-denoiser pass over a generated 4000x3000 noisy photo,
through the public API in this process, timed end to end (model already open, as
in a batch; session creation is reported separately). Blind-spot models get sigma
25; a MAP model's time is one pass of the prior, which deblur / inpaint / upscale
run once per ADMM iteration (up to 75).

Each row has the wall time and the process CPU time: on a shared, loaded machine the
wall time grows with the load, while at ``--threads 1`` the CPU time stays close to
what one otherwise idle core takes.

Usage::

    nice -n 19 python benchmarks/photo_12mp.py --threads 1 \
        [--json benchmarks/results/photo_12mp.json] [--models NAME ...]

With ``--models`` only those rows of an existing JSON are replaced.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from edgerestore.runtime.atomic import atomic_write
from edgerestore.runtime.packaged import choose_file, installed_backends, packaged_models
from edgerestore.units import to_unit

WIDTH, HEIGHT = 4000, 3000


def synthetic_photo(width: int, height: int) -> np.ndarray:
    """A smooth scene with edges plus Gaussian noise (sigma 25/255), float32 HxWx3."""
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    x = np.linspace(0, 1, width, dtype=np.float32)[None, :]
    rng = np.random.default_rng(0)
    image = np.empty((height, width, 3), np.float32)
    for c, (fy, fx) in enumerate(((3, 5), (7, 2), (4, 4))):
        image[:, :, c] = 0.5 + 0.3 * np.sin(fy * np.pi * y) * np.cos(fx * np.pi * x)
        image[:, :, c] += 0.15 * ((x * 40).astype(int) % 2)
        image[:, :, c] += rng.normal(0, 25 / 255, (height, width)).astype(np.float32)
    return image


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--models", nargs="+", help="packaged names (default: all)")
    parser.add_argument("--json", type=Path,
                        default=Path(__file__).parent / "results" / "photo_12mp.json")
    args = parser.parse_args()
    from edgerestore.api import load_model

    photo = synthetic_photo(WIDTH, HEIGHT)
    rows = []
    for name, model in packaged_models().items():
        if args.models and name not in args.models:
            continue
        image = photo if model.channels == 3 else photo.mean(axis=2, keepdims=True)
        for backend in installed_backends():
            chosen = choose_file(name, backend)
            t0 = time.perf_counter()
            net = load_model(str(chosen.path), threads=args.threads)
            opened = time.perf_counter() - t0
            t0, c0 = time.perf_counter(), time.process_time()
            net.runner.denoise(image, to_unit(25.0))
            seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
            rows.append({"model": name, "file": chosen.path.name, "backend": backend,
                         "precision": chosen.precision, "task": model.task,
                         "default": choose_file(name) == chosen,
                         "seconds": round(seconds, 2), "cpu_s": round(cpu, 2),
                         "open_s": round(opened, 3),
                         "tiles": net.runner.tile_count(HEIGHT, WIDTH)})
            print(f"{name:<26} {chosen.path.name:<44} {seconds:7.1f} s wall {cpu:7.1f} s CPU",
                  flush=True)
    measured = {r["model"] for r in rows}
    if args.json.is_file():  # a run of some --models keeps the other models' rows
        old = json.loads(args.json.read_text())
        rows = [r for r in old["results"] if r["model"] not in measured] + rows
    order = list(packaged_models())
    rows.sort(key=lambda r: (order.index(r["model"]) if r["model"] in order else len(order),
                             r["backend"]))
    result = {
        "command": "python " + shlex.join(sys.argv),
        "image": f"{WIDTH}x{HEIGHT} generated, sigma 25 noise",
        "threads": args.threads,
        "machine": {"cpu": platform.processor() or platform.machine(),
                    "cores": os.cpu_count(), "python": platform.python_version(),
                    "load_average_at_end": os.getloadavg()},
        "note": "shared 2-core machine: a training job and other processes ran beside it",
        "results": rows,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(args.json, (json.dumps(result, indent=2) + "\n").encode())
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
