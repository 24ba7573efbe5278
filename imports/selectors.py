"""Reading side of imports: failed rows, links between jobs (who sees which job: :mod:`imports.access`).

The public shape of a job (its JSON keys) is :mod:`imports.serializers`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, QuerySet

from imports.models import ImportJob, ImportRowError, ImportStatus


def row_errors(*, job: ImportJob) -> QuerySet[ImportRowError]:
    return ImportRowError.objects.filter(job=job).order_by("row_number")


def error_summary(*, job: ImportJob, reasons: int = 5, rows: int = 10) -> dict:
    """Failed rows at a glance: how many, the commonest reasons, and the first few rows."""
    errors = row_errors(job=job)
    top = errors.order_by().values("reason").annotate(rows=Count("pk")).order_by("-rows", "reason")[:reasons]
    return {
        "failed_rows": errors.count(),
        "top_reasons": [{"reason": entry["reason"], "rows": entry["rows"]} for entry in top],
        "first_rows": [
            {
                "row_number": error.row_number,
                "line_number": job.line_number(error.row_number),
                "column": error.column,
                "value": error.value,
                "error": error.reason,
                "problems": error.problems,  # every problem cell of the row, for the table of problems
            }
            for error in errors.only("row_number", "column", "value", "reason", "problems")[:rows]
        ],
    }


def confirmed_import(*, dry_run_job: ImportJob) -> ImportJob | None:
    """The import that imported this dry run's checked file (``services.import_checked_file``), if any."""
    return ImportJob.objects.filter(checked_by=dry_run_job).first()


def undo_until(*, job: ImportJob) -> datetime | None:
    """Until when ``job`` can be undone: its journal is kept ``IMPORT_UNDO_RETENTION_DAYS`` after it ended."""
    if not job.journal_kept or job.finished_at is None or job.dry_run:
        return None
    return job.finished_at + timedelta(days=settings.IMPORT_UNDO_RETENTION_DAYS)


def _took_effect(jobs: QuerySet[ImportJob]) -> QuerySet[ImportJob]:
    """Real jobs that changed rows or may still: not a check, not one that stopped before changing anything."""
    stopped = (ImportStatus.FAILED, ImportStatus.CANCELLED)
    return jobs.filter(dry_run=False).exclude(status__in=stopped, rows_processed=0)


def latest_undo(*, job: ImportJob) -> ImportJob | None:
    """The undo of ``job`` that changed its rows (or is changing them), if any: an import is undone once."""
    return _took_effect(job.undos.all()).order_by("-import_id").first()


def undone_by(*, job: ImportJob) -> ImportJob | None:
    """The undo whose changes stand over ``job``: its undo, unless that undo was undone in turn (a redo)."""
    undo = latest_undo(job=job)
    if undo is None or undone_by(job=undo) is not None:
        return None
    return undo


def corrected_by(*, job: ImportJob) -> ImportJob | None:
    """The import of ``job``'s corrected failed rows that stands (``imports.corrections``), if any.

    A check of corrected rows does not count, nor an import of them that stopped
    before changing anything or was undone since: the failed rows are then
    still to correct.
    """
    for correction in _took_effect(job.corrections.all()).order_by("-import_id"):
        if undone_by(job=correction) is None:
            return correction
    return None
