"""The only code that writes the catalog masters in bulk.

Django 5.2's ``bulk_create(update_conflicts=True)`` emits ``ON CONFLICT
(cols)`` without the index predicate, and PostgreSQL will not match that to a
*partial* unique index. This module closes the gap once: every write is

    INSERT INTO <master> (...) SELECT ... FROM <staged rows> src
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

SQLite (the embedded default) runs the same statements. Only the counting
differs: PostgreSQL reports inserted vs updated rows from the statement itself
(``xmax = 0`` marks a fresh insert), SQLite from a classification query just
before it, exact there because SQLite admits one writer at a time. The same
classification, run alone, is the dry run: exact would-be figures, no write.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import connection

from imports.engine.staging import MASTER_COLUMNS, WRITE, Staging


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
MASTERS = {"items": ITEMS, "colors": COLORS, "sizes": SIZES}


@dataclass
class WriteCounts:
    """What happened (or, in a dry run, would happen) to the winning rows of a range."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    #: Row numbers whose item, color or size could not be found live
    #: (deleted by someone else twice over while the batch ran).
    orphaned: list[int] = field(default_factory=list)
    #: Staged rows (``(row_number, *values)``) the database refused, with its message.
    refused: dict[tuple, str] = field(default_factory=dict)

    @property
    def written(self) -> int:
        return self.inserted + self.updated + self.unchanged

    def __add__(self, other: WriteCounts) -> WriteCounts:
        return WriteCounts(
            self.inserted + other.inserted,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
            self.orphaned + other.orphaned,
            {**self.refused, **other.refused},
        )


@dataclass(frozen=True)
class _Range:
    staging: Staging
    first_row: int
    last_row: int
    present: frozenset[str]

    @property
    def condition(self) -> str:
        return f"st.row_number BETWEEN %(first)s AND %(last)s AND st.state = {WRITE}"

    def params(self, now=None) -> dict:
        params = {"first": self.first_row, "last": self.last_row}
        if now is not None:
            params["now"] = connection.ops.adapt_datetimefield_value(now)
        return params


def write_range(
    *,
    staging: Staging,
    first_row: int,
    last_row: int,
    expected: int,
    present: frozenset[str],
    now,
    first_seen: dict[str, int] | None = None,
) -> WriteCounts:
    """Upsert the ``expected`` winning staged rows numbered ``first_row..last_row``.

    For a variants file, ``first_seen`` (from the batch) says how many items,
    colors and sizes are first needed in this range: only those are written.
    Without it (a range split off to isolate a bad row) every master the range
    names is ensured.
    """
    span = _Range(staging, first_row, last_row, present)
    params = span.params(now)
    kind = staging.kind.name
    if kind != "variants":
        master = ITEMS if kind == "items" else MASTERS[kind]
        values = _present(master, present)
        return _merge(master, _own_rows_source(span, master, values), values, params, count=True)

    _ensure_masters(span, params, first_seen)
    values = _present(VARIANTS, present)
    counts = _merge(VARIANTS, _variants_source(span, values), values, params, count=True)
    if counts.written < expected:
        # A master first needed earlier was deleted by someone else meanwhile:
        # create it again (a new live row beside the deleted one) and retry those rows.
        orphans = _orphaned_rows(span)
        _ensure_masters(span, params, None)
        retry = _merge(VARIANTS, _variants_source(span, values, only=orphans), values, params, count=True)
        counts = counts + retry
        counts.orphaned = _orphaned_rows(span) if retry.written < len(orphans) else []
    return counts


def classify_range(*, staging: Staging, first_row: int, last_row: int, present: frozenset[str]) -> WriteCounts:
    """The dry run: what ``write_range`` would do to a range, reading only."""
    span = _Range(staging, first_row, last_row, present)
    kind = staging.kind.name
    if kind == "variants":
        values = _present(VARIANTS, present)
        source = _variants_source(span, values, join="LEFT JOIN")
        master = VARIANTS
    else:
        master = ITEMS if kind == "items" else MASTERS[kind]
        values = _present(master, present)
        source = _own_rows_source(span, master, values)
    with connection.cursor() as cursor:
        cursor.execute(_classify_sql(master, source, values), span.params())
        rows, existing, unchanged = cursor.fetchone()
    return WriteCounts(inserted=rows - existing, updated=existing - unchanged, unchanged=unchanged)


# --- sources: the rows to write, as SELECTs over the staging tables -------------


def _present(master: Master, present: frozenset[str]) -> tuple[str, ...]:
    return tuple(column for column in master.values if column in present)


def _own_rows_source(span: _Range, master: Master, values: tuple[str, ...]) -> str:
    """Items, colors or sizes files: the staged rows are the master rows."""
    key = master.key[0]
    columns = "".join(f", st.{c} AS {c}" for c in values)
    return f"SELECT st.{key} AS {key}{columns} FROM {span.staging.table} st WHERE {span.condition}"


def _variants_source(span: _Range, values: tuple[str, ...], *, join: str = "JOIN", only: list[int] = ()) -> str:
    columns = "".join(f", st.{c} AS {c}" for c in values)
    rows = f" AND st.row_number IN ({', '.join(str(int(n)) for n in only)})" if only else ""
    return (
        f"SELECT i.item_id AS item_id, c.color_id AS color_id, z.size_id AS size_id{columns} "
        f"FROM {span.staging.table} st "
        f"{join} item_master i ON i.name = st.item_name AND i.deleted_at IS NULL "
        f"{join} color_master c ON c.color_name = st.color_name AND c.deleted_at IS NULL "
        f"{join} size_master z ON z.size_name = st.size_name AND z.deleted_at IS NULL "
        f"WHERE {span.condition}{rows}"
    )


