"""Raw row -> normalised values, or every problem the row has.

The rules, applied the same way to every file format, by column type
(``catalog.kinds``: a column's type and limits come from its model field):

* names (``name``: item, color and size names) are written down by
  ``catalog.keys``: invisible (zero-width, bidi) characters removed, full-width
  and other drawing-only compatibility forms folded, trimmed, inner whitespace
  runs (spaces, tabs, line breaks, no-break spaces) collapsed to one space and
  NFC-normalised; case is kept, so matching is exact. They must be non-empty
  when required and fit their column (``max_length`` characters after
  normalisation; exactly at the limit is fine). Whether a new name is a
  look-alike of a live one needs the live names: ``engine.lookalikes``;
* ``text`` (``description``) is trimmed and its line breaks written ``\\n`` (a CRLF file
  and an LF file give the same text); tabs and inner line breaks are kept; it
  may have at most ``IMPORT_MAX_DESCRIPTION_LENGTH`` characters (10,000 by
  default; a longer cell refuses the file only past the readers' field limit);
* ``code`` (``sku``) is trimmed and must be one line (a tab or line break inside it is
  refused) within its length;
* ``decimal`` (``price``) is a non-negative decimal with at most the field's
  decimal places that fits its digits (``numeric(12,2)``: 2 places, at most
  9999999999.99). Trailing zeros are not decimal places (``10.500`` read with
  a decimal point is 10.50). Text is read in the job's *number format*
  (``imports.engine.numbers``): a decimal point or a decimal comma, thousands
  separators, a currency before or after (``12,50``, ``1.299,00``,
  ``$1,299.00``, ``30 EUR``); a value the format leaves ambiguous, scientific
  notation (``1e2``, how spreadsheets write numbers they have already
  rounded) and ``NaN``/``Infinity`` are refused, each with its own reason.
  Numbers typed in the file (JSON numbers, XLSX numeric cells) are taken by
  value;
* ``count`` (``stock``) is a non-negative whole number that fits ``integer``, read in
  the same number format: ``+5``, ``5.0`` and ``5,0`` (text, or an XLSX number
  5.0) are 5; ``5.5`` is refused;
* XLSX numbers are floats: they are read at Excel's own precision (15
  significant digits), so a cell Excel shows as 21.99 is 21.99, not
  21.989999999999998;
* NUL and other control characters are refused anywhere, with their position
  (1 = the first character of the cell as written); tab, line feed and
  carriage return are whitespace in names, kept in descriptions, refused
  inside a sku. So is half of a UTF-16 surrogate pair (a JSON file can spell
  ``"\\ud800"``), which UTF-8 and so PostgreSQL cannot store;
* an empty cell in a present column is empty: ``''`` for text, NULL (None)
  for price and stock; a column absent from the file gives None, never written;
* a cell that is not a single value is refused: true/false, a nested JSON
  object or array, an Excel error such as ``#N/A``, an XLSX formula whose
  result was never saved (read as empty, it would clear the stored value);
* a leading ``'`` before a formula character (``'=1+1``) is dropped: it is
  how the failed-rows export defuses formulas, so an export imports back as is;
* cells beyond the header's width must be empty (else the delimiter or the
  quoting is probably wrong).

A row with any problem is reported whole (every problem, not just the first)
and is not written at all.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from itertools import chain, islice
from typing import NamedTuple

from django.conf import settings

from catalog.keys import normalize_key
from catalog.kinds import Column
from imports.engine.columns import ColumnMap
from imports.engine.limits import HELD_CONTENT_CHARS
from imports.engine.numbers import (
    AUTO,
    COMMA,
    POINT,
    NumberProblem,
    detect_number_format,
    effective_format,
    parse_number,
)
from imports.engine.tables import ExcelError, NotAnObject, UnsavedFormula
from mtc.cell_guard import unguard_cell

#: The largest whole number a ``count`` column stores (PostgreSQL's ``integer``).
MAX_COUNT = 2_147_483_647
#: Control characters refused anywhere (everything but tab, LF and CR).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
#: Lone surrogates: no UTF-8 form.
_SURROGATE = re.compile("[\ud800-\udfff]")
_LINE_BREAKS = re.compile(r"[\t\n\r]")
#: Decimal exponents within which a number is written out in full as text.
_PLAIN_EXPONENTS = range(-30, 31)


class RowProblem(NamedTuple):
    column: str
    value: str
    reason: str


class CellProblem(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def cell_text(cell: object) -> str:
    """Any cell value (CSV text, an XLSX number or date, a JSON value) as text.

    A leading ``'`` before a formula character is dropped: it is how the
    failed-rows export defuses formulas, so the export imports back as is.
    Numbers are written out in full (``100``, not ``1E+2``); an XLSX float at
    Excel's 15 significant digits; a date-time at midnight as its date.
    Raises :class:`CellProblem` for a value that is not a single value.
    """
    if type(cell) is str:
        return unguard_cell(cell) if cell[:1] == "'" else cell
    if cell is None:
        return ""
    if isinstance(cell, ExcelError):
        raise CellProblem(f"is the Excel error {cell} (fix the formula that gives it)")
    if isinstance(cell, UnsavedFormula):
        raise CellProblem(
            f"is a formula ({cell}) whose result was never saved: open the file in a spreadsheet program, "
            "save it and import it again"
        )
    if isinstance(cell, bool):
        raise CellProblem(f"expected text or a number, found {str(cell).lower()}")
    if isinstance(cell, float):
        return _decimal_text(_float_value(cell))
    if isinstance(cell, int):
        return str(cell)
    if isinstance(cell, Decimal):
        return _decimal_text(cell)
    if isinstance(cell, datetime.datetime):
        return cell.date().isoformat() if cell.time() == datetime.time() and cell.tzinfo is None else cell.isoformat()
    if isinstance(cell, datetime.date | datetime.time):
        return cell.isoformat()
    if isinstance(cell, dict | list):
        kind = "object" if isinstance(cell, dict) else "array"
        raise CellProblem(f"expected a single value, found a nested JSON {kind}")
    return str(cell)


def _float_value(value: float) -> Decimal:
    """A float as the decimal a spreadsheet shows: 15 significant digits."""
    return Decimal(format(value, ".15g"))


def _decimal_text(value: Decimal) -> str:
    if value.is_finite() and value.adjusted() in _PLAIN_EXPONENTS:
        return format(value, "f")
    return str(value)


def _number_value(cell: object) -> Decimal | None:
    """The value of a cell typed as a number (JSON number, XLSX numeric cell), else None."""
    if isinstance(cell, bool):
        return None
    if isinstance(cell, float):
        return _float_value(cell)
    if isinstance(cell, int | Decimal):
        return Decimal(cell)
    return None


def _parse_number(text: str, number_format: str, example: str) -> Decimal:
    """Number text -> Decimal in ``number_format``; anything else raises with the reason it is not one."""
    try:
        return parse_number(text, number_format)
    except NumberProblem as problem:
        raise CellProblem(f"{problem.reason} ({example})" if problem.example_helps else problem.reason) from None


def _refuse_control(text: str, *, line_breaks: bool, offset: int = 0) -> None:
    """Refuse control characters; ``line_breaks``: tab, LF and CR are allowed."""
    if text.isprintable():
        return
    match = _CONTROL.search(text) or (None if line_breaks else _LINE_BREAKS.search(text))
    if match:
        position = offset + match.start() + 1
        raise CellProblem(f"contains a control character (U+{ord(match.group()):04X}) at position {position}")
    if match := _SURROGATE.search(text):
        raise CellProblem(
            f"contains half of a surrogate pair (U+{ord(match.group()):04X}), which is not a character, "
            f"at position {offset + match.start() + 1}"
        )


def _name_reader(max_length: int, required: bool) -> Callable[[object], str]:
    def read(cell: object) -> str:
        text = cell_text(cell)
        _refuse_control(text, line_breaks=True)
        value = normalize_key(text)
        if not value and required:
            raise CellProblem("is required")
        if len(value) > max_length:
            raise CellProblem(f"is longer than {max_length} characters ({len(value)})")
        return value

    return read


def max_length(column: Column) -> int | None:
    """The most characters a column's value may have: its field's length; ``IMPORT_MAX_DESCRIPTION_LENGTH``
    for long text (a ``TextField``, which has none), so no row stores an unbounded description."""
    if column.type == "text":
        return column.max_length or settings.IMPORT_MAX_DESCRIPTION_LENGTH
    return column.max_length


def _text_reader(limit: int) -> Callable[[object], str]:
    def read(cell: object) -> str:
        text = cell_text(cell)
        _refuse_control(text, line_breaks=True)
        text = text.strip()
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        if len(text) > limit:
            raise CellProblem(f"is longer than {limit:,} characters ({len(text):,})")
        return text

    return read


def _code_reader(max_length: int) -> Callable[[object], str]:
    def read(cell: object) -> str:
        text = cell_text(cell)
        _refuse_control(text, line_breaks=True)
        value = text.strip()
        _refuse_control(value, line_breaks=False, offset=len(text) - len(text.lstrip()))
        if len(value) > max_length:
            raise CellProblem(f"is longer than {max_length} characters ({len(value)})")
        return value

    return read


def _decimal_reader(column: Column, number_format: str) -> Callable[[object], Decimal | None]:
    """A non-negative decimal within the column's digits and decimal places, or None for an empty cell."""
    largest = column.max_value
    places = column.decimal_places or 0
    quantum = Decimal(10) ** -places
    too_precise = f"has more than {places} decimal place{'s' if places != 1 else ''}"
    example = "e.g. 19,99" if number_format == COMMA else "e.g. 19.99"

    def read(cell: object) -> Decimal | None:
        value = _number_value(cell)
        if value is None:
            text = cell_text(cell).strip()
            if not text:
                return None
            value = _parse_number(text, number_format, example)
        if not value.is_finite():
            raise CellProblem(f"is not a number ({example})")
        if value < 0:
            raise CellProblem("must be 0 or more")
        if largest is not None and value > largest:
            raise CellProblem(f"is larger than the maximum {largest}")
        rounded = value.quantize(quantum)
        if rounded != value:
            raise CellProblem(too_precise)
        return rounded + 0  # + 0 turns -0.00 into 0.00

    return read


