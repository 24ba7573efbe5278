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
* keys are sorted in every statement, and tables are always written in one
  order (a kind's parents in ``catalog.kinds`` order, items, colors, sizes,
  then its own master, variants), so concurrent imports take row locks in
  one global order and cannot deadlock on each other;
* only ROW EXCLUSIVE locks are taken on the masters (never ``LOCK TABLE``).

SQLite (the embedded default) runs the same statements. Only the counting
differs: PostgreSQL reports inserted vs updated rows from the statement itself
(``xmax = 0`` marks a fresh insert), SQLite from a classification query just
before it, exact there because SQLite admits one writer at a time. The same
classification, run alone, is the dry run: exact would-be figures, no write.

Which table, key and columns a kind writes, and what a new row gets for a
column the file lacks, all come from ``catalog.kinds``.

**The journal** (``journal_of``, every real import): each statement also
records, in ``import_journal`` and in the same transaction, the ids of the
rows it inserted and, for each row it updated, the columns that changed with
their values before (``imports.engine.undo`` replays it backwards). On
PostgreSQL that is part of the same statement: ``RETURNING`` gives the ids
inserted, and the statement's snapshot still sees the values the updated rows
had before. (A row a concurrent transaction changes in between is journaled
with the value this statement saw; an undo never overwrites it blindly, as it
checks ``updated_at`` first.) On SQLite the live rows are read before and
after the write and compared.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection, models

from catalog.kinds import Column, Kind, Master
from imports.engine.staging import WRITE, Staging
from imports.models import ImportJournal


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
    #: Rows inserted into each master table (the kind's own and its parents'), for the
    #: planner statistics (``imports.engine.planner``); PostgreSQL only, where it is free.
    grown: dict[str, int] = field(default_factory=dict)

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
            {table: self.grown.get(table, 0) + other.grown.get(table, 0) for table in {*self.grown, *other.grown}},
        )


@dataclass(frozen=True)
class _Range:
    staging: Staging
    first_row: int
    last_row: int
    present: frozenset[str]

    @property
    def kind(self) -> Kind:
        return self.staging.kind

    @property
    def condition(self) -> str:
        return f"st.row_number BETWEEN %(first)s AND %(last)s AND st.state = {WRITE}"

    def params(self, now=None) -> dict[str, Any]:
        params: dict[str, Any] = {"first": self.first_row, "last": self.last_row}
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
    journal_of: int | None = None,
) -> WriteCounts:
    """Upsert the ``expected`` winning staged rows numbered ``first_row..last_row``.

    For a kind with parents, ``first_seen`` (from the batch) says how many
    items, colors and sizes are first needed in this range: only those are
    written. Without it (a range split off to isolate a bad row) every
    parent the range names is ensured. ``journal_of``: the import whose
    journal records what each statement changed (see the module docstring).
    """
    span = _Range(staging, first_row, last_row, present)
    params = {**span.params(now), "journal_of": journal_of, "written_at": now}
    kind = span.kind
    values = _present(kind.master, kind, present)
    if not kind.parents:
        return _grown(_merge(kind.master, _rows_source(span, values), values, params, count=True), kind.master)

    parents = _ensure_parents(span, params, first_seen)
    counts = _grown(_merge(kind.master, _rows_source(span, values), values, params, count=True), kind.master)
    if counts.written < expected:
        # A parent first needed earlier was deleted by someone else meanwhile:
        # create it again (a new live row beside the deleted one) and retry those rows.
        orphans = _orphaned_rows(span)
        parents = parents + _ensure_parents(span, params, None)
        retry = _merge(kind.master, _rows_source(span, values, only=orphans), values, params, count=True)
        if not orphans:
            # The missing parents were live again by the time they were looked for (another
            # transaction committed them): the whole range was retried, and the rows written
            # above are in it again, as unchanged. Count them once.
            retry.unchanged -= counts.written
        counts = counts + _grown(retry, kind.master)
        counts.orphaned = _orphaned_rows(span) if counts.written < expected else []
    return counts + parents


