"""Several batches of one import at once (``imports.engine.lanes``): exactly the single stream's import.

The turn-taking itself is plain threads (no database); the engine's use of it
runs on PostgreSQL for real, outside a test transaction (each lane is its own
session and must see what the run committed), against the same import with
one lane.
"""

from __future__ import annotations

import io
import threading
import time
from contextlib import nullcontext

import pytest
from django.db import OperationalError, connection
from django.test import override_settings

from catalog.kinds import KINDS
from catalog.models import Color, Item, ItemVariant, Size
from imports.engine import lanes, upsert
from imports.engine import run as run_module
from imports.engine.lanes import Turns, write_in_lanes
from imports.engine.run import UpsertRun, run_job
from imports.engine.staging import Staging, drop_abandoned
from imports.models import ImportJob, ImportRowError, ImportStatus
from imports.runtime import claim_job, recover_orphaned_jobs
from imports.services import create_import_job
from tests.imports.engine.job_runs import VARIANT_HEADER, counts, csv_bytes, live_variants, make_variant

# --- turns, without a database ----------------------------------------------------------------


def _committing(order: list[int], *, slow: dict[int, float] | None = None, fail: int | None = None):
    """A ``write`` that works (sleeping ``slow[index]``), waits for its turn, then commits into ``order``."""

    def write(index: int, batch: str, turns: Turns) -> None:
        time.sleep((slow or {}).get(index, 0))
        if index == fail:
            raise ValueError(f"batch {index} failed")
        turns.wait(index, committed=index)
        order.append(index)
        turns.commit()

    return write


def test_batches_commit_in_file_order_whatever_order_their_work_ends():
    order: list[int] = []
    write_in_lanes(list("abcdef"), lanes=3, write=_committing(order, slow={0: 0.2, 3: 0.1}), session=nullcontext)
    assert order == [0, 1, 2, 3, 4, 5]


def test_a_failed_batch_stops_the_later_ones_and_the_earlier_ones_still_commit():
    order: list[int] = []
    with pytest.raises(ValueError, match="batch 3 failed"):
        write_in_lanes(list("abcdefgh"), lanes=2, write=_committing(order, slow={2: 0.2}, fail=3), session=nullcontext)
    assert order == [0, 1, 2]


def test_the_earliest_batch_to_fail_is_the_one_raised_even_when_it_fails_last():
    def write(index: int, batch: str, turns: Turns) -> None:
        time.sleep(0.2 if index == 0 else 0)
        raise ValueError(f"batch {index} failed")

    with pytest.raises(ValueError, match="batch 0 failed"):
        write_in_lanes(list("abc"), lanes=3, write=write, session=nullcontext)


def test_a_lane_whose_connection_cannot_open_fails_its_first_batch():
    order: list[int] = []

    def session():
        if threading.current_thread() is not threading.main_thread():
            raise OperationalError("could not connect")
        return nullcontext()

    with pytest.raises(OperationalError, match="could not connect"):
        write_in_lanes(list("abcd"), lanes=2, write=_committing(order), session=session)
    assert order == [0]


def test_a_turn_wait_gives_up_after_its_timeout():
    turns = Turns()
    assert not turns.wait(1, committed=1, timeout=0.05)
    turns.commit()
    assert turns.wait(1, committed=1, timeout=0.05)


def test_one_lane_is_the_plain_loop_on_the_calling_thread():
    threads: set[str] = set()

    def write(index: int, batch: str, turns: Turns) -> None:
        threads.add(threading.current_thread().name)
        turns.commit()

    write_in_lanes(list("abc"), lanes=1, write=write, session=nullcontext)
    assert threads == {threading.current_thread().name}


def test_patience_grows_with_the_batch_but_never_below_the_minimum():
    assert lanes.patience(0.01) == lanes.MIN_PATIENCE_SECONDS
    assert lanes.patience(3.0) == 6.0


# --- the engine on several connections (PostgreSQL, committed for real) -------------------------


def on_postgresql(test):
    """PostgreSQL, outside a test transaction: the lanes' own sessions see what the run commits."""
    return pytest.mark.postgresql(pytest.mark.django_db(transaction=True)(test))


