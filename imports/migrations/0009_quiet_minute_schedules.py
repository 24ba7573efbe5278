"""The worker's every-minute schedules (sweeper, heartbeat) keep no "Successful tasks" record.

Two schedules a minute filled the admin's "Successful tasks" with about 40
rows in a quarter of an hour, hiding the imports there. ``q_options`` in a
schedule's kwargs reach the task django-q2 creates from it; ``save: False``
keeps the record of a success only (a failure is still recorded).
"""

from django.db import migrations
from django.db.models import Q

FUNCS = ("imports.tasks.recover_orphaned_imports", "imports.tasks.record_worker_heartbeat")
QUIET = "{'q_options': {'save': False}}"


def quiet(apps, schema_editor):
    schedules = apps.get_model("django_q", "Schedule").objects.filter(func__in=FUNCS)
    schedules.filter(Q(kwargs__isnull=True) | Q(kwargs="")).update(kwargs=QUIET)


def loud(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(func__in=FUNCS, kwargs=QUIET).update(kwargs="")


class Migration(migrations.Migration):
    dependencies = [
        ("imports", "0008_job_refused_code"),
        ("django_q", "0018_task_success_index"),
    ]

    operations = [migrations.RunPython(quiet, loud)]