def _grown(counts: WriteCounts, master: Master) -> WriteCounts:
    """``counts`` with its inserted rows also told as the growth of ``master``'s table."""
    counts.grown = {master.table: counts.inserted}
    return counts


def classify_range(*, staging: Staging, first_row: int, last_row: int, present: frozenset[str]) -> WriteCounts:
    """The dry run: what ``write_range`` would do to a range, reading only."""
    span = _Range(staging, first_row, last_row, present)
    master = span.kind.master
    values = _present(master, span.kind, present)
    source = _rows_source(span, values, join="LEFT JOIN")
    with connection.cursor() as cursor:
        cursor.execute(_classify_sql(master, source, values), span.params())
        rows, existing, unchanged = cursor.fetchone()
    return WriteCounts(inserted=rows - existing, updated=existing - unchanged, unchanged=unchanged)


# --- sources: the rows to write, as SELECTs over the staging tables -------------


def _present(master: Master, kind: Kind, present: frozenset[str]) -> tuple[Column, ...]:
    """The value columns of ``master`` that the file carries (a kind's own, or a parent's)."""
    return tuple(
        column
        for column in kind.columns
        if column.master is master and column.db_column in master.values and column.name in present
    )


def _rows_source(span: _Range, values: tuple[Column, ...], *, join: str = "JOIN", only: Sequence[int] = ()) -> str:
    """The kind's own rows: its key (parents resolved to their live ids) and its values."""
    kind = span.kind
    selected, joins = [], []
    for name in kind.key:
        column = kind.column(name)
        parent = next((p for p in kind.parents if p.column == name), None)
        if parent is None:
            selected.append(f"st.{column.name} AS {column.db_column}")
            continue
        alias, master = f"p_{parent.relation}", parent.master
        selected.append(f"{alias}.{master.pk} AS {parent.fk_column}")
        joins.append(
            f" {join} {master.table} {alias} ON {alias}.{master.name_column} = st.{parent.column}"
            f" AND {alias}.deleted_at IS NULL"
        )
    selected += [f"st.{column.name} AS {column.db_column}" for column in values]
    rows = f" AND st.row_number IN ({', '.join(str(int(n)) for n in only)})" if only else ""
    return f"SELECT {', '.join(selected)} FROM {span.staging.table} st{''.join(joins)} WHERE {span.condition}{rows}"


def _ensure_parents(span: _Range, params: dict, first_seen: dict[str, int] | None) -> WriteCounts:
    """Write the items, colors and sizes (a kind's parents) that a range needs.

    Returns only how many rows each parent's table gained (``grown``): the
    parents' figures are not the file's rows.
    """
    grown: dict[str, int] = {}
    for parent in span.kind.parents:
        if first_seen is not None and not first_seen.get(parent.relation):
            continue
        master = parent.master
        listed = span.staging.first_seen_table(parent)
        values = _present(master, span.kind, span.present)
        key = master.name_column
        columns = "".join(f", m.{column.db_column} AS {column.db_column}" for column in values)
        if first_seen is not None:
            where = "m.first_row BETWEEN %(first)s AND %(last)s"
        else:
            where = f"m.{key} IN (SELECT st.{parent.column} FROM {span.staging.table} st WHERE {span.condition})"
        source = f"SELECT m.{key} AS {key}{columns} FROM {listed} m WHERE {where}"
        written = _merge(master, source, values, params, count=False)
        grown[master.table] = grown.get(master.table, 0) + written.inserted
    return WriteCounts(grown=grown)


# --- the statements ------------------------------------------------------------


