"""What runs a job: the job lock, claims, take-over, heartbeat, the queue and the sweeper.

The public job lifecycle (start, cancel, retry, import a checked file) is in
:mod:`imports.services`; this module is what sits under it and under the
background worker's tasks (:mod:`imports.tasks`): whoever runs a job, in a
web request or in ``manage.py qcluster``, runs it through here.

Crash safety rests on three rules kept here:

* a job is only run by a process that holds its *job lock* (a PostgreSQL
  session advisory lock; the connection's death releases it) and has claimed
  it with a conditional UPDATE, so a re-delivered task or a second worker can
  never run the same job twice at once;
* a running job keeps a heartbeat (each committed batch, and every few
  seconds of progress while the file is read);
* a ``running`` job whose lock is free (PostgreSQL) or whose heartbeat is
  older than ``IMPORT_STALE_SECONDS`` (SQLite) has lost its worker:
  :func:`recover_orphaned_jobs` queues it again and it resumes from its last
  committed batch (``checkpoint_row``), so its final figures are those of one
  clean run. A job that loses its worker ``MAX_ATTEMPTS`` times fails.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import F, Q
from django.utils import timezone

from imports import stored_files
from imports.engine import record, staging
from imports.engine.errors import is_connection_lost
from imports.engine.run import run_job
from imports.engine.strategies import ProgressCallback
from imports.models import ImportJob, ImportStage, ImportStatus, WorkerHeartbeat
from imports.progress import Progress, publish_progress
from mtc import logs
from mtc.errors import Conflict

logger = logging.getLogger(__name__)

#: The guide's ``max_retries=3``: runs of one job before a lost worker fails it
#: (the same number as ``Q_CLUSTER["max_attempts"]``).
MAX_ATTEMPTS = 3
#: Least time between two heartbeats written from progress reports.
HEARTBEAT_EVERY_SECONDS = 5.0
#: First key of the job locks (``pg_try_advisory_lock(namespace, import_id)``), "MTCI".
LOCK_NAMESPACE = 0x4D544349
#: The django-q2 task that runs a job (``imports.tasks.run_import``).
TASK = "imports.tasks.run_import"


def worker_name() -> str:
    """This process, as a job's ``worker``: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


# --- Job lock and claims -------------------------------------------------------------------


@contextmanager
def job_lock(*, import_id: int) -> Iterator[bool]:
    """Hold the job's lock for the block; yields False when another process holds it.

    PostgreSQL: a session advisory lock on the default connection (the one the
    engine runs on), so it is held exactly as long as the run's connection
    lives. SQLite has none: the conditional UPDATEs of claims (and the
    heartbeat age) are all there is, which suits the single-machine default.
    """
    if connection.vendor != "postgresql":
        yield True
        return
    key = [LOCK_NAMESPACE, import_id % 2**31]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", key)
        locked = cursor.fetchone()[0]
    try:
        yield locked
    finally:
        if locked:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s, %s)", key)
            except DatabaseError:
                logger.warning("Could not release the lock of import %s", import_id, exc_info=True)


def _lock_is_free(import_id: int) -> bool:
    with job_lock(import_id=import_id) as locked:
        return locked


def claim_job(*, job_id: int, worker: str = "") -> ImportJob | None:
    """Atomically move a pending job to running; None when someone else has it.

    Run the claimed job inside :func:`job_lock` (as :func:`run_import_now` and
    :func:`execute_import` do): on PostgreSQL a running job whose lock is free
    counts as having lost its worker and is resumed elsewhere.
    """
    now = timezone.now()
    claimed = ImportJob.objects.filter(pk=job_id, status=ImportStatus.PENDING).update(
        status=ImportStatus.RUNNING,
        started_at=now,
        heartbeat_at=now,
        worker=worker or worker_name(),
        stage=ImportStage.STARTING,
        attempts=F("attempts") + 1,
        updated_at=now,
    )
    if not claimed:
        return None
    return ImportJob.objects.get(pk=job_id)


# --- Running: here, or queued for the background worker -------------------------------------


def run_import_now(*, job: ImportJob, on_progress: ProgressCallback | None = None) -> ImportJob:
    """Claim a pending job and run it in this process (the inline door)."""
    with job_lock(import_id=job.pk) as locked:
        claimed = claim_job(job_id=job.pk) if locked else None
        if claimed is None:
            job.refresh_from_db(fields=["status"])
            reason = f"it is {job.status}, not pending" if locked else "another process is running it"
            raise Conflict(f"Import #{job.pk} cannot be started here: {reason}.", code="not_pending")
        return _run(claimed, on_progress)


def queue_import(*, job: ImportJob) -> ImportJob:
    """Hand a pending job to the background worker (django-q2) and note the task id."""
    from django_q.tasks import async_task

    task_id = async_task(TASK, job.pk, group="imports", task_name=f"import-{job.pk}-{int(time.time() * 1000)}")
    ImportJob.objects.filter(pk=job.pk).update(task_id=task_id, updated_at=timezone.now())
    job.task_id = task_id
    with logs.bound(**log_fields(job)):
        logger.info("Import %s queued as task %s", job.pk, task_id)
    return job


