"""imports 0004: the guide's log views, the worker heartbeat table and the monitoring schedules,
created by ``migrate`` and removed by migrating back (reversible)."""

from __future__ import annotations

from importlib import import_module

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django_q.models import Schedule

FUNCS = {"imports.health.record_worker_heartbeat", "imports.health.scheduled_health_check"}


def views() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT table_name FROM information_schema.views WHERE table_name LIKE 'import_logs%%'")
        return {name for (name,) in cursor.fetchall()}


def tables() -> set[str]:
    return set(connection.introspection.table_names())


@pytest.mark.django_db(transaction=True)
def test_migrating_back_and_forth_removes_and_restores_everything():
    Schedule.objects.filter(func__in=FUNCS).delete()  # a transactional test starts from emptied tables
    call_command("migrate", "imports", "0003", verbosity=0)
    try:
        assert "import_worker_heartbeats" not in tables()
        assert not Schedule.objects.filter(func__in=FUNCS).exists()
        if connection.vendor == "postgresql":
            assert views() == set()
    finally:
        call_command("migrate", "imports", verbosity=0)

    assert "import_worker_heartbeats" in tables()
    schedules = {s.func: (s.schedule_type, s.minutes, s.repeats) for s in Schedule.objects.filter(func__in=FUNCS)}
    assert schedules == {
        "imports.health.record_worker_heartbeat": ("I", 1, -1),
        "imports.health.scheduled_health_check": ("H", None, -1),
    }
    if connection.vendor == "postgresql":
        assert views() == {"import_logs", "import_logs_old"}


@pytest.mark.django_db(transaction=True)
def test_the_schedules_are_created_once():
    create_schedules = import_module("imports.migrations.0004_import_monitoring").create_schedules
    create_schedules(apps, None)
    create_schedules(apps, None)
    assert Schedule.objects.filter(func__in=FUNCS).count() == 2