def _merge(master: Master, source: str, values: tuple[Column, ...], params: dict, *, count: bool) -> WriteCounts:
    updatable = tuple(column.db_column for column in values)
    params = {**params, **_absent_params(master)}
    journal = params.get("journal_of") is not None
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and (count or journal):
            # One statement: the source is materialised once, counted, written and journaled.
            cursor.execute(_written_sql(master, source, updatable, journal=journal), params)
            rows, inserted, updated = cursor.fetchone()
            return WriteCounts(inserted=inserted, updated=updated, unchanged=rows - inserted - updated)
        if not count and not journal:
            cursor.execute(_upsert_sql(master, f"({source}) src", updatable), params)
            return WriteCounts()
        before = _live_rows(cursor, master, source, updatable, params) if journal else {}
        cursor.execute(_classify_sql(master, source, values), params)
        rows, existing, unchanged = cursor.fetchone()
        cursor.execute(_upsert_sql(master, f"({source}) src", updatable), params)
        if journal:
            _journal_by_comparison(cursor, master, source, updatable, params, before)
    return WriteCounts(inserted=rows - existing, updated=existing - unchanged, unchanged=unchanged)


def _written_sql(master: Master, source: str, updatable: tuple[str, ...], *, journal: bool) -> str:
    """PostgreSQL: upsert ``source``, return (rows, inserted, updated), and journal the change if asked."""
    returning = f"{master.pk} AS pk, (xmax = 0) AS inserted"
    ctes = [
        f"src AS MATERIALIZED ({source})",
        f"written AS ({_upsert_sql(master, 'src', updatable)} RETURNING {returning})",
    ]
    if journal:
        if updatable:
            # The rows this statement updates are the live rows whose values differ from the
            # source's; read in the statement's snapshot, they still hold the values before.
            # (Not a join with ``written``: two CTEs without statistics make a nested loop.)
            # Every column's value before, less the columns that did not change (one expression:
            # a subquery per row cost a third of the statement).
            values = ", ".join(f"'{c}', t.{c}::text" for c in updatable)
            same = ", ".join(f"CASE WHEN t.{c} IS DISTINCT FROM src.{c} THEN NULL ELSE '{c}' END" for c in updatable)
            replaced = f"jsonb_build_object({values}) - array_remove(ARRAY[{same}], NULL)"
            updated = (
                f"(SELECT jsonb_agg(jsonb_build_array(t.{master.pk}, {replaced}) ORDER BY t.{master.pk})"
                f" FROM src JOIN {master.table} t ON {_key_match(master)} AND t.deleted_at IS NULL"
                f" WHERE {_differs(updatable)})"
            )
        else:
            updated = "NULL"
        ctes.append(
            f"journal AS (INSERT INTO {ImportJournal._meta.db_table}"
            f" (import_id, master, written_at, inserted, updated, deleted)"
            f" SELECT %(journal_of)s, '{master.table}', %(now)s,"
            f" COALESCE((SELECT jsonb_agg(pk ORDER BY pk) FROM written WHERE inserted), '[]'::jsonb),"
            f" COALESCE({updated}, '[]'::jsonb), '[]'::jsonb WHERE EXISTS (SELECT 1 FROM written))"
        )
    return (
        f"WITH {', '.join(ctes)} SELECT (SELECT COUNT(*) FROM src), COUNT(*) FILTER (WHERE inserted), "
        f"COUNT(*) FILTER (WHERE NOT inserted) FROM written"
    )


def _live_rows(cursor, master: Master, source: str, updatable: tuple[str, ...], params: dict) -> dict:
    """SQLite: the live rows the source names, id -> (values as text..., updated_at)."""
    columns = ", ".join([f"t.{master.pk}", *(f"t.{c}" for c in updatable), "t.updated_at"])
    cursor.execute(
        f"SELECT {columns} FROM ({source}) src JOIN {master.table} t ON {_key_match(master)} AND t.deleted_at IS NULL",
        params,
    )
    texts = [*(_text_of(master, c) for c in updatable), _as_text]
    return {row[0]: tuple(text(value) for text, value in zip(texts, row[1:], strict=True)) for row in cursor.fetchall()}