def _mixed_file() -> bytes:
    """Forty rows over many batches of 3: items that span batches, repeats, bad rows, new and changed rows."""
    rows = []
    for n in range(40):
        item = f"Item {n // 4}"  # four rows an item: most items span two batches of three
        color = ("Red", "Blue", "Green")[n % 3]
        size = f"S{n % 5}"
        price = "oops" if n in (7, 23) else f"{n}.50"
        rows.append((item, f"about item {n // 4}", color, size, f"SKU-{n}", price, str(n)))
    rows.append(("Item 2", "item 2, final words", "Blue", "S0", "SKU-REPEAT", "1.00", "1"))  # supersedes row 11
    rows.append(("Item 0", "about item 0", "Red", "S0", "SKU-0", "0.50", "0"))  # supersedes row 1; as stored
    return csv_bytes(VARIANT_HEADER, rows)


def _seed() -> None:
    make_variant("Item 0", "Red", "S0", sku="SKU-0", price="0.50", stock=0, description="about item 0")
    make_variant("Item 1", "Green", "S3", sku="OLD", price="9.00", stock=9, description="stale words")


def _end_state() -> dict:
    return {
        "variants": live_variants(),
        "items": sorted(Item.objects.values_list("name", "description")),
        "colors": sorted(Color.objects.values_list("color_name", flat=True)),
        "sizes": sorted(Size.objects.values_list("size_name", flat=True)),
    }


def _import(content: bytes, *, on_progress=None) -> ImportJob:
    job = create_import_job(stream=io.BytesIO(content), file_name="f.csv", system="upsert")
    job = run_job(claim_job(job_id=job.pk), on_progress=on_progress)
    return ImportJob.objects.select_related("result").get(pk=job.pk)


def _errors(job: ImportJob) -> list[tuple]:
    return list(ImportRowError.objects.filter(job=job).order_by("row_number").values_list("row_number", "reason"))


def _clear_catalog() -> None:
    ItemVariant.objects.all().delete()
    Item.objects.all().delete()
    Color.objects.all().delete()
    Size.objects.all().delete()


def _backends(monkeypatch) -> set[int]:
    """The database sessions that write ranges from now on (each lane is one)."""
    pids: set[int] = set()
    write_range = UpsertRun._write_range

    def spied(self, *args, **kwargs):
        pids.add(connection.connection.info.backend_pid)
        return write_range(self, *args, **kwargs)

    monkeypatch.setattr(UpsertRun, "_write_range", spied)
    return pids


def _run_twice(content: bytes, monkeypatch, *, parallel: int, **settings) -> list[tuple]:
    """The same import from the same catalog, on one connection and on ``parallel``: their outcomes."""
    outcomes = []
    for batches_at_once in (1, parallel):
        _clear_catalog()
        _seed()
        pids = _backends(monkeypatch)
        with override_settings(IMPORT_BATCH_SIZE=3, IMPORT_PARALLEL_BATCHES=batches_at_once, **settings):
            job = _import(content)
        assert len(pids) == batches_at_once  # the lanes really were separate sessions
        outcomes.append((_end_state(), counts(job), job.checkpoint_row, _errors(job), job.status))
    return outcomes


@pytest.mark.parametrize("parallel", [2, 3])
@on_postgresql
def test_an_import_on_several_connections_ends_exactly_as_on_one(parallel, monkeypatch):
    looked_for_orphans = []
    orphaned_rows = upsert._orphaned_rows
    monkeypatch.setattr(upsert, "_orphaned_rows", lambda span: looked_for_orphans.append(span) or orphaned_rows(span))
    single, several = _run_twice(_mixed_file(), monkeypatch, parallel=parallel)
    assert several == single
    # Each batch waited for the batches writing its items, colors and sizes: none was missing one.
    assert looked_for_orphans == []
    assert single[1] == {"total_rows": 42, "inserted": 37, "updated": 0, "unchanged": 1, "superseded": 2, "failed": 2}
    assert ("Item 2", "item 2, final words") in single[0]["items"]
    assert ("Item 1", "about item 1") in single[0]["items"]


