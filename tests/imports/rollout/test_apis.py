"""``/api/metrics/imports/`` and ``/api/health/imports/``: staff only, the commands' JSON, 200/503."""

from __future__ import annotations

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from imports.models import ImportJob, ImportResult
from imports.rollout.metrics import import_metrics
from imports.runtime import record_worker_heartbeat
from tests.conftest import token_client

pytestmark = pytest.mark.django_db

METRICS, HEALTH = "/api/metrics/imports/", "/api/health/imports/"


@pytest.fixture
def staff(staff_user) -> APIClient:
    return token_client(staff_user)


@pytest.mark.parametrize("url", [METRICS, HEALTH])
def test_staff_only(url, importer):
    anonymous = APIClient().get(url)
    assert anonymous.status_code == 403  # session authentication first: DRF answers 403, not 401
    assert anonymous.json()["detail"] == "Authentication credentials were not provided."
    not_staff = token_client(importer).get(url)
    assert not_staff.status_code == 403
    assert not_staff.json()["detail"] == "You do not have permission to perform this action."


def test_metrics_are_the_commands_figures(staff):
    now = timezone.now()
    job = ImportJob.objects.create(system="legacy", status="completed", file_name="f.csv", started_at=now)
    ImportResult.objects.create(job=job, duration_seconds=4.0, success_rate=100.0, total_rows=10)

    response = staff.get(METRICS, {"days": 7})
    assert response.status_code == 200
    body = response.json()
    expected = import_metrics(days=7)
    assert body["window_days"] == 7
    assert body["systems"] == expected["systems"]
    assert body["systems"]["legacy"]["avg_duration_seconds"] == 4.0
    assert body["improvement_percent"] is None
    assert body["routing"] == expected["routing"]


@pytest.mark.parametrize("days", ["-1", "1e6", "nan", "inf"])  # 1e6 was an OverflowError, a 500 (issue 11)
def test_metrics_refuse_a_bad_window(staff, days):
    response = staff.get(METRICS, {"days": days})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "days" in response.json()["errors"]


@pytest.mark.parametrize("hours", ["0", "1e9"])  # 1e9 was an OverflowError, a 500 (issue 11)
def test_health_refuses_a_bad_window(staff, hours):
    response = staff.get(HEALTH, {"hours": hours})
    assert response.status_code == 400
    assert "hours" in response.json()["errors"]


def test_health_is_200_when_every_check_passes(staff):
    record_worker_heartbeat()
    response = staff.get(HEALTH)
    assert response.status_code == 200, response.json()["failing"]
    assert response.json()["healthy"] is True


def test_health_is_503_naming_the_failing_checks(staff):
    # No worker has reported, and a failed import makes the success and error rates cross their thresholds.
    job = ImportJob.objects.create(system="upsert", status="failed", file_name="f.csv")
    ImportResult.objects.create(job=job, duration_seconds=1.0, success_rate=0.0, total_rows=10)

    response = staff.get(HEALTH, {"hours": 1})
    assert response.status_code == 503
    body = response.json()
    assert body["healthy"] is False
    assert body["failing"] == ["import_success_rate", "import_error_rate", "worker"]
    assert body["window_hours"] == 1
    failing = {check["name"]: check["detail"] for check in body["checks"] if check["status"] == "fail"}
    assert "no background worker has ever reported" in failing["worker"]


def test_both_endpoints_are_in_the_schema(staff):
    response = staff.get("/api/schema/", {"format": "json"})
    paths = response.json()["paths"]
    assert {"/api/metrics/imports/", "/api/health/imports/"} <= set(paths)
    assert "503" in paths["/api/health/imports/"]["get"]["responses"]
