"""Every row of one run in a temporary table, before any master is touched.

Why stage at all: "the last valid row of a key wins, earlier ones are
superseded" must hold across the whole file, not just within a batch, and
the importer must keep flat memory on a million-row file. The database holds
the rows, marks the superseded ones with one window query, and hands out
batches by row number, so a resumed run re-stages the same file and continues
at its checkpoint.

On PostgreSQL the tables are UNLOGGED (no WAL: as fast to fill as a TEMP
table), not TEMP, because the run's other connections read them too
(``lanes``: several batches written at once). The run drops them at its end;
a run whose worker died leaves them, and they are dropped when the job
resumes (``create`` starts afresh) or, once it has ended, by the sweeper
(:func:`drop_abandoned`). A server crash empties unlogged tables, and the
resumed run stages the file again anyway. On SQLite they are TEMP tables
(one connection, one writer).

Row states: ``WRITE`` (a valid row that wins its key), ``SUPERSEDED`` (a valid
row whose key comes again later) and ``INVALID`` (the row's problems are kept
as JSON with the original cells). A check that needs the whole file and the
live rows (``lookalikes``) may still turn rows ``INVALID`` after the last
chunk and before sealing.

For a kind with parents (a variants file names items, colors and sizes),
sealing also lists each parent once with the row where it is first needed
(``first_row``), and with the values the file carries for it (an item's
description) from its last valid row. A batch then creates exactly the masters
first needed in it (a few index lookups) instead of re-checking every name it
mentions, and an item's description is written once, with its final value.
"""

from __future__ import annotations

import csv
import io
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import connection

from catalog.kinds import Column, Kind, Parent

WRITE, SUPERSEDED, INVALID = 0, 1, 2
#: Every staging table's name starts with this, followed by the import's id.
TABLE_PREFIX = "import_staging_"


def _sql_type(column: Column) -> str:
    if column.type == "decimal":
        return f"numeric({column.max_digits},{column.decimal_places})"
    if column.type == "count":
        return "integer"
    return "text"


@dataclass(frozen=True)
class Batch:
    """One batch: a range of file rows written and committed together."""

    first_row: int
    last_row: int
    to_write: int
    superseded: int
    invalid: int
    #: Parent relation (``item``) -> how many of them are first needed in this batch.
    first_seen: dict[str, int] = field(default_factory=dict)
    #: The last row before this batch at which a parent it uses is first needed (0: none, or
    #: not asked for): the batch holding that row writes it, and must commit before this one writes.
    needs_row: int = 0

    @property
    def rows(self) -> int:
        return self.to_write + self.superseded + self.invalid


