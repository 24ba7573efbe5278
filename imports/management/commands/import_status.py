"""``manage.py import_status IMPORT_ID [--follow]``: where an import stands, as a progress bar.

Reads the same tracker as the API and the admin (Redis when configured, else
the job row). ``--follow`` redraws the bar until the job finishes (one line
per change when stdout is not a terminal) and then exits like
``import_catalog``: 0 = completed, 3 = completed with failed rows, 1 = failed
or cancelled. Without ``--follow`` it exits 0 for a job still waiting or
running. 2 = usage error (e.g. no such import). ``--json`` prints the job
with its progress as one JSON object (the last line): the API's job
(``imports.serializers.JobDetailSerializer``).
"""

from __future__ import annotations

import json
import sys
import time

from django.core.management.base import CommandError

from imports.management.base import EXIT_BY_STATUS, ImportCommand
from imports.models import ImportJob
from imports.progress import Progress, read_progress, render_bar
from imports.serializers import JobDetailSerializer


class Command(ImportCommand):
    help = "Show an import's status and progress; --follow watches it to the end."

    def add_arguments(self, parser):
        parser.add_argument("import_id", type=int)
        parser.add_argument("--follow", "-f", action="store_true", help="redraw until the import finishes")
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between looks (--follow)")
        parser.add_argument("--json", action="store_true", help="print the job and its progress as JSON")

    def handle(self, *args, **options):
        if options["interval"] <= 0:
            raise CommandError("--interval must be more than 0")
        job = self._job(options["import_id"])
        if options["follow"]:
            job = self._follow(job, interval=options["interval"], quiet=options["json"])
        if options["json"]:
            self.stdout.write(json.dumps(JobDetailSerializer(job).data, default=str))
        else:
            self._print(job, read_progress(job=job))
        if job.is_finished and EXIT_BY_STATUS[job.status]:
            sys.exit(EXIT_BY_STATUS[job.status])

    def _job(self, import_id: int) -> ImportJob:
        job = ImportJob.objects.select_related("result", "user").filter(pk=import_id).first()
        if job is None:
            raise CommandError(f"import {import_id} does not exist")
        return job

    def _follow(self, job: ImportJob, *, interval: float, quiet: bool) -> ImportJob:
        tty = self.stdout.isatty()
        last = None
        while True:
            line = render_bar(_progress(read_progress(job=job)))
            if not quiet and line != last:
                if tty:
                    self.stdout.write("\r" + line, ending="")
                    self.stdout.flush()
                else:
                    self.stdout.write(line)
                last = line
            if job.is_finished:
                if tty and not quiet:
                    self.stdout.write("")
                return job
            time.sleep(interval)
            job = self._job(job.pk)

    def _print(self, job: ImportJob, progress: dict) -> None:
        label = "Dry run" if job.dry_run else "Import"
        status = "refused" if job.is_refused else job.status
        self.stdout.write(f"{label} #{job.pk} of {job.file_name} ({job.kind}): {status}")
        if not job.is_refused:  # a refused file had no rows read: no empty bar of "?% 0/? rows"
            self.stdout.write("  " + render_bar(_progress(progress)))
        if job.failure_reason:
            self.stdout.write(f"  {job.failure_reason}")
        if job.cancel_requested and not job.is_finished:
            self.stdout.write("  cancel requested: stops at the next batch")


def _progress(data: dict) -> Progress:
    return Progress(**{name: data[name] for name in Progress.__dataclass_fields__})
