"""imports.services: checking files, inline vs queued, claims and locks, orphans, cancel and retry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from django_q.models import OrmQ

from catalog.models import ItemVariant
from imports import runtime, services
from imports.file_checks import FileRefused
from imports.models import ImportJob, ImportRowError, ImportStage, ImportStatus
from imports.services import JobStateError
from mtc.errors import Conflict, Refused
from tests.imports.engine.job_runs import counts, live_variants
from tests.imports.files import stream, variants_csv

pytestmark = pytest.mark.usefixtures("import_env")


def _queued_task_count() -> int:
    return OrmQ.objects.count()


def _new_job(content: bytes, **options) -> ImportJob:
    return services.create_import_job(
        stream=stream(content), file_name="variants.csv", kind="variants", system="upsert", options=options
    )


def _finished(job: ImportJob) -> ImportJob:
    return ImportJob.objects.select_related("result").get(pk=job.pk)


# --- start_import: inline or queued ----------------------------------------------------------


def test_small_file_runs_inline_and_comes_back_finished(db, settings):
    settings.IMPORT_BACKGROUND_THRESHOLD = 30
    job = services.start_import(stream=stream(variants_csv(30)), file_name="v.csv", kind="variants")
    job = _finished(job)
    assert job.status == ImportStatus.COMPLETED
    assert counts(job)["inserted"] == 30
    assert job.file_checksum
    assert job.file.name
    assert _queued_task_count() == 0


def test_file_over_the_threshold_is_queued_pending_with_its_task(db, settings):
    settings.IMPORT_BACKGROUND_THRESHOLD = 30
    job = services.start_import(stream=stream(variants_csv(31)), file_name="v.csv", kind="variants")
    job.refresh_from_db()
    assert job.status == ImportStatus.PENDING
    assert job.task_id
    assert _queued_task_count() == 1
    assert ItemVariant.objects.count() == 0


def test_refused_file_creates_no_job(db):
    with pytest.raises(FileRefused):
        services.start_import(stream=stream(b"name\nx\n"), file_name="v.csv", kind="variants")
    assert ImportJob.objects.count() == 0


# --- the background door: execute_import ---------------------------------------------------


def test_execute_import_runs_a_pending_job_and_is_a_no_op_once_finished(db):
    job = _new_job(variants_csv(25))
    done = runtime.execute_import(import_id=job.pk, worker="w1")
    assert done.status == ImportStatus.COMPLETED
    assert (done.attempts, done.worker) == (1, "w1")
    again = runtime.execute_import(import_id=job.pk, worker="w2")
    assert again.status == ImportStatus.COMPLETED
    assert _finished(job).worker == "w1"
    assert counts(_finished(job))["inserted"] == 25


def test_execute_import_of_a_missing_job_does_nothing(db):
    assert runtime.execute_import(import_id=987654) is None


def _crash_after_batches(job: ImportJob, batches: int) -> ImportJob:
    """Run ``job`` and stop it dead after ``batches`` committed batches, as a killed worker would."""

    class WorkerDied(BaseException):
        pass

    seen = 0

    def die(progress):
        nonlocal seen
        if progress.stage == "writing":
            seen += 1
            if seen == batches:
                raise WorkerDied

    claimed = runtime.claim_job(job_id=job.pk, worker="doomed")
    with pytest.raises(WorkerDied):
        runtime.run_job(claimed, on_progress=die)
    job.refresh_from_db()
    assert job.status == ImportStatus.RUNNING
    return job


def test_orphaned_job_resumes_from_its_checkpoint_with_exact_counts(db, settings):
    content = variants_csv(100, bad_every=7, repeat_every=10)
    clean = _finished(runtime.run_import_now(job=_new_job(content, batch_size=10)))
    clean_counts, clean_state = counts(clean), live_variants()
    clean_errors = list(ImportRowError.objects.filter(job=clean).values_list("row_number", "reason"))
    ItemVariant.all_objects.all().delete()

    job = _crash_after_batches(_new_job(content, batch_size=10), batches=3)
    assert job.checkpoint_row == 30
    settings.IMPORT_STALE_SECONDS = 60
    ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=61))

    resumed = _finished(runtime.execute_import(import_id=job.pk, worker="rescuer"))
    assert resumed.status == ImportStatus.COMPLETED_WITH_ERRORS
    assert (resumed.attempts, resumed.worker) == (2, "rescuer")
    assert counts(resumed) == clean_counts
    assert live_variants() == clean_state
    assert list(ImportRowError.objects.filter(job=resumed).values_list("row_number", "reason")) == clean_errors


def test_a_job_that_loses_its_worker_three_times_fails_keeping_its_batches(db, settings):
    settings.IMPORT_STALE_SECONDS = 60
    job = _crash_after_batches(_new_job(variants_csv(40), batch_size=10), batches=2)
    ImportJob.objects.filter(pk=job.pk).update(
        attempts=runtime.MAX_ATTEMPTS, heartbeat_at=timezone.now() - timedelta(seconds=61)
    )
    failed = _finished(runtime.execute_import(import_id=job.pk))
    assert failed.status == ImportStatus.FAILED
    assert "stopped 3 times" in failed.failure_reason
    assert "rows up to 20" in failed.failure_reason
    assert ItemVariant.objects.count() == 20


def test_a_fresh_heartbeat_protects_a_running_job_only_where_there_is_no_job_lock(db, settings):
    """SQLite has no advisory locks: only an old heartbeat says the worker is gone. On
    PostgreSQL the free job lock already says it (the crashed run here holds none)."""
    settings.IMPORT_STALE_SECONDS = 60
    job = _crash_after_batches(_new_job(variants_csv(40), batch_size=10), batches=1)
    taken = runtime.execute_import(import_id=job.pk)
    if connection.vendor == "postgresql":
        assert taken.status == ImportStatus.COMPLETED
    else:
        assert taken is None
        assert _finished(job).status == ImportStatus.RUNNING


@pytest.mark.postgresql
def test_job_lock_held_elsewhere_means_nobody_else_runs_the_job(transactional_db):
    """A second worker (or a re-delivered task) cannot run a job whose lock another session holds."""
    import psycopg2

    job = _new_job(variants_csv(20))
    params = connection.get_connection_params()
    other = psycopg2.connect(**params)
    holder = other.get_backend_pid()
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [runtime.LOCK_NAMESPACE, job.pk])
        assert runtime.execute_import(import_id=job.pk) is None
        assert _finished(job).status == ImportStatus.PENDING
        with pytest.raises(Conflict, match="cannot be started here: another process is running it"):
            runtime.run_import_now(job=job)
        claimed = runtime.claim_job(job_id=job.pk, worker="elsewhere")
        assert claimed is not None
        assert runtime.find_orphaned_jobs() == []  # running, but its lock is held: alive
    finally:
        other.close()
    _wait_until_gone(holder)  # the server ends a closed session's backend (and its locks) a moment later
    assert [j.pk for j in runtime.find_orphaned_jobs()] == [job.pk]  # the holder is gone


def _wait_until_gone(backend_pid: int, *, seconds: float = 10.0) -> None:
    import time

    deadline = time.monotonic() + seconds
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [backend_pid])
            if cursor.fetchone() is None:
                return
            time.sleep(0.02)
    raise AssertionError(f"backend {backend_pid} still running {seconds}s after its connection closed")


@pytest.mark.postgresql
def test_job_lock_is_released_after_a_run(db):
    job = runtime.run_import_now(job=_new_job(variants_csv(5)))
    with runtime.job_lock(import_id=job.pk) as locked:
        assert locked


# --- recovery ------------------------------------------------------------------------------


def test_recover_orphaned_jobs_queues_each_orphan_once(db, settings):
    settings.IMPORT_STALE_SECONDS = 60
    job = _crash_after_batches(_new_job(variants_csv(40), batch_size=10), batches=1)
    ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=61))
    assert runtime.recover_orphaned_jobs() == [job.pk]
    job.refresh_from_db()
    assert job.stage == ImportStage.REQUEUED
    assert job.task_id
    assert runtime.recover_orphaned_jobs() == []  # queued already, waiting for a worker
    assert _queued_task_count() == 1
    resumed = _finished(runtime.execute_import(import_id=job.pk))
    assert resumed.status == ImportStatus.COMPLETED
    assert counts(resumed)["inserted"] == 40


def test_recover_queues_a_pending_job_whose_process_died_before_queueing_it(db, settings):
    settings.IMPORT_STALE_SECONDS = 60
    fresh = _new_job(variants_csv(3))
    old = _new_job(variants_csv(3))
    ImportJob.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(seconds=61))
    assert runtime.recover_orphaned_jobs() == [old.pk]
    assert ImportJob.objects.get(pk=fresh.pk).task_id == ""
    assert runtime.recover_orphaned_jobs() == []


# --- cancel --------------------------------------------------------------------------------


def test_cancel_a_pending_job_at_once(db):
    job = _new_job(variants_csv(5))
    cancelled = services.cancel_import(job=job)
    assert cancelled.status == ImportStatus.CANCELLED
    assert cancelled.finished_at is not None
    assert "before it started" in cancelled.failure_reason
    assert runtime.execute_import(import_id=job.pk).status == ImportStatus.CANCELLED  # the queued task: no-op
    assert ItemVariant.objects.count() == 0


def test_cancel_a_running_job_stops_at_the_next_batch_and_keeps_committed_ones(db):
    """Asked for between batches 1 and 2, the cancel is read by batch 2's bookkeeping: the run stops after it."""
    job = _new_job(variants_csv(50), batch_size=10)

    def cancel_after_the_first_batch(progress):
        if progress.stage == "writing" and progress.rows_done == 10:
            assert services.cancel_import(job=job).cancel_requested

    done = _finished(runtime.run_import_now(job=job, on_progress=cancel_after_the_first_batch))
    assert done.status == ImportStatus.CANCELLED
    assert done.checkpoint_row == 20
    assert done.result.batches_committed == 2
    assert "rows up to 20" in done.failure_reason
    assert ItemVariant.objects.count() == 20