class Staging:
    """The staging tables of one import run (see the module docstring)."""

    def __init__(self, *, kind: Kind, run_id: int | str):
        self.kind = kind
        self.table = f"{TABLE_PREFIX}{run_id}"
        self.fields = kind.column_names
        self.vendor = connection.vendor
        self._nullable = [c.name for c in kind.columns if c.type in ("decimal", "count")] + ["problems", "raw"]
        #: While :meth:`loading` overlaps the COPYs with the caller's reading.
        self._behind: _CopyBehind | None = None

    # --- life cycle ---------------------------------------------------------

    def create(self) -> None:
        self.drop()
        columns = ", ".join(f"{column.name} {_sql_type(column)}" for column in self.kind.columns)
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE {self._scope} TABLE {self.table} ("
                f"row_number integer PRIMARY KEY, state smallint NOT NULL, {columns}, "
                f"problems text, raw text)"
            )

    @property
    def _scope(self) -> str:
        return "UNLOGGED" if self.vendor == "postgresql" else "TEMP"

    def drop(self) -> None:
        tables = [*(self.first_seen_table(parent) for parent in self.kind.parents), self.table]
        with connection.cursor() as cursor:
            if self.vendor == "postgresql":
                # One statement: one round trip and one commit for the run's tables (SQLite drops one at a time).
                cursor.execute(f"DROP TABLE IF EXISTS {', '.join(tables)}")
            else:
                for table in tables:
                    cursor.execute(f"DROP TABLE IF EXISTS {table}")

    def first_seen_table(self, parent: Parent) -> str:
        """The table listing each item (color, size) of the file once, with its ``first_row``."""
        return f"{self.table}_{parent.relation}"

    # --- loading ------------------------------------------------------------

    @contextmanager
    def loading(self, *, behind: bool = True) -> Iterator[None]:
        """While the caller stages the file's chunks: their COPY, one chunk behind, on a connection of its own.

        Reading and checking a chunk is Python's work and its COPY the
        backend's: on PostgreSQL, outside a caller's transaction (another
        connection must see the table), each chunk's COPY runs while the
        next chunk is read, so the two overlap (:class:`_CopyBehind`). At most
        one chunk waits for its COPY. Every COPY has ended when this returns.
        ``behind=False``: every COPY on the caller's connection (a run allowed
        one connection).
        """
        if not behind or self.vendor != "postgresql" or connection.in_atomic_block:
            yield
            return
        self._behind = _CopyBehind(self._copy_statement())
        try:
            yield
        except BaseException:
            self._behind.stop()
            raise
        else:
            self._behind.finish()
        finally:
            self._behind = None

    def append(self, rows: list[tuple]) -> None:
        """Stage a chunk: ``(row_number, state, *values, problems_json, raw_json)``."""
        if not rows:
            return
        if self.vendor == "postgresql":
            self._copy(rows)
        else:
            marks = ", ".join(["%s"] * (len(self.fields) + 4))
            with connection.cursor() as cursor:
                cursor.executemany(f"INSERT INTO {self.table} VALUES ({marks})", rows)

    def _copy(self, rows: list[tuple]) -> None:
        # CSV written by the C csv module is the fastest way in. Text is quoted,
        # so an empty text cell stays ''; an unset number is written "" and
        # FORCE_NULL turns it into NULL. (Text of invalid rows is never read.)
        buffer = io.StringIO()
        csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n").writerows(rows)
        buffer.seek(0)
        if self._behind is not None:
            self._behind.put(buffer)
            return
        _copy_in(self._copy_statement(), buffer)

    def _copy_statement(self) -> str:
        nullable = ", ".join(self._nullable)
        return f"COPY {self.table} FROM STDIN WITH (FORMAT csv, FORCE_NULL ({nullable}))"

    def distinct_values(self, column: str) -> Iterator[str]:
        """Each value of ``column`` among the rows to write, once, streamed (a server-side cursor on PostgreSQL)."""
        with connection.chunked_cursor() as cursor:
            cursor.execute(f"SELECT DISTINCT {column} FROM {self.table} WHERE state = {WRITE}")
            while rows := cursor.fetchmany(5000):
                yield from (value for (value,) in rows)

    def rows_holding(self, values: dict[str, list[str]], *, page: int = 5000) -> Iterator[list[tuple]]:
        """``(row_number, *values)`` of the rows to write holding one of ``values`` (column -> values), by page.

        Pages follow ``row_number`` (no cursor stays open), so the caller may
        :meth:`refuse` each page before asking for the next.
        """
        pairs = [(column, value) for column, chosen in values.items() for value in chosen]
        with connection.cursor() as cursor:
            for start in range(0, len(pairs), 500):
                by_column: dict[str, list[str]] = {}
                for column, value in pairs[start : start + 500]:
                    by_column.setdefault(column, []).append(value)
                holding = " OR ".join(
                    f"{column} IN ({', '.join(['%s'] * len(chosen))})" for column, chosen in by_column.items()
                )
                params = [value for chosen in by_column.values() for value in chosen]
                after = 0
                while True:
                    cursor.execute(
                        f"SELECT row_number, {', '.join(self.fields)} FROM {self.table} "
                        f"WHERE state = {WRITE} AND ({holding}) AND row_number > %s "
                        f"ORDER BY row_number LIMIT {int(page)}",
                        [*params, after],
                    )
                    rows = cursor.fetchall()
                    if not rows:
                        break
                    yield rows
                    after = rows[-1][0]

    def refuse(self, rows: list[tuple[int, str, str]]) -> None:
        """Make rows invalid after staging: ``(row_number, problems_json, raw_json)`` (before :meth:`seal`)."""
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {self.table} SET state = {INVALID}, problems = %s, raw = %s WHERE row_number = %s",
                [(problems, raw, row_number) for row_number, problems, raw in rows],
            )

    def seal(self) -> None:
        """After the last chunk: mark superseded rows, list the masters, gather statistics."""
        key = ", ".join(self.kind.key)
        with connection.cursor() as cursor, self._small_samples(cursor):
            self._analyze(cursor, self.table)
            # One hash aggregate finds the keys that come more than once (usually
            # none); only their earlier rows are touched.
            same_key = " AND ".join(f"{self.table}.{column} = repeated.{column}" for column in self.kind.key)
            cursor.execute(
                f"UPDATE {self.table} SET state = {SUPERSEDED} FROM ("
                f" SELECT {key}, MAX(row_number) AS last_row FROM {self.table} WHERE state = {WRITE}"
                f" GROUP BY {key} HAVING COUNT(*) > 1"
                f") repeated WHERE {same_key} AND {self.table}.row_number < repeated.last_row"
                f" AND {self.table}.state = {WRITE}"
            )
            for parent in self.kind.parents:
                self._list_parent(cursor, parent)
            self._analyze(cursor, *(self.first_seen_table(parent) for parent in self.kind.parents))

    def _list_parent(self, cursor, parent: Parent) -> None:
        """``first_seen_table(parent)``: each parent once, under its master's key column, with ``first_row``."""
        column = parent.column
        name = parent.master.name_column
        table = self.first_seen_table(parent)
        if parent.values:
            # The parent's values are its last valid row's. That row always wins
            # its key, so every parent listed here has a first_row.
            values = "".join(f", latest.{value} AS {self.kind.column(value).db_column}" for value in parent.values)
            cursor.execute(
                f"CREATE {self._scope} TABLE {table} AS SELECT listed.{name}{values}, listed.first_row FROM ("
                f" SELECT {column} AS {name}, MIN(CASE WHEN state = {WRITE} THEN row_number END) AS first_row,"
                f"  MAX(row_number) AS last_row"
                f" FROM {self.table} WHERE state <> {INVALID} GROUP BY {column}"
                f") listed JOIN {self.table} latest ON latest.row_number = listed.last_row"
            )
        else:
            cursor.execute(
                f"CREATE {self._scope} TABLE {table} AS SELECT {column} AS {name}, MIN(row_number) AS first_row "
                f"FROM {self.table} WHERE state = {WRITE} GROUP BY {column}"
            )
        cursor.execute(f"CREATE INDEX {table}_first_row ON {table} (first_row)")

    @contextmanager
    def _small_samples(self, cursor) -> Iterator[None]:
        """While sealing, ``ANALYZE`` samples a tenth of the default (PostgreSQL; set once for the whole seal).

        Row counts and rough distributions are all the batch queries need, so
        a small sample will do, several times faster.
        """
        if self.vendor != "postgresql":
            yield
            return
        cursor.execute("SET default_statistics_target = 10")
        try:
            yield
        finally:
            cursor.execute("RESET default_statistics_target")

    def _analyze(self, cursor, *tables: str) -> None:
        # Autovacuum would analyze them too late (and never a TEMP one): without this the planner guesses.
        # Several tables in one statement: one round trip (PostgreSQL 11 and later).
        if self.vendor == "postgresql" and tables:
            cursor.execute(f"ANALYZE {', '.join(tables)}")

    # --- reading ------------------------------------------------------------

    def batches(self, *, size: int, after_row: int = 0, needs: bool = False) -> list[Batch]:
        """The batches of ``size`` file rows, starting after ``after_row`` (the checkpoint).

        ``needs``: also find each batch's ``needs_row`` (one pass over the
        staged rows; only batches written side by side ask for it).
        """
        tally: dict[int, list[int]] = {}
        last: dict[int, int] = {}
        first_seen: dict[int, dict[str, int]] = {}
        needed: dict[int, int] = {}
        with connection.cursor() as cursor:
            if needs and self.kind.parents:
                needed = self._needed_rows(cursor, size=size, after_row=after_row)
            cursor.execute(
                f"SELECT (row_number - 1) / %s AS batch, state, COUNT(*), MAX(row_number) FROM {self.table} "
                f"WHERE row_number > %s GROUP BY 1, 2 ORDER BY 1",
                [size, after_row],
            )
            for batch, state, count, max_row in cursor.fetchall():
                tally.setdefault(int(batch), [0, 0, 0])[state] = count
                last[int(batch)] = max(last.get(int(batch), 0), max_row)
            for parent in self.kind.parents:
                cursor.execute(
                    f"SELECT (first_row - 1) / %s, COUNT(*) FROM {self.first_seen_table(parent)} "
                    f"WHERE first_row > %s GROUP BY 1",
                    [size, after_row],
                )
                for batch, count in cursor.fetchall():
                    first_seen.setdefault(int(batch), {})[parent.relation] = count
        return [
            Batch(
                first_row=max(batch * size + 1, after_row + 1),
                last_row=last[batch],
                to_write=counts[WRITE],
                superseded=counts[SUPERSEDED],
                invalid=counts[INVALID],
                first_seen={p.relation: first_seen.get(batch, {}).get(p.relation, 0) for p in self.kind.parents},
                needs_row=needed.get(batch, 0),
            )
            for batch, counts in sorted(tally.items())
        ]

    def _needed_rows(self, cursor, *, size: int, after_row: int) -> dict[int, int]:
        """Batch -> the last ``first_row`` before the batch among the parents its rows to write use."""
        joins = "".join(
            f" JOIN {self.first_seen_table(p)} p{n} ON p{n}.{p.master.name_column} = st.{p.column}"
            for n, p in enumerate(self.kind.parents)
        )
        # A parent first needed in the batch itself is its own to write: only earlier ones count.
        start = "(st.row_number - 1) / %(size)s * %(size)s + 1"
        earlier = ", ".join(
            f"CASE WHEN p{n}.first_row < {start} THEN p{n}.first_row END" for n in range(len(self.kind.parents))
        )
        cursor.execute(
            f"SELECT (st.row_number - 1) / %(size)s, MAX(GREATEST({earlier})) FROM {self.table} st{joins} "
            f"WHERE st.state = {WRITE} AND st.row_number > %(after)s GROUP BY 1",
            {"size": size, "after": after_row},
        )
        return {int(batch): int(row or 0) for batch, row in cursor.fetchall()}

    def invalid_rows(self, first_row: int, last_row: int) -> list[tuple[int, str, str]]:
        """``(row_number, problems_json, raw_json)`` of the invalid rows in a range."""
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT row_number, problems, raw FROM {self.table} "
                f"WHERE row_number BETWEEN %s AND %s AND state = {INVALID} ORDER BY row_number",
                [first_row, last_row],
            )
            return cursor.fetchall()

    def rows_to_write(self, first_row: int, last_row: int) -> list[tuple]:
        """``(row_number, *values)`` of the rows a range would write, in file order."""
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT row_number, {', '.join(self.fields)} FROM {self.table} "
                f"WHERE row_number BETWEEN %s AND %s AND state = {WRITE} ORDER BY row_number",
                [first_row, last_row],
            )
            return cursor.fetchall()


