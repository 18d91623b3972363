"""Training throughput of every trainer x precision x threads, side by side in one run.

Each configuration runs the real trainer (``edgerestore train ...`` in its own
process, so thread counts and oneDNN caches do not leak between configurations) for
a few short chunks; the engine records images/s per chunk in the card's history, the
first chunk (warm-up, allocation, oneDNN kernel selection) is dropped and the median
of the rest is reported with patches/s, pixels/s, training GMAC/s (forward MACs x 3
for forward + backward) and the share of this machine's measured conv peak (one
64 -> 64 3x3 convolution forward + backward at the same precision and threads).

"Today's code" is the engine at fp32 with NCHW tensors (``--precision fp32
--no-channels-last``): the same step the trainers ran before, so the ratio is
the gain of bf16 + channels_last measured side by side. Configurations are run
round-robin ``--repeats`` times so a noisy neighbour hits all of them alike.

    python benchmarks/train_throughput.py --data-root ../shared/data
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "train_throughput.json"

#: Trainer name -> (train kind, extra CLI arguments, batch, patch).
TRAINERS = {
    "blindspot_faithful": ("blindspot", ["--width", "64", "--depth", "11", "--branch-width", "18",
                                         "--mix-widths", "198", "99", "99"], 4, 64),
    "blindspot_efficient": ("blindspot", ["--width", "48", "--depth", "9", "--branch-width", "16",
                                          "--mix-widths", "96", "96"], 4, 64),
    "laine_unet": ("blindspot", ["--arch", "laine_unet", "--base-width", "48"], 4, 64),
    "map_dncnn_17x64": ("map", ["--depth", "17", "--width", "64", "--dae-depth", "17",
                                "--dae-width", "64"], 16, 40),
    # The CBSD400-crops generator of RESULTS.md (patch = crop size).
    "dde_crops": ("dde", ["--latent-dim", "64", "--gen-width", "512", "--dde-width", "32"],
                  64, 32),
}
#: Precision mode -> CLI flags.
MODES = {"fp32_nchw": ["--precision", "fp32", "--no-channels-last"],
         "fp32_cl": ["--precision", "fp32"],
         "bf16_cl": ["--precision", "bf16"]}


def forward_macs_per_pixel(trainer: str) -> float:
    """Forward MACs per pixel of the network(s) a trainer's step runs."""
    import torch  # noqa: F401  (the models need it)

    from edgerestore.models.dncnn import DnCNN
    from edgerestore.models.macs import count
    from edgerestore.models.train_blindspot import BlindSpotTraining, build

    kind, extra, _, patch = TRAINERS[trainer]
    if kind == "dde":
        return dde_macs_per_pixel(extra, patch)
    if kind == "map":
        net = DnCNN(3, 17, 64, role="map")
        # R forward+backward, D forward+backward, R forward again inside D's loss.
        return count(net, 3, patch, patch).macs_per_pixel * 7 / 3
    args = dict(zip(extra[::2], extra[1::2], strict=False))
    if trainer == "laine_unet":
        cfg = BlindSpotTraining(data="", out="", run_dir="", arch="laine_unet",
                                backbone={"base_width": 48})
    else:
        mix = extra[extra.index("--mix-widths") + 1:]
        cfg = BlindSpotTraining(data="", out="", run_dir="", backbone={
            "width": int(args["--width"]), "depth": int(args["--depth"]),
            "branch_width": int(args["--branch-width"]), "mix_widths": [int(m) for m in mix]})
    return count(build(cfg).backbone, 3, patch, patch).macs_per_pixel


def dde_macs_per_pixel(extra: list[str], patch: int) -> float:
    """Forward-MAC equivalents per pixel of one DDE step, divided by 3 (see main's x 3).

    Each DDE step (s_p on data, s_q on samples) is charged 6 forwards of ``s``: the
    forward, the input gradient, and the backward through both (double backward); the
    s_q step adds a generator forward; every second step (the default --gen-every)
    the generator step adds a generator forward + backward (3) and a forward and an
    input gradient of both DDEs (4 of ``s``).
    """
    from torch import nn

    from edgerestore.models.dde import DensityConv, GeneratorMLP
    from edgerestore.models.macs import count

    args = dict(zip(extra[::2], extra[1::2], strict=True))
    shape = [3, patch, patch]
    s_macs = count(DensityConv(shape, int(args["--dde-width"])), 3, patch, patch).macs
    gen = GeneratorMLP(int(args["--latent-dim"]), shape, int(args["--gen-width"]))
    gen_macs = sum(m.in_features * m.out_features for m in gen.modules()
                   if isinstance(m, nn.Linear))
    per_step = 2 * 6 * s_macs + gen_macs + (3 * gen_macs + 4 * s_macs) / 2
    return per_step / 3 / patch**2


