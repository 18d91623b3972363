"""What an evaluation produces: per-method runs, summaries, result JSON and plots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from edgerestore.errors import require
from edgerestore.runtime.atomic import atomic_write


class Run(NamedTuple):
    """A method's estimate; ``trace`` (iterative methods) holds per-iteration PSNR/seconds."""

    x: np.ndarray
    iterations: int
    seconds: float
    trace: dict[str, list[float]] | None = None


def summarise(rows: list[dict]) -> dict:
    """Means over a method's per-case rows (which are kept under ``per_image``)."""
    return {"psnr": float(np.mean([r["psnr"] for r in rows])),
            "ssim": float(np.mean([r["ssim"] for r in rows])),
            "iterations": float(np.mean([r["iterations"] for r in rows])),
            "seconds": float(np.mean([r["seconds"] for r in rows])),
            "seconds_total": float(np.sum([r["seconds"] for r in rows])),
            "per_image": rows}


def write_result(path: Path, result: dict, command: str) -> None:
    """Write a result JSON atomically, with the command line that produced it first, so a
    benchmark figure can always be traced to the exact run (and an interrupted run never
    leaves a truncated file that a report would then read)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"command": command, **result}
    atomic_write(path, (json.dumps(record, indent=2) + "\n").encode())


def drop_per_image(obj: Any) -> Any:
    """``obj`` without its ``per_image`` lists: the summary printed on the terminal."""
    if isinstance(obj, dict):
        return {k: drop_per_image(v) for k, v in obj.items() if k != "per_image"}
    return obj


def plot_convergence(path: Path, convergence: dict) -> None:
    """PSNR against iteration and against seconds for the solvers traced on one case."""
    matplotlib = require("matplotlib", package="matplotlib", extra="eval",
                         purpose="the convergence plot")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (by_iteration, by_time) = plt.subplots(1, 2, figsize=(10, 4))
    for name in ("admm", "hqs", "dmsp"):
        if name in convergence:
            trace = convergence[name]
            iterations = range(1, len(trace["psnr"]) + 1)
            by_iteration.plot(iterations, trace["psnr"], label=name.upper())
            by_time.plot(trace["seconds"], trace["psnr"], label=name.upper())
    for ax, xlabel in ((by_iteration, "iteration"), (by_time, "seconds")):
        ax.set_xscale("log")  # DMSP runs ~40x more iterations than HQS
        ax.set_xlabel(xlabel)
        ax.set_ylabel("PSNR (dB)")
        ax.grid(True, alpha=0.3)
        ax.legend()
    fig.suptitle(f"{convergence['image']}, kernel {convergence['kernel']}")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
