"""The public shape of an import job, declared once, in plain Python.

A job's summary is what every door shows of it: ``import_catalog --json``
and ``import_undo --json`` print it, the API's job lists and answers are it
(``imports.serializers.JobSerializer`` renders a job with :func:`job_summary`
and only *describes* each key for the OpenAPI schema), the admin and the
notifications read it. So a key an outside script relies on is defined here
and nowhere else.

Why not the DRF serializer itself: a command that only prints a job would
import Django REST framework, drf-spectacular and, through DRF's optional
imports, ``requests``, ``yaml`` and ``pygments``: 60 ms of every scripted
``manage.py import_catalog`` run (measured with ``python -X importtime``),
for a dictionary of plain values. The values are written exactly as DRF's
fields write them (ISO 8601 in the current time zone with ``Z`` for UTC,
``None`` for a missing result); ``tests/imports/test_summaries.py`` renders
jobs both ways and compares the JSON byte for byte.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from imports.engine.numbers import AUTO, effective_format
from imports.models import ImportJob, ImportResult
from imports.selectors import undo_until

#: What happened to the data rows, from the job's result.
COUNT_FIELDS = ("inserted", "updated", "unchanged", "superseded", "failed", "deleted")

#: The keys of a job's summary, in the order it is written.
JOB_KEYS: tuple[str, ...] = (
    "import_id",
    "status",
    "kind",
    "system",
    "routing",
    "source",
    "dry_run",
    "checked_by",
    "undoes_import_id",
    "undo_until",
    "parent_import_id",
    "mapping",
    "number_format",
    "header_row",
    "file_name",
    "file_format",
    "file_size",
    "file_checksum",
    "user",
    "created_at",
    "started_at",
    "finished_at",
    "stage",
    "total_rows",
    *COUNT_FIELDS,
    "duration_seconds",
    "success_rate",
    "rows_per_second",
    "batches_committed",
    "checkpoint_row",
    "warnings",
    "failure_reason",
)


def job_summary(job: ImportJob) -> dict:
    """The job as every door shows it: :data:`JOB_KEYS`, each a JSON value (load ``result`` and ``user`` with it)."""
    result = _result(job)
    user = job.user
    options = job.options or {}
    return {
        "import_id": job.import_id,
        "status": _text(job.status),
        "kind": _text(job.kind),
        "system": _text(job.system),
        "routing": _text(job.routing),
        "source": _text(job.source),
        "dry_run": bool(job.dry_run),
        "checked_by": job.checked_by_id,
        "undoes_import_id": job.undoes_id,
        "undo_until": iso_datetime(undo_until(job=job)),
        "parent_import_id": job.parent_import_id,
        "mapping": _mapping(job.mapping),
        "number_format": effective_format(options.get("number_format") or AUTO, options.get("detected_number_format")),
        "header_row": job.header_row,
        "file_name": _text(job.file_name),
        "file_format": _text(job.file_format),
        "file_size": job.file_size,
        "file_checksum": _text(job.file_checksum),
        "user": None if user is None else user.username,
        "created_at": iso_datetime(job.created_at),
        "started_at": iso_datetime(job.started_at),
        "finished_at": iso_datetime(job.finished_at),
        "stage": _text(job.stage),
        # Data rows of the file: the result's count, or the job's while the result has none yet.
        "total_rows": (result.total_rows if result else 0) or job.total_rows,
        **{name: None if result is None else getattr(result, name) for name in COUNT_FIELDS},
        "duration_seconds": None if result is None else _float(result.duration_seconds),
        "success_rate": None if result is None else _float(result.success_rate),
        "rows_per_second": _rate(result),
        "batches_committed": None if result is None else result.batches_committed,
        "checkpoint_row": job.checkpoint_row,
        "warnings": None if job.warnings is None else [_text(warning) for warning in job.warnings],
        "failure_reason": _text(job.failure_reason),
    }


def iso_datetime(value: datetime | None) -> str | None:
    """A moment as the API writes it: ISO 8601 in the current time zone, UTC written ``Z`` (DRF's format)."""
    if not value:
        return None
    moment = timezone.localtime(value) if timezone.is_aware(value) else timezone.make_aware(value)
    text = moment.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _result(job: ImportJob) -> ImportResult | None:
    try:
        return job.result
    except ImportResult.DoesNotExist:  # no result row: every count is null, as the API always wrote it
        return None


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _float(value: float | None) -> float | None:
    return None if value is None else float(value)


def _mapping(mapping: dict | None) -> dict | None:
    """File header -> field, or None for an ignored column."""
    if mapping is None:
        return None
    return {str(header): None if field is None else str(field) for header, field in mapping.items()}


def _rate(result: ImportResult | None) -> float | None:
    rate = result.rows_per_second if result is not None else None
    return round(rate, 1) if rate else None
