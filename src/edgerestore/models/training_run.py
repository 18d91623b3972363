"""One trainer's run: device, ranks, precision, run folder, checkpoints, weights and cards.

The trainers (:mod:`train_blindspot`, :mod:`train_map`) build their networks and step
functions inside ``with TrainingRun(cfg, desc) as run:``; this class does everything
around them that every trainer needs the same way, on top of :mod:`train_engine`'s
loop: joining a torchrun job, threads and precision, locking the run folder, resuming,
checkpointing, and writing the weights with a card that keeps the model's lineage.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from torch import nn

from edgerestore.console import log
from edgerestore.models.run_state import (
    check_output,
    command_line,
    hardware,
    lineage_totals,
    load_checkpoint,
    locked_run_dir,
    previous_lineage,
    resolve_device,
    save_checkpoint,
)
from edgerestore.models.train_engine import (
    Loop,
    LoopState,
    Outputs,
    RunLength,
    autocast,
    default_threads,
    init_distributed,
    resolve_precision,
    to_memory_format,
)
from edgerestore.models.weights_io import save_weights


class TrainingRun:
    """One trainer's run: device, ranks, precision, run folder, checkpoints and cards.

    Used as a context manager around a trainer's body; :meth:`loop` runs the
    :class:`Loop`, :meth:`finish` writes weights and cards (rank 0 only).
    """

    def __init__(self, cfg: Any, desc: str) -> None:
        self.cfg, self.desc = cfg, desc
        self._lock: contextlib.ExitStack | None = None

    def __enter__(self) -> TrainingRun:
        cfg = self.cfg
        self.ctx, self.device = init_distributed(resolve_device(cfg.device))
        torch.set_num_threads(default_threads(cfg.threads, self.ctx))
        torch.manual_seed(cfg.seed)
        self.precision = resolve_precision("fp32" if not cfg.amp else cfg.precision,
                                           self.device)
        self.run_dir = Path(cfg.run_dir)
        self._lock = contextlib.ExitStack()
        if self.ctx.is_main:
            self._lock.enter_context(locked_run_dir(self.run_dir))
        log.info("%s: %s, %s, %d thread(s), %d process(es)%s", self.desc, self.device,
                 self.precision, torch.get_num_threads(), self.ctx.world_size,
                 ", channels_last" if cfg.channels_last else "")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._lock is not None:
            self._lock.close()
        self.ctx.close()

    # -- pieces a trainer's step uses -------------------------------------------------
    def place(self, model: nn.Module) -> nn.Module:
        """``model`` on this run's device, in NHWC layout when asked."""
        model = model.to(self.device)
        if self.cfg.channels_last:
            model = model.to(memory_format=torch.channels_last)
        return model.train()

    def to_device(self, x: torch.Tensor) -> torch.Tensor:
        return to_memory_format(x.to(self.device, non_blocking=True), self.cfg.channels_last)

    def autocast(self) -> contextlib.AbstractContextManager:
        return autocast(self.device, self.precision)

    @staticmethod
    def adam(params: Any, **kw: Any) -> torch.optim.Adam:
        return torch.optim.Adam(params, **kw)

    @staticmethod
    def optimise(opt: torch.optim.Optimizer, loss: torch.Tensor, lr: float) -> None:
        """One optimiser step on ``loss`` at learning rate ``lr``."""
        for group in opt.param_groups:
            group["lr"] = lr
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    # -- the run ----------------------------------------------------------------------
    def loop(self, resume: bool, objects: dict[str, Any], make_batch: Callable[[int], Any],
             train_step: Callable[[Any, float], dict[str, float]],
             evaluate: Callable[[], dict[str, float]],
             outputs: Callable[[LoopState], Outputs]) -> dict[str, Any]:
        """Resume or start, run the loop, write the weights; returns the first card.

        At every checkpoint ``objects`` (modules, optimisers) are saved for resuming and
        ``outputs`` (weights + cards, marked unfinished) are written, so a run that
        dies, or a machine taken away, still leaves the newest usable weights.
        """
        cfg = self.cfg
        ckpt = self.run_dir / "checkpoint.pt"
        state = LoopState()
        self.lineage = previous_lineage(cfg.continues)
        if resume:
            saved = load_checkpoint(ckpt, asdict(cfg), self.device)
            for name, obj in objects.items():
                obj.load_state_dict(saved[name])
            # Checkpoints written before the running means were saved restart them.
            state = LoopState(saved["step"], saved["elapsed"], saved["history"],
                              running=_running_means(saved.get("running")))
            self.lineage = saved.get("lineage", self.lineage)
            log.info("resumed %s at step %d", ckpt, state.step)
        if self.ctx.is_main:
            check_output(cfg.out, getattr(cfg, "overwrite", False) or resume,
                         *getattr(cfg, "extra_outputs", ()))

        card: dict[str, Any] = {}

        def save(st: LoopState, final: bool) -> None:
            if self.ctx.is_main:
                save_checkpoint(ckpt, {**{k: o.state_dict() for k, o in objects.items()},
                                       "step": st.step, "elapsed": st.elapsed_s,
                                       "running": st.running,
                                       "settings": asdict(cfg), "history": st.history,
                                       "lineage": self.lineage})
            card.clear()
            card.update(self.write(st, outputs(st),
                                   finished=final and st.stopped_by is None))

        length = RunLength(cfg.steps, cfg.budget_minutes * 60 if cfg.budget_minutes else None)
        loop = Loop(length, cfg.lr, self.ctx, cfg.checkpoint_every, self.desc, make_batch,
                    train_step, evaluate, save, images_per_step=cfg.batch)
        loop.run(state)
        return card

    def stage(self, state: LoopState) -> dict[str, Any]:
        """This run's entry in the model's lineage."""
        cfg = self.cfg
        curve = [[h["images_seen"], h[k]] for h in state.history for k in h
                 if k.startswith("dev_psnr")]
        return {"command": command_line(), "images_seen": state.step * cfg.batch,
                "hardware": hardware(self.device), "precision": self.precision,
                "channels_last": cfg.channels_last, "world_size": self.ctx.world_size,
                "backend": self.ctx.backend, "wall_time_s": round(state.elapsed_s, 1),
                "data": cfg.data, "init_from": cfg.continues, "dev_set": cfg.dev_images,
                "dev_curve": curve, "stopped_by": state.stopped_by}

    def snapshot_path(self, out: str | Path, stage: dict[str, Any]) -> Path:
        """Where ``--keep-snapshots`` keeps ``out``'s weights at this checkpoint.

        Named by images seen (zero-padded, so they sort), one file per output of the run.
        """
        folder = self.run_dir / "snapshots"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{Path(out).stem}_{stage['images_seen']:09d}.safetensors"

    def write(self, state: LoopState, outputs: Outputs, finished: bool) -> dict[str, Any]:
        """Write each ``(model, card)`` of ``outputs`` with the shared card fields (rank 0).

        A weights file that cannot be written (the folder became read-only, the disk
        filled) is written into the run folder instead, and the log says where: a
        finished training is never lost.
        """
        stage = self.stage(state)
        lineage = [*self.lineage, stage]
        first: dict[str, Any] = {}
        for out, (model, card) in outputs.items():
            training = dict(card.get("training", {}))
            training.update({"images_seen": stage["images_seen"], "precision": self.precision,
                             "world_size": self.ctx.world_size, "backend": self.ctx.backend,
                             "finished": finished,
                             "stopped_by": state.stopped_by})
            full = {**card, "command": command_line(), "training": training,
                    "hardware": hardware(self.device), "wall_time_s": round(state.elapsed_s, 1),
                    "history": state.history, "lineage": lineage,
                    "total": lineage_totals(lineage)}
            first = first or full
            if not self.ctx.is_main:
                continue
            try:
                save_weights(model, model.config(), out, full)
                if self.cfg.keep_snapshots:
                    save_weights(model, model.config(), self.snapshot_path(out, stage), full)
                if finished or state.stopped_by:
                    log.info("wrote %s (%d images, %.0f s of training)", out,
                             stage["images_seen"], state.elapsed_s)
            except OSError as exc:
                rescue = self.run_dir / Path(out).name
                save_weights(model, model.config(), rescue, full)
                log.error("%s: cannot write (%s); the weights are in %s", out, exc.strerror,
                          rescue)
        self.ctx.barrier()
        return first


def _running_means(saved: Any) -> dict[str, float]:
    """The checkpoint's running loss means ({} when it has none or they are malformed)."""
    if not isinstance(saved, dict):
        return {}
    return {str(k): float(v) for k, v in saved.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)}
