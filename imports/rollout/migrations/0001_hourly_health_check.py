"""The rollout kit's hourly health check (django-q2 schedule), run by ``manage.py qcluster``.

``migrate rollout zero`` removes it: the first step of the guide's phase 5,
before the package is deleted (a schedule calling a deleted function would
fail every hour).
"""

from django.db import migrations
from django.utils import timezone

SCHEDULE = {
    "name": "imports: hourly health check",
    "func": "imports.rollout.health.scheduled_health_check",
    "schedule_type": "H",  # Schedule.HOURLY
}


def create_schedule(apps, schema_editor):
    schedule = apps.get_model("django_q", "Schedule")
    if not schedule.objects.filter(func=SCHEDULE["func"]).exists():
        schedule.objects.create(**SCHEDULE, repeats=-1, next_run=timezone.now())


def delete_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(func=SCHEDULE["func"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("imports", "0005_typed_states_and_checked_by"),
        ("django_q", "0018_task_success_index"),
    ]

    operations = [migrations.RunPython(create_schedule, delete_schedule, elidable=False)]