def test_cancel_a_finished_job_is_refused(db):
    job = runtime.run_import_now(job=_new_job(variants_csv(5)))
    with pytest.raises(JobStateError, match="already finished"):
        services.cancel_import(job=job)


# --- retry ---------------------------------------------------------------------------------


def test_retry_a_cancelled_job_finishes_it_with_the_counts_of_one_clean_run(db):
    content = variants_csv(60, bad_every=9, repeat_every=8)
    clean_counts = counts(_finished(runtime.run_import_now(job=_new_job(content, batch_size=10))))
    clean_state = live_variants()
    ItemVariant.all_objects.all().delete()

    job = _new_job(content, batch_size=10)
    runtime.run_import_now(
        job=job,
        on_progress=lambda p: services.cancel_import(job=job) if p.stage == "writing" and p.rows_done == 30 else None,
    )
    assert _finished(job).status == ImportStatus.CANCELLED

    retried = _finished(services.retry_import(job=_finished(job)))
    assert retried.status == ImportStatus.COMPLETED_WITH_ERRORS
    assert (retried.attempts, retried.cancel_requested, retried.failure_reason) == (1, False, "")
    assert counts(retried) == clean_counts
    assert live_variants() == clean_state


def test_retry_of_a_large_job_is_queued(db, settings):
    settings.IMPORT_BACKGROUND_THRESHOLD = 10
    job = _new_job(variants_csv(20))
    services.cancel_import(job=job)
    retried = services.retry_import(job=_finished(job))
    assert retried.status == ImportStatus.PENDING
    assert retried.task_id
    assert _queued_task_count() == 1


