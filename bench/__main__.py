"""``python -m bench``: the import engine against PostgreSQL's own bulk path.

In one run, on the same generated file, alternating so that every contender
sees the same machine noise, each from the same starting state:

* speed, per file size (``--rows``, 100,000 by default; ``--million`` adds
  1,000,000 rows, once per state) and per starting catalog: ``empty``
  (statistics taken while empty), ``half`` (half the keys live, a third of
  those changed) and ``unchanged`` (the whole file live and identical):
  - the whole ``manage.py import_catalog`` process (start-up included),
    as configured (two batches written at once) and one batch at a time
    (``IMPORT_PARALLEL_BATCHES=1``);
  - the raw floor: COPY into staging + one set-based merge per table;
  - the equal-work floor: the engine's work done in SQL in one transaction
    (normalise, validate, last row wins, the same partial-index upsert
    with the journal) (``bench/floor.py`` says what each does);
* the undo journal's bytes per journaled row after an all-insert and an
  all-update import (``--journal-rows``; 1,000,000 too with ``--million``);
* django-import-export tuned at ``--dji-rows`` (100,000) and untuned at
  ``--dji-untuned-rows`` (10,000: it is ~100 times slower), each against the
  engine on that same file (``bench/import_export_run.py`` says what tuned
  mode gives up);
* peak RSS of the import process at each ``--memory-rows`` size;
* the catalog API's figures at ``--api-variants`` live variants (1,000,000 by
  default, 0 to skip; ``bench/catalog_api.py``, on the database ``<name>_api``,
  seeded once and reused).
* the same rows as XLSX and as CSV (``--xlsx-rows``; ``bench/xlsx_import.py``);
* parallel vs single (``--parallel-rows``; 1,000,000 too with ``--million``):
  the file split by item key into ``--parallel-parts`` parts run at once,
  against the single stream and the raw floor, and where the cores went
  (``bench/parallel.py``).

Prints rows/s, medians, the engine/floor ratios, journal bytes and peak
memory as it goes, then a summary of issue 16's ratios beside their goals,
and saves them in ``bench/out/last.json``. Needs a PostgreSQL server
(``BENCH_DATABASE_URL``, default the local one, database ``mtc_bench``,
created and migrated when missing).
"""

from __future__ import annotations

import argparse
import json
import statistics
from typing import Any

import psycopg2

from bench.catalog_api import bench_catalog_api
from bench.runs import (
    OUT,
    PYTHON,
    ROOT,
    bench_dsn,
    bench_env,
    engine_command,
    ensure_database,
    reset,
    run_measured,
    variants_file,
)
from bench.xlsx_import import bench_xlsx


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


FLOORS = ("raw", "equal")
#: The engine writing one batch at a time (``IMPORT_PARALLEL_BATCHES=1``), beside its default of two at once.
ONE_AT_A_TIME = "one_at_a_time"
#: The starting states the speed runs measure (``bench.catalog_file.STATES``).
SPEED_STATES = ("empty", "half", "unchanged")


def bench_speed(dsn: str, rows: int, state: str, repeat: int) -> dict:
    """The engine, the raw floor and the equal-work floor from ``state``, alternating, ``repeat`` times."""
    path = variants_file(rows)
    times: dict[str, list[float]] = {"engine": [], ONE_AT_A_TIME: [], **{floor: [] for floor in FLOORS}}
    summary = {}
    for _ in range(repeat):
        reset(dsn, rows, state)
        elapsed, _, stdout = run_measured(engine_command(path, rows), bench_env(dsn))
        times["engine"].append(elapsed)
        summary = json.loads(stdout.strip().splitlines()[-1])
        reset(dsn, rows, state)
        one = run_measured(engine_command(path, rows), bench_env(dsn, IMPORT_PARALLEL_BATCHES="1"))[0]
        times[ONE_AT_A_TIME].append(one)
        for floor in FLOORS:
            reset(dsn, rows, state)
            times[floor].append(run_measured([PYTHON, "-m", "bench.floor", dsn, str(path), floor], bench_env(dsn))[0])
        engine, raw, equal = times["engine"][-1], times["raw"][-1], times["equal"][-1]
        print(f"  {rows:,} rows, {state}: engine {engine:.2f}s ({rows / engine:,.0f} rows/s), "
              f"one batch at a time {one:.2f}s, raw floor {raw:.2f}s, equal-work floor {equal:.2f}s; "
              f"engine/raw {engine / raw:.2f}, engine/equal {engine / equal:.2f}, "
              f"engine/one at a time {engine / one:.2f}", flush=True)  # fmt: skip
    medians = {name: statistics.median(values) for name, values in times.items()}
    ratios = {
        other: statistics.median(e / f for e, f in zip(times["engine"], times[other], strict=True))
        for other in (*FLOORS, ONE_AT_A_TIME)
    }
    return {
        "rows": rows,
        "state": state,
        "runs": repeat,
        "engine_median_s": medians["engine"],
        "raw_floor_median_s": medians["raw"],
        "equal_floor_median_s": medians["equal"],
        "one_at_a_time_median_s": medians[ONE_AT_A_TIME],
        "engine_per_raw": ratios["raw"],
        "engine_per_equal": ratios["equal"],
        "engine_per_one_at_a_time": ratios[ONE_AT_A_TIME],
        "engine_counts": {k: summary.get(k) for k in ("inserted", "updated", "unchanged", "superseded", "failed")},
    }


