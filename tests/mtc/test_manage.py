"""``manage.py``: every command runs with the garbage collector on, what start-up loaded frozen out of it.

``manage.py`` turns the collector off while Django loads the apps (see its
docstring); a command that ran with it still off would never free a cycle.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_command_runs_with_the_collector_on_and_what_start_up_loaded_frozen():
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", "import gc; print(gc.isenabled(), gc.get_freeze_count())"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    enabled, frozen = result.stdout.split()[-2:]
    assert enabled == "True"
    assert int(frozen) > 10_000  # Django, the apps and their models: tens of thousands of objects
