"""Typed job states, the dry run -> import link as a foreign key, and schedules at their new homes.

* ``kind`` takes its choices from ``catalog.kinds`` (a callable), ``stage``
  from ``ImportStage``: no database change, the validation follows the code;
* ``checked_by``: the dry run (admin preview) whose checked file an import
  imported, until now ``options["checked_by_dry_run"]``. One import per dry
  run is now a unique constraint rather than a convention. Existing links
  are moved into it (the lowest import id wins if a dry run was ever
  imported twice);
* the worker heartbeat schedule calls ``imports.tasks.record_worker_heartbeat``
  (the health module moved to the rollout kit); the hourly health check's
  schedule now belongs to the rollout kit (its migration 0001 creates it),
  so it is removed here: a site without the kit has no schedule calling it.
"""

import django.db.models.deletion
from django.db import migrations, models
from django.utils import timezone

import catalog.kinds

OPTION = "checked_by_dry_run"
HEARTBEAT = ("imports.health.record_worker_heartbeat", "imports.tasks.record_worker_heartbeat")
HEALTH = {
    "name": "imports: hourly health check",
    "func": "imports.health.scheduled_health_check",
    "schedule_type": "H",  # Schedule.HOURLY
}


def move_links_to_the_foreign_key(apps, schema_editor):
    jobs = apps.get_model("imports", "ImportJob")
    linked = set()
    for job in jobs.objects.filter(options__has_key=OPTION).order_by("import_id"):
        dry_run_id = job.options.pop(OPTION)
        if dry_run_id not in linked and jobs.objects.filter(pk=dry_run_id, dry_run=True).exists():
            job.checked_by_id = dry_run_id
            linked.add(dry_run_id)
        job.save(update_fields=["options", "checked_by"])


def move_links_back_to_options(apps, schema_editor):
    jobs = apps.get_model("imports", "ImportJob")
    for job in jobs.objects.filter(checked_by__isnull=False):
        job.options = {**job.options, OPTION: job.checked_by_id}
        job.save(update_fields=["options"])


def move_schedules(apps, schema_editor):
    schedule = apps.get_model("django_q", "Schedule")
    schedule.objects.filter(func=HEARTBEAT[0]).update(func=HEARTBEAT[1])
    schedule.objects.filter(func=HEALTH["func"]).delete()


def move_schedules_back(apps, schema_editor):
    schedule = apps.get_model("django_q", "Schedule")
    schedule.objects.filter(func=HEARTBEAT[1]).update(func=HEARTBEAT[0])
    if not schedule.objects.filter(func=HEALTH["func"]).exists():
        schedule.objects.create(**HEALTH, repeats=-1, next_run=timezone.now())


class Migration(migrations.Migration):
    dependencies = [
        ("imports", "0004_import_monitoring"),
        ("django_q", "0018_task_success_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="importjob",
            name="checked_by",
            field=models.OneToOneField(
                blank=True,
                limit_choices_to={"dry_run": True},
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="confirmed_import",
                to="imports.importjob",
            ),
        ),
        migrations.AlterField(
            model_name="importjob",
            name="kind",
            field=models.CharField(choices=catalog.kinds.kind_choices, default="variants", max_length=16),
        ),
        migrations.AlterField(
            model_name="importjob",
            name="stage",
            field=models.CharField(
                blank=True,
                choices=[
                    ("waiting", "Waiting for the background worker"),
                    ("starting", "Starting"),
                    ("reading", "Reading and checking the file"),
                    ("writing", "Saving rows"),
                    ("resuming", "Resuming after an interruption"),
                    ("requeued", "Waiting to resume"),
                    ("done", "Finished"),
                ],
                default="",
                max_length=32,
            ),
        ),
        migrations.RunPython(move_links_to_the_foreign_key, move_links_back_to_options, elidable=False),
        migrations.RunPython(move_schedules, move_schedules_back, elidable=False),
    ]
