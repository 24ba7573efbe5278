"""Finished import runs seeded straight into the job tables, for the metrics and their command."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from imports.models import ImportJob, ImportResult


def seed_run(system="upsert", status="completed", *, duration=1.0, success_rate=100.0, rows=100, failed=0,
             days_ago=0.0, dry_run=False, reason="", refused_code="", written=None):  # fmt: skip
    """A finished run; ``written`` (rows imported) defaults to every row without a problem, none for a failed run."""
    created = timezone.now() - timedelta(days=days_ago)
    job = ImportJob.objects.create(
        system=system,
        status=status,
        dry_run=dry_run,
        file_name=f"{system}.csv",
        created_at=created,
        started_at=created,
        finished_at=created + timedelta(seconds=duration) if duration is not None else None,
        failure_reason=reason,
        refused_code=refused_code,
    )
    if written is None:
        written = 0 if status == "failed" else rows - failed
    ImportResult.objects.create(
        job=job, duration_seconds=duration, success_rate=success_rate, total_rows=rows, failed=failed, inserted=written
    )
    return job


def seed_mixed_runs() -> None:
    """Ten days of both systems, plus what metrics must leave out."""
    seed_run("legacy", duration=10.0, days_ago=1)
    seed_run("legacy", duration=14.0, success_rate=98.0, failed=2, status="completed_with_errors", days_ago=2)
    seed_run("legacy", duration=0.5, success_rate=0.0, status="failed", days_ago=3, reason="Row 7: price ...")
    seed_run("upsert", duration=1.0, days_ago=1)
    seed_run("upsert", duration=2.0, success_rate=90.0, failed=10, status="completed_with_errors", days_ago=2)
    seed_run("upsert", status="cancelled", duration=0.2, success_rate=None, days_ago=1)
    seed_run("upsert", status="running", duration=None, success_rate=None, days_ago=0)
    seed_run("upsert", duration=50.0, dry_run=True)  # a dry run is not an import
    seed_run("legacy", duration=99.0, days_ago=40)  # outside the window
