"""The import pipeline, top to bottom.

    read -> map columns -> validate -> stage -> batch -> upsert -> record -> report

``run_job`` takes a job that its caller has claimed (status ``running``) and
brings it to an end state with the job's strategy (``strategies``): this
module's :class:`UpsertRun`, the engine's own. It is also how a job resumes:
batches up to the job's ``checkpoint_row`` are already committed, so they
are skipped.

Rules of the road:

* nothing is written to a master before the whole file is read and checked
  (a bad header, too many rows or a broken file reject the job untouched);
* each batch is one transaction: its upserts, its row errors, its counters
  and the checkpoint commit together;
* on PostgreSQL ``IMPORT_PARALLEL_BATCHES`` batches are written at once, each
  on its own connection, and commit in file order (``lanes``): what a run
  commits, reports and keeps is the one-batch-at-a-time run's;
* a batch that hits a deadlock or serialization failure is retried 3 times
  with backoff; a batch the database refuses for a data reason is split until
  the offending rows are isolated and recorded with the database's message;
* between batches the run stops for a cancel request or when it has run
  longer than ``IMPORT_TIMEOUT_SECONDS``, keeping what was committed. The
  cancel flag is read by each batch's own bookkeeping statement, its last
  (``record.batch_committed``): a cancel asked for while a batch runs stops
  the run after that batch; one asked for in the instant between two
  batches, after the next;
* a dry run does all of it inside savepoints that are rolled back: exact
  figures and row errors, no master row changed.
"""

from __future__ import annotations

import json
import logging
import time
from bisect import bisect_left
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass

from django.conf import settings
from django.db import DatabaseError, DataError, IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from imports.engine import planner, record, strategies
from imports.engine.columns import ColumnMap, map_columns
from imports.engine.errors import ImportRejected, ImportStopped
from imports.engine.lanes import OutOfTurn, Turns, lanes_for, patience, write_in_lanes
from imports.engine.limits import HELD_CONTENT_CHARS
from imports.engine.lookalikes import FileLookalikes
from imports.engine.numbers import AUTO
from imports.engine.readers import open_stored_table
from imports.engine.rows import ParsedRows, chunk_parser, read_numbers_as
from imports.engine.staging import INVALID, WRITE, Batch, Staging
from imports.engine.strategies import ProgressCallback, Strategy
from imports.engine.tables import Table
from imports.engine.undo import UndoRun
from imports.engine.upsert import WriteCounts, classify_range, write_range
from imports.models import ImportJob, ImportResult, ImportStage, ImportSystem

logger = logging.getLogger(__name__)

STAGE_CHUNK_ROWS = 5000
RETRIES = 3
RETRY_BACKOFF_SECONDS = (0.2, 0.8, 2.0)
#: PostgreSQL SQLSTATEs worth retrying: serialization_failure, deadlock_detected.
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01"})


def run_job(job: ImportJob, *, on_progress: ProgressCallback | None = None) -> ImportJob:
    """Run (or resume) a claimed job to its end state with its system's strategy, and return it."""
    strategy = UndoRun if job.is_undo else strategies.strategy_for(job.system)
    if strategy is None:
        return record.failed(
            job,
            f"This import was routed to the {job.system} importer, which is not installed here; "
            f"nothing was imported. Start it again to use the {ImportSystem.UPSERT.label.lower()} importer.",
        )
    return strategy(job, on_progress).execute()


