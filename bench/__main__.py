"""``python -m bench``: the import engine against PostgreSQL's own bulk path.

In one run, on the same generated file and the same starting state (half the
keys already live), alternating so both see the same machine noise:

* the whole ``manage.py import_catalog`` process (start-up included);
* the floor: COPY into staging + set-based merge (``bench/floor.py``), also a
  whole process;
* django-import-export on a smaller file (it is ~100x slower), and the engine
  on that same file;
* peak RSS of the import process at each ``--memory-rows`` size.

Prints rows/s, medians, the engine/floor ratio and peak memory. Needs a
PostgreSQL server (``BENCH_DATABASE_URL``, default the local one, database
``mtc_bench``, created and migrated when missing).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psycopg2
from psycopg2 import sql

from bench.catalog_file import live_state_copy, write_file

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
PYTHON = sys.executable


def _dsn() -> str:
    return os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mtc_bench")


def _ensure_database(dsn: str) -> None:
    name = dsn.rsplit("/", 1)[1]
    admin = dsn.rsplit("/", 1)[0] + "/postgres"
    connection = psycopg2.connect(admin)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if not cursor.fetchone():
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    connection.close()
    subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], cwd=ROOT, env=_env(dsn), check=True)


def _env(dsn: str, **extra: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": dsn, "USE_NEW_IMPORT_SYSTEM": "true", **extra}


def reset(dsn: str, rows: int) -> None:
    """Empty the masters and load the 'half already live' state, then checkpoint."""
    payloads = live_state_copy(rows)
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


def bench_speed(dsn: str, rows: int, repeat: int) -> dict:
    path = OUT / f"variants_{rows}.csv"
    if not path.exists():
        write_file(str(path), rows)
    engine_times, floor_times, ratios = [], [], []
    summary = {}
    for _ in range(repeat):
        reset(dsn, rows)
        engine, _, stdout = run_measured(engine_command(path, rows), _env(dsn))
        summary = json.loads(stdout.strip().splitlines()[-1])
        reset(dsn, rows)
        floor, _, _ = run_measured([PYTHON, "-m", "bench.floor", dsn, str(path)], _env(dsn))
        engine_times.append(engine)
        floor_times.append(floor)
        ratios.append(engine / floor)
        print(f"  {rows:,} rows: engine {engine:.2f}s ({rows / engine:,.0f} rows/s), "
              f"floor {floor:.2f}s ({rows / floor:,.0f} rows/s), ratio {engine / floor:.2f}", flush=True)  # fmt: skip
    return {
        "rows": rows,
        "engine_median_s": statistics.median(engine_times),
        "floor_median_s": statistics.median(floor_times),
        "ratio_median": statistics.median(ratios),
        "engine_counts": {k: summary.get(k) for k in ("inserted", "updated", "unchanged", "superseded", "failed")},
    }


def bench_import_export(dsn: str, rows: int) -> dict:
    """django-import-export and the engine on the same file and state."""
    path = OUT / f"variants_{rows}.csv"
    if not path.exists():
        write_file(str(path), rows)
    reset(dsn, rows)
    dji, _, stdout = run_measured([PYTHON, "-m", "bench.import_export_run", str(path)], _env(dsn))
    reset(dsn, rows)
    engine, _, _ = run_measured(engine_command(path, rows), _env(dsn))
    return {"rows": rows, "dji_s": dji, "engine_s": engine, "speedup": dji / engine, "dji_detail": stdout.strip()}


def bench_memory(dsn: str, sizes: list[int]) -> list[dict]:
    results = []
    for rows in sizes:
        path = OUT / f"variants_{rows}.csv"
        if not path.exists():
            write_file(str(path), rows)
        reset(dsn, rows)
        elapsed, peak, _ = run_measured(engine_command(path, rows), _env(dsn))
        print(f"  {rows:,} rows: peak RSS {peak:.0f} MB in {elapsed:.1f}s ({rows / elapsed:,.0f} rows/s)", flush=True)
        results.append({"rows": rows, "peak_rss_mb": round(peak, 1), "seconds": round(elapsed, 2)})
    return results


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dji-rows", type=int, default=10_000, help="0 to skip django-import-export")
    parser.add_argument("--memory-rows", default="100000,1000000", help="comma-separated sizes; empty to skip")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    dsn = _dsn()
    _ensure_database(dsn)
    print(f"Speed, {args.rows:,} rows, half the keys live, {args.repeat} alternating runs:", flush=True)
    speed = bench_speed(dsn, args.rows, args.repeat)
    print(
        f"  median: engine {speed['engine_median_s']:.2f}s = {args.rows / speed['engine_median_s']:,.0f} rows/s; "
        f"floor {speed['floor_median_s']:.2f}s = {args.rows / speed['floor_median_s']:,.0f} rows/s; "
        f"engine/floor {speed['ratio_median']:.2f}x; engine counts {speed['engine_counts']}"
    )
    report: dict[str, Any] = {"speed": speed}
    if args.dji_rows:
        print(f"django-import-export vs engine, {args.dji_rows:,} rows:", flush=True)
        dji = bench_import_export(dsn, args.dji_rows)
        print(
            f"  django-import-export {dji['dji_s']:.1f}s = {args.dji_rows / dji['dji_s']:,.0f} rows/s; "
            f"engine {dji['engine_s']:.2f}s = {args.dji_rows / dji['engine_s']:,.0f} rows/s; "
            f"engine is {dji['speedup']:.0f}x faster ({dji['dji_detail']})"
        )
        report["import_export"] = dji
    sizes = [int(s) for s in args.memory_rows.split(",") if s.strip()]
    if sizes:
        print("Peak memory of the import process:", flush=True)
        report["memory"] = bench_memory(dsn, sizes)
        if len(report["memory"]) >= 2:
            growth = report["memory"][-1]["peak_rss_mb"] - report["memory"][0]["peak_rss_mb"]
            print(f"  growth from {sizes[0]:,} to {sizes[-1]:,} rows: {growth:+.0f} MB")
    (OUT / "last.json").write_text(json.dumps(report, indent=2))
    print(f"Figures saved to {OUT / 'last.json'}")


if __name__ == "__main__":
    main()
