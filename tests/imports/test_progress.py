"""imports.progress: the figures, the terminal bar, and the tracker (Redis, else the job row)."""

from __future__ import annotations

import json
import logging

import pytest
import redis

from imports import runtime, services
from imports.models import ImportJob, ImportStatus
from imports.progress import Progress, _key, publish_progress, read_progress, render_bar
from mtc.outages import REDIS_OUTAGE
from tests.imports.files import stream, variants_csv

pytestmark = pytest.mark.usefixtures("import_env")

REDIS_URL = "redis://127.0.0.1:6379/13"


@pytest.fixture
def redis_tracker(settings):
    """The tracker on the machine's Redis (a database of its own, emptied of our keys after)."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.fail(f"No Redis at {REDIS_URL}: these tests need the machine's Redis server running.")
    settings.RATELIMIT_STORAGE_URL = REDIS_URL
    settings.REDIS_PROGRESS_EXPIRY = 120
    yield client
    for key in client.scan_iter(f"{_key(0)[:-1]}*"):
        client.delete(key)


def _job(rows: int = 30, **options) -> ImportJob:
    return services.create_import_job(
        stream=stream(variants_csv(rows)), file_name="v.csv", kind="variants", system="upsert", options=options
    )


def test_progress_figures():
    progress = Progress(import_id=1, stage="writing", rows_done=250, rows_total=1000, elapsed_seconds=5.0)
    assert (progress.percent, progress.rows_per_second, progress.eta_seconds) == (25.0, 50.0, 15.0)
    unknown = Progress(import_id=1, stage="reading", rows_done=0, rows_total=None, elapsed_seconds=0.0)
    assert (unknown.percent, unknown.rows_per_second, unknown.eta_seconds) == (None, None, None)


def test_render_bar_shows_bar_percent_rows_rate_and_eta():
    line = render_bar(Progress(import_id=1, stage="writing", rows_done=500, rows_total=1000, elapsed_seconds=2.0))
    assert line.startswith("[" + "#" * 15 + "." * 15 + "]")
    assert " 50.0%" in line
    assert "500/1,000 rows" in line
    assert "250 rows/s" in line
    assert "ETA 2s" in line


def test_without_redis_progress_comes_from_the_job_row(db):
    job = runtime.run_import_now(job=_job(40, batch_size=10))
    assert publish_progress(Progress(job.pk, "writing", 1, 2, 0.1)) is False
    job = ImportJob.objects.select_related("result").get(pk=job.pk)
    data = read_progress(job=job)
    assert data["source"] == "database"
    assert (data["status"], data["stage"], data["rows_done"], data["rows_total"], data["percent"]) == (
        ImportStatus.COMPLETED,
        "done",
        40,
        40,
        100.0,
    )
    assert data["inserted"] == 40


def test_a_pending_job_reads_as_waiting(db):
    data = read_progress(job=_job())
    assert (data["stage"], data["rows_done"], data["percent"], data["source"]) == ("waiting", 0, None, "database")


def test_every_batch_is_published_to_redis_with_the_expiry(db, redis_tracker):
    job = _job(40, batch_size=10)
    stored = []

    def snapshot(progress):
        stored.append((json.loads(redis_tracker.get(_key(job.pk))), redis_tracker.ttl(_key(job.pk))))

    runtime.run_import_now(job=job, on_progress=snapshot)
    writing = [data for data, _ in stored if data["stage"] == "writing"]
    assert [data["rows_done"] for data in writing] == [10, 20, 30, 40]
    assert [data["percent"] for data in writing] == [25.0, 50.0, 75.0, 100.0]
    assert all(0 < ttl <= 120 for _, ttl in stored)


def test_a_running_job_reads_from_redis_and_a_finished_one_from_its_row(db, redis_tracker):
    job = _job(40, batch_size=10)
    runtime.claim_job(job_id=job.pk)
    publish_progress(Progress(job.pk, "reading", 5000, 20000, 2.0, inserted=0))
    job.refresh_from_db()
    live = read_progress(job=job)
    assert (live["source"], live["stage"], live["rows_done"], live["percent"], live["eta_seconds"]) == (
        "redis",
        "reading",
        5000,
        25.0,
        6.0,
    )
    assert live["status"] == ImportStatus.RUNNING
    assert live["updated_at"]

    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.FAILED)
    job.refresh_from_db()
    assert read_progress(job=job)["source"] == "database"


def test_an_unreachable_redis_never_stops_an_import_and_is_one_warning(db, settings, caplog):
    settings.RATELIMIT_STORAGE_URL = "redis://127.0.0.1:1/0"
    REDIS_OUTAGE.reset()
    caplog.set_level(logging.WARNING)
    try:
        job = runtime.run_import_now(job=_job(200, batch_size=10))  # 20 batches, each publishing progress
        assert job.status == ImportStatus.COMPLETED
        assert read_progress(job=progress_job(job))["source"] == "database"
    finally:
        REDIS_OUTAGE.reset()
    warnings = [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert [record.name for record in warnings] == ["mtc.outages"]  # was a traceback per batch (issue 11)
    assert warnings[0].exc_info is None


def progress_job(job: ImportJob) -> ImportJob:
    return ImportJob.objects.select_related("result").get(pk=job.pk)
