"""openpyxl loads only when a workbook is read (every command pays its import time otherwise).

Cycles between modules are ``tests/test_import_graph.py``'s and ``lint-imports``' business.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import imports.engine

ENGINE = Path(imports.engine.__file__).parent


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
