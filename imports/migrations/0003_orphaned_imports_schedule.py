"""The background worker's sweeper: every minute, queue again the imports whose worker died.

A django-q2 schedule (run by ``manage.py qcluster``'s scheduler) calling
``imports.tasks.recover_orphaned_imports``; see ``imports.services`` for the rules.
"""

from django.db import migrations
from django.utils import timezone

NAME = "imports: resume imports whose worker died"
FUNC = "imports.tasks.recover_orphaned_imports"


def create_schedule(apps, schema_editor):
    schedule = apps.get_model("django_q", "Schedule")
    if not schedule.objects.filter(func=FUNC).exists():
        schedule.objects.create(
            name=NAME,
            func=FUNC,
            schedule_type="I",  # Schedule.MINUTES
            minutes=1,
            repeats=-1,
            next_run=timezone.now(),
        )


def delete_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(func=FUNC).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("imports", "0002_import_jobs_updated_at_trigger"),
        ("django_q", "0018_task_success_index"),
    ]

    operations = [migrations.RunPython(create_schedule, delete_schedule, elidable=False)]
