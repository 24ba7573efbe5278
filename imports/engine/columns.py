"""Header -> which column of the file holds which field: the column mapping.

Every header gets a suggestion, best first:

* **ours**: our own column name or one of its aliases (``catalog.kinds``),
  compared case-, space- and punctuation-insensitively ("Item Name",
  "item-name" and "ITEM__NAME" are all ``item_name``; ``item`` is an alias);
* **word**: a word suppliers use for it (``header_words``: ``Colour``,
  ``Farbe``, ``Preis``, ``qty``...), in six languages; a field already taken
  by an earlier column is not suggested again, so a suggestion never maps two
  columns to one field;
* nothing: the column is ignored, and reported as a warning (a column with an
  empty header silently).

A *mapping* (header -> field, or None to ignore the column) given by the user
overrides the suggestion for the headers it names; the others keep theirs.
The file is refused, before anything is written, when two columns would give
the same field (either choice could lose data: the user maps one of them to
something else), when a required field has no column (the refusal carries the
suggestion and the missing fields, so a door can show them), or when the
mapping names a header the file does not have or a field the kind does not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from catalog.kinds import Column, Kind
from imports.engine.errors import ImportRejected
from imports.engine.header_rows import HeaderScore
from imports.engine.header_words import columns_named, folded
from imports.engine.limits import HEADER_SCORED_CHARS, HEADER_SCORED_COLUMNS

_SEPARATORS = re.compile(r"[\s\-_]+")

OURS, WORD, CHOSEN = "ours", "word", "chosen"

#: The most ignored columns a job's warning names (a file may have 16,384; the job's page stays short).
WARNED_COLUMNS = 20

#: A mapping as the doors take it and the job keeps it: file header -> field, or None to ignore.
Mapping = dict[str, str | None]


def canonical_header(header: str) -> str:
    """The form headers are compared in: ``" Item-Name "`` -> ``"item_name"``."""
    return _SEPARATORS.sub("_", str(header).strip().lower())


@dataclass(frozen=True)
class ColumnChoice:
    """What one column of the file is read as."""

    index: int
    header: str
    #: The field it gives, or None when it is ignored.
    field: str | None
    #: Why: ``ours``, ``word``, ``chosen`` (the user's mapping), or ``""`` (nothing matched).
    how: str


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
    #: every column of the file, in order, with what it is read as
    choices: tuple[ColumnChoice, ...] = ()

    @property
    def present(self) -> frozenset[str]:
        return frozenset(self.positions)

    @property
    def mapping(self) -> Mapping:
        """The mapping that reads the file this way (what the job keeps and shows)."""
        return {choice.header: choice.field for choice in self.choices if str(choice.header).strip()}

    def warnings(self) -> list[str]:
        """What the job says about the file's columns: the ignored ones, at most :data:`WARNED_COLUMNS` by name."""
        if not self.unknown:
            return []
        names = ", ".join(repr(h) for h in self.unknown[:WARNED_COLUMNS])
        if len(self.unknown) > WARNED_COLUMNS:
            names += f" and {len(self.unknown) - WARNED_COLUMNS:,} more"
        return [f"Ignored column(s) not used by {_an(self.kind.name)} import: {names}."]


class MappingIncomplete(ImportRejected):
    """Required fields have no column; ``extra`` carries the suggestion and the missing fields."""

    code = "wrong_header"


def suggest_columns(headers: list[str], kind: Kind) -> list[ColumnChoice]:
    """Each column's suggested field (see the module docstring); ours may repeat a field, words never do."""
    ours: dict[str, str] = {}
    for column in kind.columns:
        for name in (column.name, *column.aliases):
            ours[canonical_header(name)] = column.name
            ours.setdefault(folded(name), column.name)
    fields = set(kind.column_names)
    suggested: list[ColumnChoice] = []
    for index, header in enumerate(headers):
        field = ours.get(canonical_header(header)) or ours.get(folded(header))
        suggested.append(ColumnChoice(index, str(header), field, OURS if field else ""))
    taken = {choice.field for choice in suggested if choice.field}
    for position, choice in enumerate(suggested):
        if choice.field or not str(choice.header).strip():
            continue
        candidates = sorted(columns_named(choice.header) & fields - taken, key=kind.column_names.index)
        if candidates:
            suggested[position] = ColumnChoice(choice.index, choice.header, candidates[0], WORD)
            taken.add(candidates[0])
    return suggested


