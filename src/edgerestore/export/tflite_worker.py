"""One litert-torch conversion per process: ``python -m edgerestore.export.tflite_worker JOB``.

litert-torch caches lowered constants across ``convert()`` calls in one process, and
a later conversion can silently pick up an earlier model's weights. Every
conversion therefore runs here, in a fresh interpreter, driven by a small JSON job
file written by :mod:`edgerestore.export.tflite_export`:

``{"weights", "raw", "nhwc", "tile": [H, W], "level", "precision": "fp32"|"int8",
"calibration": NPZ or null, "out"}``

int8 is PT2E post-training quantisation with litert-torch's ``PT2EQuantizer``
(symmetric per-channel int8 weights, int8 activations from histogram observers),
restricted to the network: the Bayesian step of a posterior graph stays float32,
because its products of small covariance entries and the determinant would drown in
int8 rounding. The greedy layout partitioner is used for int8 because the default
min-cut one fails on a graph whose float input also feeds dequantised convs.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from edgerestore.export.graph import GraphSpec, build_graph
from edgerestore.models.weights_io import load_weights


class NamedIO(nn.Module):
    """Keyword inputs and a one-entry dict output, so the TFLite signature has our names."""

    def __init__(self, spec: GraphSpec) -> None:
        super().__init__()
        self.inner = spec.module
        self.input_names = spec.input_names
        self.output_name = spec.output_name

    def forward(self, **inputs: Tensor) -> dict[str, Tensor]:
        return {self.output_name: self.inner(*(inputs[n] for n in self.input_names))}


def _network_only_quantizer() -> Any:
    """litert-torch's PT2E quantizer, annotating every node outside the Bayesian step."""
    from litert_torch.quantize import pt2e_quantizer as pq

    class NetworkOnly(pq.PT2EQuantizer):
        def _annotate_for_static_quantization_config(self, model):
            def in_network(node) -> bool:
                stack = node.meta.get("nn_module_stack", {})
                return not any(str(path).split(".")[-1] == "bayes" for path, _ in stack.values())

            return self._annotate_all_static_patterns(model, self.global_config, in_network)

    return NetworkOnly().set_global(pq.get_symmetric_quantization_config(is_per_channel=True))


def _calibration_kwargs(path: str, names: tuple[str, ...]) -> list[dict[str, Tensor]]:
    with np.load(path) as data:
        return [{n: torch.from_numpy(data[n][i]) for n in names}
                for i in range(len(data[names[0]]))]


def convert(job: dict[str, Any]) -> None:
    import litert_torch

    model, config = load_weights(job["weights"])
    spec = build_graph(model, config, raw=job["raw"], nhwc=job["nhwc"])
    module = NamedIO(spec).eval()
    height, width = job["tile"]
    sample = dict(zip(spec.input_names, spec.example_inputs(height, width, job["level"]),
                      strict=True))
    if job["precision"] == "fp32":
        edge = litert_torch.convert(module, sample_kwargs=sample)
    elif job["precision"] == "int8":
        from litert_torch.quantize.quant_config import QuantConfig
        from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

        os.environ["LAYOUT_OPTIMIZE_PARTITIONER"] = "GREEDY"
        quantizer = _network_only_quantizer()
        traced = torch.export.export(module, (), sample).module()
        prepared = prepare_pt2e(traced, quantizer)
        with torch.no_grad():
            for inputs in _calibration_kwargs(job["calibration"], spec.input_names):
                prepared(**inputs)
        quantized = convert_pt2e(prepared, fold_quantize=False)
        edge = litert_torch.convert(quantized, sample_kwargs=sample,
                                    quant_config=QuantConfig(pt2e_quantizer=quantizer))
    else:
        raise ValueError(f"unknown precision {job['precision']!r}")
    edge.export(job["out"])


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m edgerestore.export.tflite_worker JOB.json", file=sys.stderr)
        return 2
    convert(json.loads(Path(argv[0]).read_text()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
