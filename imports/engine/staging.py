"""Every row of one run in a temporary table, before any master is touched.

Why stage at all: "the last valid row of a key wins, earlier ones are
superseded" must hold across the whole file, not just within a batch, and
the importer must keep flat memory on a million-row file. The database holds
the rows (a session-private TEMP table, gone with the connection), marks the
superseded ones with one window query, and hands out batches by row number,
so a resumed run re-stages the same file and continues at its checkpoint.

Row states: ``WRITE`` (a valid row that wins its key), ``SUPERSEDED`` (a valid
row whose key comes again later) and ``INVALID`` (the row's problems are kept
as JSON with the original cells).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from django.db import connection

from imports.engine.kinds import KindSpec

WRITE, SUPERSEDED, INVALID = 0, 1, 2

_COLUMN_TYPES = {"name": "text", "text": "text", "code": "text", "price": "numeric(12,2)", "count": "integer"}


@dataclass(frozen=True)
class Batch:
    """One batch: a range of file rows written and committed together."""

    first_row: int
    last_row: int
    to_write: int
    superseded: int
    invalid: int

    @property
    def rows(self) -> int:
        return self.to_write + self.superseded + self.invalid


class Staging:
    """The TEMP tables of one import run (on the default connection)."""

    def __init__(self, *, kind: KindSpec, run_id: int | str):
        self.kind = kind
        self.table = f"import_staging_{run_id}"
        self.items_table = f"import_staging_items_{run_id}"
        self.fields = kind.field_names
        self.vendor = connection.vendor
        self.rows_loaded = 0
        self._nullable = [f.name for f in kind.fields if f.type in ("price", "count")] + ["problems", "raw"]

    # --- life cycle ---------------------------------------------------------

    def create(self) -> None:
        self.drop()
        columns = ", ".join(f"{f.name} {_COLUMN_TYPES[f.type]}" for f in self.kind.fields)
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMP TABLE {self.table} ("
                f"row_number integer PRIMARY KEY, state smallint NOT NULL, {columns}, "
                f"problems text, raw text)"
            )

    def drop(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {self.items_table}")
            cursor.execute(f"DROP TABLE IF EXISTS {self.table}")

    # --- loading ------------------------------------------------------------

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
        self.rows_loaded += len(rows)

    def _copy(self, rows: list[tuple]) -> None:
        # CSV written by the C csv module is the fastest way in. Text is quoted,
        # so an empty text cell stays ''; an unset number is written "" and
        # FORCE_NULL turns it into NULL. (Text of invalid rows is never read.)
        buffer = io.StringIO()
        csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n").writerows(rows)
        buffer.seek(0)
        nullable = ", ".join(self._nullable)
        with connection.cursor() as cursor:
            cursor.copy_expert(f"COPY {self.table} FROM STDIN WITH (FORMAT csv, FORCE_NULL ({nullable}))", buffer)

    def seal(self) -> None:
        """After the last chunk: mark superseded rows, pick item descriptions, gather statistics."""
        key = ", ".join(self.kind.key)
        with connection.cursor() as cursor:
            if self.vendor == "postgresql":
                cursor.execute(f"ANALYZE {self.table}")
            cursor.execute(
                f"UPDATE {self.table} SET state = {SUPERSEDED} WHERE row_number IN ("
                f" SELECT row_number FROM ("
                f"  SELECT row_number, LEAD(row_number) OVER (PARTITION BY {key} ORDER BY row_number) AS later"
                f"  FROM {self.table} WHERE state = {WRITE}"
                f" ) ranked WHERE later IS NOT NULL)"
            )
            if self.kind.name == "variants" and "description" in self.fields:
                # The last valid row of each item gives the item's description.
                cursor.execute(
                    f"CREATE TEMP TABLE {self.items_table} AS "
                    f"SELECT item_name AS name, description FROM ("
                    f" SELECT item_name, description,"
                    f"  ROW_NUMBER() OVER (PARTITION BY item_name ORDER BY row_number DESC) AS latest"
                    f" FROM {self.table} WHERE state <> {INVALID}"
                    f") ranked WHERE latest = 1"
                )
                cursor.execute(f"CREATE UNIQUE INDEX {self.items_table}_name ON {self.items_table} (name)")
                if self.vendor == "postgresql":
                    cursor.execute(f"ANALYZE {self.items_table}")

    # --- reading ------------------------------------------------------------

    def batches(self, *, size: int, after_row: int = 0) -> list[Batch]:
        """The batches of ``size`` file rows, starting after ``after_row`` (the checkpoint)."""
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT (row_number - 1) / %s AS batch, state, COUNT(*), MAX(row_number) FROM {self.table} "
                f"WHERE row_number > %s GROUP BY 1, 2 ORDER BY 1",
                [size, after_row],
            )
            tally: dict[int, list[int]] = {}
            last: dict[int, int] = {}
            for batch, state, count, max_row in cursor.fetchall():
                tally.setdefault(int(batch), [0, 0, 0])[state] = count
                last[int(batch)] = max(last.get(int(batch), 0), max_row)
        return [
            Batch(
                first_row=max(batch * size + 1, after_row + 1),
                last_row=last[batch],
                to_write=counts[WRITE],
                superseded=counts[SUPERSEDED],
                invalid=counts[INVALID],
            )
            for batch, counts in sorted(tally.items())
        ]

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