_COUNT_EXAMPLE = "a whole number, e.g. 12"


def _count_reader(number_format: str) -> Callable[[object], int | None]:
    """A non-negative whole number that fits ``integer``, or None for an empty cell."""

    def read(cell: object) -> int | None:
        if type(cell) is int:
            value = cell
        else:
            number: int | Decimal | None = _number_value(cell)
            if number is None:
                text = cell_text(cell).strip()
                if not text:
                    return None
                if text.isdigit() and text.isascii() and len(text) <= 10:
                    number = int(text)
                else:
                    number = _parse_number(text, number_format, _COUNT_EXAMPLE)
            if isinstance(number, Decimal):
                if not number.is_finite():
                    raise CellProblem(f"is not a number ({_COUNT_EXAMPLE})")
                if number < 0:
                    raise CellProblem("must be 0 or more")
                if number > MAX_COUNT:
                    raise CellProblem(f"is larger than the maximum {MAX_COUNT}")
                if number != number.to_integral_value():
                    raise CellProblem("must be a whole number")
            value = int(number)
        if value < 0:
            raise CellProblem("must be 0 or more")
        if value > MAX_COUNT:
            raise CellProblem(f"is larger than the maximum {MAX_COUNT}")
        return value

    return read


def _reader_for(column: Column, number_format: str) -> Callable[[object], object]:
    if column.type == "name":
        return _name_reader(column.max_length or 0, column.required)
    if column.type == "text":
        return _text_reader(max_length(column) or 0)
    if column.type == "code":
        return _code_reader(column.max_length or 0)
    if column.type == "decimal":
        return _decimal_reader(column, number_format)
    if column.type == "count":
        return _count_reader(number_format)
    raise ValueError(f"unknown column type {column.type!r}")


