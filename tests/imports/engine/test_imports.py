"""How the engine's modules import each other: no cycle, and openpyxl only when a workbook is read."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import imports.engine

ENGINE = Path(imports.engine.__file__).parent


def _engine_imports() -> dict[str, set[str]]:
    """``{module: engine modules it imports}``, counting imports inside functions too."""
    graph = {}
    for path in ENGINE.glob("*.py"):
        module = f"imports.engine.{path.stem}"
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            found.update(name for name in names if name.startswith("imports.engine.") and name != module)
        graph[module] = found & {f"imports.engine.{p.stem}" for p in ENGINE.glob("*.py")}
    return graph


READING = ("readers", "xlsx_sheets", "tables", "rows")


def test_the_reading_modules_import_each_other_without_a_cycle():
    graph = _engine_imports()
    assert "imports.engine.xlsx_sheets" in graph["imports.engine.readers"]  # the graph sees function-level imports

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, " -> ".join((*path, module))
        for imported in sorted(graph[module]):
            visit(imported, (*path, module))

    for name in READING:
        visit(f"imports.engine.{name}", ())


def test_openpyxl_is_imported_only_when_a_workbook_is_read():
    code = (
        "import sys, django; django.setup()\n"
        "import imports.engine.readers, imports.engine.rows, imports.engine.run\n"
        "print('openpyxl' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "mtc.settings"},
        cwd=ENGINE.parent.parent,
    )
    assert result.stdout.strip() == "False", result.stderr
