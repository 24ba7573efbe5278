"""Reading side of imports: failed rows, links between jobs (who sees which job: :mod:`imports.access`).

The public shape of a job (its JSON keys) is :mod:`imports.serializers`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, QuerySet

from imports.models import ImportJob, ImportRowError


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