def _shown(cell: object) -> str:
    """The cell as a problem report shows it (JSON-like for a value that is not text)."""
    try:
        return cell_text(cell)
    except CellProblem:
        if isinstance(cell, bool | dict | list):
            return json.dumps(cell, default=str, ensure_ascii=False)
        return str(cell)


def _is_empty(cell: object) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


RowParser = Callable[[list], tuple[tuple | None, list[RowProblem]]]


def row_parser(columns: ColumnMap, *, width: int, number_format: str = AUTO) -> RowParser:
    """A function turning one raw row into ``(values, [])`` or ``(None, problems)``.

    ``values`` has one slot per field of the kind, in the kind's order; fields
    whose column is absent from the file stay ``None`` and are never written.
    ``width`` is the number of header cells: non-empty cells beyond it are a
    problem of the row. A problem's ``reason`` starts with the column's header
    as written in the file (``"Price must be 0 or more"``). Number text is read
    in ``number_format`` (``imports.engine.numbers``).
    """
    kind_columns = columns.kind.columns
    plan = [
        (slot, columns.positions[column.name], _reader_for(column, number_format), columns.headers[column.name])
        for slot, column in enumerate(kind_columns)
        if column.name in columns.positions
    ]
    labels = {header: header.strip() for _, _, _, header in plan}
    empty: list[object] = [None] * len(kind_columns)

    def parse(cells: list) -> tuple[tuple | None, list[RowProblem]]:
        if cells and isinstance(cells[0], NotAnObject):
            return None, [RowProblem("", str(cells[0]), cells[0].text)]
        values: list[object] = empty.copy()
        problems: list[RowProblem] = []
        size = len(cells)
        for slot, index, read, header in plan:
            cell = cells[index] if index < size else None
            try:
                values[slot] = read(cell)
            except CellProblem as problem:
                problems.append(RowProblem(header, _shown(cell), f"{labels[header]} {problem.reason}"))
        if size > width and not all(_is_empty(cell) for cell in cells[width:]):
            problems.append(
                RowProblem(
                    "",
                    "",
                    f"the row has {size} cells but the header has {width}: check the delimiter or quoting",
                )
            )
        if problems:
            return None, problems
        return tuple(values), problems

    return parse


