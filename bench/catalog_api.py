"""The catalog API's figures at a large catalog, for ``python -m bench --api-variants N``.

Runs ``manage.py benchmark_catalog_api`` in a process of its own, on a
database of its own (``python -m bench`` gives it ``<its database>_api``: the
import benchmarks empty theirs between runs, and seeding a million variants
takes minutes). The command seeds only a catalog that has fewer live variants
than asked, so the second run reuses the first one's catalog. It prints its
table as it measures, and its figures come back as a dict per endpoint:
queries, the slowest query's median, the request's p50, p95 and p99, and the
median CPU time per request.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def bench_catalog_api(*, env: dict[str, str], variants: int, repeat: int) -> dict:
    """The command's figures at ``variants`` live variants, ``repeat`` calls an endpoint (its table printed)."""
    command = [sys.executable, "manage.py", "benchmark_catalog_api", f"--variants={variants}", f"--repeat={repeat}"]
    process = subprocess.Popen([*command, "--json"], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    figures: dict = {}
    for line in process.stdout:
        if line.startswith("{"):
            figures = json.loads(line)
        else:
            print(f"  {line}", end="", flush=True)
    if process.wait() != 0:
        raise subprocess.CalledProcessError(process.returncode, command)
    return figures