def test_a_json_job_kept_from_when_a_header_row_was_ignored_is_still_retried_and_sized(db, settings):
    settings.IMPORT_BACKGROUND_THRESHOLD = 10
    rows = ",".join(f'{{"item_name": "Shirt", "color_name": "Red", "size_name": "S{n}"}}' for n in range(20))
    job = services.create_import_job(
        stream=stream(f"[{rows}]".encode(), "v.json"), file_name="v.json", file_format="json", options={"header_row": 3}
    )
    services.cancel_import(job=job)
    retried = services.retry_import(job=_finished(job))
    assert retried.status == ImportStatus.PENDING  # 20 rows counted, past the threshold: queued
    assert _queued_task_count() == 1


def test_a_refused_file_is_not_retried_the_same_file_would_be_refused_again(db):
    job = runtime.run_import_now(job=_new_job(b"item_name,color_name\nShirt,Red\n"))
    assert (job.status, job.refused_code, job.is_retryable) == (ImportStatus.FAILED, "wrong_header", False)

    with pytest.raises(JobStateError, match=r"was refused .*fix the file and import it again") as refused:
        services.retry_import(job=_finished(job))

    assert refused.value.code == "not_retryable"
    assert _finished(job).status == ImportStatus.FAILED


def test_retry_refuses_jobs_that_did_not_fail(db):
    job = runtime.run_import_now(job=_new_job(variants_csv(3)))
    with pytest.raises(JobStateError, match="only failed or cancelled"):
        services.retry_import(job=job)


