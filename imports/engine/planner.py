"""Planner statistics of the masters while an import grows them (PostgreSQL only).

PostgreSQL plans from what ``ANALYZE`` last saw of a table. An import into an
empty or small catalog outgrows that within a few batches, and two plans go
wrong as it does (measured on a 100k-row file into a catalog analyzed while
empty: 40.7 s instead of 4 s):

* the foreign-key checks that run at each batch's commit keep, for the whole
  session, the plan made while ``item_master`` was one page: a sequential
  scan, so one 100k import read 500 million item rows (100,003 scans);
* the upsert's "already there?" checks estimate a few dozen live rows where
  tens of thousands exist, and sort every row to disk in every batch.

:class:`Statistics` refreshes them only when a table has grown well past what
its statistics know: after a batch, each master whose rows added by this run
since its statistics were taken exceed the rows those statistics count (the
table at least doubled, and by at least :data:`MIN_GROWTH` rows) is
analyzed. Into an empty catalog that is after batches 1, 2, 4, 8, ... (about
ten ``ANALYZE`` per table for a million rows, each a sample of at most 30,000
rows); an import that mostly updates, or adds little to a large table,
analyzes nothing (an unconditional ``ANALYZE`` per run cost 19 % on a 100k
update). ``ANALYZE`` also invalidates the cached foreign-key plans.

``ANALYZE`` takes a SHARE UPDATE EXCLUSIVE lock: readers and writers go on
(other imports included); only another ``ANALYZE`` or a ``VACUUM`` of the
same table conflicts, and then this one gives up after
:data:`LOCK_TIMEOUT` rather than wait (that table's statistics are being
refreshed anyway).

On SQLite, and in a dry run (nothing grows), it does nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from django.db import OperationalError, connection, transaction

from catalog.kinds import Kind

logger = logging.getLogger(__name__)

#: Growth below this many rows is never worth an ``ANALYZE``: plans over a table this small cost little either way.
MIN_GROWTH = 100
#: How long an ``ANALYZE`` waits for a table another ``ANALYZE`` or ``VACUUM`` holds before giving up.
LOCK_TIMEOUT = "100ms"


class Statistics:
    """What the planner's statistics know of each master a run writes, and the rows the run has added since."""

    def __init__(self, known: Mapping[str, float]):
        #: Table -> rows its statistics count (``pg_class.reltuples``; 0 when never analyzed).
        self.known = {table: max(float(rows), 0.0) for table, rows in known.items()}
        #: Table -> rows this run inserted since its statistics were taken.
        self.added = dict.fromkeys(self.known, 0)
        #: Tables analyzed so far, in order (for logs and tests).
        self.analyzed: list[str] = []

    @classmethod
    def of(cls, kind: Kind, *, dry_run: bool = False) -> Statistics:
        """The statistics of ``kind``'s masters (its parents' and its own), read once; inert where they don't apply."""
        if connection.vendor != "postgresql" or dry_run:
            return cls({})
        tables = [*(parent.master.table for parent in kind.parents), kind.master.table]
        return cls(_reltuples(tables))

    def grew(self, inserted: Mapping[str, int]) -> list[str]:
        """Note a committed batch's inserted rows per table; analyze the tables that outgrew their statistics.

        Call it between batches, outside the batch's transaction. Returns the
        tables analyzed now.
        """
        due = []
        for table, rows in inserted.items():
            if table not in self.added or not rows:
                continue
            self.added[table] += rows
            if self.added[table] >= MIN_GROWTH and self.added[table] > self.known[table]:
                due.append(table)
        analyzed = [table for table in due if _analyze(table)]
        if due:
            # Retried or not, start counting again from here: a table another session
            # is analyzing or vacuuming gets fresh figures from that session.
            self.known.update({table: self.known[table] + self.added[table] for table in due})
            self.known.update(_reltuples(analyzed))
            self.added.update(dict.fromkeys(due, 0))
        self.analyzed += analyzed
        return analyzed


def _reltuples(tables: Iterable[str]) -> dict[str, float]:
    tables = list(tables)
    if not tables:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reltuples FROM pg_class WHERE oid = ANY(%s::regclass[])",
            [tables],
        )
        return {name: float(rows) for name, rows in cursor.fetchall()}


def _analyze(table: str) -> bool:
    """``ANALYZE table``, giving up after :data:`LOCK_TIMEOUT`; whether it ran."""
    try:
        # A transaction of its own (a savepoint when the caller is in one), so that a lock
        # timeout leaves the connection usable and ``SET LOCAL`` ends with it.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('lock_timeout'), set_config('lock_timeout', %s, true)", [LOCK_TIMEOUT]
            )
            (previous, _) = cursor.fetchone()
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [previous])
    except OperationalError as exc:
        if getattr(exc.__cause__, "pgcode", None) != "55P03":  # lock_not_available
            raise
        logger.info("Statistics of %s not refreshed: %s is being analyzed or vacuumed by another session", table, table)
        return False
    logger.debug("Statistics of %s refreshed", table)
    return True
