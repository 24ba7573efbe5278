"""The import health checks (imports.rollout.health, the hourly schedule); the import_health command: management/.

Each check fires on the real condition: seeded bad metrics, a LOCK TABLE held
from a second connection, a missing and an invalid unique index, a silent
worker, stuck jobs; and a real ``qcluster`` keeps the worker check green.
"""

from __future__ import annotations

import io
import logging
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django_q.models import Schedule

from imports.models import ImportJob, ImportResult, WorkerHeartbeat
from imports.rollout import health
from imports.rollout.health import health_report, scheduled_health_check
from imports.runtime import cluster_name, record_worker_heartbeat
from tests.postgres import second_connection

ROOT = Path(__file__).resolve().parents[3]


def checks(report: dict) -> dict[str, dict]:
    return {check["name"]: check for check in report["checks"]}


def run_health(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_health", *args, stdout=out, stderr=err)
    except SystemExit as exc:
        return exc.code, out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def seed_run(system: str, status: str, *, duration: float, success_rate: float | None) -> ImportJob:
    now = timezone.now()
    job = ImportJob.objects.create(
        system=system, status=status, file_name="f.csv", started_at=now, finished_at=now, heartbeat_at=now
    )
    written = 0 if status == "failed" or success_rate is None else round(10 * success_rate / 100)
    failed = 0 if status == "failed" else 10 - written
    ImportResult.objects.create(
        job=job, duration_seconds=duration, success_rate=success_rate, total_rows=10, inserted=written, failed=failed
    )
    return job


@pytest.mark.django_db
def test_a_healthy_system_passes_every_check(healthy):
    report = health_report()
    assert report["healthy"], report["failing"]
    assert list(checks(report)) == list(health.CHECKS)


@pytest.mark.django_db
def test_seeded_bad_metrics_fire_the_threshold_checks_by_name(healthy, settings):
    settings.IMPORT_ALERT_MAX_DURATION_SECONDS = 600
    seed_run("upsert", "completed", duration=900.0, success_rate=100.0)
    seed_run("legacy", "failed", duration=1.0, success_rate=0.0)
    seed_run("legacy", "completed_with_errors", duration=1.0, success_rate=80.0)

    report = health_report()
    assert report["failing"] == ["import_success_rate", "import_duration", "import_error_rate"]
    code, out, err = run_health()
    assert code == 1
    assert "UNHEALTHY: import_success_rate, import_duration, import_error_rate" in out
    # 8 of the 18 rows without a problem written: the failed run's 10 rows count against it, the 2 bad rows do not
    assert "import_health: import_success_rate failed: legacy: success rate 44.44 % is below 95 %" in err
    assert "import_health: import_duration failed: upsert: import(s) #" in err
    assert "import_health: import_error_rate failed: legacy: 1 of 2 import(s) failed" in err


@pytest.mark.django_db
def test_dry_runs_and_old_runs_do_not_count(healthy):
    job = seed_run("upsert", "failed", duration=1.0, success_rate=0.0)
    ImportJob.objects.filter(pk=job.pk).update(dry_run=True)
    old = seed_run("legacy", "failed", duration=1.0, success_rate=0.0)
    ImportJob.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=25))
    assert health_report(window_hours=24)["healthy"]
    assert health_report(window_hours=26)["failing"] == ["import_success_rate", "import_error_rate"]


@pytest.mark.django_db
def test_the_worker_check_needs_a_recent_heartbeat(db):
    assert checks(health_report())["worker"]["status"] == "fail"
    assert "no background worker has ever reported" in checks(health_report())["worker"]["detail"]
    record_worker_heartbeat()
    assert checks(health_report())["worker"]["status"] == "ok"
    WorkerHeartbeat.objects.update(beat_at=timezone.now() - timedelta(minutes=6))
    worker = checks(health_report())["worker"]
    assert worker["status"] == "fail"
    assert "last heartbeat 360s ago" in worker["detail"]


@pytest.mark.django_db
def test_jobs_pending_or_silent_for_too_long_are_stuck(healthy, settings):
    settings.IMPORT_TIMEOUT_SECONDS = 600
    long_ago = timezone.now() - timedelta(seconds=700)
    pending = ImportJob.objects.create(file_name="p.csv", created_at=long_ago)
    silent = ImportJob.objects.create(file_name="r.csv", status="running", created_at=long_ago, heartbeat_at=long_ago)
    ImportJob.objects.create(file_name="ok.csv", status="running", created_at=long_ago, heartbeat_at=timezone.now())
    ImportJob.objects.create(file_name="new.csv")

    stuck = checks(health_report())["stuck_jobs"]
    assert stuck["status"] == "fail"
    assert [job["import_id"] for job in stuck["data"]["jobs"]] == [pending.pk, silent.pk]
    assert f"#{pending.pk} (pending), #{silent.pk} (running)" in stuck["detail"]


@pytest.mark.django_db
def test_the_connection_limit_is_checked_against_max_connections(healthy, monkeypatch):
    check = checks(health_report())["connections"]
    if connection.vendor != "postgresql":
        assert check["status"] == "skipped"
        return
    assert check["status"] == "ok"
    assert check["data"]["in_use"] >= 1
    assert check["data"]["max_connections"] >= 10
    monkeypatch.setattr(health, "MAX_CONNECTIONS_PERCENT", check["data"]["percent"])  # now at the limit
    assert checks(health_report())["connections"]["status"] == "fail"


