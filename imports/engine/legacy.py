"""The legacy importer: the old app's LOCK TABLE strategy, behind the engine's interface.

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
to ``upsert.py`` alone). Runs are recorded like any other job (``system =
legacy``) through ``record``; a dry run rolls its one transaction back.

Unlike the engine, a running legacy job cannot commit progress (its only
transaction is the import), so its heartbeat is the one written before the
lock; it enforces ``IMPORT_TIMEOUT_SECONDS`` itself (the lock wait included),
and the health check allows a running job that long (+ 60 s) without one.
"""

from __future__ import annotations

import logging
import time
from collections import Counter

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from imports.engine import record
from imports.engine.columns import map_columns
from imports.engine.errors import ImportRejected, ImportStopped
from imports.engine.kinds import KindSpec, get_kind
from imports.engine.readers import open_stored_table
from imports.engine.rows import row_parser
from imports.engine.run import ProgressCallback
from imports.engine.staging import Batch
from imports.engine.upsert import WriteCounts
from imports.models import ImportJob
from imports.progress import Progress

logger = logging.getLogger(__name__)

#: The old app's statement, verbatim: no mode, so ACCESS EXCLUSIVE.
LOCK_STATEMENT = "LOCK TABLE item_master, color_master, size_master, item_variant"
#: Timeout, cancel and progress are checked every this many rows.
CHECK_EVERY_ROWS = 500
INSERTED, UPDATED, UNCHANGED = "inserted", "updated", "unchanged"
NOT_POSTGRESQL = (
    "The legacy importer (LOCK TABLE) runs on PostgreSQL only; this database is {vendor}. "
    "Nothing was imported: use the new importer (--system upsert, or USE_NEW_IMPORT_SYSTEM=true)."
)
ALL_OR_NOTHING = "the legacy importer is all-or-nothing, so nothing was imported"


class _RowFailed(Exception):
    """The first bad row: it fails the whole legacy run."""

    def __init__(self, error):
        super().__init__(error.reason)
        self.error = error


def run_legacy_job(job: ImportJob, *, on_progress: ProgressCallback | None = None) -> ImportJob:
    """Run a claimed job with the legacy strategy to its end state and return it."""
    if connection.vendor != "postgresql":
        logger.warning("Import %s: legacy importer refused on %s", job.import_id, connection.vendor)
        return record.failed(job, NOT_POSTGRESQL.format(vendor=connection.vendor))
    return _LegacyRun(job, on_progress).execute()


class _LegacyRun:
    def __init__(self, job: ImportJob, on_progress: ProgressCallback | None):
        self.job = job
        self.kind = get_kind(job.kind)
        self.on_progress = on_progress
        self.started = time.monotonic()
        self.timeout = settings.IMPORT_TIMEOUT_SECONDS
        self.max_rows = int((job.options or {}).get("max_rows") or settings.IMPORT_MAX_ROWS)
        self.counts: Counter[str] = Counter()
        self.rows_done = 0

    def execute(self) -> ImportJob:
        job = self.job
        try:
            total = self._count()
            record.note_total(job, total)
            self._report("writing")
            self._import()
        except ImportRejected as exc:
            logger.info("Legacy import %s rejected: %s", job.import_id, exc)
            return record.failed(job, str(exc))
        except ImportStopped as exc:
            logger.info("Legacy import %s stopped: %s", job.import_id, exc.reason)
            return record.stopped(job, exc)
        except _RowFailed as exc:
            logger.info("Legacy import %s failed on row %s", job.import_id, exc.error.row_number)
            record.rows_refused(job, [exc.error])
            return record.failed(job, f"Row {exc.error.row_number}: {exc.error.reason}; {ALL_OR_NOTHING}.")
        except DatabaseError as exc:
            logger.exception("Legacy import %s failed on a database error", job.import_id)
            return record.failed(job, f"Database error; {ALL_OR_NOTHING}: {exc}")
        self._report("done")
        return record.completed(job)

    # --- read and map (before any lock) -------------------------------------

    def _count(self) -> int:
        """Check the header and count the rows, so a bad file is refused before the lock."""
        job = self.job
        with open_stored_table(job) as table:
            columns = map_columns(table.headers, self.kind)
            record.note_reading(job, table=table, columns=columns)
            total = 0
            for _ in table.rows:
                total += 1
                if total > self.max_rows:
                    raise ImportRejected(
                        f"{job.file_name} has more than {self.max_rows:,} data rows, the limit "
                        f"(IMPORT_MAX_ROWS, or --max-rows for one run). Nothing was imported; split the file."
                    )
        if total == 0:
            raise ImportRejected(f"{job.file_name} has a header but no data rows.")
        return total

    # --- the old algorithm ----------------------------------------------------

    def _import(self) -> None:
        job = self.job
        with open_stored_table(job) as table:
            columns = map_columns(table.headers, self.kind)
            parse = row_parser(columns, width=len(table.headers))
            headers = table.headers
            last_row = 0
            with transaction.atomic(), connection.cursor() as cursor:
                # The lock waits for running transactions, at most until the import's time is up.
                wait = max(1, int(self.timeout - (time.monotonic() - self.started)))
                cursor.execute(f"SET LOCAL lock_timeout = '{wait}s'")
                cursor.execute(LOCK_STATEMENT)
                writer = RowWriter(cursor, kind=self.kind, present=columns.present, now=timezone.now())
                for row_number, cells in table.rows:
                    values, problems = parse(cells)
                    if problems:
                        raise _RowFailed(
                            record.row_error(job, row_number, [p._asdict() for p in problems], _raw(headers, cells))
                        )
                    try:
                        self.counts[writer.write(values)] += 1
                    except DatabaseError as exc:
                        # Leaving the block with this error rolls the whole transaction back.
                        message = str(exc).strip().splitlines()[0]
                        problem = {"column": "", "value": "", "reason": f"the database refused the row: {message}"}
                        raise _RowFailed(record.row_error(job, row_number, [problem], _raw(headers, cells))) from exc
                    last_row = row_number
                    self.rows_done += 1
                    if self.rows_done % CHECK_EVERY_ROWS == 0:
                        self._check_stop()
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

    # --- stop and report ------------------------------------------------------

    def _check_stop(self) -> None:
        elapsed = time.monotonic() - self.started
        if elapsed > self.timeout:
            raise ImportStopped(
                f"Timed out after {elapsed:.0f}s (IMPORT_TIMEOUT_SECONDS={self.timeout}); {ALL_OR_NOTHING}."
            )
        if ImportJob.objects.filter(pk=self.job.pk, cancel_requested=True).exists():
            raise ImportStopped(f"Cancelled; {ALL_OR_NOTHING}.", cancelled=True)

    def _report(self, stage: str) -> None:
        """Progress before the lock and at the end only.

        The old importer showed none, and a report inside its transaction could
        write the job's heartbeat there, holding the job's own row locked (a
        cancel request would wait) until the import commits.
        """
        if self.on_progress is None:
            return
        self.on_progress(
            Progress(
                import_id=self.job.import_id,
                stage=stage,
                rows_done=self.rows_done,
                rows_total=self.job.total_rows,
                elapsed_seconds=round(time.monotonic() - self.started, 3),
                inserted=self.counts[INSERTED],
                updated=self.counts[UPDATED],
                unchanged=self.counts[UNCHANGED],
            )
        )