def test_retry_refuses_a_stored_file_that_changed(db):
    job = _new_job(variants_csv(3))
    services.cancel_import(job=job)
    with job.file.open("wb") as target:
        target.write(b"item_name,color_name,size_name\nTampered,Red,M\n")
    with pytest.raises(JobStateError, match="checksum"):
        services.retry_import(job=_finished(job))


def test_progress_reports_keep_the_heartbeat_while_the_file_is_still_being_read(db, monkeypatch):
    monkeypatch.setattr(runtime, "HEARTBEAT_EVERY_SECONDS", 0.0)
    job = _new_job(variants_csv(5001), batch_size=5001)
    beats = []

    def look(progress):
        if progress.stage == "reading":
            beats.append(ImportJob.objects.values_list("heartbeat_at", "started_at").get(pk=job.pk))

    runtime.run_import_now(job=job, on_progress=look)
    assert len(beats) == 1, "one report per 5,000 rows read, before any batch"
    heartbeat, claimed_at = beats[0]
    assert heartbeat > claimed_at


# --- reader options: the number format --------------------------------------------------------

TWO_WAY = b"item_name,color_name,size_name,stock\nShirt,Red,M,1.000\nShirt,Red,L,7\n"


def test_an_unknown_number_format_is_refused_before_any_job(db):
    with pytest.raises(Refused) as refused:
        services.start_import(
            stream=stream(TWO_WAY), file_name="v.csv", kind="variants", options={"number_format": "roman"}
        )
    assert refused.value.code == "invalid_number_format"
    assert "use one of auto, point, comma" in str(refused.value)
    assert not ImportJob.objects.exists()


def test_checking_again_with_a_number_format_reads_the_same_file_with_it_and_the_import_keeps_it(db):
    first = services.start_import(stream=stream(TWO_WAY), file_name="v.csv", kind="variants", dry_run=True)
    assert _finished(first).result.failed == 1  # 1.000: one, or one thousand?

    again = _finished(services.check_again(dry_run_job=first, mapping={}, options={"number_format": "comma"}))
    assert (again.options["number_format"], again.result.failed, again.result.inserted) == ("comma", 0, 2)

    imported = services.import_checked_file(dry_run_job=again)
    assert imported.options["number_format"] == "comma"
    assert ItemVariant.objects.get(size__size_name="M").stock == 1000


def test_a_retried_job_reads_numbers_in_its_chosen_format(db):
    job = _new_job(TWO_WAY, number_format="point", max_rows=1)
    job = runtime.run_import_now(job=job)
    assert job.status == ImportStatus.FAILED  # two rows, one allowed
    ImportJob.objects.filter(pk=job.pk).update(options={**job.options, "max_rows": 5})
    job.refresh_from_db()
    retried = _finished(services.retry_import(job=job))
    assert retried.status == ImportStatus.COMPLETED, retried.failure_reason
    assert ItemVariant.objects.get(size__size_name="M").stock == 1


# --- header rows and line numbers (issue 12) ----------------------------------------------------

