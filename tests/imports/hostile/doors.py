"""Running files through a door in a process of their own (``web_process.py``), and what each cost."""

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
    tracebacks: int
    stderr: str = ""

    @property
    def detail(self) -> str:
        return self.body.get("detail", "") if isinstance(self.body, dict) else str(self.body)


def through(door: str, path: Path, tmp_path: Path, *args: str) -> Outcome:
    """``path`` through the API (``door="api"``) or ``import_catalog`` (``"command"``), in a subprocess."""
    return through_many(door, [(path, list(args))], tmp_path)[0]


def through_many(door: str, runs: list[tuple[Path, list[str]]], tmp_path: Path) -> list[Outcome]:
    """Each file through the door, one after the other in one subprocess, the peak memory measured for each."""
    spec = tmp_path / f"{door}-runs.json"
    spec.write_text(json.dumps([{"file": str(path), "args": args} for path, args in runs]))
    env = {**command_env(tmp_path), "MTC_MEMORY_CAP_MB": str(CAP_MB), "IMPORT_RATE_LIMIT": "100000/minute"}
    process = subprocess.run(
        [sys.executable, str(HARNESS), door, "--many", str(spec)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    lines = process.stdout.strip().splitlines()
    assert process.returncode == 0, process.stderr[-3000:]
    assert len(lines) == len(runs), process.stderr[-3000:]
    results = [json.loads(line) for line in lines]
    return [
        Outcome(result["status"], result["body"], result["peak_mb"], result["tracebacks"], process.stderr)
        for result in results
    ]
