"""Writing side of imports: create jobs, claim them, run, queue, cancel, retry, recover.

Every door (admin, API, commands, the background worker) goes through these
functions, so a job is created, routed, stored and run the same way whoever
asked for it.

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

import hashlib
import logging
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import BinaryIO

from django.conf import settings
from django.core.files import File
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from imports.engine import record
from imports.engine.errors import ImportRejected
from imports.engine.kinds import get_kind
from imports.engine.run import ProgressCallback, run_job
from imports.file_checks import check_file
from imports.models import ImportJob, ImportResult, ImportStatus
from imports.progress import Progress, forget_progress, publish_progress
from imports.routing import choose_system

logger = logging.getLogger(__name__)

_HASH_CHUNK = 1024 * 1024


def _checksum(stream: BinaryIO) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    stream.seek(0)
    while chunk := stream.read(_HASH_CHUNK):
        digest.update(chunk)
        size += len(chunk)
    stream.seek(0)
    return digest.hexdigest(), size


@transaction.atomic
def create_import_job(
    *,
    stream: BinaryIO,
    file_name: str,
    kind: str = "variants",
    user=None,
    source: str = "cli",
    dry_run: bool = False,
    file_format: str = "",
    system: str = "",
    options: dict | None = None,
) -> ImportJob:
    """Store the file with a new ``pending`` job, routed to a system."""
    get_kind(kind)
    routing = choose_system(user=user, explicit=system)
    checksum, size = _checksum(stream)
    job = ImportJob.objects.create(
        kind=kind,
        system=routing.system,
        routing=routing.reason,
        source=source,
        dry_run=dry_run,
        user=user if getattr(user, "pk", None) else None,
        file_name=os.path.basename(file_name)[:255],
        file_format=file_format,
        file_size=size,
        file_checksum=checksum,
        options={key: value for key, value in (options or {}).items() if value not in (None, "")},
    )
    job.file.save(os.path.basename(file_name), File(stream), save=True)
    ImportResult.objects.create(job=job)
    return job


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


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
        stage="starting",
        updated_at=now,
    )
    if not claimed:
        return None
    job = ImportJob.objects.get(pk=job_id)
    ImportJob.objects.filter(pk=job_id).update(attempts=job.attempts + 1)
    job.attempts += 1
    return job


def run_import_now(*, job: ImportJob, on_progress: ProgressCallback | None = None) -> ImportJob:
    """Claim a pending job and run it in this process (the inline door)."""
    with job_lock(import_id=job.pk) as locked:
        claimed = claim_job(job_id=job.pk) if locked else None
        if claimed is None:
            job.refresh_from_db(fields=["status"])
            raise RuntimeError(f"Import #{job.pk} is not pending (status {job.status}); it cannot be started here.")
        return _run(claimed, on_progress)


#: The guide's ``max_retries=3``: runs of one job before a lost worker fails it
#: (the same number as ``Q_CLUSTER["max_attempts"]``).
MAX_ATTEMPTS = 3
#: Least time between two heartbeats written from progress reports.
HEARTBEAT_EVERY_SECONDS = 5.0
#: First key of the job locks (``pg_try_advisory_lock(namespace, import_id)``), "MTCI".
LOCK_NAMESPACE = 0x4D544349
TASK = "imports.tasks.run_import"
STAGE_REQUEUED = "requeued"


class JobStateError(Exception):
    """The job is not in a state that allows the action (e.g. retrying a completed job)."""


# --- Job lock ---------------------------------------------------------------------------


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


# --- Starting, queueing and running -------------------------------------------------------


def start_import(
    *,
    stream: BinaryIO,
    file_name: str,
    kind: str = "variants",
    user=None,
    source: str = "api",
    dry_run: bool = False,
    file_format: str = "",
    system: str = "",
    options: dict | None = None,
    background: bool | None = None,
) -> ImportJob:
    """Check a file, keep it with a new job, then run it here or queue it.

    ``background=None`` decides by size: files with at most
    ``IMPORT_BACKGROUND_THRESHOLD`` data rows run inline (the job comes back
    finished), larger ones are queued for ``manage.py qcluster`` (the job comes
    back ``pending``). Counting stops one row past the threshold, so the
    decision costs little even on a large file. A file refused by
    :func:`check_file` raises ``ImportRejected`` before any job exists.
    """
    options = options or {}
    threshold = settings.IMPORT_BACKGROUND_THRESHOLD
    check = check_file(
        stream=stream,
        file_name=file_name,
        kind=kind,
        file_format=file_format,
        sheet=options.get("sheet") or "",
        encoding=options.get("encoding") or "",
        stop_after=threshold,
    )
    job = create_import_job(
        stream=stream,
        file_name=file_name,
        kind=kind,
        user=user,
        source=source,
        dry_run=dry_run,
        file_format=check.file_format,
        system=system,
        options=options,
    )
    if background is None:
        background = check.data_rows > threshold
    if background:
        return queue_import(job=job)
    return run_import_now(job=job)


def queue_import(*, job: ImportJob) -> ImportJob:
    """Hand a pending job to the background worker (django-q2) and note the task id."""
    from django_q.tasks import async_task

    task_id = async_task(TASK, job.pk, group="imports", task_name=f"import-{job.pk}-{int(time.time() * 1000)}")
    ImportJob.objects.filter(pk=job.pk).update(task_id=task_id, updated_at=timezone.now())
    job.task_id = task_id
    logger.info("Import %s queued as task %s", job.pk, task_id)
    return job


def execute_import(*, import_id: int, worker: str = "") -> ImportJob | None:
    """Run a job in the background worker: a fresh one, or one whose worker died.

    Returns the job in its end state, or None when there is nothing to do here
    (another process runs it, or it is gone). Safe to call any number of times
    for the same job: a re-delivered task finds the job finished or locked.
    """
    with job_lock(import_id=import_id) as locked:
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
        return _run(claimed, None)


def _take_over(job: ImportJob, *, worker: str) -> ImportJob | None:
    """Claim a running job whose worker is gone (the caller holds its lock)."""
    orphaned = Q(pk=job.pk, status=ImportStatus.RUNNING)
    if connection.vendor != "postgresql":
        # No lock to tell a dead worker from a slow one: trust only an old heartbeat.
        orphaned &= Q(heartbeat_at__lt=_stale_cutoff()) | Q(heartbeat_at__isnull=True) | Q(stage=STAGE_REQUEUED)
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
        worker=worker, heartbeat_at=now, attempts=F("attempts") + 1, stage="resuming", updated_at=now
    )
    if not taken:
        return None
    logger.warning(
        "Import %s resumes after row %s (its worker %s stopped)", job.pk, job.checkpoint_row, job.worker or "?"
    )
    return ImportJob.objects.get(pk=job.pk)


def _run(job: ImportJob, on_progress: ProgressCallback | None) -> ImportJob:
    """Run a claimed job to its end; an unexpected error fails it instead of leaving it running."""
    try:
        return run_job(job, on_progress=_tracked(job, on_progress))
    except Exception as exc:
        logger.exception("Import %s stopped on an unexpected error", job.pk)
        job.refresh_from_db()
        if job.is_finished:
            return job
        return record.failed(
            job,
            f"Internal error ({type(exc).__name__}: {exc}); rows up to {job.checkpoint_row} are committed "
            f"and kept. Retry resumes from there.",
        )


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
    candidates = running.filter(~Q(stage=STAGE_REQUEUED) | stale)
    return [job for job in candidates if _lock_is_free(job.pk)]


def recover_orphaned_jobs() -> list[int]:
    """Queue again every job that lost its worker; returns their ids.

    Also queues ``pending`` jobs older than ``IMPORT_STALE_SECONDS`` that never
    got a task (their process died between storing the file and queueing it).
    Each job is marked first with a conditional UPDATE, so two sweepers at
    once queue it once.
    """
    queued = []
    for job in find_orphaned_jobs():
        now = timezone.now()
        marked = ImportJob.objects.filter(
            pk=job.pk, status=ImportStatus.RUNNING, stage=job.stage, heartbeat_at=job.heartbeat_at
        ).update(stage=STAGE_REQUEUED, heartbeat_at=now, updated_at=now)
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


# --- Cancel and retry --------------------------------------------------------------------


def cancel_import(*, job: ImportJob) -> ImportJob:
    """Cancel a job: at once when it is pending, at the next batch boundary when running.

    A running job keeps its committed batches and reports them once it stops
    (status ``cancelled``). Raises ``JobStateError`` for a finished job.
    """
    now = timezone.now()
    if ImportJob.objects.filter(pk=job.pk, status=ImportStatus.PENDING).update(
        status=ImportStatus.CANCELLED, cancel_requested=True, updated_at=now
    ):
        job.refresh_from_db()
        return record.cancelled(job, "Cancelled before it started; nothing was imported.")
    if ImportJob.objects.filter(pk=job.pk, status=ImportStatus.RUNNING).update(cancel_requested=True, updated_at=now):
        job.refresh_from_db()
        return job
    job.refresh_from_db()
    raise JobStateError(f"Import #{job.pk} has already finished ({job.status}); there is nothing to cancel.")


def retry_import(*, job: ImportJob, background: bool | None = None) -> ImportJob:
    """Run a failed or cancelled job again from its stored file.

    Batches committed before the failure stay committed and counted: the run
    resumes after ``checkpoint_row`` (a job that failed before writing starts
    from the top), so a job retried after a timeout or a lost worker ends with
    the figures of one clean run. Runs inline or in the background by the
    same size rule as :func:`start_import`. Raises ``JobStateError`` for any
    other status, or when the stored file is missing or no longer matches
    its checksum.
    """
    if job.status not in (ImportStatus.FAILED, ImportStatus.CANCELLED):
        raise JobStateError(f"Import #{job.pk} is {job.status}; only failed or cancelled imports can be retried.")
    _verify_stored_file(job)
    updated = ImportJob.objects.filter(pk=job.pk, status__in=(ImportStatus.FAILED, ImportStatus.CANCELLED)).update(
        status=ImportStatus.PENDING,
        cancel_requested=False,
        failure_reason="",
        finished_at=None,
        stage="",
        attempts=0,
        task_id="",
        worker="",
        updated_at=timezone.now(),
    )
    if not updated:
        job.refresh_from_db()
        raise JobStateError(f"Import #{job.pk} is {job.status}; only failed or cancelled imports can be retried.")
    forget_progress(import_id=job.pk)
    job.refresh_from_db()
    if background is None:
        background = (job.total_rows or _count_stored_rows(job)) > settings.IMPORT_BACKGROUND_THRESHOLD
    if background:
        return queue_import(job=job)
    return run_import_now(job=job)


def _verify_stored_file(job: ImportJob) -> None:
    if not job.file or not job.file.storage.exists(job.file.name):
        raise JobStateError(f"Import #{job.pk}: its stored file is missing, so it cannot be retried.")
    with job.open_file() as stream:
        checksum, _ = _checksum(stream)
    if job.file_checksum and checksum != job.file_checksum:
        raise JobStateError(f"Import #{job.pk}: its stored file no longer matches its checksum; upload it again.")


def _count_stored_rows(job: ImportJob) -> int:
    """Data rows of the stored file, up to one past the threshold (0 if it cannot be read)."""
    options = job.options or {}
    try:
        with job.open_file() as stream:
            return check_file(
                stream=stream,
                file_name=job.file_name,
                kind=job.kind,
                file_format=job.file_format,
                sheet=options.get("sheet") or "",
                encoding=options.get("encoding") or "",
                stop_after=settings.IMPORT_BACKGROUND_THRESHOLD,
            ).data_rows
    except ImportRejected:
        return 0  # the run itself fails at once with the reader's message


# --- Importing the file a dry run checked (the admin's preview, then confirm) ---------------

#: ``options`` key of a job started from a dry run: the dry run's id.
CHECKED_BY_DRY_RUN = "checked_by_dry_run"
#: The options a user declares for reading a file, carried from the dry run to the real run.
READER_OPTIONS = ("sheet", "encoding", "max_rows")


def import_checked_file(*, dry_run_job: ImportJob, user=None, background: bool | None = None) -> ImportJob:
    """Import for real the file a finished dry run checked, and return the new job.

    The admin previews a file with a dry run, then the user confirms: the
    confirmed import must be the very file that was previewed, not a second
    upload. So the new job gets a copy of the dry run's stored file (checked
    against its checksum first), its kind, format and reader options; each
    job keeps its own file, so either can be retried or deleted on its own.
    The new job is routed like any other (``create_import_job``).

    Confirming twice (a double click, a resent form) starts one import: the
    second call returns the job the first one started. Runs inline or in the
    background by the same size rule as :func:`start_import`. Raises
    ``JobStateError`` unless the dry run completed (with or without failed
    rows), or when its stored file is missing or changed.
    """
    if not dry_run_job.dry_run:
        raise JobStateError(f"Import #{dry_run_job.pk} is not a dry run; it has no checked file to import.")
    if dry_run_job.status not in (ImportStatus.COMPLETED, ImportStatus.COMPLETED_WITH_ERRORS):
        raise JobStateError(
            f"The check of import #{dry_run_job.pk} is {dry_run_job.get_status_display().lower()}; "
            f"only a file whose check completed can be imported."
        )
    _verify_stored_file(dry_run_job)
    with transaction.atomic():
        # Serialises two confirmations of the same dry run (PostgreSQL; SQLite has one writer anyway).
        ImportJob.objects.select_for_update().filter(pk=dry_run_job.pk).first()
        started = ImportJob.objects.filter(dry_run=False, **{f"options__{CHECKED_BY_DRY_RUN}": dry_run_job.pk})
        existing = started.order_by("import_id").first()
        if existing is not None:
            return existing
        options = {key: value for key, value in (dry_run_job.options or {}).items() if key in READER_OPTIONS}
        with dry_run_job.open_file() as stream:
            job = create_import_job(
                stream=stream,
                file_name=dry_run_job.file_name,
                kind=dry_run_job.kind,
                user=user,
                source=dry_run_job.source,
                dry_run=False,
                file_format=dry_run_job.file_format,
                options={**options, CHECKED_BY_DRY_RUN: dry_run_job.pk},
            )
    if background is None:
        background = (dry_run_job.total_rows or 0) > settings.IMPORT_BACKGROUND_THRESHOLD
    if background:
        return queue_import(job=job)
    return run_import_now(job=job)
