"""The legacy importer: the old app's LOCK TABLE strategy, behind the engine's strategy interface.

Why it is kept: the migration guide rolls the new importer out gradually
(``USE_NEW_IMPORT_SYSTEM``), must be able to roll back by flag, and compares
both systems on one file (``compare_importers``). So this is the old
algorithm, faithfully, flaws included:

* one transaction that first takes ``LOCK TABLE item_master, color_master,
  size_master, item_variant`` in the default ACCESS EXCLUSIVE mode: until it
  commits nobody can even read a master (the admin, the API, reports wait);
* row by row: SELECT the live row by its key, then INSERT or UPDATE it;
* all-or-nothing: the first bad row (invalid, or refused by the database)
  rolls everything back; that row's error is recorded and the job fails;
* PostgreSQL only (SQLite has no LOCK TABLE): elsewhere the job fails with a
  message saying so.

It reads and validates with the new engine's readers, column mapping and row
rules, so both systems see a file identically and any difference between
them is the write strategy. It issues no upsert SQL (``ON CONFLICT`` belongs
to ``upsert.py`` alone). It is a :class:`~imports.engine.strategies.Strategy`,
so a run climbs the engine's ladder (end states, stop checks, progress) and is
recorded like any other job (``system = legacy``); a dry run rolls its one
transaction back. Which tables and columns a row writes come from
``catalog.kinds``, as for the upsert.

Unlike the engine, a running legacy job cannot commit progress (its only
transaction is the import), so its heartbeat is the one written before the
lock; it enforces ``IMPORT_TIMEOUT_SECONDS`` itself (the lock wait included),
and the health check allows a running job that long (+ 60 s) without one.
"""

from __future__ import annotations

import logging
import time
from collections import Counter

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from catalog.kinds import KINDS, Kind, Master
from imports.engine import record
from imports.engine.columns import map_columns
from imports.engine.errors import CannotRunHere, ImportRejected, RowsRefused
from imports.engine.numbers import AUTO
from imports.engine.readers import open_stored_table
from imports.engine.rows import read_numbers_as, row_parser
from imports.engine.staging import Batch
from imports.engine.strategies import Strategy
from imports.engine.upsert import WriteCounts
from imports.models import ImportJob, ImportRowError, ImportStage, ImportSystem

logger = logging.getLogger(__name__)

#: Timeout, cancel and progress are checked every this many rows.
CHECK_EVERY_ROWS = 500
INSERTED, UPDATED, UNCHANGED = "inserted", "updated", "unchanged"
NOT_POSTGRESQL = (
    "The legacy importer (LOCK TABLE) runs on PostgreSQL only; this database is {vendor}. "
    "Nothing was imported: use the new importer (--system upsert, or USE_NEW_IMPORT_SYSTEM=true)."
)
ALL_OR_NOTHING = "the legacy importer is all-or-nothing, so nothing was imported"


def lock_statement() -> str:
    """The old app's statement: no mode, so ACCESS EXCLUSIVE, on every master, in the order imports write them.

    ``LOCK TABLE item_master, color_master, size_master, item_variant``
    """
    return f"LOCK TABLE {', '.join(master.table for master in KINDS.masters())}"


