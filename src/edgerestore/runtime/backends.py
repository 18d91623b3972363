"""Inference sessions for exported files: ONNX Runtime or LiteRT, chosen by file type.

A :class:`Session` is created once per model file and reused for every tile and
every solver iteration (creating one costs tens to hundreds of milliseconds, and on
a phone far more than a 256x256 tile takes to run). Both backends take the same
``{input name: array}`` feeds and return the first output, so the tiler and the
restoration code never know which one they drive.

Options each backend offers and we expose:

* ONNX Runtime: intra-op thread count, graph optimisation level (``all`` by default;
  ``basic`` starts faster on a slow device), and the CPU execution provider (the
  only one a torch-free CPU install has; others can be named if installed). Its
  memory arena is off by default: the tiler feeds edge tiles of several shapes and
  the arena keeps every shape's buffers, which took a 24-megapixel denoise over its
  2 GB budget (a 512x512 tile plus edge tiles peaked at 1.0 GB with the arena, 0.59 GB
  without, for 4% more time).
* LiteRT: thread count and the XNNPACK delegate (on by default in ai-edge-litert's
  CPU path; ``xnnpack=False`` selects the reference kernels, for debugging only).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgerestore.errors import InputError, ModelFileError, one_line, require
from edgerestore.runtime.model_files import exported_format
from edgerestore.runtime.model_metadata import read_metadata

BACKENDS = ("onnxruntime", "litert")
ONNX_OPT_LEVELS = ("disable", "basic", "extended", "all")
#: More threads than this is a typo, not a machine (and backends abort on huge counts).
MAX_THREADS = 1024


@dataclass(frozen=True)
class SessionOptions:
    """How to open a model; ``threads=None`` lets the backend choose (all cores)."""

    threads: int | None = None
    onnx_optimization: str = "all"
    onnx_providers: tuple[str, ...] = ("CPUExecutionProvider",)
    onnx_memory_arena: bool = False
    xnnpack: bool = True

    def __post_init__(self) -> None:
        threads = self.threads
        whole = isinstance(threads, (int, np.integer)) and not isinstance(threads, bool)
        if threads is not None and not (whole and 1 <= threads <= MAX_THREADS):
            raise InputError(f"threads must be a whole number in 1..{MAX_THREADS}, "
                             f"got {threads!r}")
        if self.onnx_optimization not in ONNX_OPT_LEVELS:
            raise InputError(f"onnx optimisation must be one of {ONNX_OPT_LEVELS}")


class Session:
    """One open model file: ``run(feeds) -> first output``, plus its metadata card."""

    backend: str

    def __init__(self, path: Path, metadata: dict[str, Any]) -> None:
        self.path = path
        self.metadata = metadata
        self.created_s = 0.0

    @property
    def input_names(self) -> list[str]:
        return list(self.metadata["inputs"])

    def run(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        raise NotImplementedError


class OnnxSession(Session):
    """ONNX Runtime ``InferenceSession`` (dynamic or fixed shapes)."""

    backend = "onnxruntime"

    def __init__(self, path: Path, metadata: dict[str, Any], options: SessionOptions) -> None:
        super().__init__(path, metadata)
        ort = require("onnxruntime", package="onnxruntime", extra="",
                      purpose="running .onnx files")
        so = ort.SessionOptions()
        if options.threads:
            so.intra_op_num_threads = options.threads
            so.inter_op_num_threads = 1
        so.graph_optimization_level = {
            "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
            "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
            "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
            "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
        }[options.onnx_optimization]
        so.enable_cpu_mem_arena = options.onnx_memory_arena
        so.log_severity_level = 3
        start = time.perf_counter()
        try:
            self._session = ort.InferenceSession(str(path), so,
                                                 providers=list(options.onnx_providers))
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise ModelFileError(f"{path}: onnxruntime cannot load it ({one_line(exc)})") from exc
        self.created_s = time.perf_counter() - start
        actual = [i.name for i in self._session.get_inputs()]
        if sorted(actual) != sorted(self.input_names):
            raise ModelFileError(f"{path}: graph inputs {actual} do not match its metadata "
                                 f"{self.input_names}; the file was altered or mislabelled")

    def run(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        try:
            return self._session.run(None, feeds)[0]
        except Exception as exc:  # onnxruntime's untyped errors: the graph refused the input
            raise ModelFileError(f"{self.path}: the model refused its input, which follows "
                                 f"its card ({one_line(exc)})") from exc


class LiteRTSession(Session):
    """ai-edge-litert ``Interpreter`` on the file's default signature (fixed shapes)."""

    backend = "litert"

    def __init__(self, path: Path, metadata: dict[str, Any], options: SessionOptions) -> None:
        super().__init__(path, metadata)
        litert = require("ai_edge_litert.interpreter", package="ai-edge-litert",
                         extra="litert", purpose="running .tflite files")
        Interpreter, OpResolverType = litert.Interpreter, litert.OpResolverType
        resolver = (OpResolverType.AUTO if options.xnnpack
                    else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        start = time.perf_counter()
        try:
            interpreter = Interpreter(model_path=str(path), num_threads=options.threads,
                                      experimental_op_resolver_type=resolver)
            self._runner = interpreter.get_signature_runner()
        except Exception as exc:  # LiteRT raises untyped errors for damaged files
            raise ModelFileError(f"{path}: LiteRT cannot load it ({one_line(exc)})") from exc
        self.created_s = time.perf_counter() - start
        actual = list(interpreter.get_signature_list().get("serving_default", {})
                      .get("inputs", []))
        if actual and sorted(actual) != sorted(self.input_names):
            raise ModelFileError(f"{path}: signature inputs {actual} do not match its metadata "
                                 f"{self.input_names}; the file was altered or mislabelled")

    def run(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        try:
            return next(iter(self._runner(**feeds).values()))
        except Exception as exc:  # LiteRT's untyped errors: the graph refused the input
            raise ModelFileError(f"{self.path}: the model refused its input, which follows "
                                 f"its card ({one_line(exc)})") from exc


def open_session(path: str | Path, options: SessionOptions | None = None) -> Session:
    """Open ``path`` (``.onnx`` or ``.tflite``) with the backend its suffix calls for."""
    path = Path(path)
    metadata = read_metadata(path)
    options = options or SessionOptions()
    if exported_format(path) == "onnx":
        return OnnxSession(path, metadata, options)
    return LiteRTSession(path, metadata, options)
