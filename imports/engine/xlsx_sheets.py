"""XLSX sheets -> rows, for :mod:`imports.engine.readers`.

Kept apart so that openpyxl is imported only when a workbook is read. The
rules (which sheet, typed cells, error and unsaved-formula cells, every row
read in flat memory) are described in :mod:`imports.engine.readers`.

A sheet's rows are read one of three ways, with the same result (the XLSX
tests run on each):

* the fast path: the workbook's structure (sheets, styles) through
  openpyxl's ``ExcelReader`` one step at a time, then the rows either

  - through python-calamine (:mod:`imports.engine.xlsx_calamine`,
    :func:`_calamine_sheet_rows`): when :func:`_calamine_reads` says the
    sheet is one calamine reads exactly as expat would (plain parts, plain
    number styles: :mod:`imports.engine.xlsx_parts` found out while checking
    the bounds) and its XML is at most ``IMPORT_XLSX_IN_MEMORY_MB``, and the
    caller reads every row (a check reading the first rows streams). Five
    times faster than expat on the rows, holding the sheet (100,000 rows:
    0.53 s against 2.8 s of CPU, +87 MB RSS); or
  - through :mod:`imports.engine.xlsx_stream` (expat,
    :func:`_streamed_sheet_rows`): the shared strings, then the sheet's
    XML, each row dropped once read. Memory stays flat whatever the number
    of rows. Every sheet calamine does not read (formulas, so the
    unsaved-formula check, error cells, dates, larger sheets).
* the public path, :func:`_public_sheet_rows`: only openpyxl's public API
  (``read_only``, ``reset_dimensions()``, ``iter_rows()``, ``data_type``).
  It needs a second workbook over the same bytes, read in lock-step with
  ``data_only=False``, to tell a formula whose result was never saved from
  an empty cell; and openpyxl keeps every parsed ``<row>`` element attached
  to ``<sheetData>`` until the sheet is read, in each workbook. So it takes
  several times as long and holds about 170 bytes per row read (a million
  rows of the 7-column variants file: 173 s and 169 MB against 52 s and
  0.6 MB for openpyxl's own cell parser, which the fast path used before
  :mod:`imports.engine.xlsx_stream`).

The fast path is used when openpyxl is a release it was verified on
(:data:`VERIFIED_OPENPYXL`) and the private names it uses are there (see
:func:`_open_book`); any
other openpyxl reads through the public path: slower and growing with the
sheet, but the same rows. ``python -m bench.xlsx_reader`` measures both.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Generator, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO
from xml.etree.ElementTree import ParseError

import openpyxl
from django.conf import settings
from openpyxl.chartsheet import Chartsheet

from imports.engine.errors import ImportRejected
from imports.engine.header_rows import HeaderChoice
from imports.engine.limits import MAX_CELL_CHARS, MAX_ROW_CHARS, MiB
from imports.engine.tables import ExcelError, Table, UnsavedFormula, blank_cells, sheet_number
from imports.engine.xlsx_calamine import CalamineSheetError
from imports.engine.xlsx_calamine import sheet_rows as calamine_sheet_rows
from imports.engine.xlsx_parts import CheckedWorkbook, check_workbook
from imports.engine.xlsx_stream import SharedStrings, SheetError, sheet_rows

#: The openpyxl releases the fast path is used on: from the first, up to (not including) the second.
#: Verified on every 3.1 release, 3.1.0 to 3.1.5 (the XLSX tests, both paths); requirements.txt allows
#: the same range, and the tests fail when the installed openpyxl is outside it.
VERIFIED_OPENPYXL = ((3, 1, 0), (3, 2, 0))

try:  # openpyxl's private names, for the fast path only: a release that moves them reads the public way
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.styles.stylesheet import apply_stylesheet
    from openpyxl.xml.constants import SHARED_STRINGS
except ImportError:
    ExcelReader = None


def fast_path_verified(version: str) -> bool:
    """Whether openpyxl ``version`` is a release the fast path was verified on (never a pre-release)."""
    release = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", version)
    if release is None:
        return False
    first, beyond = VERIFIED_OPENPYXL
    return first <= tuple(map(int, release.groups())) < beyond


#: Whether rows are read by the fast path (the tests switch it off to check the public path).
PRIVATE_PARSER = ExcelReader is not None and fast_path_verified(openpyxl.__version__)


def xlsx_table(
    stream: BinaryIO, label: str, sheet: str, cleanup: ExitStack, header: HeaderChoice, *, first_rows_only: bool = False
) -> Table:
    checked = check_workbook(stream, label)  # before openpyxl reads a byte: the parts' sizes and what they make it hold
    content = _Content(label)
    if PRIVATE_PARSER:
        book = _open_book(stream, label)
        cleanup.callback(book.archive.close)
        title, path = _pick_book_sheet(book, sheet, label)
        if not first_rows_only and _calamine_reads(checked, book, path):
            rows = _calamine_sheet_rows(stream, title, label, content)
        else:
            rows = _streamed_sheet_rows(book, path, label, content)
    else:
        workbook = _load(stream, label, data_only=True)
        cleanup.callback(workbook.close)
        worksheet = _pick_sheet(workbook, sheet, label)
        title = worksheet.title
        rows = _public_sheet_rows(stream, worksheet, label, cleanup, content)
    cleanup.callback(rows.close)
    picked = header.pick(
        ((number, cells) for number, cells in rows if not blank_cells(cells)), where=f", sheet {title!r}"
    )
    if picked is None:
        raise ImportRejected(f"{label}, sheet {title!r}: the sheet is empty (no header row).")
    header_row, cells, rest = picked
    headers = ["" if cell is None else str(cell) for cell in cells]
    while headers and not headers[-1].strip():
        headers.pop()
    return Table(
        headers=headers,
        rows=_xlsx_rows(rest, header_row),
        file_format="xlsx",
        details={"sheet": title, "header_row": header_row},
        content_read=content,
    )


class _Content:
    """The characters of text cells handed on so far (``Table.content_read``), each row's bounded.

    A cell longer than :data:`~imports.engine.limits.MAX_CELL_CHARS` or a row
    holding more than :data:`~imports.engine.limits.MAX_ROW_CHARS` refuses the
    file, as in CSV and JSON. Counted by value, so a shared string that many
    cells repeat counts each time (the import holds each repetition).
    """

    def __init__(self, label: str):
        self.label = label
        self.chars = 0

    def __call__(self) -> int:
        return self.chars

    def add(self, number: int, values: list) -> None:
        size = 0
        for value in values:
            if type(value) is str:
                size += len(value)
                if len(value) > MAX_CELL_CHARS:
                    raise ImportRejected(
                        f"{self.label}, sheet row {number}: a cell is longer than the field limit of "
                        f"{MAX_CELL_CHARS:,} characters."
                    )
        if size > MAX_ROW_CHARS:
            raise ImportRejected(
                f"{self.label}, sheet row {number} holds {size:,} characters; a row may hold at most {MAX_ROW_CHARS:,}."
            )
        self.chars += size


def _load(stream: BinaryIO, label: str, *, data_only: bool):
    try:
        return openpyxl.load_workbook(stream, read_only=True, data_only=data_only)
    except Exception as exc:  # any failure to open untrusted input means: not a readable workbook
        raise ImportRejected(f"{label} is not a readable XLSX workbook ({type(exc).__name__}: {exc}).") from None


def _sheet_named(names: list[str], sheet: str, label: str) -> str:
    """The workbook's name for the sheet asked for: exact, else the one name equal to it ignoring case and spaces."""
    if sheet in names:
        return sheet
    folded = [name for name in names if name.strip().casefold() == sheet.strip().casefold()]
    if len(folded) != 1:
        listed = ", ".join(map(repr, names))
        raise ImportRejected(f"{label} has no sheet named {sheet!r}; its sheets are: {listed}.")
    return folded[0]


