"""A daily schedule deleting the uploads of imports past IMPORT_FILE_RETENTION_DAYS (imports/stored_files.py)."""

from django.db import migrations
from django.utils import timezone

NAME = "Delete old import files"
FUNC = "imports.tasks.prune_import_files"


def create_schedule(apps, schema_editor):
    schedule = apps.get_model("django_q", "Schedule")
    if not schedule.objects.filter(func=FUNC).exists():
        schedule.objects.create(
            name=NAME,
            func=FUNC,
            schedule_type="D",  # Schedule.DAILY
            repeats=-1,
            next_run=timezone.now(),
        )


def delete_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(func=FUNC).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("imports", "0013_job_notices"),
        ("django_q", "0018_task_success_index"),
    ]

    operations = [migrations.RunPython(create_schedule, delete_schedule)]
