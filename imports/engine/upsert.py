"""The only code that writes the catalog masters in bulk.

Django 5.2's ``bulk_create(update_conflicts=True)`` emits ``ON CONFLICT
(cols)`` without the index predicate, and PostgreSQL will not match that to a
*partial* unique index. This module closes the gap once: every write is

    INSERT INTO <master> (...) SELECT ... FROM <staged rows>
    WHERE NOT EXISTS (<an identical live row>)
    ORDER BY <key>
    ON CONFLICT (<key>) WHERE deleted_at IS NULL
    DO UPDATE SET ... WHERE (<stored>) IS DISTINCT FROM (<new>)

* ``ON CONFLICT ... WHERE deleted_at IS NULL`` resolves against the live-row
  partial unique index, so a soft-deleted twin is never revived;
* rows identical to the stored live row are filtered out before the INSERT,
  so no UPDATE (no dead tuple, no row lock, no WAL) reaches them; the
  ``IS DISTINCT FROM`` guard repeats the check for rows a concurrent import
  changed in between;
* keys are sorted in every statement, and tables are always written in the
  order items, colors, sizes, variants, so concurrent imports take row locks
  in one global order and cannot deadlock on each other;
* only ROW EXCLUSIVE locks are taken on the masters (never ``LOCK TABLE``).

SQLite (the embedded default) runs the same statements; only how inserted
and updated rows are told apart differs (``xmax = 0`` on PostgreSQL).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import connection

from imports.engine.staging import WRITE, Staging


@dataclass(frozen=True)
class Master:
    """A master table as the upsert sees it."""

    table: str
    pk: str
    key: tuple[str, ...]
    #: Updatable columns -> the SQL value stored when the file lacks that column.
    values: dict[str, str]


ITEMS = Master("item_master", "item_id", ("name",), {"description": "''"})
COLORS = Master("color_master", "color_id", ("color_name",), {})
SIZES = Master("size_master", "size_id", ("size_name",), {})
VARIANTS = Master(
    "item_variant",
    "variant_id",
    ("item_id", "color_id", "size_id"),
    {"sku": "''", "price": "NULL", "stock": "NULL"},
)


@dataclass
class WriteCounts:
    """What happened to the winning rows of one range."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    #: Row numbers that could not be written because a master row they name
    #: was deleted by someone else while this batch ran.
    orphaned: list[int] = field(default_factory=list)
    #: Staged rows (``(row_number, *values)``) the database refused, with its message.
    refused: dict[tuple, str] = field(default_factory=dict)

    def __add__(self, other: WriteCounts) -> WriteCounts:
        return WriteCounts(
            self.inserted + other.inserted,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
            self.orphaned + other.orphaned,
            {**self.refused, **other.refused},
        )


def write_range(
    *, staging: Staging, first_row: int, last_row: int, expected: int, present: frozenset[str], now
) -> WriteCounts:
    """Upsert the ``expected`` winning staged rows numbered ``first_row..last_row``."""
    params = {"first": first_row, "last": last_row, "now": connection.ops.adapt_datetimefield_value(now)}
    in_range = f"st.row_number BETWEEN %(first)s AND %(last)s AND st.state = {WRITE}"
    table = staging.table
    kind = staging.kind.name
    if kind == "items":
        values = _present(ITEMS, present)
        source = f"SELECT st.name AS name{_cols(values, 'st')} FROM {table} st WHERE {in_range}"
        return _merge(ITEMS, source, values, params, count=True)
    if kind in ("colors", "sizes"):
        master = COLORS if kind == "colors" else SIZES
        name = master.key[0]
        source = f"SELECT st.{name} AS {name} FROM {table} st WHERE {in_range}"
        return _merge(master, source, (), params, count=True)

    # Variants: first the items, colors and sizes they name, then the variants.
    if "description" in present:
        item_source = (
            f"SELECT DISTINCT st.item_name AS name, latest.description AS description "
            f"FROM {table} st JOIN {staging.items_table} latest ON latest.name = st.item_name WHERE {in_range}"
        )
        _merge(ITEMS, item_source, ("description",), params, count=False)
    else:
        _merge(ITEMS, f"SELECT DISTINCT st.item_name AS name FROM {table} st WHERE {in_range}", (), params)
    for master, column in ((COLORS, "color_name"), (SIZES, "size_name")):
        source = f"SELECT DISTINCT st.{column} AS {column} FROM {table} st WHERE {in_range}"
        _merge(master, source, (), params)
    values = _present(VARIANTS, present)
    source = (
        f"SELECT i.item_id AS item_id, c.color_id AS color_id, z.size_id AS size_id{_cols(values, 'st')} "
        f"FROM {table} st "
        f"JOIN item_master i ON i.name = st.item_name AND i.deleted_at IS NULL "
        f"JOIN color_master c ON c.color_name = st.color_name AND c.deleted_at IS NULL "
        f"JOIN size_master z ON z.size_name = st.size_name AND z.deleted_at IS NULL "
        f"WHERE {in_range}"
    )
    counts = _merge(VARIANTS, source, values, params, count=True)
    if counts.inserted + counts.updated + counts.unchanged < expected:
        counts.orphaned = _orphaned_variant_rows(table, in_range, params)
    return counts