@pytest.mark.postgresql
@pytest.mark.django_db
def test_a_deployment_planned_past_80_percent_of_max_connections_fails_before_it_is_busy(healthy, settings):
    check = checks(health_report())["connections"]
    assert check["status"] == "ok"
    assert check["data"]["planned"] == 2 * 1 + (settings.Q_CLUSTER["workers"] * 2 + 4) + 5  # the defaults
    limit = check["data"]["max_connections"]

    settings.WEB_MACHINES = limit // settings.WEB_CONCURRENCY  # as many web processes as connections
    check = checks(health_report())["connections"]

    assert check["status"] == "fail"
    assert check["data"]["planned_percent"] >= 100
    assert (
        f"raise PostgreSQL's max_connections to {check['data']['planned'] * 100 // 80 + 1} or more" in (check["detail"])
    )


# --- PostgreSQL: indexes and locks -------------------------------------------------------------


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_a_lock_table_held_from_another_connection_fires_with_its_pid_and_mode(healthy):
    other = second_connection()
    try:
        with other.cursor() as cursor:
            cursor.execute("SET lock_timeout = '5s'")
            cursor.execute("BEGIN")
            cursor.execute("LOCK TABLE item_master")
            pid = other.get_backend_pid()
            report = health_report()
            code, _, err = run_health()
            cursor.execute("ROLLBACK")
    finally:
        other.close()

    locks = checks(report)["table_locks"]
    assert report["failing"] == ["table_locks"]
    assert locks["data"]["locks"] == [
        {
            "pid": pid,
            "table": "item_master",
            "mode": "AccessExclusiveLock",
            "granted": True,
            "application": "",
            "transaction_seconds": locks["data"]["locks"][0]["transaction_seconds"],
            "query": "LOCK TABLE item_master",
        }
    ]
    assert code == 1
    assert f"table_locks failed: table-level lock(s) on the masters: pid {pid} holds AccessExclusiveLock" in err
    assert health_report()["healthy"]


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_ordinary_reads_and_writes_from_another_connection_are_not_table_locks(healthy):
    other = second_connection()
    try:
        with other.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("SELECT count(*) FROM item_master")
            cursor.execute("INSERT INTO color_master (color_name, created_at, updated_at) VALUES ('Red', now(), now())")
            cursor.execute("SELECT * FROM size_master FOR UPDATE")
            report = health_report()
            cursor.execute("ROLLBACK")
    finally:
        other.close()
    assert checks(report)["table_locks"]["status"] == "ok"


@pytest.mark.postgresql
@pytest.mark.django_db
def test_a_missing_unique_index_fails_the_check(healthy):
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX idx_size_master_size_name_unique")  # rolled back with the test
    report = health_report()
    assert report["failing"] == ["unique_indexes"]
    assert checks(report)["unique_indexes"]["data"]["missing"] == ["idx_size_master_size_name_unique"]


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_an_invalid_unique_index_left_by_a_failed_concurrent_build_fails_the_check(healthy):
    name = "idx_color_master_color_name_unique"
    definition = f"CREATE UNIQUE INDEX {{}} {name} ON color_master (color_name) WHERE deleted_at IS NULL"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX {name}")
        cursor.execute(
            "INSERT INTO color_master (color_name, created_at, updated_at) VALUES ('Red', now(), now()), "
            "('Red', now(), now())"
        )
        try:
            with pytest.raises(Exception, match="could not create unique index"):
                cursor.execute(definition.format("CONCURRENTLY"))
            report = health_report()
        finally:
            cursor.execute(f"DROP INDEX IF EXISTS {name}")
            cursor.execute("DELETE FROM color_master")
            cursor.execute(definition.format(""))
    assert report["failing"] == ["unique_indexes"]
    assert checks(report)["unique_indexes"]["data"]["invalid"] == [name]
    assert "invalid (rebuild them)" in checks(report)["unique_indexes"]["detail"]
    assert health_report()["healthy"]


# --- The schedule --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_scheduled_check_logs_what_fires(caplog):
    with caplog.at_level(logging.INFO, logger="imports.rollout.health"):
        report = scheduled_health_check()
    assert not report["healthy"]
    assert "Import health check worker FAILED: no background worker has ever reported" in caplog.text

    caplog.clear()
    record_worker_heartbeat()
    with caplog.at_level(logging.INFO, logger="imports.rollout.health"):
        assert scheduled_health_check()["healthy"]
    assert "Import health: all checks pass" in caplog.text


@pytest.mark.slow
@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_a_running_qcluster_keeps_the_worker_check_green():
    """The real background worker (ORM broker, in-process cache) runs the heartbeat schedule."""
    # The heartbeat schedule the migrations create (a transactional test starts from emptied tables).
    Schedule.objects.get_or_create(
        func="imports.tasks.record_worker_heartbeat",
        defaults={"name": "imports: worker heartbeat", "schedule_type": "I", "minutes": 1, "next_run": timezone.now()},
    )
    assert checks(health_report())["worker"]["status"] == "fail"

    settings = connection.settings_dict
    url = f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT'] or 5432}/{settings['NAME']}"
    if settings["PASSWORD"]:
        url = url.replace("@", f":{settings['PASSWORD']}@", 1)
    env = {**os.environ, "DATABASE_URL": url, "QUEUE_WORKERS": "1", "QUEUE_REDIS_URL": "", "RATELIMIT_STORAGE_URL": ""}
    cluster = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120  # the scheduler first looks after about 30 s
        while time.monotonic() < deadline and not WorkerHeartbeat.objects.exists():
            time.sleep(1)
        worker = checks(health_report())["worker"]
    finally:
        cluster.terminate()  # the cluster stops its workers on SIGTERM
        try:
            cluster.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(cluster.pid, signal.SIGKILL)
            cluster.wait(10)
    assert worker["status"] == "ok", worker
    assert worker["data"]["worker"] == cluster_name()