def _pick_sheet(workbook, sheet: str, label: str):
    if not sheet:
        if not workbook.worksheets:
            raise ImportRejected(f"{label} has no worksheet (only chart sheets).")
        return workbook.worksheets[0]
    sheet = _sheet_named(workbook.sheetnames, sheet, label)
    worksheet = workbook[sheet]
    if isinstance(worksheet, Chartsheet):
        raise ImportRejected(f"{label}: sheet {sheet!r} is a chart sheet, not a table of rows.")
    return worksheet


#: Number formats no library reads as a date or a duration (built-in ids: General, 0, 0.00, #,##0,
#: currencies, percentages, scientific, fractions, accounting, ``@``): a sheet whose cells use only styles
#: with these may be read by calamine, which has its own rules for which formats are dates.
PLAIN_NUMBER_FORMATS = frozenset([*range(14), *range(37, 45), 48, 49])


def _calamine_reads(checked: CheckedWorkbook, book: _Book, path: str) -> bool:
    """Whether calamine reads the sheet (:mod:`imports.engine.xlsx_calamine`), else it streams.

    When the sheet and the shared strings are plain, the sheet's cells use
    only plain number styles (a cell with no ``s`` has style 0), and its XML
    is at most ``IMPORT_XLSX_IN_MEMORY_MB``.
    """
    part = checked.parts.get(path)
    strings = None if book.strings_path is None else checked.parts.get(book.strings_path)
    return (
        part is not None
        and part.plain
        and part.size <= settings.IMPORT_XLSX_IN_MEMORY_MB * MiB
        and (book.strings_path is None or (strings is not None and strings.plain))
        and part.styles | {0} <= book.plain_styles
    )


