"""``python -m bench``: the import engine against PostgreSQL's own bulk path.

In one run, on the same generated file, alternating so that every contender
sees the same machine noise, each from the same starting state:

* speed, per file size (``--rows``, 100,000 by default; ``--million`` adds
  1,000,000 rows, once per state) and per starting catalog: ``empty``
  (statistics taken while empty), ``half`` (half the keys live, a third of
  those changed) and ``unchanged`` (the whole file live and identical):
  - the whole ``manage.py import_catalog`` process (start-up included);
  - the raw floor: COPY into staging + one set-based merge per table;
  - the equal-work floor: the engine's work done in SQL in one transaction
    (normalise, validate, last row wins, the same partial-index upsert
    with the journal) (``bench/floor.py`` says what each does);
* the undo journal's bytes per journaled row after an all-insert and an
  all-update import (``--journal-rows``; 1,000,000 too with ``--million``);
* django-import-export on a smaller file (``--dji-rows``), untuned and tuned
  (``bench/import_export_run.py`` says what tuned mode gives up), and the
  engine on that same file;
* peak RSS of the import process at each ``--memory-rows`` size;
* the catalog API's figures at ``--api-variants`` live variants (1,000,000 by
  default, 0 to skip; ``bench/catalog_api.py``, on the database ``<name>_api``,
  seeded once and reused).
* parallel vs single (``--parallel-rows``; 1,000,000 too with ``--million``):
  the file split by item key into ``--parallel-parts`` parts run at once,
  against the single stream and the raw floor, and where the cores went
  (``bench/parallel.py``).

Prints rows/s, medians, the engine/floor ratios, journal bytes and peak
memory, and saves them in ``bench/out/last.json``. Needs a PostgreSQL server
(``BENCH_DATABASE_URL``, default the local one, database ``mtc_bench``,
created and migrated when missing).
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

from bench.catalog_api import bench_catalog_api
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
    # Untimed: writes the bytecode of the command's own modules, as a deployment's first run does.
    subprocess.run(
        [PYTHON, "manage.py", "import_catalog", "--help"],
        cwd=ROOT,
        env=_env(dsn),
        check=True,
        stdout=subprocess.DEVNULL,
    )


def _env(dsn: str, **extra: str) -> dict[str, str]:
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


def journal_size(dsn: str) -> dict:
    """The undo journal as it stands: rows journaled (ids inserted, rows updated) and bytes."""
    connection = psycopg2.connect(dsn)
    with connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE(SUM(jsonb_array_length(inserted)), 0), COALESCE(SUM(jsonb_array_length(updated)), 0),"
            " COALESCE(SUM(pg_column_size(inserted) + pg_column_size(updated) + pg_column_size(deleted)), 0),"
            " COUNT(*), pg_total_relation_size('import_journal') FROM import_journal"
        )
        inserted, updated, values, statements, total = cursor.fetchone()
    connection.close()
    rows = inserted + updated
    return {
        "rows_inserted": inserted,
        "rows_updated": updated,
        "statements": statements,
        "value_bytes": int(values),
        "table_bytes": total,
        "value_bytes_per_row": round(values / rows, 1) if rows else None,
        "table_bytes_per_row": round(total / rows, 1) if rows else None,
    }


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


FLOORS = ("raw", "equal")
#: The starting states the speed runs measure (``bench.catalog_file.STATES``).
SPEED_STATES = ("empty", "half", "unchanged")


def bench_speed(dsn: str, rows: int, state: str, repeat: int) -> dict:
    """The engine, the raw floor and the equal-work floor from ``state``, alternating, ``repeat`` times."""
    path = _file(rows)
    times: dict[str, list[float]] = {"engine": [], **{floor: [] for floor in FLOORS}}
    summary = {}
    for _ in range(repeat):
        reset(dsn, rows, state)
        elapsed, _, stdout = run_measured(engine_command(path, rows), _env(dsn))
        times["engine"].append(elapsed)
        summary = json.loads(stdout.strip().splitlines()[-1])
        for floor in FLOORS:
            reset(dsn, rows, state)
            times[floor].append(run_measured([PYTHON, "-m", "bench.floor", dsn, str(path), floor], _env(dsn))[0])
        engine, raw, equal = times["engine"][-1], times["raw"][-1], times["equal"][-1]
        print(f"  {rows:,} rows, {state}: engine {engine:.2f}s ({rows / engine:,.0f} rows/s), "
              f"raw floor {raw:.2f}s, equal-work floor {equal:.2f}s; "
              f"engine/raw {engine / raw:.2f}, engine/equal {engine / equal:.2f}", flush=True)  # fmt: skip
    medians = {name: statistics.median(values) for name, values in times.items()}
    ratios = {
        floor: statistics.median(e / f for e, f in zip(times["engine"], times[floor], strict=True)) for floor in FLOORS
    }
    return {
        "rows": rows,
        "state": state,
        "runs": repeat,
        "engine_median_s": medians["engine"],
        "raw_floor_median_s": medians["raw"],
        "equal_floor_median_s": medians["equal"],
        "engine_per_raw": ratios["raw"],
        "engine_per_equal": ratios["equal"],
        "engine_counts": {k: summary.get(k) for k in ("inserted", "updated", "unchanged", "superseded", "failed")},
    }


def bench_journal(dsn: str, rows: int) -> list[dict]:
    """Bytes of the undo journal per journaled row, after an all-insert and an all-update import of ``rows``."""
    results = []
    for state, what in (("empty", "insert"), ("changed", "update")):
        reset(dsn, rows, state)
        elapsed = run_measured(engine_command(_file(rows), rows), _env(dsn))[0]
        size = {"rows": rows, "import": what, "seconds": round(elapsed, 2), **journal_size(dsn)}
        print(f"  {rows:,}-row {what}: {size['rows_inserted'] + size['rows_updated']:,} rows journaled in "
              f"{size['statements']:,} statements; values {size['value_bytes'] / 1e6:.1f} MB = "
              f"{size['value_bytes_per_row']} B/row; import_journal on disk {size['table_bytes'] / 1e6:.1f} MB = "
              f"{size['table_bytes_per_row']} B/row", flush=True)  # fmt: skip
        results.append(size)
    return results


def _file(rows: int) -> Path:
    path = OUT / f"variants_{rows}.csv"
    if not path.exists():
        write_file(str(path), rows)
    return path


def bench_import_export(dsn: str, rows: int, untuned_rows: int) -> dict:
    """django-import-export untuned and tuned, and the engine, each from the half-live state of the same file.

    The untuned run takes ``untuned_rows`` of it (the first rows; smaller, as it is ~100x slower): its ratio is
    taken against the engine on that same smaller file.
    """
    results: dict[str, Any] = {"rows": rows, "untuned_rows": untuned_rows}
    for mode, size in (("untuned", untuned_rows), ("tuned", rows)):
        if not size:
            continue
        path = _file(size)
        reset(dsn, size)
        dji, _, stdout = run_measured([PYTHON, "-m", "bench.import_export_run", str(path), mode], _env(dsn))
        reset(dsn, size)
        engine = run_measured(engine_command(path, size), _env(dsn))[0]
        detail = stdout.strip()
        results[mode] = {"rows": size, "dji_s": dji, "engine_s": engine, "speedup": dji / engine, "detail": detail}
        print(f"  {mode}, {size:,} rows: django-import-export {dji:.1f}s = {size / dji:,.0f} rows/s; "
              f"engine {engine:.2f}s = {size / engine:,.0f} rows/s; engine is {dji / engine:.1f}x faster "
              f"({detail})", flush=True)  # fmt: skip
    return results


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
    parser.add_argument("--rows", default="100000", help="comma-separated file sizes for the speed runs")
    parser.add_argument("--million", action="store_true", help="also 1,000,000 rows (speed once per state, journal)")
    parser.add_argument("--states", default=",".join(SPEED_STATES), help="comma-separated starting states")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--journal-rows", type=int, default=100_000, help="0 to skip the journal's size")
    parser.add_argument("--dji-rows", type=int, default=10_000, help="0 to skip django-import-export")
    parser.add_argument(
        "--dji-untuned-rows", type=int, default=2_000, help="file size for its untuned run (0 to skip that run)"
    )
    parser.add_argument("--memory-rows", default="100000,1000000", help="comma-separated sizes; empty to skip")
    parser.add_argument("--api-variants", type=int, default=1_000_000, help="catalog API at N variants; 0 to skip")
    parser.add_argument("--api-repeat", type=int, default=200, help="calls per catalog API endpoint")
    parser.add_argument("--parallel-rows", default="100000", help="comma-separated sizes; empty to skip")
    parser.add_argument("--parallel-parts", default="2", help="comma-separated numbers of parts")
    parser.add_argument("--parallel-states", default="empty,half", help="comma-separated starting states")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    dsn = _dsn()
    _ensure_database(dsn)
    sizes = [int(s) for s in args.rows.split(",") if s.strip()]
    states = [s.strip() for s in args.states.split(",") if s.strip()]
    runs = [(rows, args.repeat) for rows in sizes] + ([(1_000_000, 1)] if args.million else [])
    report: dict[str, Any] = {"speed": []}
    for rows, repeat in runs:
        for state in states:
            print(f"Speed, {rows:,} rows into the {state} catalog, {repeat} alternating run(s):", flush=True)
            speed = bench_speed(dsn, rows, state, repeat)
            print(
                f"  median: engine {speed['engine_median_s']:.2f}s = {rows / speed['engine_median_s']:,.0f} rows/s; "
                f"raw floor {speed['raw_floor_median_s']:.2f}s; equal-work floor {speed['equal_floor_median_s']:.2f}s; "
                f"engine/raw {speed['engine_per_raw']:.2f}x, engine/equal {speed['engine_per_equal']:.2f}x; "
                f"engine counts {speed['engine_counts']}",
                flush=True,
            )
            report["speed"].append(speed)
    journal_rows = [args.journal_rows] if args.journal_rows else []
    if args.million and 1_000_000 not in journal_rows:
        journal_rows.append(1_000_000)
    if journal_rows:
        print("The undo journal's size:", flush=True)
        report["journal"] = [size for rows in journal_rows for size in bench_journal(dsn, rows)]
    if args.dji_rows:
        print("django-import-export (untuned, then tuned) vs the engine, each on the same file:", flush=True)
        report["import_export"] = bench_import_export(dsn, args.dji_rows, args.dji_untuned_rows)
    memory_sizes = [int(s) for s in args.memory_rows.split(",") if s.strip()]
    if memory_sizes:
        print("Peak memory of the import process:", flush=True)
        report["memory"] = bench_memory(dsn, memory_sizes)
        if len(report["memory"]) >= 2:
            growth = report["memory"][-1]["peak_rss_mb"] - report["memory"][0]["peak_rss_mb"]
            print(f"  growth from {memory_sizes[0]:,} to {memory_sizes[-1]:,} rows: {growth:+.0f} MB")
    if args.api_variants:
        print(f"The catalog API at {args.api_variants:,} live variants, {args.api_repeat} calls each:", flush=True)
        api_dsn = f"{dsn}_api"
        _ensure_database(api_dsn)
        report["catalog_api"] = bench_catalog_api(env=_env(api_dsn), variants=args.api_variants, repeat=args.api_repeat)
    parallel_sizes = [(int(s), args.repeat) for s in args.parallel_rows.split(",") if s.strip()]
    if parallel_sizes:
        from bench.parallel import bench_parallel, print_summary  # it builds on this module's reset and files

        report["parallel"] = []
        for rows, repeat in parallel_sizes + ([(1_000_000, 1)] if args.million else []):
            for state in (s.strip() for s in args.parallel_states.split(",") if s.strip()):
                print(f"Parallel vs single, {rows:,} rows into the {state} catalog:", flush=True)
                parts = [int(n) for n in args.parallel_parts.split(",")]
                result = bench_parallel(dsn, rows=rows, state=state, repeat=repeat, parts=parts, masters=["in_parts"])
                print_summary(result)
                report["parallel"].append(result)
    (OUT / "last.json").write_text(json.dumps(report, indent=2))
    print(f"Figures saved to {OUT / 'last.json'}")


if __name__ == "__main__":
    main()