# --- many rows at once ----------------------------------------------------------


def _plain_decimal(column: Column, number_format: str) -> re.Pattern:
    """Digits a ``decimal`` column stores as they are: at most its whole digits and places, no sign.

    With a decimal comma the separator is ``,``; with ``auto`` at most two
    places, since ``1.000`` could also be one thousand (the careful path
    says so).
    """
    places = column.decimal_places or 0
    whole = (column.max_digits or 30) - places
    separator = "," if number_format == COMMA else r"\."
    if number_format == AUTO:
        places = min(places, 2)
    return re.compile(rf"[0-9]{{1,{whole}}}(?:{separator}[0-9]{{0,{places}}})?")


@dataclass
class ParsedRows:
    """A chunk of rows, parsed: one list of values per field, and the invalid rows' problems."""

    #: Per field of the kind, the value of every row (None: column absent, or row invalid).
    columns: list[list]
    #: Index in the chunk -> every problem of that (invalid) row.
    problems: dict[int, list[RowProblem]]


def _fast_column(spec: Column, column: list, number_format: str) -> tuple[list[str] | list[str | None], list[int]]:
    """The values of a column's plainly valid cells, and the indexes of the doubtful ones.

    Whole-column checks (one ``join``, then ``isprintable``/``isascii``) clear
    the common case at C speed; only when one fails are the cells looked at
    one by one. A column holding more than text (XLSX and JSON cells are
    typed) goes through :func:`_fast_typed_column` first.
    """
    try:
        joined = "".join(column)
    except TypeError:
        return _fast_typed_column(spec, column, number_format)
    doubtful: list[int] = []
    if not joined.isprintable():  # control characters, tabs, line breaks
        doubtful += [i for i, cell in enumerate(column) if not cell.isprintable()]
    if "'" in joined:  # a formula escape ('=...) is undone by cell_text
        doubtful += [i for i, cell in enumerate(column) if cell[:1] == "'"]
    if spec.type == "name":
        if joined.isascii():
            names = [" ".join(cell.split()) for cell in column]
        else:
            names = [" ".join(cell.split()) if cell.isascii() else normalize_key(cell) for cell in column]
        limit, required = spec.max_length or 0, spec.required
        doubtful += [i for i, v in enumerate(names) if len(v) > limit or (required and not v)]
        return names, doubtful
    if spec.type in ("text", "code"):
        stripped = [cell.strip() for cell in column]
        if longest := max_length(spec):
            doubtful += [i for i, v in enumerate(stripped) if len(v) > longest]
        return stripped, doubtful
    values = [cell.strip() or None for cell in column]
    if spec.type == "decimal":
        # Plain digits are already a valid value: the staging column reads "10.5" as 10.50.
        plain = _plain_decimal(spec, number_format).fullmatch
        doubtful += [i for i, v in enumerate(values) if v is not None and not plain(v)]
        if number_format == COMMA and "," in joined:
            values = [v.replace(",", ".") if v else v for v in values]
        return values, doubtful
    doubtful += [i for i, v in enumerate(values) if v is not None and not (v.isdigit() and v.isascii() and len(v) < 10)]
    return values, doubtful


