"""``python -m bench.mapping``: what reading a supplier's sheet costs over a file with our own headers.

The same rows, the same starting state (half the keys live), two files:

* **ours**: our header names on line 1, commas, decimal points (``bench/catalog_file.py``);
* **supplier**: a title and a note above the header (found by the header-row
  search), German column names read by the suggestion (``Artikel``, ``Farbe``,
  ``Größe``, ``Preis``, ``Bestand``...), one column mapped with ``--map``
  (``Art.-Nr.=sku``), semicolons and decimal commas (the number format told by
  the file).

Each run is a whole ``manage.py import_catalog`` process, alternating ours and
the supplier's so both see the same machine noise. Prints each run, the
medians and the supplier/ours ratio of the medians (1.00: no cost). Needs a
PostgreSQL server: ``BENCH_DATABASE_URL`` (default the local one, database
``mtc_bench``; give the benchmark a database of its own).
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
from pathlib import Path

from bench.__main__ import OUT, _dsn, _ensure_database, _env, engine_command, reset, run_measured
from bench.catalog_file import variant_rows, write_file

SUPPLIER_HEADER = ("Artikel", "Beschreibung", "Farbe", "Größe", "Art.-Nr.", "Preis", "Bestand")
SUPPLIER_MAP = ("--map", "Art.-Nr.=sku")


def write_supplier_file(path: Path, rows: int) -> None:
    """The same rows as ``write_file``, as a German supplier writes them."""
    with open(path, "w", newline="", encoding="utf-8") as target:
        target.write("Frühjahrskatalog 2026, Müller Textil GmbH\n")
        target.write("Preise in EUR; Stand 1. März\n")
        writer = csv.writer(target, delimiter=";")
        writer.writerow(SUPPLIER_HEADER)
        for item, description, color, size, sku, price, stock in variant_rows(rows):
            writer.writerow((item, description, color, size, sku, price.replace(".", ","), stock))


def bench_mapping(dsn: str, rows: int, repeat: int) -> dict:
    ours, supplier = OUT / f"variants_{rows}.csv", OUT / f"supplier_{rows}.csv"
    if not ours.exists():
        write_file(str(ours), rows)
    if not supplier.exists():
        write_supplier_file(supplier, rows)
    times: dict[str, list[float]] = {"ours": [], "supplier": []}
    counts: dict[str, dict] = {}
    commands = {
        "ours": engine_command(ours, rows),
        "supplier": [*engine_command(supplier, rows), *SUPPLIER_MAP],
    }
    for run in range(1, repeat + 1):
        for name in ("ours", "supplier") if run % 2 else ("supplier", "ours"):
            reset(dsn, rows)
            elapsed, peak, stdout = run_measured(commands[name], _env(dsn))
            job = json.loads(stdout.strip().splitlines()[-1])
            counts[name] = {k: job[k] for k in ("inserted", "updated", "unchanged", "failed", "header_row")}
            counts[name]["number_format"] = job["number_format"]
            times[name].append(elapsed)
            print(
                f"  run {run} {name:8}: {elapsed:.2f}s ({rows / elapsed:,.0f} rows/s), peak {peak:.0f} MB", flush=True
            )
    medians = {name: statistics.median(values) for name, values in times.items()}
    return {"rows": rows, "times": times, "medians": medians, "ratio": medians["supplier"] / medians["ours"], **counts}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.mapping", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    dsn = _dsn()
    _ensure_database(dsn)
    print(f"Our headers vs a supplier's sheet (title rows, mapping, decimal commas), {args.rows:,} rows:", flush=True)
    report = bench_mapping(dsn, args.rows, args.repeat)
    print(
        f"  median: ours {report['medians']['ours']:.2f}s, supplier {report['medians']['supplier']:.2f}s; "
        f"supplier/ours {report['ratio']:.3f}\n  ours: {report['ours']}\n  supplier: {report['supplier']}"
    )
    (OUT / "mapping.json").write_text(json.dumps(report, indent=2))
    print(f"Figures saved to {OUT / 'mapping.json'}")


if __name__ == "__main__":
    main()
