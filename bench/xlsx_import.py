"""``python -m bench.xlsx_import``: the whole ``import_catalog`` of the same rows as XLSX and as CSV.

Issue 16's goal: XLSX within 1.5 times CSV at 100k rows. Each run is a
whole process (start-up included) on the same starting state as ``python -m
bench`` (half the keys live), the formats alternating and their order
reversed every other repeat. ``--before DIR`` also runs a checkout of the
code from before a change (``git archive main | tar -x -C DIR``, with its
``.venv``), in the same rounds, so before and after see the same noise.

Prints per format the median seconds, rows/s, the median peak RSS and the
median CPU seconds of the import process itself (the database server's
work, the same for both formats, is not in it: on a loaded machine the
clearest view of what reading XLSX costs), and the XLSX/CSV ratio of the
medians (and of each round). The XLSX file is the
reader benchmark's ``excel`` sheet (shared strings and ``<dimension>``, as
Excel writes; ``bench/xlsx_reader.py``), the CSV the same rows.

    BENCH_DATABASE_URL=postgres://.../mtc_bench_x python -m bench.xlsx_import --rows 100000 --repeat 5
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
from pathlib import Path

from bench.runs import PYTHON, bench_dsn, bench_env, engine_command, ensure_database, reset, run_measured, variants_file
from bench.xlsx_reader import sheet_path

ROOT = Path(__file__).resolve().parent.parent


def _cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(root: Path, path: Path, rows: int, dsn: str) -> tuple[float, float, float]:
    """Wall seconds, peak RSS (MB) and CPU seconds of the import process (the database server's excluded)."""
    command = engine_command(path, rows)
    if root != ROOT:
        command = [str(root / ".venv" / "bin" / "python"), str(root / "manage.py"), *command[2:]]
    else:
        command[0] = PYTHON
    cpu = _cpu_of_children()
    seconds, peak, stdout = run_measured(command, bench_env(dsn))
    cpu = _cpu_of_children() - cpu  # the one child waited for since: the import
    summary = json.loads(stdout.strip().splitlines()[-1])
    if summary.get("failed"):
        raise SystemExit(f"{path.name}: {summary.get('failed')} rows failed: {summary}")
    return seconds, peak, cpu


def bench_xlsx(dsn: str, *, rows: int, repeat: int, roots: dict[str, Path]) -> dict:
    """The same ``rows`` as XLSX and as CSV, each code in ``roots`` alternating; prints and returns the figures."""
    files = {"csv": variants_file(rows), "xlsx": sheet_path("excel", rows)}
    cases = [(code, fmt) for code in roots for fmt in files]
    runs: dict[tuple[str, str], list[tuple[float, float, float]]] = {case: [] for case in cases}
    for round_number in range(repeat):
        for code, fmt in cases if round_number % 2 == 0 else cases[::-1]:
            reset(dsn, rows)
            runs[code, fmt].append(_run(roots[code], files[fmt], rows, dsn))
        line = "; ".join(
            f"{code} xlsx/csv {runs[code, 'xlsx'][-1][0] / runs[code, 'csv'][-1][0]:.2f} "
            f"({runs[code, 'xlsx'][-1][0]:.2f}s / {runs[code, 'csv'][-1][0]:.2f}s)"
            for code in roots
        )
        print(f"  round {round_number + 1}: {line}", flush=True)
    report = {}
    for code in roots:
        medians = {fmt: statistics.median(seconds for seconds, _, _ in runs[code, fmt]) for fmt in files}
        peaks = {fmt: statistics.median(peak for _, peak, _ in runs[code, fmt]) for fmt in files}
        cpus = {fmt: statistics.median(cpu for _, _, cpu in runs[code, fmt]) for fmt in files}
        for fmt in files:
            print(
                f"  {code:<7}{fmt:<5} median {medians[fmt]:6.2f}s = {rows / medians[fmt]:>8,.0f} rows/s, "
                f"peak RSS {peaks[fmt]:.0f} MB, import process CPU {cpus[fmt]:.2f}s"
            )
        ratios = [x[0] / c[0] for x, c in zip(runs[code, "xlsx"], runs[code, "csv"], strict=True)]
        print(
            f"  {code:<7}XLSX/CSV {medians['xlsx'] / medians['csv']:.2f}x of the medians, "
            f"{statistics.median(ratios):.2f}x median of the rounds' ratios; the XLSX process's CPU "
            f"+{cpus['xlsx'] - cpus['csv']:.2f}s ({rows:,} rows, {repeat} rounds)",
            flush=True,
        )
        report[code] = {
            "rows": rows,
            "median_s": medians,
            "peak_rss_mb": peaks,
            "cpu_s": cpus,
            "xlsx_per_csv": medians["xlsx"] / medians["csv"],
            "xlsx_per_csv_rounds_median": statistics.median(ratios),
        }
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--before", type=Path, help="a checkout of the code before the change, run alongside")
    args = parser.parse_args(argv)
    dsn = bench_dsn()
    ensure_database(dsn)
    roots = {"after": ROOT} | ({"before": args.before.resolve()} if args.before else {})
    bench_xlsx(dsn, rows=args.rows, repeat=args.repeat, roots=roots)


if __name__ == "__main__":
    main()
