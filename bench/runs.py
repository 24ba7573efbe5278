"""What every benchmark here shares: the database, a child process measured, the file, the starting catalog.

Each benchmark (``python -m bench`` and its parts: ``bench.xlsx_import``,
``bench.parallel``, ``bench.mapping``) times whole processes, as a user's
``manage.py import_catalog`` runs, on the same generated file and from the
same starting catalog; this module is where those are made, so that their
figures compare.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg2
from psycopg2 import sql

from bench.catalog_file import live_state_copy, write_file

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
PYTHON = sys.executable


def bench_dsn() -> str:
    return os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mtc_bench")


def ensure_database(dsn: str) -> None:
    name = dsn.rsplit("/", 1)[1]
    admin = dsn.rsplit("/", 1)[0] + "/postgres"
    connection = psycopg2.connect(admin)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if not cursor.fetchone():
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    connection.close()
    subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], cwd=ROOT, env=bench_env(dsn), check=True)
    # Untimed: writes the bytecode of the command's own modules, as a deployment's first run does.
    subprocess.run(
        [PYTHON, "manage.py", "import_catalog", "--help"],
        cwd=ROOT,
        env=bench_env(dsn),
        check=True,
        stdout=subprocess.DEVNULL,
    )


def bench_env(dsn: str, **extra: str) -> dict[str, str]:
    """Production settings (DEBUG off: no query log growing with the rows), with a key of its own.

    Bytecode is cached as on a server (``PYTHONDONTWRITEBYTECODE``, which a
    sandbox or CI may set, is dropped): without it every run compiled the
    project's ~125 modules from source again, time a deployed process never
    spends (``manage.py import_catalog --help``: 0.74-0.99 s of CPU against
    0.71-0.76 s cached, at load 7).
    """
    env = {
        **os.environ,
        "SECRET_KEY": os.environ.get("SECRET_KEY") or "bench-only-" + "x" * 50,
        "DATABASE_URL": dsn,
        "USE_NEW_IMPORT_SYSTEM": "true",
        **extra,
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def reset(dsn: str, rows: int, state: str = "half") -> None:
    """Empty the masters and load ``state`` (``bench.catalog_file.STATES``), then analyze and checkpoint.

    Statistics are always taken (``VACUUM ANALYZE``), the empty state included:
    a catalog's statistics are those of its last analyze, an empty catalog's
    say "empty" once autovacuum has seen it.
    """
    payloads = live_state_copy(rows, state)
    connection = psycopg2.connect(dsn)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE item_variant, item_master, color_master, size_master, "
            "import_row_errors, import_results, import_jobs RESTART IDENTITY CASCADE"
        )
        for table, columns, payload in (
            ("item_master", "item_id, name, description", payloads["items"]),
            ("color_master", "color_id, color_name", payloads["colors"]),
            ("size_master", "size_id, size_name", payloads["sizes"]),
            ("item_variant", "item_id, color_id, size_id, sku, price, stock", payloads["variants"]),
        ):
            payload.seek(0)
            cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN", payload)  # timestamps: database defaults
            pk = {"item_master": "item_id", "color_master": "color_id", "size_master": "size_id"}.get(
                table, "variant_id"
            )
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', '{pk}'), COALESCE(MAX({pk}), 1)) FROM {table}"
            )
        cursor.execute("VACUUM ANALYZE item_master, color_master, size_master, item_variant")
        cursor.execute("CHECKPOINT")
    connection.close()


def run_measured(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MB) and stdout of a child process.

    The peak is the child's own ``VmHWM``, polled from /proc: rusage's
    ``ru_maxrss`` would also count the memory of this (forked) parent.
    """
    started = time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    peak_kb = 0
    status_path = Path(f"/proc/{child.pid}/status")

    def watch() -> None:
        nonlocal peak_kb
        while child.poll() is None:
            try:
                for line in status_path.read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peak_kb = max(peak_kb, int(line.split()[1]))
            except (OSError, ValueError):
                pass
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    assert child.stdout is not None  # started with stdout=PIPE
    stdout = child.stdout.read()
    child.wait()
    elapsed = time.perf_counter() - started
    watcher.join()
    if child.returncode not in (0, 3):
        raise SystemExit(f"{' '.join(command)} failed with exit code {child.returncode}")
    return elapsed, peak_kb / 1024, stdout


def engine_command(path: Path, rows: int) -> list[str]:
    return [PYTHON, "manage.py", "import_catalog", str(path), "--json", "--max-rows", str(rows), "--system", "upsert"]


def variants_file(rows: int) -> Path:
    path = OUT / f"variants_{rows}.csv"
    if not path.exists():
        write_file(str(path), rows)
    return path
