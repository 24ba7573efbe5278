"""The background worker's entry points (django-q2, ``manage.py qcluster``).

Thin doors onto :mod:`imports.runtime`: the broker delivers a job id, the
runtime decides what to do with it. Each may run more than once for the same
job (the broker re-delivers a task whose worker died, the sweeper queues an
orphaned job again) and that is safe: see the crash-safety rules in
:mod:`imports.runtime`. The schedules (migrations 0003, 0004, 0006 and 0007) call
these by their dotted paths.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError

from imports import notifications, runtime, stored_files, undos
from mtc import logs

logger = logging.getLogger(__name__)


def run_import(import_id: int) -> dict | None:
    """Run, or resume, one import job; the task django-q2 executes. Its user is told when it ends."""
    job = runtime.execute_import(import_id=import_id, worker=runtime.worker_name())
    if job is None:
        return None
    if job.is_finished:
        try:
            with logs.bound(**runtime.log_fields(job)):
                notifications.job_ended(job=job)  # once per end: a re-delivered task tells nobody twice
        except Exception:  # the import's own end is committed; telling about it is best effort
            logger.warning("Could not record the end of import %s for its user", job.import_id, exc_info=True)
    return {"import_id": job.import_id, "status": job.status}


def deliver_webhook(notice_id: int, attempt: int = 1) -> str:
    """POST a job's summary to IMPORT_WEBHOOK_URL (``imports.notifications``); retried later on failure."""
    return notifications.deliver_webhook(notice_id=notice_id, attempt=attempt)


def recover_orphaned_imports() -> list[int]:
    """Queue again the jobs whose worker died (a django-q2 schedule, every minute)."""
    return runtime.recover_orphaned_jobs()


def record_worker_heartbeat() -> str:
    """The worker's proof of life (a django-q2 schedule, every minute), read by the health check."""
    return runtime.record_worker_heartbeat()


def prune_import_journals() -> int:
    """Remove change journals past ``IMPORT_UNDO_RETENTION_DAYS`` (a django-q2 schedule, hourly)."""
    return undos.prune_journals()


def prune_import_files() -> int:
    """Delete uploads of imports past ``IMPORT_FILE_RETENTION_DAYS`` (a django-q2 schedule, daily)."""
    return stored_files.prune_files()


def recover_on_worker_start(sender=None, proc_name: str = "", **kwargs) -> None:
    """When a worker process starts (a restarted cluster), pick up orphaned jobs at once.

    Connected to django-q2's ``post_spawn`` signal in ``ImportsConfig.ready``;
    without it a restarted cluster would leave them until the next sweep.
    """
    try:
        recovered = runtime.recover_orphaned_jobs()
    except DatabaseError:
        logger.warning("Could not look for orphaned imports in %s", proc_name, exc_info=True)
        return
    if recovered:
        logger.warning("%s queued orphaned import(s) %s again", proc_name, recovered)