def bench_journal(dsn: str, rows: int) -> list[dict]:
    """Bytes of the undo journal per journaled row, after an all-insert and an all-update import of ``rows``."""
    results = []
    for state, what in (("empty", "insert"), ("changed", "update")):
        reset(dsn, rows, state)
        elapsed = run_measured(engine_command(variants_file(rows), rows), bench_env(dsn))[0]
        size = {"rows": rows, "import": what, "seconds": round(elapsed, 2), **journal_size(dsn)}
        print(f"  {rows:,}-row {what}: {size['rows_inserted'] + size['rows_updated']:,} rows journaled in "
              f"{size['statements']:,} statements; values {size['value_bytes'] / 1e6:.1f} MB = "
              f"{size['value_bytes_per_row']} B/row; import_journal on disk {size['table_bytes'] / 1e6:.1f} MB = "
              f"{size['table_bytes_per_row']} B/row", flush=True)  # fmt: skip
        results.append(size)
    return results


def bench_import_export(dsn: str, rows: int, untuned_rows: int) -> dict:
    """django-import-export untuned and tuned, and the engine, each from the half-live state of the same file.

    The untuned run takes ``untuned_rows`` of it (the first rows; smaller, as it is ~100x slower): its ratio is
    taken against the engine on that same smaller file.
    """
    results: dict[str, Any] = {"rows": rows, "untuned_rows": untuned_rows}
    for mode, size in (("untuned", untuned_rows), ("tuned", rows)):
        if not size:
            continue
        path = variants_file(size)
        reset(dsn, size)
        dji, _, stdout = run_measured([PYTHON, "-m", "bench.import_export_run", str(path), mode], bench_env(dsn))
        reset(dsn, size)
        engine = run_measured(engine_command(path, size), bench_env(dsn))[0]
        detail = stdout.strip()
        results[mode] = {"rows": size, "dji_s": dji, "engine_s": engine, "speedup": dji / engine, "detail": detail}
        print(f"  {mode}, {size:,} rows: django-import-export {dji:.1f}s = {size / dji:,.0f} rows/s; "
              f"engine {engine:.2f}s = {size / engine:,.0f} rows/s; engine is {dji / engine:.1f}x faster "
              f"({detail})", flush=True)  # fmt: skip
    return results


def bench_memory(dsn: str, sizes: list[int]) -> list[dict]:
    results = []
    for rows in sizes:
        path = variants_file(rows)
        reset(dsn, rows)
        elapsed, peak, _ = run_measured(engine_command(path, rows), bench_env(dsn))
        print(f"  {rows:,} rows: peak RSS {peak:.0f} MB in {elapsed:.1f}s ({rows / elapsed:,.0f} rows/s)", flush=True)
        results.append({"rows": rows, "peak_rss_mb": round(peak, 1), "seconds": round(elapsed, 2)})
    return results


