"""A sample of what an import would change, row by row, for the admin's preview.

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
  column the file has (the engine never writes an absent column): variants
  compare sku, price and stock, items their description. A variants file
  also writes each item's description, which the figures do not count as a
  variant update, and neither does this sample.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from catalog.models import Color, Item, ItemVariant, Size
from imports.engine.columns import map_columns
from imports.engine.errors import ImportRejected
from imports.engine.kinds import get_kind
from imports.engine.readers import open_stored_table
from imports.engine.rows import row_parser
from imports.models import ImportJob
from imports.services import CHECKED_BY_DRY_RUN

#: Data rows read from the top of the file.
SCAN_ROWS = 500
#: The values of each kind's own master that make a row an update.
COMPARED = {"variants": ("sku", "price", "stock"), "items": ("description",), "colors": (), "sizes": ()}
EMPTY = "(empty)"


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


def sample_changes(*, job: ImportJob, limit: int = 5, scan: int = SCAN_ROWS) -> ChangeSample | None:
    """Up to ``limit`` rows the import would add and ``limit`` it would update; None if the file cannot be read."""
    spec = get_kind(job.kind)
    winners: dict[tuple, tuple[int, dict]] = {}
    read = 0
    exhausted = True
    try:
        with open_stored_table(job) as table:
            columns = map_columns(table.headers, spec)
            parse = row_parser(columns, width=len(table.headers))
            for row_number, cells in table.rows:
                if read >= scan:
                    exhausted = False
                    break
                read += 1
                values, problems = parse(cells)
                if problems:
                    continue
                record = dict(zip(spec.field_names, values, strict=True))
                key = tuple(record[name] for name in spec.key)
                winners.pop(key, None)  # the last row of a key wins, and takes its place in file order
                winners[key] = (row_number, record)
    except (ImportRejected, OSError, ValueError):
        return None
    compared = [name for name in COMPARED[spec.name] if name in columns.present]
    headers = columns.headers
    stored = _stored(spec.name, list(winners))
    inserts, updates = [], []
    for key, (row_number, record) in sorted(winners.items(), key=lambda entry: entry[1][0]):
        label = " / ".join(key)
        current = stored.get(key)
        if current is None:
            if len(inserts) < limit:
                values = [(headers[name], shown(record[name])) for name in spec.field_names if name in headers]
                inserts.append(SampleRow(row_number, label, values=values))
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


def _stored(kind: str, keys: list[tuple]) -> dict[tuple, dict]:
    """The live row of each key (its compared values), in a few queries whatever the number of keys."""
    if not keys:
        return {}
    if kind == "items":
        rows = Item.objects.filter(name__in=[key[0] for key in keys]).values("name", "description")
        return {(row["name"],): row for row in rows}
    if kind == "colors":
        names = Color.objects.filter(color_name__in=[key[0] for key in keys]).values_list("color_name", flat=True)
        return {(name,): {} for name in names}
    if kind == "sizes":
        names = Size.objects.filter(size_name__in=[key[0] for key in keys]).values_list("size_name", flat=True)
        return {(name,): {} for name in names}
    items = dict(Item.objects.filter(name__in={key[0] for key in keys}).values_list("pk", "name"))
    colors = dict(Color.objects.filter(color_name__in={key[1] for key in keys}).values_list("pk", "color_name"))
    sizes = dict(Size.objects.filter(size_name__in={key[2] for key in keys}).values_list("pk", "size_name"))
    if not (items and colors and sizes):
        return {}
    variants = ItemVariant.objects.filter(item_id__in=items, color_id__in=colors, size_id__in=sizes).values(
        "item_id", "color_id", "size_id", "sku", "price", "stock"
    )
    wanted = set(keys)
    found = {}
    for row in variants:
        key = (items[row["item_id"]], colors[row["color_id"]], sizes[row["size_id"]])
        if key in wanted:
            found[key] = row
    return found


def import_of_dry_run(*, dry_run_job: ImportJob) -> ImportJob | None:
    """The import started from this dry run's file (``services.import_checked_file``), if any."""
    started = ImportJob.objects.filter(dry_run=False, **{f"options__{CHECKED_BY_DRY_RUN}": dry_run_job.pk})
    return started.order_by("import_id").first()