def _present(master: Master, present: frozenset[str]) -> tuple[str, ...]:
    return tuple(column for column in master.values if column in present)


def _cols(columns: tuple[str, ...], alias: str) -> str:
    return "".join(f", {alias}.{column} AS {column}" for column in columns)


def _same(columns: tuple[str, ...], stored: str, new: str) -> str:
    return "".join(f" AND {stored}.{c} IS NOT DISTINCT FROM {new}.{c}" for c in columns)


def _distinct(columns: tuple[str, ...], stored: str, new: str) -> str:
    if connection.vendor == "postgresql":
        left = ", ".join(f"{stored}.{c}" for c in columns)
        right = ", ".join(f"{new}.{c}" for c in columns)
        return f"({left}) IS DISTINCT FROM ({right})"
    return " OR ".join(f"{stored}.{c} IS DISTINCT FROM {new}.{c}" for c in columns)


def _merge(master: Master, source: str, values: tuple[str, ...], params: dict, *, count: bool = False) -> WriteCounts:
    key_match = " AND ".join(f"t.{k} = src.{k}" for k in master.key)
    same = _same(values, "t", "src")
    classified = None
    with connection.cursor() as cursor:
        if count:
            cursor.execute(
                f"SELECT COUNT(*), COUNT(t.{master.pk}), "
                f"COALESCE(SUM(CASE WHEN t.{master.pk} IS NOT NULL{same} THEN 1 ELSE 0 END), 0) "
                f"FROM ({source}) src LEFT JOIN {master.table} t ON {key_match} AND t.deleted_at IS NULL",
                params,
            )
            classified = cursor.fetchone()
        cursor.execute(_upsert_sql(master, source, values), params)
        returned = cursor.fetchall()
    if classified is None:
        return WriteCounts()
    rows, existing, unchanged = classified
    if connection.vendor == "postgresql":
        inserted = sum(1 for (was_insert,) in returned if was_insert)
        updated = len(returned) - inserted
        return WriteCounts(inserted=inserted, updated=updated, unchanged=rows - inserted - updated)
    # SQLite lets one writer in at a time, so the classification is exact.
    return WriteCounts(inserted=rows - existing, updated=existing - unchanged, unchanged=unchanged)


def _upsert_sql(master: Master, source: str, values: tuple[str, ...]) -> str:
    key = ", ".join(master.key)
    defaults = [column for column in master.values if column not in values]
    columns = [*master.key, *values, *defaults, "created_at", "updated_at"]
    selected = [
        *(f"src.{c}" for c in (*master.key, *values)),
        *(master.values[c] for c in defaults),
        "%(now)s",
        "%(now)s",
    ]
    key_match = " AND ".join(f"t.{k} = src.{k}" for k in master.key)
    if values:
        assignments = ", ".join(f"{c} = EXCLUDED.{c}" for c in values)
        on_conflict = (
            f"DO UPDATE SET {assignments}, updated_at = EXCLUDED.updated_at "
            f"WHERE {_distinct(values, master.table, 'EXCLUDED')}"
        )
    else:
        on_conflict = "DO NOTHING"
    returning = "(xmax = 0)" if connection.vendor == "postgresql" else "1"
    return (
        f"INSERT INTO {master.table} ({', '.join(columns)}) "
        f"SELECT {', '.join(selected)} FROM ({source}) src "
        f"WHERE NOT EXISTS (SELECT 1 FROM {master.table} t "
        f"WHERE {key_match} AND t.deleted_at IS NULL{_same(values, 't', 'src')}) "
        f"ORDER BY {', '.join(f'src.{k}' for k in master.key)} "
        f"ON CONFLICT ({key}) WHERE deleted_at IS NULL {on_conflict} "
        f"RETURNING {returning}"
    )


def _orphaned_variant_rows(table: str, in_range: str, params: dict) -> list[int]:
    """Winning rows whose item, color or size has no live row (deleted mid-batch)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT st.row_number FROM {table} st WHERE {in_range} AND NOT ("
            f" EXISTS (SELECT 1 FROM item_master i WHERE i.name = st.item_name AND i.deleted_at IS NULL)"
            f" AND EXISTS (SELECT 1 FROM color_master c WHERE c.color_name = st.color_name AND c.deleted_at IS NULL)"
            f" AND EXISTS (SELECT 1 FROM size_master z WHERE z.size_name = st.size_name AND z.deleted_at IS NULL))"
            f" ORDER BY st.row_number",
            params,
        )
        return [row_number for (row_number,) in cursor.fetchall()]