def print_goals(report: dict[str, Any]) -> None:
    """Issue 16's ratios side by side with their goals, from the sections this run measured."""
    print("Summary (issue 16's goals; medians of this run):")
    for speed in report.get("speed", []):
        print(f"  engine / raw floor, {speed['rows']:,} rows, {speed['state']}: {speed['engine_per_raw']:.2f}x "
              f"(goal 1.2x); / equal-work floor {speed['engine_per_equal']:.2f}x (goal 1.3x when empty); "
              f"/ one batch at a time {speed['engine_per_one_at_a_time']:.2f}x (both cores: goal 3)")  # fmt: skip
    if "xlsx" in report:
        print(f"  XLSX / CSV, {report['xlsx']['rows']:,} rows: {report['xlsx']['xlsx_per_csv']:.2f}x (goal 1.5x)")
    for result in report.get("parallel", []):
        for name, contender in result["contenders"].items():
            if name not in ("single", "raw"):
                print(f"  {name} / single stream, {result['rows']:,} rows, {result['state']}: "
                      f"{contender['per_single']:.2f}x; / raw floor {contender['per_raw']:.2f}x "
                      "(goal below 1x)")  # fmt: skip
    for mode, goal in (("untuned", 100), ("tuned", 10)):
        run = report.get("import_export", {}).get(mode)
        if run:
            print(f"  django-import-export {mode} / engine, {run['rows']:,} rows: {run['speedup']:.1f}x (goal {goal}x)")
    for call in report.get("catalog_api", {}).get("endpoints", {}).values():
        if call:  # None: the endpoint did not answer 200 (the command said which)
            goal = 500 if call["url"].startswith("/admin/") else 50
            print(f"  {call['url']}: p50 {call['p50_ms']:.1f} ms, p99 {call['p99_ms']:.1f} ms (goal p99 {goal} ms)")
    for memory in report.get("memory", []):
        print(f"  peak RSS, {memory['rows']:,} rows: {memory['peak_rss_mb']:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="100000", help="comma-separated file sizes for the speed runs")
    parser.add_argument("--million", action="store_true", help="also 1,000,000 rows (speed once per state, journal)")
    parser.add_argument("--states", default=",".join(SPEED_STATES), help="comma-separated starting states")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--journal-rows", type=int, default=100_000, help="0 to skip the journal's size")
    parser.add_argument("--dji-rows", type=int, default=100_000, help="tuned run size; 0 to skip django-import-export")
    parser.add_argument(
        "--dji-untuned-rows", type=int, default=10_000, help="file size for its untuned run (0 to skip that run)"
    )
    parser.add_argument("--memory-rows", default="100000,1000000", help="comma-separated sizes; empty to skip")
    parser.add_argument("--api-variants", type=int, default=1_000_000, help="catalog API at N variants; 0 to skip")
    parser.add_argument("--api-repeat", type=int, default=200, help="calls per catalog API endpoint")
    parser.add_argument("--parallel-rows", default="100000", help="comma-separated sizes; empty to skip")
    parser.add_argument("--parallel-parts", default="2", help="comma-separated numbers of parts")
    parser.add_argument("--parallel-states", default="empty,half", help="comma-separated starting states")
    parser.add_argument("--xlsx-rows", type=int, default=100_000, help="XLSX vs CSV at N rows; 0 to skip")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    dsn = bench_dsn()
    ensure_database(dsn)
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
                f"one batch at a time {speed['one_at_a_time_median_s']:.2f}s; "
                f"engine/raw {speed['engine_per_raw']:.2f}x, engine/equal {speed['engine_per_equal']:.2f}x, "
                f"engine/one at a time {speed['engine_per_one_at_a_time']:.2f}x; "
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
        ensure_database(api_dsn)
        report["catalog_api"] = bench_catalog_api(
            env=bench_env(api_dsn), variants=args.api_variants, repeat=args.api_repeat
        )
    if args.xlsx_rows:
        print(f"The same {args.xlsx_rows:,} rows as XLSX and as CSV, {args.repeat} alternating rounds:", flush=True)
        report["xlsx"] = bench_xlsx(dsn, rows=args.xlsx_rows, repeat=args.repeat, roots={"after": ROOT})["after"]
    parallel_sizes = [(int(s), args.repeat) for s in args.parallel_rows.split(",") if s.strip()]
    if parallel_sizes:
        from bench.parallel import bench_parallel, print_summary

        report["parallel"] = []
        for rows, repeat in parallel_sizes + ([(1_000_000, 1)] if args.million else []):
            for state in (s.strip() for s in args.parallel_states.split(",") if s.strip()):
                print(f"Parallel vs single, {rows:,} rows into the {state} catalog:", flush=True)
                parts = [int(n) for n in args.parallel_parts.split(",")]
                result = bench_parallel(dsn, rows=rows, state=state, repeat=repeat, parts=parts, masters=["in_parts"])
                print_summary(result)
                report["parallel"].append(result)
    print_goals(report)
    (OUT / "last.json").write_text(json.dumps(report, indent=2))
    print(f"Figures saved to {OUT / 'last.json'}")


if __name__ == "__main__":
    main()