@on_postgresql
def test_without_waiting_for_the_batch_that_writes_its_items_a_batch_still_counts_exactly(monkeypatch):
    """The fallback under ``needs_row``: rows whose item was not committed yet are written again, counted once."""
    batches = Staging.batches
    monkeypatch.setattr(Staging, "batches", lambda self, **kwargs: batches(self, **{**kwargs, "needs": False}))
    single, several = _run_twice(_mixed_file(), monkeypatch, parallel=3)
    assert several == single


@on_postgresql
def test_a_batch_that_waits_too_long_for_its_turn_rolls_back_and_is_written_again(monkeypatch):
    """No patience, the second batch slow: the third, done first, gives up its locks and is written again."""
    monkeypatch.setattr(run_module, "patience", lambda work_seconds: 0.0)
    redone = []
    await_turn = UpsertRun._await_turn

    def counted(self, index, turns, *, work_seconds):
        try:
            await_turn(self, index, turns, work_seconds=work_seconds)
        except lanes.OutOfTurn:
            redone.append(index)
            raise

    monkeypatch.setattr(UpsertRun, "_await_turn", counted)
    _batch_slow(monkeypatch, first_row=4)
    # One item a row, one color and size (first needed by the first batch): no batch waits for the second.
    content = csv_bytes(VARIANT_HEADER, [(f"Item {n}", "", "Red", "M", f"SKU-{n}", "", "") for n in range(12)])
    single, several = _run_twice(content, monkeypatch, parallel=3)
    assert several == single
    assert 2 in redone


def _batch_slow(monkeypatch, *, first_row: int, seconds: float = 0.3) -> None:
    write_range = UpsertRun._write_range

    def slow(self, first, *args, **kwargs):
        if first == first_row:
            time.sleep(seconds)
        return write_range(self, first, *args, **kwargs)

    monkeypatch.setattr(UpsertRun, "_write_range", slow)


@on_postgresql
def test_progress_and_the_checkpoint_move_in_file_order(monkeypatch):
    """However the lanes' work interleaves (the first batch made slow), reports come batch after batch."""
    _batch_slow(monkeypatch, first_row=1)
    reports = []
    with override_settings(IMPORT_BATCH_SIZE=3, IMPORT_PARALLEL_BATCHES=3):
        job = _import(_mixed_file(), on_progress=lambda p: p.stage == "writing" and reports.append(p.rows_done))
    assert job.status == ImportStatus.COMPLETED_WITH_ERRORS
    assert reports == [min(3 * n, 42) for n in range(1, 15)]


@on_postgresql
def test_a_cancel_stops_every_lane_at_the_batch_that_read_it_and_a_resumed_run_finishes_exactly(monkeypatch):
    content = _mixed_file()
    _seed()
    with override_settings(IMPORT_BATCH_SIZE=3, IMPORT_PARALLEL_BATCHES=3):
        job = create_import_job(stream=io.BytesIO(content), file_name="f.csv", system="upsert")

        def cancel_after_two_batches(progress):
            if progress.stage == "writing" and progress.rows_done == 6:
                ImportJob.objects.filter(pk=job.pk).update(cancel_requested=True)

        job = run_job(claim_job(job_id=job.pk), on_progress=cancel_after_two_batches)
        assert job.status == ImportStatus.CANCELLED
        # The flag is read by the third batch's bookkeeping: it commits, no later batch does.
        assert job.checkpoint_row == 9
        assert not ItemVariant.objects.filter(sku__in=[f"SKU-{n}" for n in range(9, 40)]).exists()
        assert ItemVariant.objects.filter(sku__in=[f"SKU-{n}" for n in range(1, 9)]).count() == 7  # row 8 is bad

        ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.PENDING, cancel_requested=False)
        job = run_job(claim_job(job_id=job.pk))
    resumed = (_end_state(), counts(ImportJob.objects.select_related("result").get(pk=job.pk)))
    single, _ = _run_twice(content, monkeypatch, parallel=2)
    assert resumed == (single[0], single[1])


