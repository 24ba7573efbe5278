"""Failed rows, written back as a file the user can fix and import again.

Each failed row comes out with the file's own columns (in the file's order),
then ``row_number`` (1 = the first row below the header), ``line_number`` (the
spreadsheet's own line: the header and the lines above it counted; empty for
JSON, which has no lines) and ``error``; imported back, these three columns
are ignored. Every cell that a spreadsheet would run as a formula, the header
row included (a file's column may be named ``=HYPERLINK(...)``), is guarded
(``mtc.cell_guard``: a leading ``'``).

In XLSX the cells are typed, as the user would have typed them: a number
in a column read as a price or a stock (read in the job's number format,
so ``12,50`` of a decimal-comma file is 12.5) is a number cell, and
``row_number`` and ``line_number`` too; every text is a string cell, never a formula, with the
``'`` only where the text would be a formula (``=2+2``), not on a plain
number such as ``-4.00``. A SKU or a size such as ``007`` stays text. CSV
has no types: its cells keep the guard as they are.

Rows are streamed: a file with 100,000 failed rows never sits in memory.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator

from openpyxl import Workbook

from imports.corrections import CheckedRow, Sheet
from imports.engine.numbers import NumberProblem, parse_number
from imports.models import ImportJob, ImportRowError
from mtc.cell_guard import guard_row, xlsx_cells

#: Column types (``catalog.kinds.COLUMN_TYPES``) whose cells are numbers in a workbook.
NUMBER_COLUMNS = ("decimal", "count")
#: Digits a spreadsheet keeps of a number (a double): a longer one stays text, so no digit is lost.
SPREADSHEET_DIGITS = 15
#: Number text a workbook may hold as a number: digits, a sign, separators; no currency, no letters.
_NUMBER_TEXT = re.compile(r"[+-]?[0-9][0-9.,' \u00a0\u202f]*")

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
    header = report_columns(job)
    typed = typed_cells(job, header[: -len(REPORT_COLUMNS)])
    _write_xlsx("Failed rows", header, map(typed, report_rows(job, errors)), target)


def typed_cells(job: ImportJob, headers: list[str]) -> Callable[[list], list]:
    """A row's cells for a workbook: the number text of a price or stock column as a number, the rest as it is.

    Which columns hold numbers, and how their text reads (``1.299,50``), is
    the job's own column mapping and number format (``corrections.Sheet``),
    so a cell is a number exactly when the importer reads it as one. Text that
    is not a number there (``many``, ``1.000`` read two ways, ``€30``) stays
    text, as written.
    """
    sheet = Sheet(job)
    fields = sheet.fields()
    numeric = [
        index
        for index, header in enumerate(headers)
        if (name := fields.get(header)) in sheet.kind.column_names and sheet.kind.column(name).type in NUMBER_COLUMNS
    ]

    def typed(row: list) -> list:
        if not numeric:
            return row
        row = list(row)
        for index in numeric:
            row[index] = _number_or_text(row[index], sheet.number_format)
        return row

    return typed


def _number_or_text(cell: object, number_format: str) -> object:
    text = "" if cell is None else str(cell).strip()
    if not _NUMBER_TEXT.fullmatch(text):
        return cell
    try:
        value = parse_number(text, number_format)
    except NumberProblem:
        return cell
    return value if len(value.as_tuple().digits) <= SPREADSHEET_DIGITS else cell


# --- failed rows with the user's corrections (``imports.corrections.corrected_rows``) ---------------


def corrected_report_rows(job: ImportJob, headers: list[str], rows: Iterable[CheckedRow]) -> Iterator[list]:
    """The failed rows as corrected, unguarded: the file's columns, the row and line numbers, what is still wrong."""
    for row in rows:
        error = "; ".join(problem["reason"] for problem in row.problems)
        line = job.line_number(row.row_number)
        yield [*(row.values.get(h, "") for h in headers), row.row_number, "" if line is None else line, error]


def iter_corrected_csv(job: ImportJob, headers: list[str], rows: Iterable[CheckedRow]) -> Iterator[str]:
    return _iter_csv([*headers, *REPORT_COLUMNS], corrected_report_rows(job, headers, rows))


def write_corrected_xlsx(job: ImportJob, headers: list[str], rows: Iterable[CheckedRow], target) -> None:
    """The corrected rows as a workbook, typed as the failed rows' (:func:`typed_cells`)."""
    typed = typed_cells(job, headers)
    _write_xlsx(
        "Corrected rows", [*headers, *REPORT_COLUMNS], map(typed, corrected_report_rows(job, headers, rows)), target
    )


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
    """A streamed workbook of one sheet: text as string cells, never formulas (``mtc.cell_guard.xlsx_cells``).

    ``rows`` hold numbers (``row_number``, :func:`typed_cells`' numbers) and texts, unguarded.
    """
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_name)
    sheet.append(xlsx_cells(sheet, header))
    for row in rows:
        sheet.append(xlsx_cells(sheet, row))
    workbook.save(target)
