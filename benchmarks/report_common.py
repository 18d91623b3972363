"""What every section of ``benchmarks/RESULTS.md`` shares: where the results are,
reading one JSON, number cells, Markdown tables, backend names, and the plotting backend.
The underscore helpers are for the ``report_*`` modules only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: F401  (the sections plot through this one import)

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
ORDER = ("pytorch fp32", "onnx fp32", "onnx fp16", "onnx int8", "tflite fp32", "tflite fp16",
         "tflite int8")


def _load(results: Path, name: str) -> dict[str, Any] | None:
    path = results / name
    return json.loads(path.read_text()) if path.is_file() else None


def _f(value: float | None, fmt: str = ".1f") -> str:
    return "" if value is None else format(value, fmt)


def _table(header: list[str], rows: list[list[str]], right_from: int = 1) -> list[str]:
    align = ["---" if i < right_from else "---:" for i in range(len(header))]
    return ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |",
            *("| " + " | ".join(r) + " |" for r in rows)]


def _variant(r: dict[str, Any]) -> str:
    return f"{r['format']} {r['precision']}"


def _sort_key(r: dict[str, Any]) -> tuple:
    v = _variant(r)
    return (r["model"], ORDER.index(v) if v in ORDER else 99)
