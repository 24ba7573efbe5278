"""``python -m bench.xlsx_reader``: ways to read an XLSX sheet's rows, and the same rows as CSV.

Figures, not a test. Writes variants sheets (the 7 columns of the benchmark's
variants file, ``bench/catalog_file.py``) with openpyxl's write-only mode,
then reads each one in a fresh subprocess per run, the implementations
alternating within each repeat so they see the same machine noise:

``engine``
    what ``imports.engine.xlsx_sheets`` does on verified openpyxl versions
    with ``IMPORT_XLSX_IN_MEMORY_MB`` at its default (64): the parts checked
    (``xlsx_parts``), the workbook's structure through openpyxl, then a
    plain sheet up to that size through python-calamine
    (``imports.engine.xlsx_calamine``), any other through expat.
``engine-stream``
    the same with ``IMPORT_XLSX_IN_MEMORY_MB=0``: the shared strings and the
    sheet through expat (``imports.engine.xlsx_stream``), each row dropped
    once read (what a sheet too large or not plain gets).
``openpyxl-parser``, ``etree``, ``calamine``
    the other candidates, in ``bench/xlsx_candidates.py`` (what the engine
    did before, ElementTree's C tree builder, python-calamine alone).
``csv``
    the same rows as a CSV file, through the engine's CSV reader: the
    target (issue 16: XLSX within 1.5 times CSV).
``public``
    the engine's public-API fallback: ``load_workbook(read_only=True)``
    twice over the same bytes, ``data_only=True`` for values and
    ``data_only=False`` for formulas, both ``reset_dimensions()`` and
    ``iter_rows()`` in lock-step (the formula side tells an unsaved formula
    from an empty cell).
``public-1book``
    for reference, not a usable reader: the public API with one workbook
    (values and ``data_type``, no unsaved-formula check), i.e. what the
    second workbook costs.

The sheets, each at every ``--rows`` size:

``nodim``
    as openpyxl's write-only mode writes them: inline strings and no
    ``<dimension>`` (``load_workbook`` then pre-scans the sheet for its size).
``dim``
    the same with a correct ``<dimension>``.
``under``
    a ``<dimension>`` declaring 10 rows (as some programs write it wrong):
    the rows read must still be all of them.
``excel``
    as Excel writes: a correct ``<dimension>`` and shared strings (one table
    per workbook, held in memory by openpyxl whichever reader is used).

Prints, per sheet and implementation: rows read, the median time (wall
and CPU: the machine is shared) and rows/s, the ratio of its median time
to the CSV reader's, the median peak RSS of the process above its RSS before reading
(``VmHWM`` after ``/proc/self/clear_refs``, so Linux only), and,
from one extra run under ``tracemalloc``, the peak of Python allocations
while reading and what is still allocated after ``load_workbook`` (shared
strings). Files go to ``bench/out/xlsx`` and are reused when present.

    python -m bench.xlsx_reader --rows 100000 1000000 --repeat 3
    python -m bench.xlsx_reader --rows 100000 --sheets excel
"""

from __future__ import annotations

import argparse
import io
import json
import re
import statistics
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from bench.catalog_file import HEADER, variant_rows
from bench.runs import variants_file

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "xlsx"
IMPLEMENTATIONS = ("engine", "engine-stream", "openpyxl-parser", "etree", "calamine", "csv", "public", "public-1book")
DEFAULT_IMPLEMENTATIONS = ("engine", "engine-stream", "openpyxl-parser", "etree", "calamine", "csv")
#: ``IMPORT_XLSX_IN_MEMORY_MB`` for ``engine`` (the default in mtc/settings.py) and ``engine-stream`` (always expat).
IN_MEMORY_MB = {"engine": 64, "engine-stream": 0}
SHEETS = ("nodim", "dim", "under", "excel")
SHEET_XML = "xl/worksheets/sheet1.xml"
MB = 1024 * 1024


# --- the sheets ---------------------------------------------------------------------


def _write_only(path: Path, rows: int) -> None:
    import openpyxl

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("Variants")
    sheet.append(HEADER)
    for item, description, color, size, sku, price, stock in variant_rows(rows):
        sheet.append([item, description, color, size, sku, float(price), stock])
    workbook.save(path)


_INLINE = re.compile(rb'<c r="([A-Z]+[0-9]+)" t="inlineStr"><is><t[^>]*>(.*?)</t></is></c>')
_SST_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
_SST_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"


