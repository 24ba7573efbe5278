"""Monitoring for the migration: the guide's log views, a worker heartbeat, and their schedules.

* ``import_logs`` (every run that is not a dry run: created_at, status,
  duration_seconds, success_rate, system, ...) and ``import_logs_old`` (the
  legacy runs) are PostgreSQL views, so the guide's section 1.2 and 4.3
  queries run verbatim in psql. Other databases get no views (the commands
  and the API compute the same figures through the ORM).
* ``import_worker_heartbeats``: the background worker writes its heartbeat
  there every minute (schedule below); the health check reads it.
* Two django-q2 schedules, created once (a schedule an operator deleted on
  purpose is not brought back by a later migration): the worker heartbeat,
  every minute, and the import health check, hourly, which logs what fires.

PostgreSQL refuses to alter a column that a view reads: a later migration
that changes one of the columns below must drop the views first and create
them again (``drop_views`` / ``create_views`` here).
"""

from django.db import migrations, models
from django.utils import timezone

CREATE_VIEWS = """
CREATE VIEW import_logs AS
SELECT
    j.import_id,
    j.created_at,
    j.started_at,
    j.finished_at,
    j.status,
    j.system,
    j.kind,
    j.source,
    j.routing,
    j.user_id,
    j.file_name,
    r.duration_seconds,
    r.success_rate,
    r.total_rows,
    r.inserted,
    r.updated,
    r.unchanged,
    r.superseded,
    r.failed AS failed_rows,
    j.failure_reason
FROM import_jobs j
LEFT JOIN import_results r ON r.import_id = j.import_id
WHERE NOT j.dry_run;

COMMENT ON VIEW import_logs IS 'Every import run except dry runs, one row each (the migration guide, 1.2).';

CREATE VIEW import_logs_old AS
SELECT * FROM import_logs WHERE system = 'legacy';

COMMENT ON VIEW import_logs_old IS 'The legacy (LOCK TABLE) importer''s runs (the migration guide, 4.3).';
"""

DROP_VIEWS = """
DROP VIEW IF EXISTS import_logs_old;
DROP VIEW IF EXISTS import_logs;
"""

SCHEDULES = (
    {
        "name": "imports: worker heartbeat",
        "func": "imports.health.record_worker_heartbeat",
        "schedule_type": "I",  # Schedule.MINUTES
        "minutes": 1,
    },
    {
        "name": "imports: hourly health check",
        "func": "imports.health.scheduled_health_check",
        "schedule_type": "H",  # Schedule.HOURLY
        "minutes": None,
    },
)


def create_views(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE_VIEWS)


def drop_views(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_VIEWS)


def create_schedules(apps, schema_editor):
    schedule = apps.get_model("django_q", "Schedule")
    for spec in SCHEDULES:
        if not schedule.objects.filter(func=spec["func"]).exists():
            schedule.objects.create(**spec, repeats=-1, next_run=timezone.now())


def delete_schedules(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(func__in=[spec["func"] for spec in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("imports", "0003_orphaned_imports_schedule"),
        ("django_q", "0018_task_success_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="WorkerHeartbeat",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("worker", models.CharField(max_length=200, unique=True)),
                ("beat_at", models.DateTimeField()),
            ],
            options={"db_table": "import_worker_heartbeats"},
        ),
        migrations.RunPython(create_views, drop_views, elidable=False),
        migrations.RunPython(create_schedules, delete_schedules, elidable=False),
    ]
