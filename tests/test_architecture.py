"""Layering rules that import-linter cannot see: the benchmark scripts are not a package.

The package's own contracts are in pyproject.toml and run by ``make lint``
(``lint-imports``); see ARCHITECTURE.md.
"""

from __future__ import annotations

import ast
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def imported_modules(path: Path) -> set[str]:
    """Every module an ``import`` / ``from ... import`` in ``path`` names, at any depth."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_benchmarks_use_the_library_not_command_modules():
    scripts = sorted(BENCHMARKS.glob("*.py"))
    assert scripts, f"no benchmark scripts under {BENCHMARKS}"
    offenders = {
        script.name: sorted(n for n in imported_modules(script)
                            if n == "edgerestore.commands"
                            or n.startswith("edgerestore.commands."))
        for script in scripts
    }
    assert not {k: v for k, v in offenders.items() if v}, offenders


def test_the_import_scan_sees_nested_and_from_imports(tmp_path):
    script = tmp_path / "s.py"
    script.write_text("def f():\n    from edgerestore.commands.restore import x\n"
                      "import edgerestore.runtime.pnp\nfrom edgerestore import commands\n")
    assert imported_modules(script) >= {"edgerestore.commands.restore",
                                        "edgerestore.runtime.pnp", "edgerestore.commands"}