@dataclass
class _Book:
    """What the fast path needs of a workbook, read by openpyxl without its sheets or its shared strings."""

    archive: zipfile.ZipFile
    #: (name, part path, whether it is a chart sheet) of every sheet, in the workbook's order.
    sheets: list[tuple[str, str, bool]]
    strings_path: str | None
    epoch: datetime
    date_styles: set[int]
    timedelta_styles: set[int]
    #: The styles whose number format is one of :data:`PLAIN_NUMBER_FORMATS`.
    plain_styles: set[int]


def _open_book(stream: BinaryIO, label: str) -> _Book:
    """The workbook's structure (sheets, styles, epoch) through openpyxl's ``ExcelReader``, one step at a time.

    ``load_workbook`` would also read the whole shared strings table into an
    object per string and pre-scan every sheet lacking ``<dimension>``: what
    cost the most before rows were read. Private names used (verified on
    :data:`VERIFIED_OPENPYXL`): ``ExcelReader``'s ``read_manifest()``,
    ``read_workbook()``, ``package``, ``parser.find_sheets()``,
    ``valid_files``; ``apply_stylesheet``; the workbook's ``_date_formats``,
    ``_timedelta_formats`` and ``_cell_styles`` (each style's ``numFmtId``,
    built-in ids below 164 as ``apply_stylesheet`` normalises them).
    """
    try:
        reader = ExcelReader(stream, read_only=True, data_only=True)
    except Exception as exc:  # any failure to open untrusted input means: not a readable workbook
        raise ImportRejected(f"{label} is not a readable XLSX workbook ({type(exc).__name__}: {exc}).") from None
    try:
        reader.read_manifest()
        reader.read_workbook()
        workbook = reader.wb
        apply_stylesheet(reader.archive, workbook)
        sheets = [
            (sheet.name, rel.target, "chartsheet" in rel.Type)
            for sheet, rel in reader.parser.find_sheets()
            if rel.target in reader.valid_files
        ]
        strings = reader.package.find(SHARED_STRINGS)
        return _Book(
            archive=reader.archive,
            sheets=sheets,
            strings_path=None if strings is None else strings.PartName[1:],
            epoch=workbook.epoch,
            date_styles=set(workbook._date_formats),
            timedelta_styles=set(workbook._timedelta_formats),
            plain_styles={
                index for index, style in enumerate(workbook._cell_styles) if style.numFmtId in PLAIN_NUMBER_FORMATS
            },
        )
    except Exception as exc:  # as above
        reader.archive.close()
        raise ImportRejected(f"{label} is not a readable XLSX workbook ({type(exc).__name__}: {exc}).") from None


def _pick_book_sheet(book: _Book, sheet: str, label: str) -> tuple[str, str]:
    """(name, part path) of the sheet to read: the rules of :func:`_pick_sheet`."""
    if not sheet:
        worksheets = [(name, path) for name, path, chart in book.sheets if not chart]
        if not worksheets:
            raise ImportRejected(f"{label} has no worksheet (only chart sheets).")
        return worksheets[0]
    names = [name for name, _path, _chart in book.sheets]
    sheet = _sheet_named(names, sheet, label)
    name, path, chart = book.sheets[names.index(sheet)]
    if chart:
        raise ImportRejected(f"{label}: sheet {sheet!r} is a chart sheet, not a table of rows.")
    return name, path