def _copy_in(statement: str, buffer: io.StringIO) -> None:
    """``COPY ... FROM STDIN`` on this thread's connection; an error as Django's (``copy_expert`` is not wrapped)."""
    with connection.cursor() as cursor, connection.wrap_database_errors:
        cursor.copy_expert(statement, buffer)


class _CopyBehind:
    """COPY of staged chunks on a connection of its own (a thread), one chunk behind the caller.

    psycopg2 lets go of the GIL while the server reads a COPY, so the
    caller's Python (reading and checking the next chunk) and the server's
    COPY of this one run on two cores. A failed COPY is raised to the caller
    at its next chunk or at :meth:`finish`; the chunks after it are not copied.
    """

    def __init__(self, statement: str):
        self.statement = statement
        self.chunks: queue.Queue[io.StringIO | None] = queue.Queue(maxsize=1)
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="import-staging-copy", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            while (buffer := self.chunks.get()) is not None:
                if self.failure is None:
                    try:
                        _copy_in(self.statement, buffer)
                    except BaseException as failure:  # raised to the caller at its next chunk
                        self.failure = failure
        finally:
            connection.close()

    def put(self, buffer: io.StringIO) -> None:
        if self.failure is not None:
            raise self.failure
        self.chunks.put(buffer)

    def finish(self) -> None:
        """Wait for the last COPY; raise the first that failed."""
        self.stop()
        if self.failure is not None:
            raise self.failure

    def stop(self) -> None:
        self.chunks.put(None)
        self.thread.join()


def drop_abandoned(*, running: Callable[[], Iterable[int]]) -> list[str]:
    """Drop the staging tables of runs that are over (their worker died); returns the tables dropped.

    ``running()`` gives the ids of the imports running now. It is called
    after the tables are listed: a run stages only once its job is running,
    so a table listed is either a running job's or left behind.
    PostgreSQL only (SQLite's are TEMP tables, gone with their connection).
    """
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE %s",
            [TABLE_PREFIX.replace("_", r"\_") + "%"],
        )
        tables = [table for (table,) in cursor.fetchall()]
        kept = {str(import_id) for import_id in running()} if tables else set()
        dropped = []
        for table in tables:
            run_id = table[len(TABLE_PREFIX) :].split("_", 1)[0]
            if run_id.isdigit() and run_id not in kept:
                cursor.execute(f"DROP TABLE IF EXISTS {connection.ops.quote_name(table)}")
                dropped.append(table)
    return dropped
