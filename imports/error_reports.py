"""Failed rows, written back as a file the user can fix and import again.

Each failed row comes out with the file's own columns (in the file's order),
then ``row_number`` and ``error``. Cells that a spreadsheet would run as a
formula are guarded (``mtc.cell_guard``: a leading ``'``). Rows are streamed: a file with
100,000 failed rows never sits in memory.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator

from openpyxl import Workbook

from imports.corrections import CheckedRow
from imports.models import ImportJob, ImportRowError
from mtc.cell_guard import guard_cell

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def report_columns(job: ImportJob) -> list[str]:
    headers = [h for h in (job.options or {}).get("headers", []) if str(h).strip()]
    return [*headers, "row_number", "error"]


def report_rows(job: ImportJob, errors: Iterable[ImportRowError]) -> Iterator[list[str]]:
    headers = report_columns(job)[:-2]
    for error in errors:
        data = error.row_data or {}
        yield [*(guard_cell(data.get(h, "")) for h in headers), str(error.row_number), guard_cell(error.reason)]


def iter_csv(job: ImportJob, errors: Iterable[ImportRowError]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(report_columns(job))
    for row in report_rows(job, errors):
        writer.writerow(row)
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def iter_json(job: ImportJob, errors: Iterable[ImportRowError]) -> Iterator[str]:
    """A JSON array of objects; ``problems`` lists every problem of the row."""
    headers = report_columns(job)[:-2]
    yield "["
    for index, error in enumerate(errors):
        data = error.row_data or {}
        record = {h: data.get(h, "") for h in headers}
        record.update(row_number=error.row_number, error=error.reason, problems=error.problems)
        yield ("," if index else "") + "\n" + json.dumps(record, ensure_ascii=False)
    yield "\n]\n"


def write_xlsx(job: ImportJob, errors: Iterable[ImportRowError], target) -> None:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Failed rows")
    sheet.append(report_columns(job))
    for row in report_rows(job, errors):
        sheet.append(row)
    workbook.save(target)


# --- failed rows with the user's corrections (``imports.corrections.corrected_rows``) ---------------


def corrected_report_rows(headers: list[str], rows: Iterable[CheckedRow]) -> Iterator[list[str]]:
    """The failed rows as corrected: the file's columns, ``row_number``, and what is still wrong (or nothing)."""
    for row in rows:
        error = "; ".join(problem["reason"] for problem in row.problems)
        yield [*(guard_cell(row.values.get(h, "")) for h in headers), str(row.row_number), guard_cell(error)]


def iter_corrected_csv(headers: list[str], rows: Iterable[CheckedRow]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([*headers, "row_number", "error"])
    for row in corrected_report_rows(headers, rows):
        writer.writerow(row)
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def write_corrected_xlsx(headers: list[str], rows: Iterable[CheckedRow], target) -> None:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Corrected rows")
    sheet.append([*headers, "row_number", "error"])
    for row in corrected_report_rows(headers, rows):
        sheet.append(row)
    workbook.save(target)