def _rewrite(source: Path, target: Path, dimension: str | None, shared_strings: bool) -> None:
    """``source`` with a ``<dimension ref=...>`` inserted and/or its inline strings made shared."""
    strings: dict[bytes, int] = {}

    def shared(match: re.Match) -> bytes:
        index = strings.setdefault(match.group(2), len(strings))
        return b'<c r="%s" t="s"><v>%d</v></c>' % (match.group(1), index)

    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            if info.filename != SHEET_XML:
                content = old.read(info.filename)
                if shared_strings and info.filename == "[Content_Types].xml":
                    override = f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_SST_TYPE}"/></Types>'
                    content = content.replace(b"</Types>", override.encode())
                if shared_strings and info.filename == "xl/_rels/workbook.xml.rels":
                    rel = f'<Relationship Id="rIdSst" Type="{_SST_REL}" Target="sharedStrings.xml"/></Relationships>'
                    content = content.replace(b"</Relationships>", rel.encode())
                new.writestr(info, content)
                continue
            with old.open(info) as reader, new.open(SHEET_XML, "w", force_zip64=True) as writer:
                pending, first = b"", True
                while True:
                    chunk = reader.read(4 * MB)
                    pending += chunk
                    head, cut, rest = pending.rpartition(b"</row>")
                    if chunk and not cut:
                        continue
                    block, pending = (head + cut, rest) if chunk else (pending, b"")
                    if first and dimension:
                        block = block.replace(b"</sheetPr>", f'</sheetPr><dimension ref="{dimension}"/>'.encode(), 1)
                    first = False
                    writer.write(_INLINE.sub(shared, block) if shared_strings else block)
                    if not chunk:
                        break
        if shared_strings:
            with new.open("xl/sharedStrings.xml", "w", force_zip64=True) as writer:
                ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
                writer.write(f'<sst xmlns="{ns}" uniqueCount="{len(strings)}">'.encode())
                for text in strings:  # still XML-escaped, as read from the sheet
                    writer.write(b"<si><t>" + text + b"</t></si>")
                writer.write(b"</sst>")


