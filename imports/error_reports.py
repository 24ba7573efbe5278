"""Failed rows, written back as a file the user can fix and import again.

Each failed row comes out with the file's own columns (in the file's order),
then ``row_number`` (1 = the first row below the header), ``line_number`` (the
spreadsheet's own line: the header and the lines above it counted; empty for
JSON, which has no lines) and ``error``; imported back, these three columns
are ignored. Every cell that a spreadsheet would run as a formula, the header row included (a file's column may be named
``=HYPERLINK(...)``), is guarded (``mtc.cell_guard``: a leading ``'``); in
XLSX every text is a string cell, never a formula, and ``row_number`` a
number. Rows are streamed: a file with 100,000 failed rows never sits in memory.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator

from openpyxl import Workbook

from imports.corrections import CheckedRow
from imports.models import ImportJob, ImportRowError
from mtc.cell_guard import guard_row, xlsx_cells

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


#: The columns a report adds after the file's own.
REPORT_COLUMNS = ("row_number", "line_number", "error")


def report_columns(job: ImportJob) -> list[str]:
    headers = [h for h in (job.options or {}).get("headers", []) if str(h).strip()]
    return [*headers, *REPORT_COLUMNS]


def report_rows(job: ImportJob, errors: Iterable[ImportRowError]) -> Iterator[list]:
    """Each failed row's cells, unguarded: the file's columns, its row and line numbers (ints) and the reason."""
    headers = report_columns(job)[: -len(REPORT_COLUMNS)]
    for error in errors:
        data = error.row_data or {}
        line = job.line_number(error.row_number)
        yield [*(data.get(h, "") for h in headers), error.row_number, "" if line is None else line, error.reason]


def iter_csv(job: ImportJob, errors: Iterable[ImportRowError]) -> Iterator[str]:
    return _iter_csv(report_columns(job), report_rows(job, errors))


def iter_json(job: ImportJob, errors: Iterable[ImportRowError]) -> Iterator[str]:
    """A JSON array of objects; ``problems`` lists every problem of the row."""
    headers = report_columns(job)[: -len(REPORT_COLUMNS)]
    yield "["
    for index, error in enumerate(errors):
        data = error.row_data or {}
        record = {h: data.get(h, "") for h in headers}
        record.update(
            row_number=error.row_number,
            line_number=job.line_number(error.row_number),
            error=error.reason,
            problems=error.problems,
        )
        yield ("," if index else "") + "\n" + json.dumps(record, ensure_ascii=False)
    yield "\n]\n"


def write_xlsx(job: ImportJob, errors: Iterable[ImportRowError], target) -> None:
    _write_xlsx("Failed rows", report_columns(job), report_rows(job, errors), target)


# --- failed rows with the user's corrections (``imports.corrections.corrected_rows``) ---------------


def corrected_report_rows(headers: list[str], rows: Iterable[CheckedRow]) -> Iterator[list]:
    """The failed rows as corrected, unguarded: the file's columns, ``row_number``, what is still wrong (or nothing)."""
    for row in rows:
        error = "; ".join(problem["reason"] for problem in row.problems)
        yield [*(row.values.get(h, "") for h in headers), row.row_number, error]


def iter_corrected_csv(headers: list[str], rows: Iterable[CheckedRow]) -> Iterator[str]:
    return _iter_csv([*headers, "row_number", "error"], corrected_report_rows(headers, rows))


def write_corrected_xlsx(headers: list[str], rows: Iterable[CheckedRow], target) -> None:
    _write_xlsx("Corrected rows", [*headers, "row_number", "error"], corrected_report_rows(headers, rows), target)


# --- the two spreadsheet formats, every cell through the guard ---------------------------------------


def _iter_csv(header: list[str], rows: Iterable[list]) -> Iterator[str]:
    """CSV text in chunks of about 64 KB, header and cells guarded (``mtc.cell_guard.guard_row``)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(guard_row(header))
    for row in rows:
        writer.writerow(guard_row(row))
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _write_xlsx(sheet_name: str, header: list[str], rows: Iterable[list], target) -> None:
    """A streamed workbook of one sheet: text as string cells, never formulas (``mtc.cell_guard.xlsx_cells``)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_name)
    sheet.append(xlsx_cells(sheet, header))
    for row in rows:
        sheet.append(xlsx_cells(sheet, row))
    workbook.save(target)