def _journal_by_comparison(cursor, master: Master, source: str, updatable: tuple[str, ...], params, before) -> None:
    """SQLite: journal what the write changed by comparing the live rows before and after it."""
    now = params["now"]
    inserted, updated = [], []
    for pk, row in sorted(_live_rows(cursor, master, source, updatable, params).items()):
        if row[-1] != _as_text(now):
            continue  # not written by this statement
        old = before.get(pk)
        if old is None:
            inserted.append(pk)
            continue
        changed = {c: was for c, was, now_is in zip(updatable, old, row, strict=False) if was != now_is}
        if changed:
            updated.append([pk, changed])
    if inserted or updated:
        ImportJournal.objects.create(
            job_id=params["journal_of"],
            master=master.table,
            written_at=params["written_at"],
            inserted=inserted,
            updated=updated,
        )


def _text_of(master: Master, column: str):
    """How the journal writes a stored value of ``column`` (SQLite returns ``10`` for a price of ``10.00``)."""
    model_field = next(f for f in master.model._meta.concrete_fields if f.column == column)
    if isinstance(model_field, models.DecimalField):
        places = Decimal(1).scaleb(-(model_field.decimal_places or 0))
        return lambda value: None if value is None else str(Decimal(str(value)).quantize(places))
    return _as_text


def _as_text(value: object) -> str | None:
    """A stored value as the journal keeps it: text (restored as the column's type), or None for NULL."""
    return None if value is None else str(value)


def _absent_params(master: Master) -> dict:
    """What a new row gets for each value column the file lacks (``''``, NULL), as parameters."""
    return {f"absent_{column}": value for column, value in master.values.items()}


def _key_match(master: Master) -> str:
    return " AND ".join(f"t.{k} = src.{k}" for k in master.key)


def _same(columns: tuple[str, ...]) -> str:
    return "".join(f" AND t.{c} IS NOT DISTINCT FROM src.{c}" for c in columns)


def _differs(columns: tuple[str, ...]) -> str:
    """A stored live row ``t`` whose values differ from the source row ``src`` (PostgreSQL)."""
    left = ", ".join(f"t.{c}" for c in columns)
    right = ", ".join(f"src.{c}" for c in columns)
    return f"({left}) IS DISTINCT FROM ({right})"


def _distinct(columns: tuple[str, ...], stored: str) -> str:
    if connection.vendor == "postgresql":
        left = ", ".join(f"{stored}.{c}" for c in columns)
        right = ", ".join(f"EXCLUDED.{c}" for c in columns)
        return f"({left}) IS DISTINCT FROM ({right})"
    return " OR ".join(f"{stored}.{c} IS DISTINCT FROM EXCLUDED.{c}" for c in columns)


def _classify_sql(master: Master, source: str, values: tuple[Column, ...]) -> str:
    """Rows of the source, how many have a live row, how many of those are identical."""
    updatable = tuple(column.db_column for column in values)
    return (
        f"SELECT COUNT(*), COUNT(t.{master.pk}), "
        f"COALESCE(SUM(CASE WHEN t.{master.pk} IS NOT NULL{_same(updatable)} THEN 1 ELSE 0 END), 0) "
        f"FROM ({source}) src LEFT JOIN {master.table} t ON {_key_match(master)} AND t.deleted_at IS NULL"
    )


def _upsert_sql(master: Master, source: str, values: tuple[str, ...]) -> str:
    """``source`` is a FROM item that yields the rows as ``src``; ``values`` the columns it updates."""
    defaults = [column for column in master.values if column not in values]
    columns = [*master.key, *values, *defaults, "created_at", "updated_at"]
    selected = [
        *(f"src.{c}" for c in (*master.key, *values)),
        *(f"%(absent_{c})s" for c in defaults),
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
    """Winning rows of a range whose item, color or size (a parent) has no live row."""
    exists = " AND ".join(
        f"EXISTS (SELECT 1 FROM {p.master.table} m WHERE m.{p.master.name_column} = st.{p.column}"
        f" AND m.deleted_at IS NULL)"
        for p in span.kind.parents
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT st.row_number FROM {span.staging.table} st WHERE {span.condition} AND NOT ({exists}) "
            "ORDER BY st.row_number",
            span.params(),
        )
        return [row_number for (row_number,) in cursor.fetchall()]
