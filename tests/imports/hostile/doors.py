"""Running one file through a door in a process of its own (``web_process.py``), and what it cost."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.imports.management.cli import ROOT, command_env

HARNESS = Path(__file__).with_name("web_process.py")
#: What the web process may reach at its peak, whatever the file (issue 11, item 1).
PEAK_MB = 300
#: A safety net for a shared machine: past this address space the process fails instead of swapping.
CAP_MB = 3072


@dataclass
class Outcome:
    status: int
    body: object
    peak_mb: int
    stderr: str

    @property
    def detail(self) -> str:
        return self.body.get("detail", "") if isinstance(self.body, dict) else str(self.body)


def through(door: str, path: Path, tmp_path: Path, *args: str) -> Outcome:
    """``path`` through the API (``door="api"``) or ``import_catalog`` (``"command"``), in a subprocess."""
    env = {**command_env(tmp_path), "MTC_MEMORY_CAP_MB": str(CAP_MB), "IMPORT_RATE_LIMIT": "1000/minute"}
    process = subprocess.run(
        [sys.executable, str(HARNESS), door, str(path), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = process.stdout.strip().splitlines()
    assert process.returncode == 0, process.stderr[-3000:]
    assert lines, process.stderr[-3000:]
    result = json.loads(lines[-1])
    return Outcome(result["status"], result["body"], result["peak_mb"], process.stderr)
