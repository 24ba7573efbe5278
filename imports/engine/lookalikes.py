"""Refuse the rows whose name only looks like another name (``catalog.lookalikes``), once the file is staged.

The rule needs the live names, so it cannot be a rule of one row
(``rows``): it runs once per file, after the last chunk is staged and before
the staging is sealed, in three steps that cost nothing for a file of ASCII
or single-script names:

1. while chunks are staged, :meth:`FileLookalikes.see` keeps the file's
   distinct *mixed-script* names, per name column (a chunk of ASCII names is
   cleared by one ``join`` and ``isascii`` per column);
2. :meth:`FileLookalikes.refusals` streams the master's live names once
   (``catalog.lookalikes.live_lookalikes``: skeletonised one by one, looked up
   in a dict; a name some live row holds exactly is not new and drops out),
   then, for the names still unmatched, the file's own distinct names: a
   mixed-script name that looks like a *single-script* name the same file
   creates is refused too (a Latin ``Red`` and a ``Red`` typed with a
   Cyrillic *ie*, both new in one file: the Latin one lands, the other is
   refused naming it), so a file cannot bring in the pair that two files
   could not. Two mixed-script names that only look like each other both
   land, as a single one would;
3. the rows to write that hold a refused name become invalid rows with the
   problem, recorded like every row error; the other rows land.

A row already invalid for another reason keeps only its own problems (it is
not among the names checked); a row whose item and color are both refused
lists both.

Cost, measured on PostgreSQL with 100,000 live items and 100,000-row items
files (whole ``import_catalog`` processes, medians of 3 on the shared 2-core
machine): the live pass takes ~0.2 s and ~1.2 MB, only for a file holding a
new mixed-script name (2.66 s ASCII file, 2.91 s with one look-alike row);
``see`` costs ~0.1 ms per 5,000-row ASCII chunk. The memory kept is that of
the file's distinct mixed-script names: none for a normal file, ~+40 MB of
peak RSS (and 4.0 s) for the worst case of 100,000 distinct ones.
"""

from __future__ import annotations

from catalog.kinds import Column, Kind
from catalog.lookalikes import LookalikeFinder, is_mixed_script, live_lookalikes, lookalike_reason
from imports.engine.columns import ColumnMap
from imports.engine.staging import Staging


class FileLookalikes:
    """The mixed-script names of one file, per name column, and then which of them are refused."""

    def __init__(self, kind: Kind, columns: ColumnMap):
        self.kind = kind
        self.names = [
            (slot, column)
            for slot, column in enumerate(kind.columns)
            if column.type == "name" and column.name in columns.positions
        ]
        self.headers = {column.name: columns.headers[column.name] for _, column in self.names}
        self.labels = {name: header.strip() for name, header in self.headers.items()}
        self.mixed: dict[str, set[str]] = {column.name: set() for _, column in self.names}

    def see(self, values: list[list]) -> None:
        """Note the mixed-script names of a parsed chunk (one list of values per field; None for invalid rows)."""
        for slot, column in self.names:
            cells = values[slot]
            try:
                if "".join(cells).isascii():
                    continue
            except TypeError:  # invalid rows hold None
                if "".join(cell for cell in cells if cell).isascii():
                    continue
            mixed = self.mixed[column.name]
            mixed.update(name for name in set(cells) if name and not name.isascii() and is_mixed_script(name))

    def refusals(self, staging: Staging) -> dict[str, dict[str, str]]:
        """Column -> refused name -> the row problem's reason, for the names noted so far."""
        refused: dict[str, dict[str, str]] = {}
        for _, column in self.names:
            finder = LookalikeFinder(self.mixed[column.name])
            if not finder:
                continue
            reasons = {}
            for name, live in live_lookalikes(model=column.master.model, finder=finder).items():
                reasons[name] = self._reason(column, name, live)
            if finder:
                for name, other in finder.feed(staging.distinct_values(column.name), only_single_script=True).items():
                    reasons[name] = self._reason(column, name, other, in_this_file=True)
            if reasons:
                refused[column.name] = reasons
        return refused

    def _reason(self, column: Column, name: str, other: str, *, in_this_file: bool = False) -> str:
        noun = str(column.master.model._meta.verbose_name)
        return lookalike_reason(self.labels[column.name], name, other, noun, in_this_file=in_this_file)

    def problems(self, refused: dict[str, dict[str, str]], row: tuple) -> list[dict]:
        """Every look-alike problem of a staged row ``(row_number, *values)``, as ``rows.RowProblem`` is staged."""
        found = []
        for slot, column in self.names:
            name = row[1 + slot]
            reason = refused.get(column.name, {}).get(name)
            if reason is not None:
                found.append({"column": self.headers[column.name], "value": name, "reason": reason})
        return found
