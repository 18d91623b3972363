"""PyTorch eager fp32 as a latency worker: the training-side reference next to the runtimes.

Speaks the worker protocol of :mod:`edgerestore.runtime.bench`, so the latency run
times it round-robin with the exported files. A blind-spot model runs its full
posterior mean (network + Bayesian step), as the exported posterior graphs do; a
DnCNN (MAP denoiser) is image in, image out. The whole input goes through in one
call, as training-side code does (no tiling).

    python benchmarks/torch_eager.py WEIGHTS THREADS HEIGHT WIDTH
"""

from __future__ import annotations

import sys
import time

from edgerestore.runtime.bench import BENCH_SIGMA, Prepared, serve


def prepare(weights: str, threads: int, height: int, width: int) -> Prepared:
    import torch

    from edgerestore.models.blindspot_denoiser import BlindSpotDenoiser
    from edgerestore.models.weights_io import load_weights

    torch.set_num_threads(threads)
    start = time.perf_counter()
    model, config = load_weights(weights)
    model.eval()
    created_ms = (time.perf_counter() - start) * 1e3
    x = torch.rand(1, int(config["channels"]), height, width, generator=torch.Generator()
                   .manual_seed(0))
    level = torch.tensor([BENCH_SIGMA])

    def run() -> None:
        with torch.inference_mode():
            if isinstance(model, BlindSpotDenoiser):
                model.denoise(x, level)
            else:
                model(x)

    return Prepared(run, created_ms, {"backend": "torch-eager", "calls": 1})


if __name__ == "__main__":
    path, n_threads, h, w = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    raise SystemExit(serve(lambda: prepare(path, n_threads, h, w)))