def run_trainer(trainer: str, mode: str, threads: int, data: Path, chunks: int,
                chunk_steps: int, workdir: Path) -> list[float]:
    """Images/s of each chunk after the first, from one short real training run."""
    kind, extra, batch, patch = TRAINERS[trainer]
    out = workdir / f"{trainer}_{mode}_{threads}_{time.monotonic_ns()}.safetensors"
    cmd = [sys.executable, "-m", "edgerestore", "-q", "train", kind, "--data", str(data),
           "--out", str(out), "--run-dir", str(out.with_suffix("")), *extra, *MODES[mode],
           "--batch", str(batch), "--patch", str(patch), "--steps", str(chunks * chunk_steps),
           "--checkpoint-every", str(chunk_steps), "--threads", str(threads), "--device", "cpu"]
    if kind == "map":
        cmd += ["--dae-out", str(out.with_name(out.stem + "_dae.safetensors"))]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    subprocess.run(cmd, check=True, env=env)
    card = json.loads(out.with_suffix(".json").read_text())
    return [h["images_per_s"] for h in card["history"]][1:]


def conv_peak(precision: str, threads: int) -> float:
    """GMAC/s of one 64->64 3x3 conv forward+backward on 4x64x64 at this precision."""
    code = f"""
import time, torch
torch.set_num_threads({threads})
conv = torch.nn.Conv2d(64, 64, 3, padding=1).to(memory_format=torch.channels_last)
x = torch.randn(16, 64, 64, 64).contiguous(memory_format=torch.channels_last).requires_grad_()
times = []
for _ in range(12):
    t = time.perf_counter()
    with torch.autocast('cpu', dtype=torch.bfloat16, enabled={precision == 'bf16'}):
        y = conv(x)
    y.float().sum().backward()
    times.append(time.perf_counter() - t)
macs = 3 * 16 * 64 * 64 * 64 * 64 * 9
print(macs / sorted(times[2:])[len(times[2:]) // 2] / 1e9)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, env={**os.environ, "OMP_NUM_THREADS": str(threads)})
    return float(done.stdout.strip())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-root", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--trainers", nargs="+", default=list(TRAINERS), choices=list(TRAINERS))
    ap.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--chunks", type=int, default=4)
    ap.add_argument("--chunk-steps", type=int, default=10)
    ap.add_argument("--json", type=Path, default=RESULTS)
    ap.add_argument("--merge", action="store_true",
                    help="add these rows to --json's (same trainer/mode/threads replaced) "
                         "instead of starting a new file")
    args = ap.parse_args()
    data = args.data_root / "train" / "CBSD400"
    rates: dict[tuple[str, str, int], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeats):
            for trainer in args.trainers:
                for threads in args.threads:
                    for mode in args.modes:
                        got = run_trainer(trainer, mode, threads, data, args.chunks,
                                          args.chunk_steps, Path(tmp))
                        rates.setdefault((trainer, mode, threads), []).extend(got)
                        print(trainer, mode, threads, [round(r, 2) for r in got], flush=True)
    peaks = {(p, t): conv_peak(p, t) for p in ("fp32", "bf16") for t in args.threads}
    rows = []
    for (trainer, mode, threads), values in rates.items():
        patch = TRAINERS[trainer][3]
        med = statistics.median(values)
        gmac = med * patch * patch * forward_macs_per_pixel(trainer) * 3 / 1e9
        base = statistics.median(rates.get((trainer, "fp32_nchw", threads), [float("nan")]))
        peak = peaks[("bf16" if mode.startswith("bf16") else "fp32", threads)]
        rows.append({"trainer": trainer, "mode": mode, "threads": threads,
                     "patch": patch, "batch": TRAINERS[trainer][2],
                     "patches_per_s": round(med, 3), "pixels_per_s": round(med * patch**2),
                     "train_gmac_per_s": round(gmac, 2), "conv_peak_gmac_per_s": round(peak, 1),
                     "share_of_peak": round(gmac / peak, 3), "speedup_vs_fp32_nchw":
                     round(med / base, 3), "chunks": len(values)})
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text()
                .splitlines() if ln.startswith("model name")), "unknown")
    commands = [" ".join(["python", *sys.argv])]
    if args.merge and args.json.exists():
        old = json.loads(args.json.read_text())
        keys = {(r["trainer"], r["mode"], r["threads"]) for r in rows}
        rows = [r for r in old["rows"] if (r["trainer"], r["mode"], r["threads"]) not in keys
                ] + rows
        previous = old["command"] if isinstance(old["command"], list) else [old["command"]]
        commands = previous + commands
    result = {"command": commands if len(commands) > 1 else commands[0], "cpu": cpu,
              "cores": os.cpu_count(),
              "note": "median images/s over chunks of --chunk-steps steps, first chunk of each "
                      "run dropped; runs round-robin, --repeats times",
              "rows": rows}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    for r in rows:
        print(f"{r['trainer']:22s} {r['mode']:10s} {r['threads']}t {r['patches_per_s']:8.2f} "
              f"patch/s  x{r['speedup_vs_fp32_nchw']:.2f}  {r['train_gmac_per_s']:7.1f} GMAC/s "
              f"({100 * r['share_of_peak']:.0f}% of peak)")


if __name__ == "__main__":
    main()
