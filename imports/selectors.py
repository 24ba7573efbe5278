"""Reading side of imports: job summaries and failed rows.

One shape of a job (``job_summary``) serves the command's ``--json``, the API
and the admin, so the keys an outside script relies on are defined once.
"""

from __future__ import annotations

from django.db.models import Count, QuerySet

from imports.models import ImportJob, ImportResult, ImportRowError

COUNT_FIELDS = ("total_rows", "inserted", "updated", "unchanged", "superseded", "failed")


def get_job(*, import_id: int) -> ImportJob:
    return ImportJob.objects.select_related("result", "user").get(pk=import_id)


def job_summary(job: ImportJob) -> dict:
    """The job as plain data: status, counts, timings, warnings, failure reason."""
    try:
        result = job.result
    except ImportResult.DoesNotExist:
        result = ImportResult(job=job)
    summary = {
        "import_id": job.import_id,
        "status": job.status,
        "kind": job.kind,
        "system": job.system,
        "routing": job.routing,
        "source": job.source,
        "dry_run": job.dry_run,
        "file_name": job.file_name,
        "file_format": job.file_format,
        "file_size": job.file_size,
        "file_checksum": job.file_checksum,
        "user": job.user.get_username() if job.user_id and job.user else None,
        "created_at": _iso(job.created_at),
        "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at),
        "stage": job.stage,
        **{name: getattr(result, name) for name in COUNT_FIELDS},
        "duration_seconds": result.duration_seconds,
        "success_rate": result.success_rate,
        "rows_per_second": round(result.rows_per_second, 1) if result.rows_per_second else None,
        "batches_committed": result.batches_committed,
        "checkpoint_row": job.checkpoint_row,
        "warnings": list(job.warnings or []),
        "failure_reason": job.failure_reason,
    }
    if job.total_rows and not summary["total_rows"]:
        summary["total_rows"] = job.total_rows
    return summary


def row_errors(*, job: ImportJob) -> QuerySet[ImportRowError]:
    return ImportRowError.objects.filter(job=job).order_by("row_number")


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def visible_jobs(*, user) -> QuerySet[ImportJob]:
    """The jobs ``user`` may see: their own, or every job for staff (API and admin lists)."""
    jobs = ImportJob.objects.select_related("result", "user")
    if getattr(user, "is_staff", False):
        return jobs
    if not getattr(user, "pk", None):
        return jobs.none()
    return jobs.filter(user=user)


def error_summary(*, job: ImportJob, reasons: int = 5, rows: int = 10) -> dict:
    """Failed rows at a glance: how many, the commonest reasons, and the first few rows."""
    errors = row_errors(job=job)
    top = errors.order_by().values("reason").annotate(rows=Count("pk")).order_by("-rows", "reason")[:reasons]
    return {
        "failed_rows": errors.count(),
        "top_reasons": [{"reason": entry["reason"], "rows": entry["rows"]} for entry in top],
        "first_rows": [
            {"row_number": error.row_number, "column": error.column, "value": error.value, "error": error.reason}
            for error in errors.only("row_number", "column", "value", "reason")[:rows]
        ],
    }
