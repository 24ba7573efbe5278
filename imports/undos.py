"""Undo an import, or redo one by undoing its undo: the service every door calls.

An undo is a job (``ImportJob.undoes``) run by the runtime like an import:
inline when its journal is small, by the background worker past
``IMPORT_BACKGROUND_THRESHOLD`` rows, resumed after a crash, cancellable and
retried like any job. What it does to the rows is :mod:`imports.engine.undo`.

An import can be undone once; undoing the undo (a redo) brings its changes
back, and that redo can be undone in turn. Refusals say why in the user's
words, with a ``code`` for clients: ``not_finished``, ``cannot_undo`` (a
check, the old importer, a change journal removed or never kept, nothing
changed) and ``already_undone`` (with ``undone_by``, the undo's id).

The journal of an import is kept ``IMPORT_UNDO_RETENTION_DAYS`` after it
ended; :func:`prune_journals` (an hourly schedule) removes older ones.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from imports.access import check_may_manage_import
from imports.engine.strategies import ProgressCallback
from imports.engine.undo import journal_size
from imports.models import ImportJob, ImportJournal, ImportResult, ImportSource, ImportStatus, ImportSystem
from imports.runtime import queue_import, run_import_now
from imports.selectors import latest_undo
from mtc.errors import Conflict


class UndoRefused(Conflict):
    """The import cannot be undone now (HTTP 409); the message says why."""

    code = "cannot_undo"


def cannot_undo(*, job: ImportJob) -> UndoRefused | None:
    """Why ``job`` cannot be undone now, or None when it can (the doors show it before offering the button)."""
    if job.dry_run:
        return UndoRefused(f"Import #{job.pk} was a check: it changed nothing, so there is nothing to undo.")
    if not job.is_finished:
        return UndoRefused(
            f"Import #{job.pk} is still {job.get_status_display().lower()}; it can be undone once it has finished.",
            code="not_finished",
        )
    undo = latest_undo(job=job)
    if undo is not None:
        unfinished = ""
        if undo.status in (ImportStatus.FAILED, ImportStatus.CANCELLED):
            unfinished = f" It stopped before the end: retry undo #{undo.pk} to finish it."
        return UndoRefused(
            f"Import #{job.pk} has already been undone by undo #{undo.pk}.{unfinished} "
            f"To bring its changes back, undo #{undo.pk} in turn.",
            code="already_undone",
            extra={"undone_by": undo.pk},
        )
    if job.system != ImportSystem.UPSERT or not job.journal_kept:
        return UndoRefused(
            f"Import #{job.pk} was made before imports could be undone (or by the old importer): "
            f"there is no record of what it changed."
        )
    if not ImportJournal.objects.filter(job=job).exists():
        result = ImportResult.objects.filter(job=job).first()
        if result is None or not (result.inserted or result.updated or result.deleted):
            return UndoRefused(f"Import #{job.pk} changed no row, so there is nothing to undo.")
        days = settings.IMPORT_UNDO_RETENTION_DAYS
        return UndoRefused(
            f"Import #{job.pk} can no longer be undone: the record of what it changed is kept for {days} days."
        )
    return None


def undo_import(
    *,
    job: ImportJob,
    user=None,
    source: str = ImportSource.API,
    dry_run: bool = False,
    force: bool = False,
    background: bool | None = None,
    on_progress: ProgressCallback | None = None,
) -> ImportJob:
    """Start an undo of ``job`` (a preview when ``dry_run``) and return the undo's job.

    ``force`` restores rows changed since the import too (otherwise they are
    kept and listed as conflicts). A ``user`` may undo their own imports, or
    anyone's with the manage-all permission (``imports.access``, as cancel
    and retry; ``NotAllowed`` otherwise); no user is the command line. ``background=None`` decides by size, as
    an import does: journals of more than ``IMPORT_BACKGROUND_THRESHOLD`` rows
    go to the background worker. Raises :class:`UndoRefused`.
    """
    if user is not None:
        check_may_manage_import(user=user, job=job, action="undo")
    undo = _create_undo(job=job, user=user, source=source, dry_run=dry_run, force=force)
    if background is None:
        background = journal_size(job) > settings.IMPORT_BACKGROUND_THRESHOLD
    if background:
        return queue_import(job=undo)
    return run_import_now(job=undo, on_progress=on_progress)


@transaction.atomic
def _create_undo(*, job: ImportJob, user, source: str, dry_run: bool, force: bool) -> ImportJob:
    # Serialises two undos of one import asked for at once (PostgreSQL; SQLite has one writer anyway).
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    refusal = cannot_undo(job=job)
    if refusal is not None:
        raise refusal
    undo = ImportJob.objects.create(
        kind=job.kind,
        system=ImportSystem.UPSERT,
        routing="undo",
        source=source,
        dry_run=dry_run,
        undoes=job,
        user=user if getattr(user, "pk", None) else None,
        file_name=f"Undo of import #{job.pk} ({job.file_name})"[:255],
        options={"force": True} if force else {},
    )
    ImportResult.objects.create(job=undo)
    return undo


def prune_journals(*, now=None) -> int:
    """Remove the journals of imports that ended more than ``IMPORT_UNDO_RETENTION_DAYS`` ago; rows removed."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.IMPORT_UNDO_RETENTION_DAYS)
    deleted, _ = ImportJournal.objects.filter(job__finished_at__lt=cutoff).delete()
    return deleted