class UpsertRun(Strategy):
    """The engine's strategy: stage the file, then upsert it batch by batch (see the module docstring)."""

    system = ImportSystem.UPSERT

    def __init__(self, job: ImportJob, on_progress: ProgressCallback | None = None):
        super().__init__(job, on_progress)
        options = job.options or {}
        self.batch_size = int(options.get("batch_size") or settings.IMPORT_BATCH_SIZE)
        if "batch_size" not in options:
            # A resumed run must cut the file into the same batches.
            job.options = {**options, "batch_size": self.batch_size}
            job.save(update_fields=["options", "updated_at"])
        self.staging = Staging(kind=self.kind, run_id=job.import_id)
        self.tally = _Tally.of(job)
        self.rows_resumed = self.tally.done
        #: The job's cancel flag as the last committed batch read it (None: not read yet).
        self.cancel_requested: bool | None = None

    def write(self) -> None:
        if not self.job.dry_run:
            record.journal_kept(self.job)
        columns = self._stage()
        with _batch_session():
            self._write(columns)

    def clean_up(self) -> None:
        try:
            self.staging.drop()
        except DatabaseError:
            logger.warning("Could not drop staging table of import %s", self.job.import_id, exc_info=True)

    def kept(self) -> str:
        return f"rows up to {self.job.checkpoint_row:,} are committed and kept (retry resumes from there)"

    # --- read, map, validate, stage ----------------------------------------

    def _stage(self) -> ColumnMap:
        job = self.job
        with open_stored_table(job) as table:
            columns = map_columns(table.headers, self.kind, job.mapping or None)
            record.note_reading(job, table=table, columns=columns)
            self.staging.create()
            self.lookalikes = FileLookalikes(self.kind, columns)
            # A second connection copies the staged chunks when the run may use more than one.
            with self.staging.loading(behind=settings.IMPORT_PARALLEL_BATCHES > 1):
                total = self._load(table, columns)
        if total == 0:
            raise ImportRejected(f"{job.file_name} has a header but no data rows.")
        self._refuse_lookalikes(columns)
        self.staging.seal()
        record.note_total(job, total)
        return columns

    def _load(self, table: Table, columns: ColumnMap) -> int:
        numbers: list[int] = []
        chunk: list[list] = []
        total = 0
        content = table.content_read or _nothing_read
        held_from = content()
        reading, rows = read_numbers_as(
            table.rows,
            columns,
            chosen=self.job.options.get("number_format") or AUTO,
            content_read=table.content_read,
        )
        if reading.told:
            record.note_number_format(self.job, reading.told)
        parse = chunk_parser(columns, width=len(table.headers), number_format=reading.number_format)
        for row_number, cells in rows:
            total += 1
            self.count_row(total)
            numbers.append(row_number)
            chunk.append(cells)
            if len(chunk) >= STAGE_CHUNK_ROWS or content() - held_from > HELD_CONTENT_CHARS:
                self._stage_chunk(numbers, chunk, parse(chunk), table.headers)
                numbers, chunk = [], []
                held_from = content()
                self.check_stop()
                self._report_reading(total, _fraction_read(table, self.job.file_size))
        self._stage_chunk(numbers, chunk, parse(chunk), table.headers)
        return total

    def _stage_chunk(self, numbers: list[int], chunk: list[list], parsed: ParsedRows, headers: list[str]) -> None:
        """Stage a parsed chunk: valid rows' values; invalid rows' problems and cells, as they will be kept.

        What is kept of an invalid row is clipped here already (``record.kept_cells``),
        and a chunk whose text is large goes to the staging table in pieces, so
        memory stays bounded by :data:`~imports.engine.limits.HELD_CONTENT_CHARS`
        whatever the cells (a shared string repeated by every row of a sheet).
        """
        size = len(numbers)
        states: list[int] = [WRITE] * size
        problems: list[str | None] = [None] * size
        originals: list[str | None] = [None] * size
        for i, row_problems in parsed.problems.items():
            states[i] = INVALID
            problems[i] = json.dumps([record.kept_problem(problem._asdict()) for problem in row_problems])
            originals[i] = json.dumps(
                record.kept_cells({h: _as_text(cell) for h, cell in zip(headers, chunk[i], strict=False)})
            )
        rows = list(zip(numbers, states, *parsed.columns, problems, originals, strict=True))
        text_columns = [
            values for values, spec in zip(parsed.columns, self.kind.columns, strict=True) if _holds_text(spec.type)
        ]
        held = sum(sum(map(len, filter(None, column))) for column in (*text_columns, problems, originals))
        if held <= HELD_CONTENT_CHARS:
            self.staging.append(rows)
        else:
            for piece in _pieces(rows, [*text_columns, problems, originals]):
                self.staging.append(piece)
        self.lookalikes.see(parsed.columns)

    def _refuse_lookalikes(self, columns: ColumnMap) -> None:
        """Turn the rows naming a mixed-script look-alike of another name into row errors (``engine.lookalikes``)."""
        refused = self.lookalikes.refusals(self.staging)
        if not refused:
            return
        for rows in self.staging.rows_holding({column: list(names) for column, names in refused.items()}):
            self.staging.refuse(
                [
                    (
                        row[0],
                        json.dumps(self.lookalikes.problems(refused, row)),
                        json.dumps(_row_data(self.kind.column_names, columns.headers, row[1:])),
                    )
                    for row in rows
                ]
            )

    # --- batch, upsert, record ---------------------------------------------

    def _write(self, columns: ColumnMap) -> None:
        present = columns.present
        self.headers = columns.headers
        # Masters that outgrow their planner statistics get fresh ones between batches.
        self.statistics = planner.Statistics.of(self.kind, dry_run=self.job.dry_run)
        lanes = lanes_for(wanted=settings.IMPORT_PARALLEL_BATCHES, dry_run=self.job.dry_run)
        batches = self.staging.batches(size=self.batch_size, after_row=self.job.checkpoint_row, needs=lanes > 1)
        parallel = lanes > 1 and len(batches) > 1

        def write(index: int, batch: Batch, turns: Turns) -> None:
            self._check_stop_before(index, turns)
            if parallel:
                parents_writer = _parents_writer(batches, index)
                if parents_writer is not None:
                    turns.wait(index, committed=parents_writer + 1)
            self._write_batch(index, batch, present, turns, parallel=parallel)

        write_in_lanes(batches, lanes=lanes, write=write, session=_batch_session)

    def _check_stop_before(self, index: int, turns: Turns) -> None:
        """Stop before a batch on cancel or timeout, saying what was kept once the batches before it committed."""
        try:
            # Before the first batch the flag is read; then each batch's bookkeeping returns it.
            self.check_stop(cancel_requested=self.cancel_requested)
        except ImportStopped:
            turns.wait(index, committed=index)  # batches before this one, in flight on other lanes, commit first
            self.check_stop(cancel_requested=self.cancel_requested)
            raise

    def _write_batch(self, index: int, batch: Batch, present: frozenset[str], turns: Turns, *, parallel: bool) -> None:
        """Commit one batch in its turn; redo it row-isolating if the database refuses a row."""
        try:
            counts = self._commit_batch(index, batch, present, turns, isolate=False, parallel=parallel)
        except (IntegrityError, DataError):
            # Rare: the whole batch rolled back. Redo it with savepoints that
            # split it until the refused rows are isolated and recorded.
            counts = self._commit_batch(index, batch, present, turns, isolate=True, parallel=parallel)
        # Still this batch's turn: the next batch commits only after these.
        try:
            self.statistics.grew(counts.grown)
            self.report(ImportStage.WRITING)
        finally:
            turns.commit()

    def _commit_batch(
        self, index: int, batch: Batch, present: frozenset[str], turns: Turns, *, isolate: bool, parallel: bool
    ) -> WriteCounts:
        attempt = 1
        while True:
            started = time.monotonic()
            try:
                with transaction.atomic():
                    errors = []
                    if batch.invalid:
                        invalid = self.staging.invalid_rows(batch.first_row, batch.last_row)
                        errors = record.staged_errors(self.job, invalid)
                    if self.job.dry_run:
                        counts = classify_range(
                            staging=self.staging, first_row=batch.first_row, last_row=batch.last_row, present=present
                        )
                    elif isolate:
                        counts = self._isolating(batch.first_row, batch.last_row, batch.to_write, present)
                        errors = sorted(errors + self._database_errors(counts), key=lambda e: e.row_number)
                    else:
                        counts = self._write_range(batch.first_row, batch.last_row, batch.to_write, present, batch)
                        errors += self._database_errors(counts)
                    if parallel:
                        self._await_turn(index, turns, work_seconds=time.monotonic() - started)
                    self.cancel_requested = record.batch_committed(self.job, batch, counts, errors)
                self.tally.add(batch, counts, failed=len(errors))
                return counts
            except OutOfTurn:
                # Rolled back, locks released: wait for the turn without them, then write the batch again.
                turns.wait(index, committed=index)
            except OperationalError as exc:
                if attempt > RETRIES or not _is_transient(exc):
                    raise
                pause = RETRY_BACKOFF_SECONDS[attempt - 1]
                logger.warning(
                    "Import %s rows %s-%s: %s; retry %s of %s in %.1fs",
                    self.job.import_id, batch.first_row, batch.last_row, exc, attempt, RETRIES, pause,
                )  # fmt: skip
                attempt += 1
                time.sleep(pause)

    def _await_turn(self, index: int, turns: Turns, *, work_seconds: float) -> None:
        """Inside the batch's transaction: check its foreign keys now, then wait until every earlier batch committed."""
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        if not turns.wait(index, committed=index, timeout=patience(work_seconds)):
            raise OutOfTurn
        if self.cancel_requested:
            # Cancelled by the batch just before: this one rolls back (what a single stream would not have written).
            self.check_stop(cancel_requested=True)

    def _write_range(
        self, first_row: int, last_row: int, expected: int, present: frozenset[str], batch: Batch | None = None
    ) -> WriteCounts:
        if expected == 0:
            return WriteCounts()
        return write_range(
            staging=self.staging,
            first_row=first_row,
            last_row=last_row,
            expected=expected,
            present=present,
            now=timezone.now(),
            first_seen=batch.first_seen if batch is not None else None,
            journal_of=self.job.pk,
        )

    def _isolating(self, first_row: int, last_row: int, expected: int, present: frozenset[str]) -> WriteCounts:
        """Write a range in a savepoint; on a data error, split it until the refused rows are alone."""
        try:
            with transaction.atomic():
                return self._write_range(first_row, last_row, expected, present)
        except (IntegrityError, DataError) as exc:
            rows = self.staging.rows_to_write(first_row, last_row)
            if len(rows) == 1:
                return WriteCounts(refused={rows[0]: str(exc).strip().splitlines()[0]})
            middle = len(rows) // 2
            left, right = rows[:middle], rows[middle:]
            return self._isolating(left[0][0], left[-1][0], len(left), present) + self._isolating(
                right[0][0], right[-1][0], len(right), present
            )

    def _database_errors(self, counts: WriteCounts) -> list:
        errors = []
        for row_number in counts.orphaned:
            errors.append(
                record.row_error(
                    self.job,
                    row_number,
                    [
                        {
                            "column": "",
                            "value": "",
                            "reason": "its item, color or size was deleted by someone else during the import",
                        }
                    ],
                    {},
                )
            )
        for row, message in counts.refused.items():
            row_number, *values = row
            data = _row_data(self.kind.column_names, self.headers, values)
            errors.append(
                record.row_error(
                    self.job,
                    row_number,
                    [{"column": "", "value": "", "reason": f"the database refused the row: {message}"}],
                    data,
                )
            )
        return errors

    # --- report -------------------------------------------------------------

    def progress_figures(self) -> dict:
        return {
            "rows_done": self.tally.done,
            "rows_resumed": self.rows_resumed,
            **asdict(self.tally),
        }

    def _report_reading(self, rows_read: int, fraction: float | None) -> None:
        # While reading, the total is not known yet: estimate it from the bytes read.
        total = int(rows_read / fraction) if fraction and self.job.total_rows is None else self.job.total_rows
        self.report(ImportStage.READING, rows_done=rows_read, rows_total=total, rows_resumed=0)


