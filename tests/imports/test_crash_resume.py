"""A real background worker (``manage.py qcluster`` subprocesses) on the test database.

* End to end: a file POSTed to the API is queued, run by the worker, and its
  progress is seen moving (through Redis) until it is ``completed``.
* Crash safety: the worker is killed with SIGKILL in the middle of an import,
  a new worker starts, picks the job up and resumes it from its last committed
  batch; the final state (job, counts, failed rows, masters) is exactly that
  of one clean run of the same file.

PostgreSQL only: the worker is another process and must see committed data
(``transactional_db``), and a dead worker is recognised by its released
advisory job lock.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection

from catalog.models import Color, Item, ItemVariant, Size
from imports import runtime, services
from imports.models import ImportJob, ImportResult, ImportRowError, ImportStatus
from tests.imports.engine.job_runs import counts, live_variants
from tests.imports.files import COLORS, SIZES, stream, variant_row, variants_csv

pytestmark = [pytest.mark.postgresql, pytest.mark.slow, pytest.mark.usefixtures("import_env")]

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = "redis://127.0.0.1:6379/13"
ROWS = 20_000
BATCH = 100
#: Guards against a hang only: every wait normally ends within seconds.
DEADLINE_SECONDS = 90


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@contextmanager
def qcluster(log: Path, *, progress_url: str = ""):
    """A background worker on the test database and media root, with small batches; yields the process."""
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "USE_NEW_IMPORT_SYSTEM": "true",
        "IMPORT_BATCH_SIZE": str(BATCH),
        "QUEUE_WORKERS": "1",
        "QUEUE_REDIS_URL": "",
        "RATELIMIT_STORAGE_URL": progress_url,
        "PYTHONUNBUFFERED": "1",
    }
    with log.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the cluster and its workers
        )
    try:
        yield process
    finally:
        # Nothing of the worker's is needed once a test is done with it (and a
        # graceful qcluster stop takes seconds): stop the whole group at once.
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_for(
    condition, what: str, log: Path | list[Path], *, every: float = 0.02, deadline_seconds: float = DEADLINE_SECONDS
):
    """``condition()``'s first truthy value; past the deadline, fail with the tail of each process's log."""
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    if isinstance(log, Path):
        pytest.fail(f"gave up waiting for {what}; worker log:\n{log.read_text()[-4000:]}")
    tails = "\n".join(f"--- {each.name}\n{each.read_text()[-3000:]}" for each in log)
    pytest.fail(f"gave up waiting for {what}\n{tails}")


def _job(pk: int) -> ImportJob:
    return ImportJob.objects.select_related("result").get(pk=pk)


# --- end to end --------------------------------------------------------------------------------


def test_a_posted_file_runs_in_the_worker_with_progress_moving_to_completed(transactional_db, api, settings, tmp_path):
    client = redis.Redis.from_url(REDIS_URL)
    client.ping()
    settings.RATELIMIT_STORAGE_URL = REDIS_URL  # this process reads the progress the worker publishes
    settings.IMPORT_BACKGROUND_THRESHOLD = 1000
    log = tmp_path / "qcluster.log"

    with qcluster(log, progress_url=REDIS_URL):
        response = api.post(
            "/api/imports/", {"file": stream(variants_csv(ROWS), "big.csv"), "kind": "variants"}, format="multipart"
        )
        assert response.status_code == 202, response.content
        url = response.json()["url"]
        seen = []

        def finished():
            body = api.get(url).json()
            seen.append(body["progress"])
            return body if body["status"] in ImportStatus.finished() else None

        body = wait_for(finished, "the import to finish", log, every=0.05)

    assert body["status"] == "completed", body["failure_reason"]
    assert (body["total_rows"], body["inserted"], body["failed"]) == (ROWS, ROWS, 0)
    assert body["batches_committed"] == ROWS // BATCH
    assert ItemVariant.objects.count() == ROWS

    writing = [p for p in seen if p["stage"] == "writing"]
    done = [p["rows_done"] for p in writing]
    assert done == sorted(done), "progress never goes backwards"
    assert len({d for d in done if 0 < d < ROWS}) >= 3, f"progress seen moving, got {done}"
    assert {p["source"] for p in writing} == {"redis"}
    assert all(p["rows_total"] == ROWS for p in writing)
    assert seen[-1]["percent"] == 100.0
    assert seen[-1]["source"] == "database"


# --- SIGKILL mid-import, restart, resume --------------------------------------------------------


def seed_catalog() -> None:
    """The same starting state for both runs: some keys of the file exist, half with other values."""
    for i in range(1, 401, 3):
        name, description, color, size, sku, price, stock = variant_row(i)
        item = Item.objects.get_or_create(name=name, defaults={"description": description})[0]
        color_row = Color.objects.get_or_create(color_name=color)[0]
        size_row = Size.objects.get_or_create(size_name=size)[0]
        changed = i % 2 == 0
        ItemVariant.objects.create(
            item=item,
            color=color_row,
            size=size_row,
            sku=sku,
            price=Decimal(price) + (1 if changed else 0),
            stock=int(stock),
        )
    assert {c.color_name for c in Color.objects.all()} <= set(COLORS)
    assert {s.size_name for s in Size.objects.all()} <= set(SIZES)


def empty_catalog_and_jobs() -> None:
    ImportRowError.objects.all().delete()
    ImportResult.objects.all().delete()
    ImportJob.objects.all().delete()
    ItemVariant.all_objects.all().delete()
    for model in (Item, Color, Size):
        model.all_objects.all().delete()


def outcome(job: ImportJob) -> dict:
    return {
        "status": job.status,
        "counts": counts(job),
        "batches_and_rows": (job.result.batches_committed, job.rows_processed, job.checkpoint_row),
        "row_errors": list(
            ImportRowError.objects.filter(job=job).order_by("row_number").values_list("row_number", "reason")
        ),
        "variants": live_variants(),
        "items": set(Item.objects.values_list("name", "description")),
    }


def test_a_worker_killed_mid_import_is_resumed_by_the_next_one_with_the_figures_of_a_clean_run(
    transactional_db, tmp_path
):
    content = variants_csv(ROWS, bad_every=97, repeat_every=50)
    seed_catalog()
    job = services.create_import_job(
        stream=stream(content), file_name="crash.csv", kind="variants", system="upsert", source="api"
    )
    log = tmp_path / "qcluster.log"

    with qcluster(log) as first:
        runtime.queue_import(job=job)
        wait_for(
            lambda: ImportJob.objects.filter(pk=job.pk, checkpoint_row__gte=20 * BATCH).exists(),
            "some batches to be committed",
            log,
        )
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()

    crashed = _job(job.pk)
    assert crashed.status == ImportStatus.RUNNING, "killed before it could finish"
    assert 0 < crashed.checkpoint_row < ROWS
    assert crashed.result.batches_committed == crashed.checkpoint_row // BATCH
    assert crashed.attempts == 1
    # The dead worker's database session goes away with it, and with it the job lock.
    wait_for(lambda: runtime.find_orphaned_jobs(), "the dead worker's session to end", log)

    with qcluster(log):
        wait_for(lambda: _job(job.pk).is_finished, "the job to be resumed and finished", log, every=0.1)

    resumed = _job(job.pk)
    assert resumed.attempts == 2, "run once more, by the new worker"
    assert "resumes after row" in log.read_text()
    after_crash = outcome(resumed)

    # The same file, from the same starting state, in one clean run.
    empty_catalog_and_jobs()
    seed_catalog()
    clean_job = services.create_import_job(
        stream=stream(content), file_name="clean.csv", kind="variants", system="upsert", options={"batch_size": BATCH}
    )
    clean = outcome(_job(runtime.run_import_now(job=clean_job).pk))

    assert clean["status"] == ImportStatus.COMPLETED_WITH_ERRORS
    assert clean["counts"]["updated"] > 0
    assert clean["counts"]["unchanged"] > 0
    assert clean["counts"]["superseded"] > 0
    assert after_crash == clean
