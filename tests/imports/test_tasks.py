"""imports.tasks: the worker's entry points, its configuration, the sweeper's schedule."""

from __future__ import annotations

import ast
import importlib
import logging
from datetime import timedelta

import psycopg2
import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_q.models import OrmQ, Schedule
from django_q.signals import post_spawn

from catalog.models import ItemVariant
from imports import runtime, services, tasks
from imports.models import ImportJob, ImportStage, ImportStatus
from tests.imports.files import stream, variants_csv

pytestmark = pytest.mark.usefixtures("import_env")

sweeper_migration = importlib.import_module("imports.migrations.0003_orphaned_imports_schedule")


def _job(rows: int = 20, **options) -> ImportJob:
    return services.create_import_job(
        stream=stream(variants_csv(rows)), file_name="v.csv", kind="variants", system="upsert", options=options
    )


def test_worker_settings_follow_the_import_timeout():
    """Task timeout = IMPORT_TIMEOUT_SECONDS + a margin; 3 attempts; re-delivery only after the timeout."""
    q = settings.Q_CLUSTER
    assert q["timeout"] > settings.IMPORT_TIMEOUT_SECONDS
    assert q["retry"] > q["timeout"]
    assert q["max_attempts"] == runtime.MAX_ATTEMPTS == 3


def test_run_import_runs_the_job_and_reports_its_status(db):
    job = _job()
    assert tasks.run_import(job.pk) == {"import_id": job.pk, "status": ImportStatus.COMPLETED}
    job.refresh_from_db()
    assert job.worker == runtime.worker_name()
    assert tasks.run_import(job.pk) == {"import_id": job.pk, "status": ImportStatus.COMPLETED}  # re-delivered


def test_queue_import_puts_the_task_on_the_broker(db):
    job = runtime.queue_import(job=_job())
    task = OrmQ.objects.get()
    assert (task.func(), task.task["args"]) == ("imports.tasks.run_import", (job.pk,))
    assert task.task_id() == ImportJob.objects.get(pk=job.pk).task_id


def test_a_worker_process_starting_queues_orphaned_jobs(db, settings):
    settings.IMPORT_STALE_SECONDS = 30
    job = _job()
    runtime.claim_job(job_id=job.pk, worker="dead-worker")
    ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=31))
    post_spawn.send(sender="django_q", proc_name="Process-1:1")
    assert OrmQ.objects.get().task["args"] == (job.pk,)
    assert ImportJob.objects.get(pk=job.pk).stage == ImportStage.REQUEUED


def test_the_sweeper_task_queues_orphaned_jobs(db, settings):
    settings.IMPORT_STALE_SECONDS = 30
    job = _job()
    runtime.claim_job(job_id=job.pk, worker="dead-worker")
    ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=31))
    assert tasks.recover_orphaned_imports() == [job.pk]
    assert tasks.recover_orphaned_imports() == []


def test_the_sweeper_schedule_runs_every_minute_and_is_created_once(db):
    Schedule.objects.filter(func=sweeper_migration.FUNC).delete()
    sweeper_migration.create_schedule(apps, None)
    sweeper_migration.create_schedule(apps, None)
    schedule = Schedule.objects.get(func=sweeper_migration.FUNC)
    assert (schedule.schedule_type, schedule.minutes, schedule.repeats) == (Schedule.MINUTES, 1, -1)
    assert schedule.func == "imports.tasks.recover_orphaned_imports"
    assert callable(tasks.recover_orphaned_imports)


@pytest.mark.django_db
def test_the_every_minute_schedules_keep_no_success_record_and_the_worker_logs_warnings_only(settings):
    """The sweeper and the heartbeat filled "Successful tasks" (about 40 in 16 minutes) and the console.

    django-q2's scheduler reads ``q_options`` from a schedule's kwargs (``ast.literal_eval``) into
    the task it creates, and its monitor keeps no record of a success whose ``save`` is false.
    """
    minute_schedules = Schedule.objects.filter(schedule_type=Schedule.MINUTES)

    assert {schedule.func for schedule in minute_schedules} == {
        "imports.tasks.recover_orphaned_imports",
        "imports.tasks.record_worker_heartbeat",
    }
    assert all(ast.literal_eval(schedule.kwargs) == {"q_options": {"save": False}} for schedule in minute_schedules)
    assert Schedule.objects.get(func="imports.rollout.health.scheduled_health_check").kwargs in (None, "")
    assert logging.getLogger("django-q").getEffectiveLevel() == logging.WARNING


# --- a lost database connection while writing (issue 11, item 9) --------------------------------


def terminate_this_backend_when_writing(after_rows: int):
    """A progress callback that, once ``after_rows`` rows are committed, kills this process's database session.

    From another connection, as a server restart or a network cut would: the
    next statement of the run fails with the connection gone.
    """
    pid = connection.connection.get_backend_pid()
    done = []

    def report(progress) -> None:
        if done or progress.stage != ImportStage.WRITING or progress.rows_done < after_rows:
            return
        done.append(progress.rows_done)
        db = connection.settings_dict
        other = psycopg2.connect(
            dbname=db["NAME"], user=db["USER"], password=db["PASSWORD"], host=db["HOST"], port=db["PORT"]
        )
        try:
            with other.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        finally:
            other.close()

    return report, done


@pytest.mark.postgresql
def test_a_connection_lost_while_writing_is_resumed_from_the_checkpoint_by_the_worker(transactional_db, settings):
    settings.IMPORT_BATCH_SIZE = 100
    job = _job(2000)
    report, done = terminate_this_backend_when_writing(after_rows=500)

    interrupted = runtime.run_import_now(job=job, on_progress=report)

    assert done, "the session was terminated mid-write"
    assert interrupted.status == ImportStatus.RUNNING  # was: failed, "Database error; ...", retry by hand
    assert interrupted.stage == ImportStage.REQUEUED
    assert 0 < interrupted.checkpoint_row < 2000
    assert OrmQ.objects.get().task["args"] == (job.pk,)

    assert tasks.run_import(job.pk) == {"import_id": job.pk, "status": ImportStatus.COMPLETED}  # the worker
    resumed = ImportJob.objects.select_related("result").get(pk=job.pk)
    assert resumed.attempts == 2
    assert (resumed.result.inserted, resumed.result.failed, resumed.checkpoint_row) == (2000, 0, 2000)
    assert ItemVariant.objects.count() == 2000


@pytest.mark.postgresql
def test_a_connection_lost_on_the_last_attempt_fails_the_job_keeping_its_batches(transactional_db, settings):
    settings.IMPORT_BATCH_SIZE = 100
    job = _job(2000)
    ImportJob.objects.filter(pk=job.pk).update(attempts=runtime.MAX_ATTEMPTS - 1)  # this run is the last
    report, _ = terminate_this_backend_when_writing(after_rows=500)

    failed = runtime.run_import_now(job=job, on_progress=report)

    assert failed.status == ImportStatus.FAILED
    assert failed.failure_reason.startswith(f"The database connection was lost {runtime.MAX_ATTEMPTS} times")
    assert f"rows up to {failed.checkpoint_row} are committed and kept" in failed.failure_reason
    assert not OrmQ.objects.exists()