def _streamed_sheet_rows(
    book: _Book, path: str, label: str, content: _Content
) -> Generator[tuple[int, list], None, None]:
    """``(sheet row number, values)`` of every row the sheet's XML holds, in flat memory (:mod:`xlsx_stream`).

    Every row there is, whatever ``<dimension>`` declares (some programs
    write it wrong); an error cell (``#N/A``) comes out as
    :class:`ExcelError`, a formula with no saved result as
    :class:`UnsavedFormula`. The shared strings table (bounded by
    :mod:`xlsx_parts`) is read as far as the rows read need
    (:class:`~imports.engine.xlsx_stream.SharedStrings`).
    """
    try:
        with ExitStack() as parts:
            strings = None if book.strings_path is None else parts.enter_context(book.archive.open(book.strings_path))
            source = parts.enter_context(book.archive.open(path))
            for number, values in sheet_rows(
                source,
                SharedStrings(strings),
                epoch=book.epoch,
                date_styles=book.date_styles,
                timedelta_styles=book.timedelta_styles,
            ):
                content.add(number, values)
                yield number, values
    except SheetError as exc:
        raise ImportRejected(f"{label}: the sheet cannot be read ({exc}).") from None
    except (ValueError, KeyError, IndexError, OverflowError) as exc:
        raise ImportRejected(f"{label}: the sheet cannot be read ({type(exc).__name__}: {exc}).") from None


def _calamine_sheet_rows(
    stream: BinaryIO, title: str, label: str, content: _Content
) -> Generator[tuple[int, list], None, None]:
    """The sheet's rows through calamine, the same rows as :func:`_streamed_sheet_rows` (the sheet is plain)."""
    try:
        for number, values in calamine_sheet_rows(stream, title):
            content.add(number, values)
            yield number, values
    except CalamineSheetError as exc:
        raise ImportRejected(f"{label}: the sheet cannot be read ({exc}).") from None


def _public_sheet_rows(
    stream: BinaryIO, worksheet, label: str, cleanup: ExitStack, content: _Content
) -> Generator[tuple[int, list], None, None]:
    """The same rows through openpyxl's public API only; memory grows with the rows (see the module's docstring).

    ``worksheet`` (from a ``data_only=True`` workbook) gives each cell's saved
    value and ``data_type`` (``"e"``: an error cell; ``"str"``: a formula
    whose saved text result is empty). The same sheet from a second workbook
    with ``data_only=False`` gives the formulas: a cell empty in the first and
    not in the second is a formula whose result was never saved.
    ``reset_dimensions()`` makes both read every row, whatever ``<dimension>``
    says. ``iter_rows()`` yields a row per sheet row from row 1 (an empty
    tuple for a row the file leaves out), so counting gives the row number.
    """
    formula_book = _load(stream, label, data_only=False)
    cleanup.callback(formula_book.close)
    formula_sheet = formula_book[worksheet.title]
    worksheet.reset_dimensions()
    formula_sheet.reset_dimensions()
    return _lockstep_rows(worksheet.iter_rows(), formula_sheet.iter_rows(values_only=True), label, content)


def _lockstep_rows(value_rows, formula_rows, label: str, content: _Content) -> Generator[tuple[int, list], None, None]:
    try:
        for number, (cells, formulas) in enumerate(zip(value_rows, formula_rows, strict=True), start=1):
            if not cells:
                continue
            values = []
            for cell, formula in zip(cells, formulas, strict=True):
                value = cell.value
                if cell.data_type == "e":
                    value = ExcelError(value)
                elif value is None and formula is not None and cell.data_type != "str":
                    # The formula's text; an array formula is an object holding it, a data table has none.
                    value = UnsavedFormula(formula if isinstance(formula, str) else getattr(formula, "text", "="))
                elif type(value) is float:
                    value = sheet_number(value)
                values.append(value)
            while values and values[-1] is None:
                values.pop()
            if not values:
                continue
            content.add(number, values)
            yield number, values
    except (ParseError, ValueError, KeyError, IndexError) as exc:
        raise ImportRejected(f"{label}: the sheet cannot be read ({type(exc).__name__}: {exc}).") from None


def _xlsx_rows(rows: Iterator[tuple[int, list]], header_row: int) -> Iterator[tuple[int, list]]:
    """Data rows (never blank: the rows handed here are those with content), numbered from the header."""
    for sheet_row, cells in rows:
        yield sheet_row - header_row, cells