def _fast_typed_column(spec: Column, column: list, number_format: str) -> tuple[list, list[int]]:
    """:func:`_fast_column` for a column of typed cells (an XLSX sheet's, a JSON file's).

    An empty cell (None) is empty text; a number in a number column is
    vouched for when it is plainly valid (:func:`_plain_number`), so an XLSX
    sheet of prices and stocks takes the fast path as a CSV file does (it
    sent every row the careful way: 1.8 of the 4.4 s of staging 100k XLSX
    rows). Any other cell (a date, a boolean, an Excel error, a number in a
    text column, a doubtful number) is doubtful.
    """
    numeric = spec.type in ("decimal", "count")
    texts: list[str] = []
    numbers: dict[int, object] = {}
    others: list[int] = []
    for i, cell in enumerate(column):
        kind = type(cell)
        if kind is str:
            texts.append(cell)
            continue
        texts.append("")
        if cell is None:
            continue
        if numeric and (kind is int or kind is float):
            numbers[i] = cell
        else:
            others.append(i)
    fast, doubtful = _fast_column(spec, texts, number_format)
    values: list = fast  # the column's values: text, and the numbers vouched for below
    plain = _plain_decimal(spec, AUTO).fullmatch if spec.type == "decimal" else None
    for i, number in numbers.items():
        value = _plain_number(spec, number, plain)
        if value is None:
            doubtful.append(i)
        else:
            values[i] = value
    return values, doubtful + others


def _plain_number(spec: Column, number: object, plain: Callable[[str], object] | None) -> str | int | None:
    """A typed number as its column's value when it is plainly valid, else None (the careful path decides).

    A count: a whole number within 0..``MAX_COUNT`` (an XLSX sheet stores
    ``7`` as ``7.0``). A decimal: its text as the careful path reads it (a
    float at 15 significant digits, :func:`_float_value`) when that is plain
    digits within the column's digits and places, as :func:`_fast_column`
    vouches for text (``plain``: the decimal column's test); the staging column
    reads it as a number.
    """
    if spec.type == "count":
        if isinstance(number, float):
            if not number.is_integer():
                return None
            number = int(number)
        if not isinstance(number, int):
            return None
        return number if 0 <= number <= MAX_COUNT else None
    text = format(number, ".15g") if isinstance(number, float) else str(number)
    return text if plain is not None and plain(text) else None


ChunkParser = Callable[[list[list]], ParsedRows]


