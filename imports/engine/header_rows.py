"""Which row of a sheet is its header: a title, notes or blank rows may come first.

Supplier sheets often start with a title ("Spring catalogue 2026"), a note
("Prices in EUR, valid until 31 March") or blank lines, then the column
names. Every reader (CSV and XLSX) hands its rows with content, numbered by
the sheet's own lines, to :class:`HeaderChoice`, which takes:

* the line the user named (``--header-row N``, the API's ``header_row``, the
  check page), when there is one: rows above it are skipped, whatever they hold;
* else the first row with content, when it places every required field (a
  file with our own headers, or a supplier's whose words are known, reads
  exactly as before, and nothing more is looked at);
* else the row among the first :data:`~imports.engine.limits.HEADER_SEARCH_ROWS`
  rows with content that best matches the kind's fields, scored by the same
  suggestion as the column mapping (``columns.header_score``): most required
  fields placed, then most fields placed, the earliest on a tie. A row that
  places no field is never taken: then the first row with content is the
  header, and the mapping says what is missing as it always did.

Bounded: the rows looked at are held until the header is found, so the search
stops after :data:`~imports.engine.limits.HEADER_SEARCH_ROWS` rows or
:data:`~imports.engine.limits.HELD_CONTENT_CHARS` characters of cells,
whichever comes first, on top of each reader's own bounds; a named line
further than :data:`~imports.engine.limits.MAX_HEADER_ROW` is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import chain

from imports.engine.errors import ImportRejected
from imports.engine.limits import HEADER_SEARCH_ROWS, HELD_CONTENT_CHARS

#: How well a row's cells read as the header of the kind being imported (``columns.header_score``):
#: ``(places every required field, required fields placed, fields placed)``; compared as a tuple.
HeaderScore = Callable[[list], tuple[bool, int, int]]

Rows = Iterator[tuple[int, list]]


class HeaderChoice:
    """How a reader picks its header row: the line named, or the best one found (see the module docstring)."""

    def __init__(self, header_row: int | None, score: HeaderScore | None, label: str):
        self.header_row = header_row
        self.score = score
        self.label = label

    def pick(self, rows: Rows, *, where: str = "") -> tuple[int, list, Rows] | None:
        """``(header line, header cells, the rows after it)`` from rows with content; None when there are none.

        ``rows`` yields ``(line, cells)`` for each row with content, lines
        counted from the top of the sheet. The rows after the header are
        ``rows`` itself, past what was held to find it.
        """
        if self.header_row is not None:
            for line, cells in rows:
                if line == self.header_row:
                    return line, cells, rows
                if line > self.header_row:
                    break
            raise ImportRejected(
                f"{self.label}{where}: line {self.header_row} is empty or past the end; "
                "choose the line that holds the column names."
            )
        first = next(rows, None)
        if first is None:
            return None
        if self.score is None:
            return first[0], first[1], rows
        best = self.score(first[1])
        if best[0]:
            return first[0], first[1], rows
        held = [first]
        chosen = 0
        size = _size(first[1])
        for line, cells in rows:
            held.append((line, cells))
            score = self.score(cells)
            if score > best and score[2] > 0:
                best, chosen = score, len(held) - 1
                if score[0]:
                    break
            size += _size(cells)
            if len(held) >= HEADER_SEARCH_ROWS or size > HELD_CONTENT_CHARS:
                break
        line, cells = held[chosen]
        return line, cells, chain(held[chosen + 1 :], rows)


def _size(cells: list) -> int:
    return sum(len(cell) for cell in cells if type(cell) is str)
