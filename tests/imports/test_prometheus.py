"""imports/prometheus.py: the import system's figures at /metrics, read from the job records."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from imports.models import ImportJob, ImportResult, ImportStatus, WorkerHeartbeat

pytestmark = pytest.mark.django_db


def samples(client) -> dict[tuple, float]:
    response = client.get("/metrics", headers={"Authorization": "Bearer s3cret"})
    assert response.status_code == 200
    found = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            if sample.name.startswith("mtc_import") or sample.name.startswith(("mtc_worker", "mtc_queue")):
                found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def finished(*, seconds: float, kind="variants", system="upsert", status=ImportStatus.COMPLETED, **rows) -> ImportJob:
    job = ImportJob.objects.create(file_name="f.csv", kind=kind, system=system, status=status)
    ImportResult.objects.create(job=job, duration_seconds=seconds, **rows)
    return job


@pytest.fixture
def scraping(settings):
    settings.METRICS_TOKEN = "s3cret"


def test_durations_are_a_histogram_and_rows_a_counter_per_system_and_kind(client, scraping):
    finished(seconds=3, inserted=10, failed=2, total_rows=12, status=ImportStatus.COMPLETED_WITH_ERRORS)
    finished(seconds=700, updated=5, unchanged=1, total_rows=6)
    finished(seconds=2, kind="colors", system="legacy", inserted=4, total_rows=4)
    ImportJob.objects.create(file_name="preview.csv", dry_run=True, status=ImportStatus.COMPLETED)  # left out

    found = samples(client)

    variants = (("kind", "variants"), ("system", "upsert"))
    assert found[("mtc_import_duration_seconds_count", variants)] == 2
    assert found[("mtc_import_duration_seconds_sum", variants)] == 703
    assert found[("mtc_import_duration_seconds_bucket", (*variants[:1], ("le", "5.0"), *variants[1:]))] == 1
    assert found[("mtc_import_duration_seconds_bucket", (*variants[:1], ("le", "600.0"), *variants[1:]))] == 1
    assert found[("mtc_import_duration_seconds_bucket", (*variants[:1], ("le", "1200.0"), *variants[1:]))] == 2
    rows = {
        outcome: found[("mtc_import_rows_total", (("kind", "variants"), ("outcome", outcome), ("system", "upsert")))]
        for outcome in ("inserted", "updated", "unchanged", "superseded", "failed")
    }
    assert rows == {"inserted": 10, "updated": 5, "unchanged": 1, "superseded": 0, "failed": 2}
    colors = (("kind", "colors"), ("outcome", "inserted"), ("system", "legacy"))
    assert found[("mtc_import_rows_total", colors)] == 4


def test_jobs_by_status_oldest_pending_age_and_worker_heartbeat_age(client, scraping):
    finished(seconds=1)
    old = ImportJob.objects.create(file_name="waiting.csv")
    ImportJob.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(minutes=7))
    ImportJob.objects.create(file_name="new.csv")
    WorkerHeartbeat.objects.create(worker="w1:mtc-imports", beat_at=timezone.now() - timedelta(seconds=90))

    found = samples(client)

    assert found[("mtc_import_jobs", (("status", "pending"),))] == 2
    assert found[("mtc_import_jobs", (("status", "completed"),))] == 1
    assert found[("mtc_import_jobs", (("status", "failed"),))] == 0
    assert 7 * 60 <= found[("mtc_import_oldest_pending_age_seconds", ())] < 8 * 60
    assert 90 <= found[("mtc_worker_heartbeat_age_seconds", (("worker", "w1:mtc-imports"),))] < 150
    assert found[("mtc_queue_depth", ())] >= 0


def test_with_nothing_pending_the_oldest_pending_age_is_zero(client, scraping):
    assert samples(client)[("mtc_import_oldest_pending_age_seconds", ())] == 0