@dataclass
class _Tally:
    """The job's figures so far, kept in memory for progress reports."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    superseded: int = 0
    failed: int = 0

    @classmethod
    def of(cls, job: ImportJob) -> _Tally:
        result = ImportResult.objects.filter(job=job).first()
        return cls(**{name: getattr(result, name) for name in asdict(cls())}) if result else cls()

    @property
    def done(self) -> int:
        return self.inserted + self.updated + self.unchanged + self.superseded + self.failed

    def add(self, batch: Batch, counts: WriteCounts, *, failed: int) -> None:
        self.inserted += counts.inserted
        self.updated += counts.updated
        self.unchanged += counts.unchanged
        self.superseded += batch.superseded
        self.failed += failed


@contextmanager
def _batch_session():
    """Session settings for the batches, on PostgreSQL; reset afterwards.

    * ``synchronous_commit = off`` unless ``IMPORT_SYNCHRONOUS_COMMIT``: batch
      commits do not wait for the WAL flush. Safe for resumable imports: a
      batch's rows, counters and checkpoint commit atomically, so a database
      crash that loses the last few batch commits leaves the job exactly as if
      the worker had died before them, and the resumed run redoes them. The
      job's final state is committed synchronously, which flushes every batch
      before it.
    * ``random_page_cost = 1.1``: each batch drives from a few hundred staged
      rows into indexes that are in memory while an import runs; the default
      cost (4, for spinning disks) makes the planner hash a whole master table
      instead (measured: the items statement 1.4 -> 0.85 ms a batch).
    """
    settings_used = []
    if connection.vendor == "postgresql":
        settings_used.append(("random_page_cost", "1.1"))
        if not settings.IMPORT_SYNCHRONOUS_COMMIT:
            settings_used.append(("synchronous_commit", "off"))
    with connection.cursor() as cursor:
        for name, value in settings_used:
            cursor.execute(f"SET {name} = {value}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for name, _ in settings_used:
                cursor.execute(f"RESET {name}")


def _parents_writer(batches: list[Batch], index: int) -> int | None:
    """The earlier batch (index) that writes an item, color or size batch ``index`` uses, if one is still to run.

    Each parent is written by the batch where it is first needed
    (``Batch.needs_row``); one first needed before this run's first batch
    (a resumed run) is committed already.
    """
    needs_row = batches[index].needs_row
    if needs_row < batches[0].first_row:
        return None
    writer = bisect_left(batches, needs_row, key=lambda batch: batch.last_row)
    return writer if writer < index else None


def _is_transient(exc: OperationalError) -> bool:
    code = getattr(exc.__cause__, "pgcode", None)
    return code in TRANSIENT_SQLSTATES or "database is locked" in str(exc)


def _nothing_read() -> int:
    return 0


def _holds_text(column_type: str) -> bool:
    return column_type in ("name", "text", "code")


def _pieces(rows: list[tuple], texts: list[list]) -> Iterator[list[tuple]]:
    """``rows`` cut into pieces of about :data:`~imports.engine.limits.HELD_CONTENT_CHARS` of text each."""
    start = held = 0
    for i in range(len(rows)):
        held += sum(len(column[i] or "") for column in texts)
        if held > HELD_CONTENT_CHARS:
            yield rows[start : i + 1]
            start, held = i + 1, 0
    if start < len(rows):
        yield rows[start:]


def _fraction_read(table: Table, size: int) -> float | None:
    try:
        return min(1.0, table.bytes_read() / size) if size and table.bytes_read else None
    except (OSError, ValueError):
        return None


def _row_data(names: tuple[str, ...], headers: dict[str, str], values) -> dict[str, str]:
    """A staged row's values under the file's headers, as the failed-rows export writes them."""
    return {headers[name]: _as_text(value) for name, value in zip(names, values, strict=True) if name in headers}


def _as_text(value: object) -> str:
    """A cell as the failed-rows export writes it (JSON for a nested value, so it reads back)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list | bool):
        return json.dumps(value, default=str, ensure_ascii=False)
    return str(value)


strategies.register(UpsertRun)