def log_fields(job: ImportJob) -> dict:
    """What every log line about a job carries (``LOG_FORMAT=json``: fields; ``mtc.logs``)."""
    return {
        "import_id": job.pk,
        "kind": job.kind,
        "system": job.system,
        "worker": job.worker or worker_name(),
        "user": job.user_id,
    }


def execute_import(*, import_id: int, worker: str = "") -> ImportJob | None:
    """Run a job in the background worker: a fresh one, or one whose worker died.

    Returns the job in its end state, or None when there is nothing to do here
    (another process runs it, or it is gone). Safe to call any number of times
    for the same job: a re-delivered task finds the job finished or locked.
    """
    with logs.bound(import_id=import_id, worker=worker or worker_name()), job_lock(import_id=import_id) as locked:
        if not locked:
            logger.info("Import %s is being run by another process; nothing to do", import_id)
            return None
        job = ImportJob.objects.filter(pk=import_id).first()
        if job is None or job.is_finished:
            return job
        if job.status == ImportStatus.PENDING:
            claimed = claim_job(job_id=import_id, worker=worker)
        else:
            claimed = _take_over(job, worker=worker or worker_name())
        if claimed is None or claimed.is_finished:
            return claimed
        # A worker on another machine than the web server, without shared file storage: say so.
        if missing := stored_files.missing_file_reason(claimed):
            logger.error("Import %s cannot be run here: %s", import_id, missing)
            return record.failed(claimed, missing)
        return _run(claimed, None, background=True)


def _take_over(job: ImportJob, *, worker: str) -> ImportJob | None:
    """Claim a running job whose worker is gone (the caller holds its lock)."""
    orphaned = Q(pk=job.pk, status=ImportStatus.RUNNING)
    if connection.vendor != "postgresql":
        # No lock to tell a dead worker from a slow one: trust only an old heartbeat.
        orphaned &= Q(heartbeat_at__lt=_stale_cutoff()) | Q(heartbeat_at__isnull=True) | Q(stage=ImportStage.REQUEUED)
    if job.attempts >= MAX_ATTEMPTS:
        if not ImportJob.objects.filter(orphaned).exists():
            return None
        logger.error("Import %s lost its worker %s times; failing it", job.pk, job.attempts)
        return record.failed(
            job,
            f"The worker running this import stopped {job.attempts} times (last: {job.worker or 'unknown'}); "
            f"rows up to {job.checkpoint_row} are committed and kept. Retry resumes from there.",
        )
    now = timezone.now()
    taken = ImportJob.objects.filter(orphaned).update(
        worker=worker, heartbeat_at=now, attempts=F("attempts") + 1, stage=ImportStage.RESUMING, updated_at=now
    )
    if not taken:
        return None
    logger.warning(
        "Import %s resumes after row %s (its worker %s stopped)", job.pk, job.checkpoint_row, job.worker or "?"
    )
    return ImportJob.objects.get(pk=job.pk)


def _run(job: ImportJob, on_progress: ProgressCallback | None, *, background: bool = False) -> ImportJob:
    """Run a claimed job to its end; an unexpected error fails it instead of leaving it running.

    Its start and end are logged at INFO in the background worker (whose
    console is the operations' record) and at DEBUG inline, where the door
    (the command, the page) tells its user itself.

    A lost database connection is not the job's fault: it is queued to resume
    from its checkpoint (:func:`_resume_after_lost_connection`), up to
    ``MAX_ATTEMPTS`` runs, like a job whose worker died.
    """
    with logs.bound(**log_fields(job)):
        return _run_logged(job, on_progress, level=logging.INFO if background else logging.DEBUG)


def _run_logged(job: ImportJob, on_progress: ProgressCallback | None, *, level: int) -> ImportJob:
    logger.log(
        level,
        "Import %s %s (%s, %s, %s)",
        job.pk,
        f"resumes after row {job.checkpoint_row}" if job.checkpoint_row else "starts",
        job.kind,
        job.file_name,
        "dry run" if job.dry_run else f"run {job.attempts}",
    )
    try:
        ended = run_job(job, on_progress=_tracked(job, on_progress))
    except Exception as exc:
        if is_connection_lost(exc):
            return _resume_after_lost_connection(job, exc)
        logger.exception("Import %s stopped on an unexpected error", job.pk)
        job.refresh_from_db()
        if job.is_finished:
            return job
        return record.failed(
            job,
            f"Internal error ({type(exc).__name__}: {exc}); rows up to {job.checkpoint_row} are committed "
            f"and kept. Retry resumes from there.",
        )
    if ended.is_finished:
        logger.log(level, "Import %s ended %s after %s rows", ended.pk, ended.status, ended.rows_processed)
    return ended


