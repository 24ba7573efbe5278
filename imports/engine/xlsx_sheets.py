"""XLSX sheets -> rows, for :mod:`imports.engine.readers`.

Kept apart so that openpyxl is imported only when a workbook is read. The
rules (which sheet, typed cells, error and unsaved-formula cells, every row
read in flat memory) are described in :mod:`imports.engine.readers`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import BinaryIO
from xml.etree.ElementTree import ParseError

import openpyxl
from openpyxl.worksheet._read_only import ReadOnlyWorksheet
from openpyxl.worksheet._reader import FORMULA_TAG as _FORMULA_TAG
from openpyxl.worksheet._reader import ROW_TAG as _ROW_TAG
from openpyxl.worksheet._reader import WorkSheetParser
from openpyxl.xml.constants import SHEET_MAIN_NS
from openpyxl.xml.functions import iterparse

from imports.engine.errors import ImportRejected
from imports.engine.tables import ExcelError, Table, UnsavedFormula, blank_cells

_SHEET_DATA_TAG = f"{{{SHEET_MAIN_NS}}}sheetData"


def xlsx_table(stream: BinaryIO, label: str, sheet: str, cleanup: ExitStack) -> Table:
    try:
        workbook = openpyxl.load_workbook(stream, read_only=True, data_only=True)
    except Exception as exc:  # any failure to open untrusted input means: not a readable workbook
        raise ImportRejected(f"{label} is not a readable XLSX workbook ({type(exc).__name__}: {exc}).") from None
    cleanup.callback(workbook.close)
    worksheet = _pick_sheet(workbook, sheet, label)
    rows = _sheet_rows(workbook, worksheet, label)
    cleanup.callback(rows.close)
    header = next(((number, cells) for number, cells in rows if not blank_cells(cells)), None)
    if header is None:
        raise ImportRejected(f"{label}, sheet {worksheet.title!r}: the sheet is empty (no header row).")
    header_row, cells = header
    headers = ["" if cell is None else str(cell) for cell in cells]
    while headers and not headers[-1].strip():
        headers.pop()
    return Table(
        headers=headers,
        rows=_xlsx_rows(rows, header_row),
        file_format="xlsx",
        details={"sheet": worksheet.title},
    )


def _pick_sheet(workbook, sheet: str, label: str):
    names = workbook.sheetnames
    if not sheet:
        if not workbook.worksheets:
            raise ImportRejected(f"{label} has no worksheet (only chart sheets).")
        return workbook.worksheets[0]
    if sheet not in names:
        folded = [name for name in names if name.strip().casefold() == sheet.strip().casefold()]
        if len(folded) != 1:
            listed = ", ".join(map(repr, names))
            raise ImportRejected(f"{label} has no sheet named {sheet!r}; its sheets are: {listed}.")
        sheet = folded[0]
    worksheet = workbook[sheet]
    if not isinstance(worksheet, ReadOnlyWorksheet):
        raise ImportRejected(f"{label}: sheet {sheet!r} is a chart sheet, not a table of rows.")
    return worksheet


def _sheet_rows(workbook, worksheet: ReadOnlyWorksheet, label: str) -> Iterator[tuple[int, list]]:
    """``(sheet row number, values)`` of every row the sheet's XML holds, in flat memory.

    Why not ``worksheet.iter_rows()``: openpyxl's read-only parser leaves each
    parsed ``<row>`` attached to ``<sheetData>`` (about 80 bytes a row, so
    memory grows with the sheet), and it stops at the row count the file
    *declares* in ``<dimension>``, which some programs write wrong (rows past
    it would be silently lost). This loop uses openpyxl's own cell parser
    (shared strings, dates, booleans, cached formula values), drops each row
    once read, and reads every row there is. An error cell (``t="e"``, such
    as ``#N/A``) comes out as :class:`ExcelError`, a formula with no saved
    result as :class:`UnsavedFormula`. (One cost stays outside this loop: for
    a sheet without ``<dimension>``, which Excel always writes and some
    libraries do not, ``load_workbook`` pre-scans the sheet and briefly holds
    those ~80 bytes a row.)
    """
    parser = WorkSheetParser(
        None,
        worksheet._shared_strings,
        data_only=True,
        epoch=workbook.epoch,
        date_formats=workbook._date_formats,
        timedelta_formats=workbook._timedelta_formats,
    )
    with worksheet._get_source() as source:
        sheet_data = None
        try:
            for event, element in iterparse(source, events=("start", "end")):
                if event == "start":
                    if element.tag == _SHEET_DATA_TAG:
                        sheet_data = element
                    continue
                if element.tag == _ROW_TAG:
                    number, cells = parser.parse_row(element)
                    values = [None] * max((cell["column"] for cell in cells), default=0)
                    for cell, cell_element in zip(cells, element, strict=True):
                        value = cell["value"]
                        if cell["data_type"] == "e":
                            value = ExcelError(value)
                        elif (
                            value is None
                            and cell_element.get("t") != "str"  # a text result may be "" (Excel: t="str", <v/>)
                            and (formula := cell_element.find(_FORMULA_TAG)) is not None
                        ):
                            value = UnsavedFormula(f"={formula.text or ''}")
                        values[cell["column"] - 1] = value
                    if sheet_data is not None:
                        sheet_data.clear()
                    yield number, values
                elif element.tag == _SHEET_DATA_TAG:
                    return
        except (ParseError, ValueError, KeyError, IndexError) as exc:
            raise ImportRejected(f"{label}: the sheet cannot be read ({type(exc).__name__}: {exc}).") from None


def _xlsx_rows(rows: Iterator[tuple[int, list]], header_row: int) -> Iterator[tuple[int, list]]:
    for sheet_row, cells in rows:
        if not blank_cells(cells):
            yield sheet_row - header_row, cells
