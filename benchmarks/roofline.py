"""Achievable conv / matmul throughput of this CPU, for the latency roofline.

A model's GMAC/s means little alone: 30 GMAC/s is excellent on a phone core and
poor on an AVX-512 server. So the latency run times, in the same round-robin as
the models, a few kernels that only do dense multiply-accumulates:

* ``ort_conv``: one 3x3 convolution, 64 -> 64 channels on 256x256 (2.4 GMAC), the
  shape of a denoiser layer, in ONNX Runtime fp32 and QDQ int8 (static
  quantisation with ``onnxruntime.quantization``; ORT fuses it to an int8 conv);
* ``ort_matmul``: a 1536^3 matrix product (3.6 GMAC), fp32 and QDQ int8;
* ``numpy_matmul``: the same product through numpy's BLAS (fp32);
* ``litert_conv64``: LiteRT (XNNPACK) fp32 and int8 on a 4-layer DnCNN of width 64
  at 256x256 (two 64 -> 64 3x3 convs hold 95% of its MACs), exported with
  ``edgerestore export`` like the models; the only way to see LiteRT's own int8
  ceiling, which differs from ONNX Runtime's.

The best of these per precision and thread count is the "achievable peak" the
models are compared with. It is a measured ceiling for these kernels on this
machine, not the vendor's theoretical peak. The graphs are built with
``onnx.helper`` and cached under ``runs/bench/roofline``.

Each probe is a worker of :mod:`edgerestore.runtime.bench` (``python
benchmarks/roofline.py KIND THREADS``), so it is timed with the models.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "runs" / "bench" / "roofline"
LITERT_PROBE = ROOT / "runs" / "bench" / "probe_conv64.safetensors"
LITERT_EXPORT = ROOT / "runs" / "bench" / "export" / "probe_conv64"
CONV = {"batch": 1, "channels": 64, "side": 256, "kernel": 3}
MATMUL_N = 1536
#: Probe kind -> (precision, GMAC per run).
PROBES = {
    "ort_conv_fp32": ("fp32", CONV["side"] ** 2 * CONV["channels"] ** 2 * CONV["kernel"] ** 2
                      / 1e9),
    "ort_conv_int8": ("int8", CONV["side"] ** 2 * CONV["channels"] ** 2 * CONV["kernel"] ** 2
                      / 1e9),
    "ort_matmul_fp32": ("fp32", MATMUL_N**3 / 1e9),
    "ort_matmul_int8": ("int8", MATMUL_N**3 / 1e9),
    "numpy_matmul_fp32": ("fp32", MATMUL_N**3 / 1e9),
}


def _conv_model(path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    c, k = CONV["channels"], CONV["kernel"]
    w = np.random.default_rng(0).standard_normal((c, c, k, k)).astype(np.float32) * 0.05
    node = helper.make_node("Conv", ["x", "w"], ["y"], pads=[k // 2] * 4)
    graph = helper.make_graph(
        [node], "conv", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                       [1, c, CONV["side"], CONV["side"]])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(w, "w")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


def _matmul_model(path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    n = MATMUL_N
    w = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32) * 0.05
    node = helper.make_node("MatMul", ["x", "w"], ["y"])
    graph = helper.make_graph(
        [node], "matmul", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [n, n])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(w, "w")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


def _input(op: str) -> np.ndarray:
    rng = np.random.default_rng(1)
    if op == "conv":
        return rng.random((1, CONV["channels"], CONV["side"], CONV["side"]), dtype=np.float32)
    return rng.random((MATMUL_N, MATMUL_N), dtype=np.float32)


def _quantize(src: Path, dst: Path, op: str) -> None:
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.items = iter([{"x": _input(op)}])

        def get_next(self) -> dict | None:
            return next(self.items, None)

    quantize_static(str(src), str(dst), Reader(), quant_format=QuantFormat.QDQ,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    per_channel=op == "conv")


def probe_file(kind: str) -> Path:
    """The cached ONNX file of an ``ort_*`` probe, built on first use."""
    op, precision = kind.split("_")[1], kind.split("_")[2]
    CACHE.mkdir(parents=True, exist_ok=True)
    fp32 = CACHE / f"{op}_fp32.onnx"
    if not fp32.is_file():
        (_conv_model if op == "conv" else _matmul_model)(fp32)
    if precision == "fp32":
        return fp32
    int8 = CACHE / f"{op}_int8.onnx"
    if not int8.is_file():
        _quantize(fp32, int8, op)
    return int8


def litert_probe_files() -> dict[str, tuple[Path, float]]:
    """``{"litert_conv64_fp32": (file, GMAC per run), ...}``, exported on first use."""
    import subprocess

    import torch

    from edgerestore.models.dncnn import DnCNN
    from edgerestore.models.macs import count
    from edgerestore.models.weights_io import save_weights

    torch.manual_seed(0)
    model = DnCNN(3, depth=4, width=64, role="map").eval()
    if not LITERT_PROBE.is_file():
        save_weights(model, model.config(), LITERT_PROBE,
                     card={"name": LITERT_PROBE.stem, "task": "map_denoiser", "sigma": 11.0,
                           "note": "roofline probe, random init"})
    files = {p: LITERT_EXPORT / f"{LITERT_PROBE.stem}_{p}_256x256.tflite"
             for p in ("fp32", "int8")}
    if not all(f.is_file() for f in files.values()):
        subprocess.run([str(Path(sys.executable).with_name("edgerestore")), "-q", "export",
                        "--model", str(LITERT_PROBE), "--format", "tflite", "--precision",
                        "fp32", "int8", "--out", str(LITERT_EXPORT)], check=True)
    gmac = count(model, 3, 256, 256).macs / 1e9
    return {f"litert_conv64_{p}": (f, gmac) for p, f in files.items()}


def prepare_all() -> dict[str, tuple[Path, float]]:
    """Build every probe file before the timed run (quantisation is not what we time);
    returns the LiteRT probe files, which run as ordinary exported-file workers."""
    for kind in PROBES:
        if kind.startswith("ort_"):
            probe_file(kind)
    return litert_probe_files()


def worker_command(kind: str, threads: int) -> list[str]:
    """The probe's worker; BLAS thread pools are sized by the environment at start-up."""
    pools = [f"{var}={threads}" for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                             "MKL_NUM_THREADS")]
    return ["env", *pools, sys.executable, str(Path(__file__).resolve()), kind, str(threads)]


def _prepare(kind: str, threads: int):
    import time

    from edgerestore.runtime.bench import Prepared

    if kind == "numpy_matmul_fp32":
        a, b = _input("matmul"), _input("matmul")
        return Prepared(lambda: a @ b, 0.0, {"backend": "numpy"})
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads = threads, 1
    start = time.perf_counter()
    session = ort.InferenceSession(str(probe_file(kind)), so,
                                   providers=["CPUExecutionProvider"])
    created = (time.perf_counter() - start) * 1e3
    feeds = {"x": _input(kind.split("_")[1])}
    return Prepared(lambda: session.run(None, feeds), created, {"backend": "onnxruntime"})


if __name__ == "__main__":
    probe_kind, probe_threads = sys.argv[1], int(sys.argv[2])
    from edgerestore.runtime.bench import serve

    raise SystemExit(serve(lambda: _prepare(probe_kind, probe_threads)))