def _resume_after_lost_connection(job: ImportJob, exc: BaseException) -> ImportJob:
    """Queue a job whose run lost its database connection to resume from its checkpoint.

    The dead connection is closed and a new one opened. A job that has run
    ``MAX_ATTEMPTS`` times fails, as one whose worker died that often. When
    the database cannot be reached at all, the job is left ``running``: its
    lock died with the connection, so the sweeper resumes it once the
    database answers (issue 11: it used to fail and need a manual retry).
    """
    connection.close()
    try:
        job.refresh_from_db()
        if job.is_finished:
            return job
        if job.attempts >= MAX_ATTEMPTS:
            logger.error("Import %s lost its database connection on run %s; failing it", job.pk, job.attempts)
            return record.failed(
                job,
                f"The database connection was lost {job.attempts} times during this import (last: {exc}); rows "
                f"up to {job.checkpoint_row} are committed and kept. Retry resumes from there.",
            )
        now = timezone.now()
        ImportJob.objects.filter(pk=job.pk, status=ImportStatus.RUNNING).update(
            stage=ImportStage.REQUEUED, heartbeat_at=now, updated_at=now
        )
        logger.warning(
            "Import %s lost its database connection (%s); queued to resume after row %s",
            job.pk,
            exc,
            job.checkpoint_row,
        )
        queue_import(job=job)
        job.refresh_from_db()
    except DatabaseError:
        logger.warning(
            "Import %s lost its database connection; the sweeper resumes it when the database answers", job.pk
        )
    return job


def _tracked(job: ImportJob, on_progress: ProgressCallback | None) -> ProgressCallback:
    """The engine's progress reports -> the tracker, the heartbeat, then the caller's callback."""
    last_beat = time.monotonic()

    def report(progress: Progress) -> None:
        nonlocal last_beat
        publish_progress(progress)
        if time.monotonic() - last_beat >= HEARTBEAT_EVERY_SECONDS:
            last_beat = time.monotonic()
            now = timezone.now()
            try:
                ImportJob.objects.filter(pk=job.pk, status=ImportStatus.RUNNING).update(
                    heartbeat_at=now, updated_at=now
                )
            except DatabaseError:  # best effort: the next batch commit writes one too, or fails the run
                logger.warning("Could not write the heartbeat of import %s", job.pk, exc_info=True)
        if on_progress is not None:
            on_progress(progress)

    return report


# --- Recovering jobs whose worker died --------------------------------------------------


def _stale_cutoff():
    return timezone.now() - timedelta(seconds=settings.IMPORT_STALE_SECONDS)


def find_orphaned_jobs() -> list[ImportJob]:
    """Running jobs nobody is running any more.

    PostgreSQL: the job lock is free (its holder's connection is gone), unless
    the job was just queued again and waits for a worker. SQLite: the
    heartbeat is older than ``IMPORT_STALE_SECONDS``.
    """
    running = ImportJob.objects.filter(status=ImportStatus.RUNNING).order_by("import_id")
    stale = Q(heartbeat_at__lt=_stale_cutoff()) | Q(heartbeat_at__isnull=True)
    if connection.vendor != "postgresql":
        return list(running.filter(stale))
    candidates = running.filter(~Q(stage=ImportStage.REQUEUED) | stale)
    return [job for job in candidates if _lock_is_free(job.pk)]


def _running_ids() -> list[int]:
    return list(ImportJob.objects.filter(status=ImportStatus.RUNNING).values_list("pk", flat=True))


def recover_orphaned_jobs() -> list[int]:
    """Queue again every job that lost its worker; returns their ids.

    Also queues ``pending`` jobs older than ``IMPORT_STALE_SECONDS`` that never
    got a task (their process died between storing the file and queueing it),
    and drops the staging tables a dead worker left behind for a job no longer
    running. Each job is marked first with a conditional UPDATE, so two
    sweepers at once queue it once.
    """
    staging.drop_abandoned(running=_running_ids)
    queued = []
    for job in find_orphaned_jobs():
        now = timezone.now()
        marked = ImportJob.objects.filter(
            pk=job.pk, status=ImportStatus.RUNNING, stage=job.stage, heartbeat_at=job.heartbeat_at
        ).update(stage=ImportStage.REQUEUED, heartbeat_at=now, updated_at=now)
        if marked:
            logger.warning(
                "Import %s lost its worker (%s); queued to resume after row %s", job.pk, job.worker, job.checkpoint_row
            )
            queue_import(job=job)
            queued.append(job.pk)
    never_queued = ImportJob.objects.filter(status=ImportStatus.PENDING, task_id="", created_at__lt=_stale_cutoff())
    for job in never_queued.order_by("import_id"):
        if ImportJob.objects.filter(pk=job.pk, status=ImportStatus.PENDING, task_id="").update(task_id="queueing"):
            queue_import(job=job)
            queued.append(job.pk)
    return queued


# --- The worker's proof of life ---------------------------------------------------------------


def cluster_name() -> str:
    """This worker cluster, as its heartbeat row names it: ``host:cluster``."""
    return f"{socket.gethostname()}:{settings.Q_CLUSTER.get('name', 'cluster')}"


def record_worker_heartbeat() -> str:
    """The task the worker runs every minute (django-q2 schedule): its proof of life."""
    name = cluster_name()
    WorkerHeartbeat.objects.update_or_create(worker=name, defaults={"beat_at": timezone.now()})
    return name
