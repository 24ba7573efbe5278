"""``python -m bench.mapping``: what reading a supplier's sheet costs over a file with our own headers.

The same rows, the same starting state (half the keys live), two files:

* **ours**: our header names on line 1, commas, decimal points (``bench/catalog_file.py``);
* **supplier**: a title and a note above the header (found by the header-row
  search), German column names read by the suggestion (``Artikel``, ``Farbe``,
  ``Größe``, ``Preis``, ``Bestand``...), one column mapped with ``--map``
  (``Art.-Nr.=sku``), semicolons and decimal commas (the number format told by
  the file).

Two measures, each alternating ours and the supplier's so both see the same
machine noise:

* **reading** (in this process, no database): the file opened, its header
  found, its columns mapped and every row parsed by the engine's own row
  rules, the only work that differs between the two files;
* **import**: a whole ``manage.py import_catalog`` process each (start-up,
  check, staging and writing included), where the database's work is the same
  for both files and the machine's noise is larger.

Prints each run, the medians, the supplier/ours ratio of the medians and the
median of the pairs' ratios (1.00: no cost). Needs a
PostgreSQL server: ``BENCH_DATABASE_URL`` (default the local one, database
``mtc_bench``; give the benchmark a database of its own).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import time
from pathlib import Path

from bench.catalog_file import variant_rows, write_file
from bench.runs import OUT, bench_dsn, bench_env, engine_command, ensure_database, reset, run_measured

SUPPLIER_HEADER = ("Artikel", "Beschreibung", "Farbe", "Größe", "Art.-Nr.", "Preis", "Bestand")
SUPPLIER_MAP = ("--map", "Art.-Nr.=sku")
MAPPING = {"Art.-Nr.": "sku"}


def write_supplier_file(path: Path, rows: int) -> None:
    """The same rows as ``write_file``, as a German supplier writes them."""
    with open(path, "w", newline="", encoding="utf-8") as target:
        target.write("Frühjahrskatalog 2026, Müller Textil GmbH\n")
        target.write("Preise in EUR; Stand 1. März\n")
        writer = csv.writer(target, delimiter=";")
        writer.writerow(SUPPLIER_HEADER)
        for item, description, color, size, sku, price, stock in variant_rows(rows):
            writer.writerow((item, description, color, size, sku, price.replace(".", ","), stock))


def read_seconds(path: Path, mapping: dict | None) -> float:
    """Open, find the header, map and parse every row of ``path`` as an import does, in this process."""
    from catalog.kinds import KINDS
    from imports.engine.columns import header_score, map_columns
    from imports.engine.readers import open_table
    from imports.engine.rows import chunk_parser, read_numbers_as

    kind = KINDS.get("variants")
    started = time.perf_counter()
    with open(path, "rb") as stream, open_table(stream, file_name=path.name, header_score=header_score(kind)) as table:
        columns = map_columns(table.headers, kind, mapping)
        reading, rows = read_numbers_as(table.rows, columns, chosen="auto", content_read=table.content_read)
        parse = chunk_parser(columns, width=len(table.headers), number_format=reading.number_format)
        chunk: list[list] = []
        failed = 0
        for _, cells in rows:
            chunk.append(cells)
            if len(chunk) >= 5000:
                failed += len(parse(chunk).problems)
                chunk = []
        failed += len(parse(chunk).problems)
    if failed:
        raise SystemExit(f"{path}: {failed} rows failed to parse")
    return time.perf_counter() - started


def bench_reading(rows: int, repeat: int) -> dict:
    ours, supplier = _files(rows)
    times: dict[str, list[float]] = {"ours": [], "supplier": []}
    for run in range(1, repeat + 1):
        for name in ("ours", "supplier") if run % 2 else ("supplier", "ours"):
            times[name].append(read_seconds(ours, None) if name == "ours" else read_seconds(supplier, MAPPING))
        print(f"  run {run}: ours {times['ours'][-1]:.3f}s, supplier {times['supplier'][-1]:.3f}s", flush=True)
    return _figures(rows, times)


def _files(rows: int) -> tuple[Path, Path]:
    ours, supplier = OUT / f"variants_{rows}.csv", OUT / f"supplier_{rows}.csv"
    if not ours.exists():
        write_file(str(ours), rows)
    if not supplier.exists():
        write_supplier_file(supplier, rows)
    return ours, supplier


def _figures(rows: int, times: dict[str, list[float]]) -> dict:
    medians = {name: statistics.median(values) for name, values in times.items()}
    pairs = [theirs / mine for mine, theirs in zip(times["ours"], times["supplier"], strict=True)]
    return {
        "rows": rows,
        "times": times,
        "medians": medians,
        "ratio": medians["supplier"] / medians["ours"],
        "pair_ratio_median": statistics.median(pairs),
    }


def _said(report: dict) -> str:
    return (
        f"  median: ours {report['medians']['ours']:.3f}s, supplier {report['medians']['supplier']:.3f}s; "
        f"supplier/ours {report['ratio']:.3f} (median of the pairs' ratios {report['pair_ratio_median']:.3f})"
    )


def bench_mapping(dsn: str, rows: int, repeat: int) -> dict:
    ours, supplier = _files(rows)
    times: dict[str, list[float]] = {"ours": [], "supplier": []}
    counts: dict[str, dict] = {}
    commands = {
        "ours": engine_command(ours, rows),
        "supplier": [*engine_command(supplier, rows), *SUPPLIER_MAP],
    }
    for run in range(1, repeat + 1):
        for name in ("ours", "supplier") if run % 2 else ("supplier", "ours"):
            reset(dsn, rows)
            elapsed, peak, stdout = run_measured(commands[name], bench_env(dsn))
            job = json.loads(stdout.strip().splitlines()[-1])
            counts[name] = {k: job[k] for k in ("inserted", "updated", "unchanged", "failed", "header_row")}
            counts[name]["number_format"] = job["number_format"]
            times[name].append(elapsed)
            print(
                f"  run {run} {name:8}: {elapsed:.2f}s ({rows / elapsed:,.0f} rows/s), peak {peak:.0f} MB", flush=True
            )
    return {**_figures(rows, times), **counts}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.mapping", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--read-repeat", type=int, default=9, help="runs of the reading measure (0 to skip)")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    dsn = bench_dsn()
    report: dict = {}
    if args.read_repeat:
        import django

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mtc.settings")
        os.environ.setdefault("DATABASE_URL", dsn)
        django.setup()
        print(f"Reading only (header, mapping, every row parsed), {args.rows:,} rows, in this process:", flush=True)
        report["reading"] = bench_reading(args.rows, args.read_repeat)
        print(_said(report["reading"]), flush=True)
    ensure_database(dsn)
    print(f"Our headers vs a supplier's sheet (title rows, mapping, decimal commas), {args.rows:,} rows:", flush=True)
    report["import"] = bench_mapping(dsn, args.rows, args.repeat)
    print(f"{_said(report['import'])}\n  ours: {report['import']['ours']}\n  supplier: {report['import']['supplier']}")
    (OUT / "mapping.json").write_text(json.dumps(report, indent=2))
    print(f"Figures saved to {OUT / 'mapping.json'}")


if __name__ == "__main__":
    main()
