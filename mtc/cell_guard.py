"""Cells a spreadsheet would run as a formula, written so that it shows them as text.

Every file this project writes for a spreadsheet (failed rows, templates,
catalog exports) puts each cell, header row included, through
:func:`guard_cell`: text starting with ``= + - @``, a tab or a carriage
return gets a leading ``'`` (OWASP's advice against CSV injection). The
importer reads such a cell back with :func:`unguard_cell`, so an exported
file imports again unchanged. In a workbook, :func:`xlsx_cells` writes every
text as a string cell, never as a formula (openpyxl takes any text starting
with ``=`` for one), and a number as a number; there the ``'`` is kept for
text that would be a formula, not for a plain number written as text
(``-4.00``), which no spreadsheet runs and which would show the ``'``.

Kept at the ground of the project (it imports no app) because the catalog's
exports and the importer's reports both use it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal

#: What a spreadsheet treats as the start of a formula (or of a cell it may run as one).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: A number and nothing else (``-4``, ``+12.50``, ``-1,5``): never a formula, whatever its sign.
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(?:[.,][0-9]+)?")


def guard_cell(value: object) -> str:
    """``value`` as cell text that no spreadsheet runs: ``=1+1`` -> ``'=1+1``."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def guard_row(values: Iterable[object]) -> list[str]:
    """Each value of a CSV row (header row included) through :func:`guard_cell`."""
    return [guard_cell(value) for value in values]


def xlsx_cells(sheet, values: Iterable[object]) -> list:
    """A row for ``sheet.append``: numbers as numbers, empty text as an empty cell, other text a string cell.

    A string cell is typed as one (``data_type = "s"``) after its value is
    set, so no text, whatever it starts with, is ever written as a formula;
    text that would be one in a spreadsheet still gets the ``'``
    (:func:`guard_cell`), a plain number written as text does not.
    Works for a write-only sheet and a normal one alike.
    """
    from openpyxl.cell import Cell, WriteOnlyCell  # loaded only when a workbook is written

    cells: list[object] = []
    for value in values:
        if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
            cells.append(value)
            continue
        text = "" if value is None else str(value)
        if not _PLAIN_NUMBER.fullmatch(text):
            text = guard_cell(text)
        if not text:
            cells.append(None)  # an empty cell
            continue
        cell = WriteOnlyCell(sheet, value=text) if sheet.parent.write_only else Cell(sheet, value=text)
        cell.data_type = "s"
        cells.append(cell)
    return cells


def unguard_cell(text: str) -> str:
    """What :func:`guard_cell` wrote, as it was: ``'=1+1`` -> ``=1+1``; other text unchanged."""
    if text[:1] == "'" and text[1:2] in FORMULA_STARTS:
        return text[1:]
    return text