class LegacyRun(Strategy):
    """The old algorithm, faithfully (see the module docstring)."""

    system = ImportSystem.LEGACY

    def __init__(self, job: ImportJob, on_progress=None):
        super().__init__(job, on_progress)
        self.counts: Counter[str] = Counter()
        self.rows_done = 0

    def kept(self) -> str:
        return ALL_OR_NOTHING

    def write(self) -> None:
        if connection.vendor != "postgresql":
            logger.warning("Import %s: legacy importer refused on %s", self.job.import_id, connection.vendor)
            raise CannotRunHere(NOT_POSTGRESQL.format(vendor=connection.vendor))
        record.note_total(self.job, self._count())
        self.report(ImportStage.WRITING)
        self._import()

    def progress_figures(self) -> dict:
        """Progress before the lock and at the end only.

        The old importer showed none, and a report inside its transaction could
        write the job's heartbeat there, holding the job's own row locked (a
        cancel request would wait) until the import commits.
        """
        return {"rows_done": self.rows_done, **{name: self.counts[name] for name in (INSERTED, UPDATED, UNCHANGED)}}

    # --- read and map (before any lock) -------------------------------------

    def _count(self) -> int:
        """Check the header and count the rows, so a bad file is refused before the lock."""
        job = self.job
        with open_stored_table(job) as table:
            columns = map_columns(table.headers, self.kind, job.mapping or None)
            record.note_reading(job, table=table, columns=columns)
            total = 0
            for _ in table.rows:
                total += 1
                self.count_row(total)
        if total == 0:
            raise ImportRejected(f"{job.file_name} has a header but no data rows.")
        return total

    # --- the old algorithm ----------------------------------------------------

    def _import(self) -> None:
        job = self.job
        with open_stored_table(job) as table:
            columns = map_columns(table.headers, self.kind, job.mapping or None)
            reading, rows = read_numbers_as(
                table.rows,
                columns,
                chosen=job.options.get("number_format") or AUTO,
                content_read=table.content_read,
            )
            parse = row_parser(columns, width=len(table.headers), number_format=reading.number_format)
            headers = table.headers
            last_row = 0
            with transaction.atomic(), connection.cursor() as cursor:
                # The lock waits for running transactions, at most until the import's time is up.
                wait = max(1, int(self.timeout - (time.monotonic() - self.started)))
                cursor.execute(f"SET LOCAL lock_timeout = '{wait}s'")
                cursor.execute(lock_statement())
                writer = RowWriter(cursor, kind=self.kind, present=columns.present, now=timezone.now())
                for row_number, cells in rows:
                    values, problems = parse(cells)
                    if problems or values is None:
                        raise self._refused(row_number, [p._asdict() for p in problems], _raw(headers, cells))
                    try:
                        self.counts[writer.write(values)] += 1
                    except DatabaseError as exc:
                        # Leaving the block with this error rolls the whole transaction back.
                        message = str(exc).strip().splitlines()[0]
                        problem = {"column": "", "value": "", "reason": f"the database refused the row: {message}"}
                        raise self._refused(row_number, [problem], _raw(headers, cells)) from exc
                    last_row = row_number
                    self.rows_done += 1
                    if self.rows_done % CHECK_EVERY_ROWS == 0:
                        self.check_stop()
                batch = Batch(first_row=1, last_row=last_row, to_write=self.rows_done, superseded=0, invalid=0)
                counts = WriteCounts(
                    inserted=self.counts[INSERTED], updated=self.counts[UPDATED], unchanged=self.counts[UNCHANGED]
                )
                if job.dry_run:
                    transaction.set_rollback(True)
                else:
                    # The figures commit with the rows they describe.
                    record.batch_committed(job, batch, counts, [])
        if job.dry_run:
            with transaction.atomic():
                record.batch_committed(job, batch, counts, [])

    def _refused(self, row_number: int, problems: list[dict], raw: dict[str, str]) -> RowsRefused:
        error: ImportRowError = record.row_error(self.job, row_number, problems, raw)
        return RowsRefused(f"Row {row_number}: {error.reason}; {ALL_OR_NOTHING}.", errors=[error])


class RowWriter:
    """One row at a time: SELECT the live row by key, then INSERT or UPDATE it.

    A column the file lacks is never updated; a new row gets the same value
    the new engine gives it (the kind's *absent* value: ``''`` for text, NULL
    for price and stock).
    """

    def __init__(self, cursor, *, kind: Kind, present: frozenset[str], now):
        self.cursor = cursor
        self.kind = kind
        self.present = present
        self.now = now

    def write(self, values: tuple) -> str:
        """Write one valid row (its parents first); return what happened to the kind's own row."""
        row = dict(zip(self.kind.column_names, values, strict=True))
        key: dict[str, object] = {}
        for name in self.kind.key:
            parent = next((p for p in self.kind.parents if p.column == name), None)
            if parent is None:
                key[self.kind.column(name).db_column] = row[name]
            else:
                key[parent.fk_column], _ = self.save(parent.master, {parent.master.name_column: row[name]}, row)
        return self.save(self.kind.master, key, row)[1]

    def values_of(self, master: Master, row: dict) -> dict:
        """The values of ``master`` the file carries, by database column."""
        return {
            column.db_column: row[column.name]
            for column in self.kind.columns
            if column.master is master and column.db_column in master.values and column.name in self.present
        }

    def absent(self, master: Master) -> dict:
        """What a new row of ``master`` gets for the columns the file lacks (the kind's absent values)."""
        return master.values

    def save(self, master: Master, key: dict, row: dict) -> tuple[int, str]:
        """SELECT the live row with this key; INSERT it, UPDATE it, or leave it as it is."""
        cursor = self.cursor
        values = self.values_of(master, row)
        columns = list(values)
        where = " AND ".join(f"{column} = %s" for column in key)
        selected = ", ".join([master.pk, *columns])
        cursor.execute(
            f"SELECT {selected} FROM {master.table} WHERE {where} AND deleted_at IS NULL", list(key.values())
        )
        found = cursor.fetchone()
        if found is None:
            new = {**self.absent(master), **key, **values, "created_at": self.now, "updated_at": self.now}
            marks = ", ".join(["%s"] * len(new))
            cursor.execute(
                f"INSERT INTO {master.table} ({', '.join(new)}) VALUES ({marks}) RETURNING {master.pk}",
                list(new.values()),
            )
            return cursor.fetchone()[0], INSERTED
        if list(found[1:]) == list(values.values()):
            return found[0], UNCHANGED
        assignments = ", ".join(f"{column} = %s" for column in columns)
        cursor.execute(
            f"UPDATE {master.table} SET {assignments}, updated_at = %s WHERE {master.pk} = %s",
            [*values.values(), self.now, found[0]],
        )
        return found[0], UPDATED


def _raw(headers: list[str], cells: list) -> dict[str, str]:
    """The row as read, header -> cell, for the failed-rows export (as the engine keeps it)."""
    return {header: "" if cell is None else str(cell) for header, cell in zip(headers, cells, strict=False)}