class RowWriter:
    """One row at a time: SELECT the live row by key, then INSERT or UPDATE it.

    A column the file lacks is never updated; a new row gets the same default
    the new engine gives it (``''`` for text, NULL for price and stock).
    """

    ITEM_DEFAULTS = {"description": ""}
    VARIANT_DEFAULTS = {"sku": "", "price": None, "stock": None}

    def __init__(self, cursor, *, kind: KindSpec, present: frozenset[str], now):
        self.cursor = cursor
        self.kind = kind
        self.present = present
        self.now = now

    def write(self, values: tuple) -> str:
        """Write one valid row; return what happened to the kind's own row."""
        row = dict(zip(self.kind.field_names, values, strict=True))
        if self.kind.name == "items":
            return self._item(row["name"], row)[1]
        if self.kind.name == "colors":
            return self.save("color_master", "color_id", {"color_name": row["color_name"]}, {}, {})[1]
        if self.kind.name == "sizes":
            return self.save("size_master", "size_id", {"size_name": row["size_name"]}, {}, {})[1]
        item_id, _ = self._item(row["item_name"], row)
        color_id, _ = self.save("color_master", "color_id", {"color_name": row["color_name"]}, {}, {})
        size_id, _ = self.save("size_master", "size_id", {"size_name": row["size_name"]}, {}, {})
        return self.save(
            "item_variant",
            "variant_id",
            {"item_id": item_id, "color_id": color_id, "size_id": size_id},
            {name: row[name] for name in self.VARIANT_DEFAULTS if name in self.present},
            self.VARIANT_DEFAULTS,
        )[1]

    def _item(self, name: str, row: dict) -> tuple[int, str]:
        values = {"description": row["description"]} if "description" in self.present else {}
        return self.save("item_master", "item_id", {"name": name}, values, self.ITEM_DEFAULTS)

    def save(self, table: str, pk: str, key: dict, values: dict, defaults: dict) -> tuple[int, str]:
        """SELECT the live row with this key; INSERT it, UPDATE it, or leave it as it is."""
        cursor = self.cursor
        columns = list(values)
        where = " AND ".join(f"{column} = %s" for column in key)
        selected = ", ".join([pk, *columns])
        cursor.execute(f"SELECT {selected} FROM {table} WHERE {where} AND deleted_at IS NULL", list(key.values()))
        found = cursor.fetchone()
        if found is None:
            row = {**defaults, **key, **values, "created_at": self.now, "updated_at": self.now}
            marks = ", ".join(["%s"] * len(row))
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(row)}) VALUES ({marks}) RETURNING {pk}", list(row.values())
            )
            return cursor.fetchone()[0], INSERTED
        if list(found[1:]) == list(values.values()):
            return found[0], UNCHANGED
        assignments = ", ".join(f"{column} = %s" for column in columns)
        cursor.execute(
            f"UPDATE {table} SET {assignments}, updated_at = %s WHERE {pk} = %s",
            [*values.values(), self.now, found[0]],
        )
        return found[0], UPDATED


def _raw(headers: list[str], cells: list) -> dict[str, str]:
    """The row as read, header -> cell, for the failed-rows export (as the engine keeps it)."""
    return {header: "" if cell is None else str(cell) for header, cell in zip(headers, cells, strict=False)}
