"""Raw row -> normalised values, or every problem the row has.

The rules, applied the same way to every file format:

* keys (item, color and size names) are trimmed, inner whitespace runs
  collapsed to one space and NFC-normalised (``catalog.keys``), then must be
  non-empty when required and fit their column;
* ``description`` is trimmed; ``sku`` is trimmed and single-line;
* ``price`` is a non-negative decimal with at most 2 decimal places that fits
  ``numeric(12,2)``; ``stock`` a non-negative whole number that fits ``integer``;
* NUL and other control characters are refused (tab, line feed and carriage
  return only count as whitespace in names and are kept in descriptions);
* an empty cell is empty: ``''`` for text, NULL for price and stock.

A row with any problem is reported whole (every problem, not just the first)
and is not written at all.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

from catalog.keys import normalize_key
from imports.engine.columns import ColumnMap
from imports.engine.readers import NotAnObject

MAX_PRICE = Decimal("9999999999.99")
MAX_STOCK = 2_147_483_647
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LINE_BREAKS = re.compile(r"[\t\n\r]")
_WHOLE = re.compile(r"[+]?\d+")


class RowProblem(NamedTuple):
    column: str
    value: str
    reason: str


class CellProblem(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


#: What a failed-rows export prefixes with ``'`` against formula injection.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell_text(cell: object) -> str:
    """Any cell value (CSV text, an XLSX number or date, a JSON value) as text.

    A leading ``'`` before a formula character is dropped: it is how the
    failed-rows export defuses formulas, so the export imports back as is.
    """
    if type(cell) is str:
        if cell[:1] == "'" and cell[1:2] in FORMULA_STARTS:
            return cell[1:]
        return cell
    if cell is None:
        return ""
    if isinstance(cell, bool):
        raise CellProblem(f"expected text or a number, found {str(cell).lower()}")
    if isinstance(cell, float):
        return str(int(cell)) if cell.is_integer() else repr(cell)
    if isinstance(cell, int | Decimal):
        return str(cell)
    if isinstance(cell, datetime.datetime | datetime.date | datetime.time):
        return cell.isoformat()
    if isinstance(cell, dict | list):
        raise CellProblem("expected a single value, found a nested JSON " + type(cell).__name__)
    return str(cell)


def _refuse_control(text: str, allowed_breaks: bool) -> None:
    if text.isprintable():
        return
    match = _CONTROL.search(text) or (None if allowed_breaks else _LINE_BREAKS.search(text))
    if match:
        raise CellProblem(f"contains a control character (U+{ord(match.group()):04X}) at position {match.start() + 1}")


def _name_reader(max_length: int, required: bool) -> Callable[[object], str]:
    def read(cell: object) -> str:
        text = cell_text(cell)
        _refuse_control(text, allowed_breaks=True)
        value = normalize_key(text)
        if not value and required:
            raise CellProblem("is required")
        if len(value) > max_length:
            raise CellProblem(f"is longer than {max_length} characters ({len(value)})")
        return value

    return read


def _text_reader(cell: object) -> str:
    text = cell_text(cell).strip()
    _refuse_control(text, allowed_breaks=True)
    return text


def _code_reader(max_length: int) -> Callable[[object], str]:
    def read(cell: object) -> str:
        text = cell_text(cell).strip()
        _refuse_control(text, allowed_breaks=False)
        if len(text) > max_length:
            raise CellProblem(f"is longer than {max_length} characters ({len(text)})")
        return text

    return read


def _price_reader(cell: object) -> Decimal | None:
    text = cell_text(cell).strip()
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise CellProblem("is not a number (use digits and a decimal point, e.g. 19.99)") from None
    if not value.is_finite():
        raise CellProblem("is not a number")
    if value < 0:
        raise CellProblem("must be 0 or more")
    if value != value.quantize(Decimal("0.01"), rounding="ROUND_DOWN"):
        raise CellProblem("has more than 2 decimal places")
    if value > MAX_PRICE:
        raise CellProblem(f"is larger than the maximum {MAX_PRICE}")
    return value.quantize(Decimal("0.01"))


def _is_whole_number(cell: object) -> bool:
    """An XLSX or JSON number without a fractional part (``5.0``)."""
    if isinstance(cell, float):
        return cell.is_integer()
    return isinstance(cell, Decimal) and cell.is_finite() and cell == cell.to_integral_value()


def _count_reader(cell: object) -> int | None:
    if type(cell) is int or _is_whole_number(cell):
        value = int(cell)
    else:
        text = cell_text(cell).strip()
        if not text:
            return None
        if not _WHOLE.fullmatch(text):
            if text.startswith("-") and _WHOLE.fullmatch(text[1:]):
                raise CellProblem("must be 0 or more")
            raise CellProblem("must be a whole number")
        value = int(text)
    if value < 0:
        raise CellProblem("must be 0 or more")
    if value > MAX_STOCK:
        raise CellProblem(f"is larger than the maximum {MAX_STOCK}")
    return value


def _reader_for(field) -> Callable[[object], object]:
    if field.type == "name":
        return _name_reader(field.max_length, field.required)
    if field.type == "text":
        return _text_reader
    if field.type == "code":
        return _code_reader(field.max_length)
    if field.type == "price":
        return _price_reader
    if field.type == "count":
        return _count_reader
    raise ValueError(f"unknown field type {field.type!r}")


def _shown(cell: object) -> str:
    try:
        return cell_text(cell)
    except CellProblem:
        return str(cell)


RowParser = Callable[[list], tuple[tuple | None, list[RowProblem]]]


def row_parser(columns: ColumnMap, *, width: int) -> RowParser:
    """A function turning one raw row into ``(values, [])`` or ``(None, problems)``.

    ``values`` has one slot per field of the kind, in the kind's order; fields
    whose column is absent from the file stay ``None`` and are never written.
    """
    fields = columns.kind.fields
    plan = [
        (slot, columns.positions[field.name], _reader_for(field), columns.headers[field.name])
        for slot, field in enumerate(fields)
        if field.name in columns.positions
    ]
    empty = [None] * len(fields)

    def parse(cells: list) -> tuple[tuple | None, list[RowProblem]]:
        if cells and isinstance(cells[0], NotAnObject):
            return None, [RowProblem("", "", cells[0].text)]
        values = empty.copy()
        problems: list[RowProblem] = []
        size = len(cells)
        for slot, index, read, header in plan:
            cell = cells[index] if index < size else None
            try:
                values[slot] = read(cell)
            except CellProblem as problem:
                problems.append(RowProblem(header, _shown(cell), f"{header} {problem.reason}"))
        if size > width and any(cell not in (None, "") for cell in cells[width:]):
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