def chunk_parser(columns: ColumnMap, *, width: int, number_format: str = AUTO) -> ChunkParser:
    """Like :func:`row_parser`, for a list of rows at once (and several times faster).

    The import reads rows in chunks of thousands, and in the common case (text
    cells of printable ASCII, plain numbers) every rule above can be checked
    for a whole column with C-speed string methods. Only the rows with a cell
    this fast path cannot vouch for go through :func:`row_parser`, so the
    rules keep one definition; a test checks both give the same values.

    A value the fast path vouches for may be the plain text of a number
    (``"10.5"``, ``"7"``) rather than a ``Decimal``/``int``: the staging
    table's typed columns read it as such.
    """
    parse_row = row_parser(columns, width=width, number_format=number_format)
    specs = columns.kind.columns
    plan = [(slot, columns.positions[s.name], s) for slot, s in enumerate(specs) if s.name in columns.positions]

    def parse(rows: list[list]) -> ParsedRows:
        size = len(rows)
        ragged = [i for i, cells in enumerate(rows) if len(cells) != width]
        doubtful = set(ragged)
        # Short or long rows take the careful path; give the column pass a stand-in.
        padded = [cells if len(cells) == width else [""] * width for cells in rows] if ragged else rows
        values: list[list] = [[None] * size for _ in specs]
        for slot, index, spec in plan:
            column = [cells[index] for cells in padded]
            fast, refused = _fast_column(spec, column, number_format)
            if fast:
                values[slot] = fast
            doubtful.update(refused)
        problems: dict[int, list[RowProblem]] = {}
        for i in doubtful:
            row_values, row_problems = parse_row(rows[i])
            if row_problems or row_values is None:
                problems[i] = row_problems
                row_values = (None,) * len(specs)
            for slot, value in enumerate(row_values):
                values[slot][i] = value
        return ParsedRows(columns=values, problems=problems)

    return parse


#: Data rows at the top of a file whose numbers tell its number format.
NUMBER_SAMPLE_ROWS = 1000


class NumberReading(NamedTuple):
    """How a file's number text is read: the format, and what its first rows told (None: nothing)."""

    number_format: str
    told: str | None


def read_numbers_as(
    rows: Iterable[tuple[int, list]],
    columns: ColumnMap,
    *,
    chosen: str = AUTO,
    content_read: Callable[[], int] | None = None,
) -> tuple[NumberReading, Iterator[tuple[int, list]]]:
    """The number format to read ``rows`` in, and the same rows again (the first ones are looked at first).

    The user's choice (``point``/``comma``) wins; otherwise the price and
    stock text of the first :data:`NUMBER_SAMPLE_ROWS` data rows decides when
    it reads one way only (:func:`~imports.engine.numbers.detect_number_format`),
    else each value is read by itself (``auto``). Every door (the import, the
    check's preview, the legacy importer) settles it this way, so they agree.
    The sample also stops once it holds
    :data:`~imports.engine.limits.HELD_CONTENT_CHARS` of content, as
    ``content_read`` (the table's) tells.
    """
    rows = iter(rows)
    if content_read is None:
        head = list(islice(rows, NUMBER_SAMPLE_ROWS))
    else:
        start = content_read()
        head = []
        for row in rows:
            head.append(row)
            if len(head) >= NUMBER_SAMPLE_ROWS or content_read() - start > HELD_CONTENT_CHARS:
                break
    told = _told_number_format(columns, [cells for _, cells in head]) if chosen not in (POINT, COMMA) else None
    return NumberReading(effective_format(chosen, told), told), chain(head, rows)


def _told_number_format(columns: ColumnMap, rows: list[list]) -> str | None:
    """The number format the text in ``rows``' price and stock cells says, if it says one (``point``/``comma``).

    Plain digits say nothing and are passed over cheaply.
    """
    numeric = ("decimal", "count")
    positions = [
        columns.positions[c.name] for c in columns.kind.columns if c.type in numeric and c.name in columns.positions
    ]
    texts = [
        cell
        for cells in rows
        for index in positions
        if index < len(cells) and type(cell := cells[index]) is str and not cell.isdigit()
    ]
    return detect_number_format(texts) if texts else None
