"""imports 0004-0005: the guide's log views, the worker heartbeat table, the schedules, the dry-run link.

Created by ``migrate``, removed by migrating back (reversible); 0005 moves
the schedules to their new homes and the dry run -> import link from the
job's options into the ``checked_by`` foreign key.
"""

from __future__ import annotations

from importlib import import_module

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django_q.models import Schedule

from imports.models import ImportJob

HEARTBEAT = "imports.tasks.record_worker_heartbeat"
HEALTH = "imports.rollout.health.scheduled_health_check"
OLD_FUNCS = {"imports.health.record_worker_heartbeat", "imports.health.scheduled_health_check"}
FUNCS = {HEARTBEAT, HEALTH, *OLD_FUNCS}


def views() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT table_name FROM information_schema.views WHERE table_name LIKE 'import_logs%%'")
        return {name for (name,) in cursor.fetchall()}


def tables() -> set[str]:
    return set(connection.introspection.table_names())


def historical_model(app: str, migration: str, model: str):
    return MigrationExecutor(connection).loader.project_state((app, migration)).apps.get_model(app, model)


def schedules() -> dict[str, tuple]:
    return {s.func: (s.schedule_type, s.minutes, s.repeats) for s in Schedule.objects.filter(func__in=FUNCS)}


@pytest.mark.django_db(transaction=True)
def test_migrating_back_and_forth_removes_and_restores_everything():
    Schedule.objects.filter(func__in=FUNCS).delete()  # a transactional test starts from emptied tables
    call_command("migrate", "imports", "0003", verbosity=0)
    try:
        assert "import_worker_heartbeats" not in tables()
        assert schedules() == {}
        if connection.vendor == "postgresql":
            assert views() == set()
    finally:
        call_command("migrate", verbosity=0)

    assert "import_worker_heartbeats" in tables()
    assert schedules() == {HEARTBEAT: ("I", 1, -1), HEALTH: ("H", None, -1)}
    if connection.vendor == "postgresql":
        assert views() == {"import_logs", "import_logs_old"}


@pytest.mark.django_db(transaction=True)
def test_the_hourly_health_check_comes_and_goes_with_the_rollout_kit():
    call_command("migrate", "imports", "0003", verbosity=0)  # a transactional test starts from emptied tables
    call_command("migrate", verbosity=0)
    call_command("migrate", "rollout", "zero", verbosity=0)
    try:
        assert schedules() == {HEARTBEAT: ("I", 1, -1)}  # what a site without the kit keeps
    finally:
        call_command("migrate", verbosity=0)
    assert schedules() == {HEARTBEAT: ("I", 1, -1), HEALTH: ("H", None, -1)}


@pytest.mark.django_db(transaction=True)
def test_0005_moves_the_schedules_of_0004_and_back():
    call_command("migrate", "imports", "0003", verbosity=0)  # a transactional test starts from emptied tables
    call_command("migrate", "imports", "0004", verbosity=0)
    try:
        assert schedules() == {
            "imports.health.record_worker_heartbeat": ("I", 1, -1),
            "imports.health.scheduled_health_check": ("H", None, -1),
        }
    finally:
        call_command("migrate", verbosity=0)
    assert schedules() == {HEARTBEAT: ("I", 1, -1), HEALTH: ("H", None, -1)}


@pytest.mark.django_db(transaction=True)
def test_the_schedules_are_created_once():
    create_schedules = import_module("imports.migrations.0004_import_monitoring").create_schedules
    Schedule.objects.filter(func__in=FUNCS).delete()
    create_schedules(apps, None)
    create_schedules(apps, None)
    assert Schedule.objects.filter(func__in=OLD_FUNCS).count() == 2


@pytest.mark.django_db(transaction=True)
def test_0005_moves_the_dry_run_link_from_the_options_to_the_foreign_key(tmp_path, settings):
    settings.MEDIA_ROOT = str(tmp_path)
    call_command("migrate", "imports", "0004", verbosity=0)
    try:
        old_jobs = historical_model("imports", "0004_import_monitoring", "ImportJob")  # no checked_by
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM import_jobs")
            assert cursor.fetchone() == (0,)
        dry_run = old_jobs.objects.create(file_name="a.csv", dry_run=True, status="completed")
        first = old_jobs.objects.create(file_name="a.csv", options={"checked_by_dry_run": dry_run.pk, "sheet": "S"})
        second = old_jobs.objects.create(file_name="a.csv", options={"checked_by_dry_run": dry_run.pk})
        gone = old_jobs.objects.create(file_name="b.csv", options={"checked_by_dry_run": 999_999})
    finally:
        call_command("migrate", verbosity=0)

    jobs = {job.pk: job for job in ImportJob.objects.all()}
    assert jobs[first.pk].checked_by_id == dry_run.pk
    assert jobs[first.pk].options == {"sheet": "S"}
    assert jobs[second.pk].checked_by_id is None  # one import per dry run: the first one keeps the link
    assert jobs[gone.pk].checked_by_id is None
    assert all("checked_by_dry_run" not in job.options for job in jobs.values())

    call_command("migrate", "imports", "0004", verbosity=0)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT import_id, options FROM import_jobs WHERE import_id = %s", [first.pk])
            _, options = cursor.fetchone()
        assert "checked_by_dry_run" in str(options)
    finally:
        call_command("migrate", verbosity=0)