def sheet_path(kind: str, rows: int) -> Path:
    """The ``kind`` sheet with ``rows`` data rows, written when missing."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{kind}-{rows}.xlsx"
    if path.exists():
        return path
    raw = OUT / f"nodim-{rows}.xlsx"
    if not raw.exists():
        started = time.perf_counter()
        _write_only(raw, rows)
        print(f"  wrote {raw.name} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    if kind == "dim":
        _rewrite(raw, path, f"A1:G{rows + 1}", shared_strings=False)
    elif kind == "under":
        _rewrite(raw, path, "A1:G10", shared_strings=False)
    elif kind == "excel":
        _rewrite(raw, path, f"A1:G{rows + 1}", shared_strings=True)
    return path


# --- one run (in its own process) --------------------------------------------------


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(f"{field}:"))


def _reset_peak_rss() -> None:
    """Start the process's peak RSS (``VmHWM``) afresh (Linux; ``getrusage`` would count the parent's, from fork)."""
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")


def _one_book_rows(data: io.BufferedReader):
    """The public API with a single workbook: values and error cells, no unsaved-formula check."""
    import openpyxl

    from imports.engine.tables import ExcelError

    workbook = openpyxl.load_workbook(data, read_only=True, data_only=True)
    sheet = workbook.worksheets[0]
    sheet.reset_dimensions()
    yield workbook
    for cells in sheet.iter_rows():
        yield [ExcelError(cell.value) if cell.data_type == "e" else cell.value for cell in cells]
    workbook.close()


def run_once(implementation: str, path: Path, trace: bool) -> dict:
    import tracemalloc

    import openpyxl  # imported before measuring: its import is not the reader's cost
    from django.conf import settings

    from bench.xlsx_candidates import CANDIDATES
    from imports.engine import xlsx_sheets
    from imports.engine.readers import open_table

    settings.configure(IMPORT_XLSX_IN_MEMORY_MB=IN_MEMORY_MB.get(implementation, 0))
    xlsx_sheets.PRIVATE_PARSER = implementation in IN_MEMORY_MB  # forced, even on an openpyxl outside the range
    if implementation == "csv":
        path = variants_file(int(path.stem.rsplit("-", 1)[1]))
    _reset_peak_rss()
    baseline_rss = _status_kb("VmRSS")
    if trace:
        tracemalloc.start()
    started, cpu_started = time.perf_counter(), time.process_time()
    rows = 0
    after_load = None
    if implementation in CANDIDATES:
        for _cells in CANDIDATES[implementation](path):
            rows += 1
        rows -= 1  # the header
    else:
        with path.open("rb") as stream:
            if implementation == "public-1book":
                reader = _one_book_rows(stream)
                next(reader)
                after_load = tracemalloc.get_traced_memory()[0] if trace else None
                for _cells in reader:
                    rows += 1
                rows -= 1  # the header
            else:
                with open_table(stream, file_name=path.name) as table:
                    after_load = tracemalloc.get_traced_memory()[0] if trace else None
                    for _ in table.rows:
                        rows += 1
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    peak_traced = tracemalloc.get_traced_memory()[1] if trace else None
    return {
        "rows": rows,
        "seconds": seconds,
        "cpu": cpu,
        "rss_mb": (_status_kb("VmHWM") - baseline_rss) / 1024,
        "traced_peak_mb": peak_traced / MB if peak_traced is not None else None,
        "traced_after_load_mb": after_load / MB if after_load is not None else None,
        "openpyxl": openpyxl.__version__,
    }


def _child(implementation: str, path: Path, trace: bool) -> dict:
    command = [sys.executable, "-m", "bench.xlsx_reader", "--one", implementation, str(path)]
    if trace:
        command.append("--trace")
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if result.returncode:
        raise SystemExit(f"{implementation} on {path.name} failed:\n{result.stderr}")
    return json.loads(result.stdout)


# --- the comparison ------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    from bench.xlsx_candidates import calamine_available

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--sheets", nargs="+", default=list(SHEETS), choices=SHEETS)
    parser.add_argument("--implementations", nargs="+", default=list(DEFAULT_IMPLEMENTATIONS), choices=IMPLEMENTATIONS)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per sheet and implementation")
    parser.add_argument("--no-trace", action="store_true", help="skip the extra tracemalloc run")
    parser.add_argument("--one", nargs=2, metavar=("IMPLEMENTATION", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(run_once(args.one[0], Path(args.one[1]), args.trace)))
        return
    implementations = list(args.implementations)
    if "calamine" in implementations and not calamine_available():
        print("(python-calamine cannot be imported: calamine not measured)")
        implementations.remove("calamine")
    header = (
        f"{'sheet':<16}{'reader':<17}{'rows':>9}{'median s':>10}{'CPU s':>8}{'rows/s':>9}{'/csv':>7}"
        f"{'RSS+ MB':>9}{'traced peak MB':>16}{'after load MB':>15}"
    )
    print(header, flush=True)
    for count in args.rows:
        for kind in args.sheets:
            path = sheet_path(kind, count)
            runs: dict[str, list[dict]] = {name: [] for name in implementations}
            for repeat in range(args.repeat):
                order = implementations if repeat % 2 == 0 else implementations[::-1]
                for name in order:
                    runs[name].append(_child(name, path, trace=False))
            csv_seconds = statistics.median(run["seconds"] for run in runs["csv"]) if "csv" in runs else None
            for name in implementations:
                traced = {} if args.no_trace else _child(name, path, trace=True)
                seconds = statistics.median(run["seconds"] for run in runs[name])
                cpu = statistics.median(run["cpu"] for run in runs[name])
                rss = statistics.median(run["rss_mb"] for run in runs[name])
                rows = runs[name][0]["rows"]
                ratio = f"{seconds / csv_seconds:.2f}" if csv_seconds else "-"
                peak, loaded = traced.get("traced_peak_mb"), traced.get("traced_after_load_mb")
                print(
                    f"{path.stem:<16}{name:<17}{rows:>9}{seconds:>10.2f}{cpu:>8.2f}{rows / seconds:>9.0f}{ratio:>7}"
                    f"{rss:>9.1f}{'-' if peak is None else f'{peak:.1f}':>16}"
                    f"{'-' if loaded is None else f'{loaded:.1f}':>15}",
                    flush=True,
                )
    print(f"(openpyxl {runs[name][0]['openpyxl']}, Python {sys.version.split()[0]})")


if __name__ == "__main__":
    main()