@on_postgresql
def test_a_timeout_says_exactly_what_was_kept_when_earlier_batches_were_still_in_flight(monkeypatch):
    """The lane that sees the timeout waits for the batches before its own to commit, then says what was kept."""
    _batch_slow(monkeypatch, first_row=7, seconds=1.2)  # the third batch outlives the time limit
    content = csv_bytes(VARIANT_HEADER, [(f"Item {n}", "", "Red", "M", f"SKU-{n}", "", "") for n in range(18)])
    with override_settings(IMPORT_BATCH_SIZE=3, IMPORT_PARALLEL_BATCHES=2, IMPORT_TIMEOUT_SECONDS=1):
        job = _import(content)
    assert job.status == ImportStatus.FAILED
    assert job.failure_reason.startswith("Timed out after")
    assert f"rows up to {job.checkpoint_row:,} are committed" in job.failure_reason
    assert ItemVariant.objects.count() == job.checkpoint_row


@on_postgresql
def test_a_database_failure_in_one_batch_keeps_exactly_the_batches_before_it(monkeypatch):
    write_range = UpsertRun._write_range

    def fourth_batch_fails(self, first_row, *args, **kwargs):
        if first_row == 10:
            with connection.cursor() as cursor:
                cursor.execute("SELECT * FROM a_table_that_is_not_there")
        return write_range(self, first_row, *args, **kwargs)

    monkeypatch.setattr(UpsertRun, "_write_range", fourth_batch_fails)
    with override_settings(IMPORT_BATCH_SIZE=3, IMPORT_PARALLEL_BATCHES=3):
        job = _import(_mixed_file())
    assert job.status == ImportStatus.FAILED
    assert "rows up to 9 are committed" in job.failure_reason
    assert job.checkpoint_row == 9
    assert job.result.batches_committed == 3
    skus = set(ItemVariant.objects.values_list("sku", flat=True))
    assert skus == {f"SKU-{n}" for n in range(1, 9) if n != 7}


@on_postgresql
def test_batches_say_which_earlier_batch_writes_the_items_they_use():
    """``needs_row``: the last row before the batch at which a parent it uses is first needed."""
    content = csv_bytes(
        VARIANT_HEADER,
        [
            ("Shirt", "", "Red", "M", "", "", ""),  # 1: Shirt, Red, M first needed
            ("Hat", "", "Red", "L", "", "", ""),  # 2
            ("Cap", "", "Blue", "M", "", "", ""),  # 3: batch 1 ends
            ("Shirt", "", "Red", "L", "", "", ""),  # 4: Shirt (1), Red (1), L (2)
            ("Hat", "", "Blue", "M", "", "", ""),  # 5: Hat (2), Blue (3): the latest
            ("Sock", "", "Blue", "M", "", "", ""),  # 6: Sock first needed here
        ],
    )
    job = create_import_job(stream=io.BytesIO(content), file_name="f.csv", system="upsert")
    run = UpsertRun(claim_job(job_id=job.pk))
    try:
        run._stage()
        first, second = run.staging.batches(size=3, needs=True)
        assert (first.needs_row, second.needs_row) == (0, 3)  # Sock is the second batch's own to write
        (after_checkpoint,) = run.staging.batches(size=3, after_row=3, needs=True)
        assert after_checkpoint.needs_row == 3  # committed already: the run does not wait for it
        assert [batch.needs_row for batch in run.staging.batches(size=3)] == [0, 0]
    finally:
        run.clean_up()


@on_postgresql
def test_the_sweeper_drops_staging_tables_left_by_runs_that_are_over():
    over, running = (
        Staging(kind=KINDS.get("variants"), run_id=999_001),
        Staging(kind=KINDS.get("variants"), run_id=999_002),
    )
    for staging in (over, running):
        staging.create()
    try:
        assert drop_abandoned(running=lambda: [999_002]) == [over.table]
        assert _staging_tables() == {running.table}
        recover_orphaned_jobs()  # no job is running: the sweeper drops the rest
        assert _staging_tables() == set()
    finally:
        over.drop()
        running.drop()


def _staging_tables() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE tablename LIKE %s", ["import\\_staging\\_%"])
        return {table for (table,) in cursor.fetchall()}
