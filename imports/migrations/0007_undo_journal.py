"""Undo: the change journal of every import, the undo link, the removed-rows figure, and the hourly prune."""

import django.db.models.deletion
from django.db import migrations, models
from django.utils import timezone

NAME = "imports: remove change journals past their retention"
FUNC = "imports.tasks.prune_import_journals"


def create_schedule(apps, schema_editor):
    schedule = apps.get_model("django_q", "Schedule")
    if not schedule.objects.filter(func=FUNC).exists():
        schedule.objects.create(
            name=NAME,
            func=FUNC,
            schedule_type="H",  # Schedule.HOURLY
            repeats=-1,
            next_run=timezone.now(),
        )


def delete_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(func=FUNC).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("imports", "0006_column_mappings"),
        ("django_q", "0018_task_success_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="importjob",
            name="undoes",
            field=models.ForeignKey(
                blank=True,
                db_column="undoes_import_id",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="undos",
                to="imports.importjob",
            ),
        ),
        migrations.AddField(
            model_name="importjob",
            name="journal_kept",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="importresult",
            name="deleted",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.CreateModel(
            name="ImportJournal",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("master", models.CharField(max_length=63)),
                ("written_at", models.DateTimeField()),
                ("inserted", models.JSONField(default=list)),
                ("updated", models.JSONField(default=list)),
                ("deleted", models.JSONField(default=list)),
                (
                    "job",
                    models.ForeignKey(
                        db_column="import_id",
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="journal",
                        to="imports.importjob",
                    ),
                ),
            ],
            options={"db_table": "import_journal", "ordering": ["job", "id"]},
        ),
        migrations.RunPython(create_schedule, delete_schedule, elidable=False),
    ]
