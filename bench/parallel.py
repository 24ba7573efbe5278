"""``python -m bench.parallel``: one large file split into key-partitioned parts run side by side.

Issue 16 goal 3: can both cores import one large file faster than the single
stream, and than the single-stream raw floor? The experiment, without
touching the engine:

1. split: the file's rows go to ``parts`` files by a hash of the item's key
   (``catalog.keys.normalize_key`` of ``item_name``), file order kept inside
   each part, so all rows of an item, and so of each of its variants, are in
   one part and "last row wins" still holds;
2. masters (``masters="first"``): the colors, sizes and items the file names
   are written first, each kind a ``manage.py import_catalog --kind ...`` of
   its distinct keys (an item with its last row's description), the three
   kinds side by side; with ``masters="in_parts"`` each part writes its own
   (items are partitioned; the few colors and sizes are shared, and the
   engine writes them in key order, so parts wait on each other but cannot
   deadlock);
3. the parts: ``parts`` ``manage.py import_catalog`` processes at once (what
   ``parts`` django-q2 workers would run, without the queue's latency).

Each contender starts from the same state (``bench.reset``), alternating:
the single-stream engine (``import_catalog`` on the whole file), the raw
floor (``bench/floor.py``) and the parallel run at each number of parts, its
wall time counting the split, the masters and the parts. ``bench.cores``
says where the cores went in each.

``end_state`` reads the four masters' business columns (keys, names, prices,
stocks, whether deleted) by key, not by id: ``tests/bench/test_parallel.py``
compares a parallel run's end state with a single-stream run's.

What the importer itself does for one file on both cores is different and
simpler: its batches are written several at once on their own connections,
committed in file order (``imports/engine/lanes.py``; ``python -m bench``
times it against one batch at a time). This experiment, separate imports of
the file's parts, stays the measure of what a split into parts would give.
Known differences from a single stream (see the README's Performance
section): with ``masters="first"``
a master named only by a row that fails validation is still created, as the
split does not validate; the look-alike names check sees only the names of
its own part (and what other parts have committed).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.cores import CoreUsage
from bench.runs import OUT, bench_dsn, bench_env, engine_command, ensure_database, reset, variants_file
from catalog.keys import normalize_key

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
MASTERS = ("first", "in_parts")
#: Exit codes of ``import_catalog`` a benchmark accepts: no failed row, or some.
DONE = (0, 3)


def part_of(item_name: str, *, parts: int) -> int:
    """The part an item's rows go to: a stable hash of its key, so every spelling of one key meets in one part."""
    return zlib.crc32(normalize_key(item_name).encode("utf-8")) % parts


@dataclass(frozen=True)
class Split:
    parts: list[Path]
    masters: dict[str, Path]  # kind -> its file of distinct keys


def split_file(source: Path, *, parts: int, directory: Path) -> Split:
    """Write ``source``'s rows into ``parts`` files by item key, and a file per master kind of its distinct keys."""
    directory.mkdir(parents=True, exist_ok=True)
    items: dict[str, str] = {}
    colors: set[str] = set()
    sizes: set[str] = set()
    paths = [directory / f"part_{n}.csv" for n in range(parts)]
    targets = [path.open("w", newline="", encoding="utf-8") for path in paths]
    try:
        with source.open(newline="", encoding="utf-8") as data:
            reader = csv.reader(data)
            header = next(reader)
            columns = ("item_name", "description", "color_name", "size_name")
            item, description, color, size = (header.index(column) for column in columns)
            writers = [csv.writer(target) for target in targets]
            for writer in writers:
                writer.writerow(header)
            for row in reader:
                writers[part_of(row[item], parts=parts)].writerow(row)
                items[row[item]] = row[description]  # the last row's description wins
                colors.add(row[color])
                sizes.add(row[size])
    finally:
        for target in targets:
            target.close()
    masters = {
        "colors": _write(directory / "colors.csv", ["color_name"], ([c] for c in sorted(colors))),
        "sizes": _write(directory / "sizes.csv", ["size_name"], ([s] for s in sorted(sizes))),
        "items": _write(directory / "items.csv", ["name", "description"], sorted(items.items())),
    }
    return Split(parts=paths, masters=masters)


