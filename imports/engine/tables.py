"""What every reader hands on: :class:`Table`, and the cell values that mark a problem.

Kept apart from :mod:`imports.engine.readers` so that the XLSX reader
(:mod:`imports.engine.xlsx_sheets`, loaded only when a workbook is read) and
the row parser (:mod:`imports.engine.rows`) can use these types without
importing the readers module, which itself imports the XLSX reader: no
import cycle. Nothing here imports anything but the standard library.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field


@dataclass
class Table:
    """A file opened for import: its header and a one-pass stream of rows."""

    headers: list[str]
    rows: Iterator[tuple[int, list]]
    file_format: str
    #: What the reader worked out (encoding, delimiter, sheet), for the job's record.
    details: dict[str, str | int] = field(default_factory=dict)
    #: How many bytes of the file have been read so far, when known (progress while reading).
    bytes_read: Callable[[], int] | None = None
    #: How much cell content (characters, or bytes of a text file) has been handed on so far: what
    #: the rows read but not yet staged may hold (the import stages a chunk before it grows past a bound).
    content_read: Callable[[], int] | None = None


class NotAnObject:
    """A row the reader could not turn into cells; the row parser reports it.

    The name comes from JSON (an array element that is not an object), but a
    broken JSON line or a CSV row with broken quoting is handed on the same
    way. ``text`` is the reason; ``str()`` gives what the file held there, so
    the row's original content reaches the failed-rows report.
    """

    def __init__(self, text: str, raw: str = ""):
        self.text = text
        self.raw = raw

    def __str__(self) -> str:
        return self.raw

    def __repr__(self) -> str:
        return f"NotAnObject({self.text!r})"


class ExcelError(str):
    """An XLSX cell holding an Excel error value such as ``#N/A``: never imported as text."""


class UnsavedFormula(str):
    """An XLSX formula cell whose result was never saved (the file was written by a program, not Excel).

    Read as empty it would clear the stored value, so the row is refused instead.
    """


def blank_cells(cells) -> bool:
    """Every cell empty or whitespace: a blank row, skipped (XLSX, JSON)."""
    return all(cell is None or (type(cell) is str and not cell.strip()) for cell in cells)


#: A number cell whose value is whole and smaller than this is an ``int``, however its text is written.
WHOLE_NUMBERS_BELOW = 10**15


def sheet_number(value: float) -> int | float:
    """An XLSX number cell's value: an ``int`` when whole and below 10**15, else the float.

    Both XLSX readers apply it, so they agree: python-calamine hands every
    number as a float (``12`` and ``12.0`` alike), ``xlsx_stream`` parses the
    text. Below 10**15 a whole float is exact and the row parser reads it
    as the int (Excel's 15 digits), so nothing downstream changes; longer
    whole numbers written without a point stay exact ints in ``xlsx_stream``
    and keep a sheet from calamine (``xlsx_parts``).
    """
    return int(value) if value.is_integer() and -WHOLE_NUMBERS_BELOW < value < WHOLE_NUMBERS_BELOW else value
