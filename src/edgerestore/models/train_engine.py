"""The training loop every trainer shares: precision, data parallelism, budget, signals.

A trainer (blind-spot, MAP/DAE, DDE) supplies three functions: ``make_batch(step)``
(this rank's share of the global batch, a pure function of the seed and the step, so
resumed and data-parallel runs see exactly the batches a single uninterrupted run
would), ``train_step(batch, lr)`` and ``evaluate()``. This module runs them:

* bf16 autocast where the processor has native bf16 (AVX512-BF16/AMX on CPU, Ampere+
  on CUDA): the convolutions run at about twice the fp32 rate on this kind of CPU,
  while the trainers keep the likelihood and loss maths in fp32;
* batches prepared in a background thread while the previous step computes;
* ``torchrun`` data parallelism (gloo on CPU, NCCL on CUDA): each rank draws its
  own contiguous slice of the global batch and DDP averages the gradients, so two
  ranks give the weights one process gives with the same global batch;
* a run length given by steps (images) and/or a wall-clock budget, with Laine's
  learning-rate ramps laid over that length, so a run cut by its budget still ends
  with its ramp-down done;
* SIGTERM/SIGINT end the run cleanly after the current step (checkpoint written).
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from edgerestore.console import log, progress
from edgerestore.errors import InputError
from edgerestore.models.schedule import ramped_lr_at

PRECISIONS = ("auto", "fp32", "bf16")

#: What a trainer writes: weights path -> (module, its card's own fields).
Outputs = dict[str, tuple[nn.Module, dict[str, Any]]]


def cpu_has_bf16() -> bool:
    """True where oneDNN runs bf16 convolutions natively (AVX512-BF16 or AMX)."""
    check = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    return bool(torch.backends.mkldnn.is_available() and check is not None and check())


def resolve_precision(precision: str, device: str) -> str:
    """``auto`` is bf16 where the hardware computes it natively, else fp32."""
    if precision not in PRECISIONS:
        raise InputError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    native = (torch.cuda.is_bf16_supported() if device.startswith("cuda") else cpu_has_bf16())
    if precision == "auto":
        return "bf16" if native else "fp32"
    if precision == "bf16" and not device.startswith("cuda") and not cpu_has_bf16():
        log.warning("this CPU has no native bf16: bf16 training will be emulated and slow")
    return precision


def autocast(device: str, precision: str) -> contextlib.AbstractContextManager:
    """bf16 autocast for ``precision == 'bf16'`` (no-op otherwise)."""
    kind = "cuda" if device.startswith("cuda") else "cpu"
    return torch.autocast(kind, dtype=torch.bfloat16, enabled=precision == "bf16")


def to_memory_format(x: torch.Tensor, channels_last: bool) -> torch.Tensor:
    """NHWC layout for 4-D tensors when asked (oneDNN's native conv layout)."""
    if channels_last and x.dim() == 4:
        return x.contiguous(memory_format=torch.channels_last)
    return x


@dataclass
class Distributed:
    """This process's place in a ``torchrun`` job (rank 0 of 1 without one)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    local_world_size: int = 1
    backend: str | None = None

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def share(self, global_batch: int) -> range:
        """Indices of the global batch this rank computes (contiguous, equal sizes)."""
        if global_batch % self.world_size:
            raise InputError(f"--batch {global_batch} does not divide over "
                             f"{self.world_size} processes; use a multiple of {self.world_size}")
        n = global_batch // self.world_size
        return range(self.rank * n, (self.rank + 1) * n)

    def wrap(self, model: nn.Module, device: str) -> nn.Module:
        """DDP around ``model`` when there are several ranks, else ``model`` itself."""
        if self.world_size == 1:
            return model
        ids = [torch.device(device).index] if device.startswith("cuda") else None
        return nn.parallel.DistributedDataParallel(model, device_ids=ids)

    def any_true(self, *flags: float) -> list[float]:
        """Element-wise max of ``flags`` over all ranks (so every rank stops together)."""
        if self.world_size == 1:
            return list(flags)
        t = torch.tensor(flags, dtype=torch.float64)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return t.tolist()

    def barrier(self) -> None:
        if self.world_size > 1:
            dist.barrier()

    def close(self) -> None:
        if self.world_size > 1 and dist.is_initialized():
            dist.destroy_process_group()


def init_distributed(device: str) -> tuple[Distributed, str]:
    """Join the ``torchrun`` job described by the environment, if any; returns the device.

    torchrun sets ``RANK``/``WORLD_SIZE``/``LOCAL_RANK``; multi-node runs use its own
    ``--nnodes``/``--rdzv-endpoint``, so nothing here knows about machines.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Distributed(), device
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", str(world)))
    cuda = device.startswith("cuda")
    if cuda:
        torch.cuda.set_device(local)
        device = f"cuda:{local}"
    backend = "nccl" if cuda else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend)
    return Distributed(rank, world, local, local_world, backend), device


def default_threads(threads: int | None, ctx: Distributed) -> int:
    """All cores by default, shared evenly between the ranks on one machine."""
    if threads:
        return threads
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, (cores or 1) // ctx.local_world_size)


class StopSignals:
    """Turn SIGTERM/SIGINT into a flag the loop checks after each step (main thread only)."""

    def __init__(self) -> None:
        self.received: str | None = None
        self._old: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, _frame: Any) -> None:
        self.received = signal.Signals(signum).name

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)