def header_score(kind: Kind) -> HeaderScore:
    """How well a row reads as ``kind``'s header, by the suggestion itself (``engine.header_rows`` uses it).

    ``(places every required field, required fields placed, fields placed)``.
    Only text cells of at most :data:`~imports.engine.limits.HEADER_SCORED_CHARS`
    characters count (a number, a date or a paragraph is never a column
    name), in the first :data:`~imports.engine.limits.HEADER_SCORED_COLUMNS`
    columns, so scoring a row costs little whatever it holds.
    """
    required = set(kind.required)

    def score(cells: list) -> tuple[bool, int, int]:
        headers = [
            cell if type(cell) is str and len(cell) <= HEADER_SCORED_CHARS else ""
            for cell in cells[:HEADER_SCORED_COLUMNS]
        ]
        placed = {choice.field for choice in suggest_columns(headers, kind) if choice.field}
        return required <= placed, len(placed & required), len(placed)

    return score


def map_columns(headers: list[str], kind: Kind, mapping: Mapping | None = None) -> ColumnMap:
    """Map a file's header row to the kind's fields, or reject the file (see the module docstring)."""
    choices = suggest_columns(headers, kind)
    if mapping:
        choices = _apply(mapping, choices, kind)
    positions: dict[str, int] = {}
    written: dict[str, str] = {}
    unknown: list[str] = []
    for choice in choices:
        if choice.field is None:
            if choice.header.strip() and choice.how != CHOSEN:
                unknown.append(choice.header)
            continue
        if choice.field in positions:
            raise ImportRejected(
                f"Columns {written[choice.field]!r} (column {positions[choice.field] + 1}) and {choice.header!r} "
                f"(column {choice.index + 1}) both give {choice.field}; keep one of them, or map one of them to "
                f"another field."
            )
        positions[choice.field] = choice.index
        written[choice.field] = choice.header
    missing = [name for name in kind.required if name not in positions]
    if missing:
        found = ", ".join(repr(str(h)) for h in headers if str(h).strip()) or "none"
        expected = ", ".join(_expected(column) for column in kind.columns)
        raise MappingIncomplete(
            f"Missing required column(s) {', '.join(missing)} for {_an(kind.name)} import. "
            f"Found: {found}. Expected: {expected}. Map a column of the file to each missing field.",
            extra={
                "missing": missing,
                "suggestion": {c.header: c.field for c in choices if c.header.strip()},
                "fields": list(kind.column_names),
            },
        )
    return ColumnMap(kind=kind, positions=positions, headers=written, unknown=unknown, choices=tuple(choices))


def _apply(mapping: Mapping, choices: list[ColumnChoice], kind: Kind) -> list[ColumnChoice]:
    """The suggestion with the user's mapping laid over it, checked against the file and the kind."""
    by_header = {choice.header.strip(): choice for choice in choices}
    fields = set(kind.column_names)
    unknown_headers = [header for header in mapping if str(header).strip() not in by_header]
    if unknown_headers:
        listed = ", ".join(repr(h) for h in unknown_headers)
        columns = ", ".join(repr(c.header) for c in choices if c.header.strip()) or "none"
        raise ImportRejected(f"The mapping names column(s) {listed} the file does not have; its columns are {columns}.")
    unknown_fields = sorted({field for field in mapping.values() if field and field not in fields})
    if unknown_fields:
        raise ImportRejected(
            f"The mapping names field(s) {', '.join(unknown_fields)} that {_an(kind.name)} import does not have; "
            f"its fields are {', '.join(kind.column_names)}."
        )
    chosen = {str(header).strip(): field or None for header, field in mapping.items()}
    return [
        ColumnChoice(c.index, c.header, chosen[c.header.strip()], CHOSEN)
        if c.header.strip() in chosen and chosen[c.header.strip()] != c.field
        else c
        for c in choices
    ]


def _expected(column: Column) -> str:
    notes = (["required"] if column.required else []) + [f"or {alias}" for alias in column.aliases]
    return f"{column.name} ({', '.join(notes)})" if notes else column.name


def _an(word: str) -> str:
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"