#: A title, a note and a blank line above the header (line 4); row 2 (line 6) has a bad price.
TITLED = (
    b"Spring catalogue 2026, supplier Miller\n"
    b"Prices in EUR; valid until 31 March\n"
    b"\n"
    b"Article;Colour;Size;Retail price\n"
    b"Shirt;Red;M;12,50\n"
    b"Hat;Blue;L;-3\n"
)


def test_a_title_above_the_header_is_skipped_and_failed_rows_get_the_sheets_own_line():
    job = services.start_import(stream=stream(TITLED), file_name="titled.csv", kind="variants", system="upsert")

    assert (job.status, job.result.inserted, job.result.failed) == (ImportStatus.COMPLETED_WITH_ERRORS, 1, 1)
    assert (job.options["header_row"], job.options["delimiter"], job.header_row) == (4, ";", 4)
    error = ImportRowError.objects.get(job=job)
    assert (error.row_number, job.line_number(error.row_number)) == (2, 6)
    assert job.mapping == {"Article": "item_name", "Colour": "color_name", "Size": "size_name", "Retail price": "price"}


def test_the_header_row_the_check_found_is_the_one_a_background_run_and_a_retry_read(monkeypatch):
    job = services.start_import(
        stream=stream(TITLED), file_name="titled.csv", kind="variants", system="upsert", background=True
    )
    assert job.options["header_row"] == 4  # stored with the job before any run
    # A run never looks for the header again: it reads the line the check found.
    monkeypatch.setattr("imports.engine.header_rows.HEADER_SEARCH_ROWS", 1)
    runtime.run_import_now(job=job)
    job.refresh_from_db()
    assert (job.status, job.result.inserted, job.options["detected_header_row"]) == (
        ImportStatus.COMPLETED_WITH_ERRORS,
        1,
        4,
    )


def test_a_header_row_named_by_the_user_is_read_and_kept():
    content = "item_name,color_name,size_name\nArtikel,Farbe,Größe\nShirt,Rot,M\n".encode()
    job = services.start_import(
        stream=stream(content), file_name="f.csv", kind="variants", system="upsert", options={"header_row": 2}
    )
    assert (job.options["header_row"], job.result.inserted) == (2, 1)
    assert ItemVariant.objects.get().color.color_name == "Rot"


@pytest.mark.parametrize("header_row", [0, -1, 1001, "3", True])
def test_a_header_row_out_of_range_is_refused_before_any_job(header_row):
    with pytest.raises(Refused) as refused:
        services.start_import(
            stream=stream(TITLED), file_name="f.csv", kind="variants", options={"header_row": header_row}
        )
    assert refused.value.code == "invalid_header_row"
    assert not ImportJob.objects.exists()


def test_checking_again_with_another_header_row_reads_that_lines_columns():
    content = b"Catalogue\nitem_name,color_name,size_name\nShirt,Red,M\n"
    first = services.start_import(
        stream=stream(content),
        file_name="f.csv",
        kind="variants",
        dry_run=True,
        require_mapping=False,
        options={"header_row": 1},
    )
    assert first.status == ImportStatus.FAILED  # "Catalogue" places no required field
    again = services.check_again(dry_run_job=first, mapping={}, options={"header_row": 2})
    assert (again.status, again.options["header_row"], again.result.inserted) == (ImportStatus.COMPLETED, 2, 1)
    assert again.mapping == {"item_name": "item_name", "color_name": "color_name", "size_name": "size_name"}


def test_json_lines_rows_are_numbered_by_the_files_line_and_a_job_from_before_has_no_line():
    content = (
        b'{"item_name": "Shirt", "color_name": "Red", "size_name": "M"}\n\n{"item_name": "", "color_name": "Red"}\n'
    )
    job = services.start_import(stream=stream(content), file_name="v.jsonl", kind="variants", system="upsert")
    error = ImportRowError.objects.get(job=job)
    assert (job.header_row, error.row_number, job.line_number(error.row_number)) == (None, 3, 3)

    old = _new_job(TITLED)  # a CSV job whose header line was never recorded (before header rows were kept)
    assert (old.header_row, old.line_number(2)) == (None, None)