class Prefetcher:
    """Compute ``make(step)`` for the coming steps in a thread, ``depth`` steps ahead."""

    def __init__(self, make: Callable[[int], Any], start: int, stop: int, depth: int = 3):
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._fill, args=(make, start, stop),
                                        daemon=True)
        self._thread.start()

    def _fill(self, make: Callable[[int], Any], start: int, stop: int) -> None:
        for step in range(start, stop):
            try:
                item: Any = (step, make(step), None)
            except BaseException as exc:  # handed to the training thread, raised there
                item = (step, None, exc)
            if not self._put(item) or item[2] is not None:
                return
        self._put((None, None, None))  # the end of the run

    def _put(self, item: Any) -> bool:
        """Queue ``item`` unless the loop has closed us first."""
        while not self._halt.is_set():
            try:
                self._queue.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> Iterator[tuple[int, Any]]:
        while True:
            step, batch, exc = self._queue.get()
            if exc is not None:
                raise exc
            if step is None:
                return
            yield step, batch

    def close(self) -> None:
        self._halt.set()
        self._thread.join(timeout=5)


@dataclass
class RunLength:
    """How long a run is: a number of steps and/or minutes of wall time.

    ``fraction`` is how far the run has come (the larger of the two measures), which
    is where the learning-rate ramps are evaluated: a budgeted run therefore ramps
    down over the last 30% of its minutes, whatever its speed turns out to be.
    """

    steps: int | None
    budget_s: float | None

    def __post_init__(self) -> None:
        if self.steps is None and self.budget_s is None:
            raise InputError("a run needs --steps/--images or --budget-minutes")

    def fraction(self, step: int, elapsed_s: float) -> float:
        parts = [0.0]
        if self.steps:
            parts.append(step / self.steps)
        if self.budget_s:
            parts.append(elapsed_s / self.budget_s)
        return max(parts)

    @property
    def max_steps(self) -> int:
        return self.steps if self.steps is not None else 2**62


@dataclass
class LoopState:
    """What a loop resumes from and hands back: step, training seconds, history, and the
    running means of the losses (checkpointed too: a resumed run that restarted them
    would record another loss history than the uninterrupted run)."""

    step: int = 0
    elapsed_s: float = 0.0
    history: list[dict[str, Any]] = field(default_factory=list)
    stopped_by: str | None = None
    running: dict[str, float] = field(default_factory=dict)


@dataclass
class Loop:
    """One training run's machinery; see the module docstring."""

    length: RunLength
    base_lr: float
    ctx: Distributed
    checkpoint_every: int
    desc: str
    make_batch: Callable[[int], Any]
    train_step: Callable[[Any, float], dict[str, float]]
    evaluate: Callable[[], dict[str, float]]
    save: Callable[[LoopState, bool], None]
    images_per_step: int = 1

    def run(self, state: LoopState) -> LoopState:
        """Train from ``state`` until the run length is reached or a signal arrives."""
        t0, base = time.perf_counter(), state.elapsed_s
        running = state.running
        lr = 0.0
        self._chunk = (time.perf_counter(), state.step)
        total = None if self.length.steps is None else self.length.steps - state.step
        fetch = Prefetcher(self.make_batch, state.step, self.length.max_steps)
        try:
            with StopSignals() as signals:
                for step, batch in progress(fetch, desc=self.desc, total=total, unit="step"):
                    frac = self.length.fraction(step, base + time.perf_counter() - t0)
                    stop, sig = self.ctx.any_true(float(frac >= 1.0),
                                                  float(signals.received is not None))
                    if stop or sig:
                        state.stopped_by = signals.received or ("signal" if sig else None)
                        break
                    lr = ramped_lr_at(frac, self.base_lr)
                    losses = self.train_step(batch, lr)
                    for k, v in losses.items():
                        running[k] = v if k not in running else 0.98 * running[k] + 0.02 * v
                    state.step = step + 1
                    if state.step % self.checkpoint_every == 0:
                        state.elapsed_s = base + time.perf_counter() - t0
                        self._record(state, running, lr)
                        self.save(state, False)
                        self._chunk = (time.perf_counter(), state.step)
        finally:
            fetch.close()
        state.elapsed_s = base + time.perf_counter() - t0
        if not state.history or state.history[-1]["step"] != state.step:
            self._record(state, running, lr)
        self.save(state, True)
        if state.stopped_by:
            log.info("stopped by %s at step %d; continue with --resume", state.stopped_by,
                     state.step)
        return state

    def _record(self, state: LoopState, running: dict[str, float], lr: float) -> None:
        since, first = self._chunk
        rate = (state.step - first) * self.images_per_step / max(time.perf_counter() - since,
                                                                 1e-9)
        entry: dict[str, Any] = {"step": state.step,
                                 "images_seen": state.step * self.images_per_step,
                                 "elapsed_s": round(state.elapsed_s, 1), "lr": float(lr),
                                 "images_per_s": round(rate, 3),
                                 **{f"loss_{k}" if k != "loss" else k: float(v)
                                    for k, v in running.items()}}
        if self.ctx.is_main:
            entry.update({k: float(v) for k, v in self.evaluate().items()})
        self.ctx.barrier()
        state.history.append(entry)
        shown = ", ".join(f"{k} {v:.4g}" for k, v in entry.items() if k != "step")
        log.info("step %d: %s", state.step, shown)