def _write(path: Path, header: list[str], rows) -> Path:
    with path.open("w", newline="", encoding="utf-8") as target:
        writer = csv.writer(target)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def import_command(path: Path, *, kind: str, rows: int) -> list[str]:
    return [PYTHON, "manage.py", "import_catalog", str(path), "--kind", kind, "--json", "--max-rows", str(rows),
            "--system", "upsert"]  # fmt: skip


def run_together(commands: list[list[str]], *, env: Mapping[str, str]) -> list[dict]:
    """Start every command at once, wait for all; each one's job (``--json``'s last line)."""
    children = [
        subprocess.Popen(command, cwd=ROOT, env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for command in commands
    ]
    jobs = []
    for command, child in zip(commands, children, strict=True):
        stdout, stderr = child.communicate()
        if child.returncode not in DONE:
            raise RuntimeError(f"{' '.join(command)} exited {child.returncode}: {stderr[-2000:]}")
        jobs.append(json.loads(stdout.strip().splitlines()[-1]))
    return jobs


@dataclass
class ParallelRun:
    split_s: float
    masters_s: float
    parts_s: float
    jobs: list[dict]

    @property
    def counts(self) -> dict[str, int]:
        """The parts' figures added up: what one job's would be."""
        keys = ("total_rows", "inserted", "updated", "unchanged", "superseded", "failed")
        return {key: sum(job[key] or 0 for job in self.jobs) for key in keys}


def run_parallel(source: Path, *, parts: int, rows: int, env: Mapping[str, str], directory: Path,
                 masters: str = "first") -> ParallelRun:  # fmt: skip
    """Split ``source``, write its masters (``masters``: ``first`` or ``in_parts``), run the parts at once."""
    if masters not in MASTERS:
        raise ValueError(f"masters={masters!r}: one of {', '.join(MASTERS)}")
    started = time.perf_counter()
    split = split_file(source, parts=parts, directory=directory)
    split_done = time.perf_counter()
    if masters == "first":
        run_together([import_command(path, kind=kind, rows=rows) for kind, path in split.masters.items()], env=env)
    masters_done = time.perf_counter()
    jobs = run_together([import_command(path, kind="variants", rows=rows) for path in split.parts], env=env)
    return ParallelRun(split_s=split_done - started, masters_s=masters_done - split_done,
                       parts_s=time.perf_counter() - masters_done, jobs=jobs)  # fmt: skip


#: The business columns of the four masters, by key (ids differ between runs).
END_STATE = {
    "items": "SELECT name, description, deleted_at IS NULL FROM item_master ORDER BY 1, 2, 3",
    "colors": "SELECT color_name, deleted_at IS NULL FROM color_master ORDER BY 1, 2",
    "sizes": "SELECT size_name, deleted_at IS NULL FROM size_master ORDER BY 1, 2",
    "variants": (
        "SELECT i.name, c.color_name, z.size_name, v.sku, v.price::text, v.stock, v.deleted_at IS NULL"
        " FROM item_variant v JOIN item_master i USING (item_id) JOIN color_master c USING (color_id)"
        " JOIN size_master z USING (size_id) ORDER BY 1, 2, 3, 4, 5, 6, 7"
    ),
}


def end_state(cursor) -> dict[str, list[tuple]]:
    """The four masters as a catalog team sees them (any DB-API cursor)."""
    state = {}
    for name, query in END_STATE.items():
        cursor.execute(query)
        state[name] = [tuple(row) for row in cursor.fetchall()]
    return state


# --- the benchmark ----------------------------------------------------------------------------------


def _contenders(parts: list[int], masters: list[str]) -> list[str]:
    return ["single", "raw", *(f"parallel-{n}-{m}" for n in parts for m in masters)]


def _run_contender(name: str, *, dsn: str, path: Path, rows: int, env: Mapping[str, str]) -> dict:
    extra: dict[str, Any] = {}
    with CoreUsage(dsn) as usage:
        if name == "single":
            extra["jobs"] = [run_together([engine_command(path, rows)], env=env)[0]]
        elif name == "raw":
            subprocess.run([PYTHON, "-m", "bench.floor", dsn, str(path), "raw"], cwd=ROOT, env=dict(env), check=True)
        else:
            _, n, masters = name.split("-", 2)
            run = run_parallel(path, parts=int(n), rows=rows, env=env, directory=OUT / f"parts_{rows}_{n}",
                               masters=masters)  # fmt: skip
            extra = {"split_s": round(run.split_s, 2), "masters_s": round(run.masters_s, 2),
                     "parts_s": round(run.parts_s, 2), "jobs": run.jobs}  # fmt: skip
    return {**usage.summary(cores=os.cpu_count() or 1), **extra}


def bench_parallel(dsn: str, *, rows: int, state: str, repeat: int, parts: list[int], masters: list[str]) -> dict:
    """Every contender from ``state``, alternating, ``repeat`` times; medians and ratios against single and raw."""
    path, env = variants_file(rows), bench_env(dsn)
    names = _contenders(parts, masters)
    runs: dict[str, list[dict]] = {name: [] for name in names}
    for _ in range(repeat):
        for name in names:
            reset(dsn, rows, state)
            run = _run_contender(name, dsn=dsn, path=path, rows=rows, env=env)
            runs[name].append(run)
            detail = "".join(f", {k[:-2]} {run[k]:.2f}s" for k in ("split_s", "masters_s", "parts_s") if k in run)
            print(f"  {name}: {run['wall_s']:.2f}s{detail}; CPU python {run['python_cpu_s']:.1f}s "
                  f"({run['python_share']:.0%} of the cores), postgres {run['postgres_cpu_s']:.1f}s "
                  f"({run['postgres_share']:.0%}); machine busy {run['machine_busy_share']:.0%}; "
                  f"backends {run['backend_samples']}", flush=True)  # fmt: skip
    walls = {name: [run["wall_s"] for run in runs[name]] for name in names}
    result: dict[str, Any] = {"rows": rows, "state": state, "runs": repeat, "contenders": {}}
    for name in names:
        result["contenders"][name] = {
            "median_s": statistics.median(walls[name]),
            "per_single": statistics.median(w / s for w, s in zip(walls[name], walls["single"], strict=True)),
            "per_raw": statistics.median(w / r for w, r in zip(walls[name], walls["raw"], strict=True)),
            "python_share": statistics.median(run["python_share"] for run in runs[name]),
            "postgres_share": statistics.median(run["postgres_share"] for run in runs[name]),
            "machine_busy_share": statistics.median(run["machine_busy_share"] for run in runs[name]),
            "runs": runs[name],
        }
    return result


def print_summary(result: dict) -> None:
    print(f"Parallel vs single, {result['rows']:,} rows into the {result['state']} catalog, "
          f"{result['runs']} alternating run(s), medians:", flush=True)  # fmt: skip
    for name, c in result["contenders"].items():
        print(f"  {name:>22}: {c['median_s']:6.2f}s  x{c['per_single']:.2f} single  x{c['per_raw']:.2f} raw floor  "
              f"python {c['python_share']:.0%} + postgres {c['postgres_share']:.0%} of 2 cores "
              f"(machine {c['machine_busy_share']:.0%} busy)", flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.parallel", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="100000", help="comma-separated file sizes")
    parser.add_argument("--million", action="store_true", help="also 1,000,000 rows, once per state")
    parser.add_argument("--states", default="empty,half", help="comma-separated starting states")
    parser.add_argument("--parts", default="2,3,4", help="comma-separated numbers of parts")
    parser.add_argument("--masters", default="first,in_parts", help=f"comma-separated: {', '.join(MASTERS)}")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    dsn = bench_dsn()
    ensure_database(dsn)
    sizes = [(int(s), args.repeat) for s in args.rows.split(",") if s.strip()]
    sizes += [(1_000_000, 1)] if args.million else []
    results = []
    for rows, repeat in sizes:
        for state in (s.strip() for s in args.states.split(",") if s.strip()):
            print(f"{rows:,} rows into the {state} catalog:", flush=True)
            result = bench_parallel(dsn, rows=rows, state=state, repeat=repeat,
                                    parts=[int(n) for n in args.parts.split(",")],
                                    masters=[m.strip() for m in args.masters.split(",")])  # fmt: skip
            print_summary(result)
            results.append(result)
    (OUT / "parallel.json").write_text(json.dumps(results, indent=2))
    print(f"Figures saved to {OUT / 'parallel.json'}")


if __name__ == "__main__":
    main()
