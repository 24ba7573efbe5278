"""A plain sheet -> rows, through python-calamine (Rust): five times faster than :mod:`imports.engine.xlsx_stream`.

100,000 rows (26 MB of XML): 0.53 s of CPU against 2.8 s (``python -m
bench.xlsx_reader``). Why not always: calamine reads the whole sheet into
memory before the first row (+87 MB of RSS for those 26 MB), and it reads some cells
otherwise than ``xlsx_stream`` does (a formula whose result was never saved
reads as an empty cell, an error cell as empty text, every number as a
float). So :mod:`imports.engine.xlsx_sheets` hands a sheet here only when
:mod:`imports.engine.xlsx_parts` found it and the shared strings *plain*
(nothing calamine reads otherwise), its cells use only plain number styles
(never a date: each library has its own rules for which formats are dates)
and its XML is at most ``IMPORT_XLSX_IN_MEMORY_MB``; any other sheet streams
through ``xlsx_stream``. ``tests/imports/engine/test_xlsx_calamine.py`` runs
both over a corpus and compares every row.

What calamine hands over, made into what ``xlsx_stream`` yields: an empty
string is no value (a plain sheet holds no empty text, so it is a missing
or empty cell), a float goes through
:func:`~imports.engine.tables.sheet_number` as in ``xlsx_stream``, text and
booleans are kept; trailing empty cells are dropped and a row with no value
is left out. ``iter_rows()`` yields every row from the sheet's first (row 1),
and each from the first column holding a value (``start``): the row number
is the count, and the columns before are filled with ``None``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from python_calamine import CalamineError, CalamineWorkbook

from imports.engine.tables import sheet_number


class CalamineSheetError(ValueError):
    """calamine could not read the workbook or the sheet (the caller refuses the file with this message)."""


def sheet_rows(stream: BinaryIO, sheet: str) -> Iterator[tuple[int, list]]:
    """``(sheet row number, values)`` of every row of ``sheet`` holding a value, read as the module says."""
    try:
        stream.seek(0)
        workbook = CalamineWorkbook.from_filelike(stream)
        try:
            rows = workbook.get_sheet_by_name(sheet)
        finally:
            workbook.close()  # the sheet holds its own cells
    except (CalamineError, ValueError, OSError) as exc:
        raise CalamineSheetError(f"{type(exc).__name__}: {exc}") from None
    start, end = rows.start, rows.end
    if start is None or end is None:
        return  # no cell
    first_column, last_row = start[1], end[0]
    before: list = [None] * first_column
    number = 0
    for values in rows.iter_rows():
        number += 1
        cells = [
            (None if value == "" else value)
            if type(value) is str
            else sheet_number(value)
            if type(value) is float
            else value
            for value in values
        ]
        while cells and cells[-1] is None:
            cells.pop()
        if cells:
            yield number, before + cells if first_column else cells
    if number != last_row + 1:  # the installed calamine numbers rows otherwise: never guess
        raise CalamineSheetError(f"read {number:,} rows where the sheet ends at row {last_row + 1:,}")
