"""What the admin's check page shows of a file: its columns with examples, how numbers are read, a sample of changes.

``file_columns`` lists every column of the stored file with a few example
values and the field it is read as (the job's mapping), so the user can
correct the mapping. ``numbers_read`` says in words how the job reads
numbers (chosen, told by the file, or each by itself). ``sample_changes`` is a sample of what the import would
change, row by row:

The dry run gives the exact figures (would add / update / leave unchanged /
supersede / fail) and every failed row, but not *which* rows would change and
how. This selector shows a few: it reads the first rows of the dry run's
stored file through the engine's own readers, column mapping and row rules
(so it sees the file exactly as the import will), and compares them with the
live rows. It only reads; the engine's ``upsert`` stays the only writer.

It is a sample, not a forecast of every row:

* only the first :data:`SCAN_ROWS` data rows are read; among them a key given
  twice counts once, by its last row, as the engine does. A row that a later
  row of the file (beyond the sample) supersedes may show a change that the
  later row will replace;
* a row is an *update* when a value of the kind's own master differs, in a
  column the file has (the engine never writes an absent column): the
  kind's values (``catalog.kinds``: variants compare sku, price and stock,
  items their description). A variants file also writes each item's
  description, which the figures do not count as a variant update, and
  neither does this sample.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from catalog.kinds import KINDS
from catalog.selectors import live_rows
from imports.engine.columns import CHOSEN, map_columns, suggest_columns
from imports.engine.errors import ImportRejected
from imports.engine.numbers import AUTO, COMMA, POINT
from imports.engine.readers import open_stored_table
from imports.engine.rows import CellProblem, cell_text, read_numbers_as, row_parser
from imports.models import ImportJob

#: Data rows read from the top of the file.
SCAN_ROWS = 500
EMPTY = "(empty)"


#: Example values shown per column.
EXAMPLES = 3
#: Longest example shown, in characters.
EXAMPLE_CHARS = 60


@dataclass(frozen=True)
class FileColumn:
    """One column of the file, as the mapping form shows it."""

    index: int
    header: str
    examples: list[str]
    #: The field it is read as (None: ignored), and how that was decided (``imports.engine.columns``).
    field: str | None
    how: str


@dataclass(frozen=True)
class Change:
    column: str
    old: str
    new: str


@dataclass(frozen=True)
class SampleRow:
    row_number: int
    #: The row's key in words: ``Oxford Shirt / Navy / M``.
    key: str
    #: ``(column, value)`` of every column the file has (rows to add).
    values: list[tuple[str, str]] = field(default_factory=list)
    #: What would change (rows to update).
    changes: list[Change] = field(default_factory=list)


@dataclass(frozen=True)
class ChangeSample:
    inserts: list[SampleRow]
    updates: list[SampleRow]
    #: Data rows read to find them.
    rows_read: int
    #: Whether the whole file was read (it has at most SCAN_ROWS rows).
    whole_file: bool


def shown(value: object) -> str:
    if value is None or value == "":
        return EMPTY
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def file_columns(*, job: ImportJob, examples: int = EXAMPLES, scan: int = SCAN_ROWS) -> list[FileColumn]:
    """Every column of the job's stored file with its first non-empty values and the field it is read as.

    Reads at most ``scan`` data rows; empty when the file cannot be read.
    """
    spec = KINDS.get(job.kind)
    try:
        with open_stored_table(job) as table:
            headers = list(table.headers)
            found: list[list[str]] = [[] for _ in headers]
            for read, (_, cells) in enumerate(table.rows):
                if read >= scan or all(len(values) >= examples for values in found):
                    break
                for index, cell in enumerate(cells[: len(headers)]):
                    text = _example(cell)
                    if text and len(found[index]) < examples:
                        found[index].append(text)
    except (ImportRejected, OSError, ValueError):
        return []
    choices = suggest_columns(headers, spec)
    mapping = job.mapping or {}
    return [
        FileColumn(
            choice.index,
            choice.header,
            found[choice.index],
            mapping.get(choice.header, choice.field) if choice.header in mapping else choice.field,
            CHOSEN if mapping.get(choice.header, choice.field) != choice.field else choice.how,
        )
        for choice in choices
        if choice.header.strip()
    ]


_WRITTEN = {POINT: "with a decimal point (1,299.50)", COMMA: "with a decimal comma (1.299,50)"}


def numbers_read(*, job: ImportJob) -> str:
    """How the job reads the file's prices and stocks, in words for the check and job pages."""
    options = job.options or {}
    chosen = options.get("number_format") or AUTO
    if chosen in _WRITTEN:
        return f"Numbers are read {_WRITTEN[chosen]}, as chosen."
    told = options.get("detected_number_format")
    if told in _WRITTEN:
        return f"Numbers are read {_WRITTEN[told]}: the file's prices and stocks are written that way."
    return (
        "The file's numbers do not show whether they use a decimal point or a decimal comma, so each is read as "
        "written; a number that could be read two ways (such as 1.000) is reported as a problem."
    )


def _example(cell: object) -> str:
    try:
        text = cell_text(cell).strip()
    except CellProblem:
        text = str(cell)
    return text if len(text) <= EXAMPLE_CHARS else text[: EXAMPLE_CHARS - 1] + "…"


def sample_changes(*, job: ImportJob, limit: int = 5, scan: int = SCAN_ROWS) -> ChangeSample | None:
    """Up to ``limit`` rows the import would add and ``limit`` it would update; None if the file cannot be read."""
    spec = KINDS.get(job.kind)
    winners: dict[tuple, tuple[int, dict]] = {}
    read = 0
    exhausted = True
    try:
        with open_stored_table(job) as table:
            columns = map_columns(table.headers, spec, job.mapping or None)
            reading, rows = read_numbers_as(
                table.rows,
                columns,
                chosen=job.options.get("number_format") or AUTO,
                content_read=table.content_read,
            )
            parse = row_parser(columns, width=len(table.headers), number_format=reading.number_format)
            for row_number, cells in rows:
                if read >= scan:
                    exhausted = False
                    break
                read += 1
                values, problems = parse(cells)
                if problems or values is None:
                    continue
                record = dict(zip(spec.column_names, values, strict=True))
                key = tuple(record[name] for name in spec.key)
                winners.pop(key, None)  # the last row of a key wins, and takes its place in file order
                winners[key] = (row_number, record)
    except (ImportRejected, OSError, ValueError):
        return None
    compared = [name for name in spec.values if name in columns.present]
    headers = columns.headers
    stored = {
        key: dict(zip(spec.values, values, strict=True)) for key, values in live_rows(kind=spec, keys=winners).items()
    }
    inserts: list[SampleRow] = []
    updates: list[SampleRow] = []
    for key, (row_number, record) in sorted(winners.items(), key=lambda entry: entry[1][0]):
        label = " / ".join(key)
        current = stored.get(key)
        if current is None:
            if len(inserts) < limit:
                cells = [(headers[name], shown(record[name])) for name in spec.column_names if name in headers]
                inserts.append(SampleRow(row_number, label, values=cells))
            continue
        changes = [
            Change(headers[name], shown(current[name]), shown(record[name]))
            for name in compared
            if current[name] != record[name]
        ]
        if changes and len(updates) < limit:
            updates.append(SampleRow(row_number, label, changes=changes))
        if len(inserts) >= limit and len(updates) >= limit:
            break
    return ChangeSample(inserts=inserts, updates=updates, rows_read=read, whole_file=exhausted)