def _ensure_masters(span: _Range, params: dict, first_seen: dict[str, int] | None) -> None:
    """Write the items, colors and sizes a range of a variants file needs."""
    for name, master in MASTERS.items():
        if first_seen is not None and not first_seen.get(name):
            continue
        listed = span.staging.first_seen_table(name)
        values = ("description",) if name == "items" and "description" in span.present else ()
        key = master.key[0]
        columns = "".join(f", m.{c} AS {c}" for c in values)
        if first_seen is not None:
            where = "m.first_row BETWEEN %(first)s AND %(last)s"
        else:
            column = MASTER_COLUMNS[name]
            where = f"m.{key} IN (SELECT st.{column} FROM {span.staging.table} st WHERE {span.condition})"
        source = f"SELECT m.{key} AS {key}{columns} FROM {listed} m WHERE {where}"
        _merge(master, source, values, params, count=False)


# --- the statements ------------------------------------------------------------


def _merge(master: Master, source: str, values: tuple[str, ...], params: dict, *, count: bool) -> WriteCounts:
    with connection.cursor() as cursor:
        if not count:
            cursor.execute(_upsert_sql(master, f"({source}) src", values), params)
            return WriteCounts()
        if connection.vendor == "postgresql":
            # One statement: the source is materialised once, counted and written.
            cursor.execute(
                f"WITH src AS MATERIALIZED ({source}), "
                f"written AS ({_upsert_sql(master, 'src', values)} RETURNING (xmax = 0) AS inserted) "
                f"SELECT (SELECT COUNT(*) FROM src), COUNT(*) FILTER (WHERE inserted), "
                f"COUNT(*) FILTER (WHERE NOT inserted) FROM written",
                params,
            )
            rows, inserted, updated = cursor.fetchone()
            return WriteCounts(inserted=inserted, updated=updated, unchanged=rows - inserted - updated)
        cursor.execute(_classify_sql(master, source, values), params)
        rows, existing, unchanged = cursor.fetchone()
        cursor.execute(_upsert_sql(master, f"({source}) src", values), params)
    return WriteCounts(inserted=rows - existing, updated=existing - unchanged, unchanged=unchanged)


def _key_match(master: Master) -> str:
    return " AND ".join(f"t.{k} = src.{k}" for k in master.key)


def _same(columns: tuple[str, ...]) -> str:
    return "".join(f" AND t.{c} IS NOT DISTINCT FROM src.{c}" for c in columns)


def _distinct(columns: tuple[str, ...], stored: str) -> str:
    if connection.vendor == "postgresql":
        left = ", ".join(f"{stored}.{c}" for c in columns)
        right = ", ".join(f"EXCLUDED.{c}" for c in columns)
        return f"({left}) IS DISTINCT FROM ({right})"
    return " OR ".join(f"{stored}.{c} IS DISTINCT FROM EXCLUDED.{c}" for c in columns)


def _classify_sql(master: Master, source: str, values: tuple[str, ...]) -> str:
    """Rows of the source, how many have a live row, how many of those are identical."""
    return (
        f"SELECT COUNT(*), COUNT(t.{master.pk}), "
        f"COALESCE(SUM(CASE WHEN t.{master.pk} IS NOT NULL{_same(values)} THEN 1 ELSE 0 END), 0) "
        f"FROM ({source}) src LEFT JOIN {master.table} t ON {_key_match(master)} AND t.deleted_at IS NULL"
    )


def _upsert_sql(master: Master, source: str, values: tuple[str, ...]) -> str:
    """``source`` is a FROM item that yields the rows as ``src``."""
    defaults = [column for column in master.values if column not in values]
    columns = [*master.key, *values, *defaults, "created_at", "updated_at"]
    selected = [
        *(f"src.{c}" for c in (*master.key, *values)),
        *(master.values[c] for c in defaults),
        "%(now)s",
        "%(now)s",
    ]
    if values:
        assignments = ", ".join(f"{c} = EXCLUDED.{c}" for c in values)
        on_conflict = (
            f"DO UPDATE SET {assignments}, updated_at = EXCLUDED.updated_at WHERE {_distinct(values, master.table)}"
        )
    else:
        on_conflict = "DO NOTHING"
    return (
        f"INSERT INTO {master.table} ({', '.join(columns)}) "
        f"SELECT {', '.join(selected)} FROM {source} "
        f"WHERE NOT EXISTS (SELECT 1 FROM {master.table} t "
        f"WHERE {_key_match(master)} AND t.deleted_at IS NULL{_same(values)}) "
        f"ORDER BY {', '.join(f'src.{k}' for k in master.key)} "
        f"ON CONFLICT ({', '.join(master.key)}) WHERE deleted_at IS NULL {on_conflict}"
    )


def _orphaned_rows(span: _Range) -> list[int]:
    """Winning rows of a variants range whose item, color or size has no live row."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT st.row_number FROM {span.staging.table} st WHERE {span.condition} AND NOT ("
            " EXISTS (SELECT 1 FROM item_master i WHERE i.name = st.item_name AND i.deleted_at IS NULL)"
            " AND EXISTS (SELECT 1 FROM color_master c WHERE c.color_name = st.color_name AND c.deleted_at IS NULL)"
            " AND EXISTS (SELECT 1 FROM size_master z WHERE z.size_name = st.size_name AND z.deleted_at IS NULL)"
            ") ORDER BY st.row_number",
            span.params(),
        )
        return [row_number for (row_number,) in cursor.fetchall()]
