"""Header -> which column holds which field.

Headers match case-insensitively after trimming, with runs of spaces,
underscores and hyphens read as one underscore ("Item Name", "item-name" and
"ITEM__NAME" are all ``item_name``), in any order, through each field's
aliases (``item`` -> ``item_name``). Unknown columns are ignored and reported
as a warning; a column with an empty header is ignored silently. Two columns
that give the same field (``item`` and ``item_name``, or one header written
twice) reject the file, since either choice could lose data; so does a
missing required column, naming the headers found and the ones expected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from catalog.kinds import Column, Kind
from imports.engine.errors import ImportRejected

_SEPARATORS = re.compile(r"[\s\-_]+")


def canonical_header(header: str) -> str:
    """The form headers are compared in: ``" Item-Name "`` -> ``"item_name"``."""
    return _SEPARATORS.sub("_", str(header).strip().lower())


@dataclass(frozen=True)
class ColumnMap:
    """Where each present field sits in a row, and what was left out."""

    kind: Kind
    #: field name -> index of its cell in a row
    positions: dict[str, int]
    #: field name -> the header as written in the file
    headers: dict[str, str]
    #: headers of columns the importer ignores
    unknown: list[str]

    @property
    def present(self) -> frozenset[str]:
        return frozenset(self.positions)

    def warnings(self) -> list[str]:
        if not self.unknown:
            return []
        names = ", ".join(repr(h) for h in self.unknown)
        return [f"Ignored column(s) not used by {_an(self.kind.name)} import: {names}."]


def map_columns(headers: list[str], kind: Kind) -> ColumnMap:
    """Map a file's header row to the kind's fields, or reject the file (see the module doc)."""
    lookup: dict[str, str] = {}
    for column in kind.columns:
        for name in (column.name, *column.aliases):
            lookup[name] = column.name
    positions: dict[str, int] = {}
    written: dict[str, str] = {}
    unknown: list[str] = []
    for index, header in enumerate(headers):
        field = lookup.get(canonical_header(header))
        if field is None:
            if str(header).strip():
                unknown.append(str(header))
            continue
        if field in positions:
            raise ImportRejected(
                f"Columns {written[field]!r} (column {positions[field] + 1}) and {header!r} "
                f"(column {index + 1}) both give {field}; keep one of them."
            )
        positions[field] = index
        written[field] = str(header)
    missing = [name for name in kind.required if name not in positions]
    if missing:
        found = ", ".join(repr(str(h)) for h in headers if str(h).strip()) or "none"
        expected = ", ".join(_expected(column) for column in kind.columns)
        raise ImportRejected(
            f"Missing required column(s) {', '.join(missing)} for {_an(kind.name)} import. "
            f"Found: {found}. Expected: {expected}."
        )
    return ColumnMap(kind=kind, positions=positions, headers=written, unknown=unknown)


def _expected(column: Column) -> str:
    notes = (["required"] if column.required else []) + [f"or {alias}" for alias in column.aliases]
    return f"{column.name} ({', '.join(notes)})" if notes else column.name


def _an(word: str) -> str:
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"
