"""``manage.py import_catalog PATH``: import a file from the command line.

Exit codes (relied on by scripts): 0 = no failed row, 3 = completed with
failed rows, 1 = the job failed or was rejected, 2 = usage error. With
``--json`` the last line of stdout is the job as one JSON object.

``--background`` queues the file for the worker (``manage.py qcluster``)
whatever its size, prints its ``import_id`` (with ``--json``, the job with
status ``pending``) and exits 0; ``import_status IMPORT_ID --follow`` watches it.
"""

from __future__ import annotations

import json
import sys

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from imports.engine.kinds import KINDS
from imports.engine.readers import FORMATS
from imports.management.base import ImportCommand
from imports.models import ImportStatus, ImportSystem
from imports.progress import render_bar
from imports.selectors import job_summary
from imports.services import create_import_job, queue_import, run_import_now

EXIT_OK, EXIT_FAILED, EXIT_ROW_ERRORS = 0, 1, 3  # and 2: a usage error (ImportCommand)


class Command(ImportCommand):
    help = "Import a catalog file (CSV, XLSX, JSON, JSON Lines) into the catalog masters."
    # System checks are for deployments (check, migrate, runserver run them); here
    # they would cost every scripted import ~0.2 s before the first row is read.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("path", help="the file to import")
        parser.add_argument("--kind", choices=sorted(KINDS), default="variants")
        parser.add_argument("--format", choices=FORMATS, help="default: told from the file's content and name")
        parser.add_argument("--json", action="store_true", help="print the job as JSON (last stdout line)")
        parser.add_argument("--dry-run", action="store_true", help="validate and count, write nothing")
        parser.add_argument("--max-rows", type=int, help="override IMPORT_MAX_ROWS for this run")
        parser.add_argument("--user", help="username the job is recorded for (and routed by)")
        parser.add_argument(
            "--system",
            choices=ImportSystem.values,
            help="upsert or legacy; default: the USE_NEW_IMPORT_SYSTEM rollout flag",
        )
        parser.add_argument("--sheet", help="XLSX: the sheet to read (default: the first)")
        parser.add_argument("--encoding", help="CSV/JSONL: the file's encoding (default: detected)")
        parser.add_argument(
            "--background", action="store_true", help="queue it for the background worker and print its import_id"
        )

    def handle(self, *args, **options):
        self.check_file_options(options)
        path = options["path"]
        user = self._user(options["user"])
        with open(path, "rb") as stream:
            job = create_import_job(
                stream=stream,
                file_name=path,
                kind=options["kind"],
                user=user,
                source="cli",
                dry_run=options["dry_run"],
                file_format=options["format"] or "",
                system=options["system"] or "",
                options={
                    "max_rows": options["max_rows"],
                    "sheet": options["sheet"],
                    "encoding": options["encoding"],
                },
            )
        if options["background"]:
            job = queue_import(job=job)
            self.stdout.write(json.dumps(job_summary(job)) if options["json"] else str(job.import_id))
            return
        show_bar = self.stderr.isatty()
        on_progress = (lambda progress: self.stderr.write("\r" + render_bar(progress), ending="")) if show_bar else None
        job = run_import_now(job=job, on_progress=on_progress)
        if show_bar:
            self.stderr.write("")
        summary = job_summary(job)
        if options["json"]:
            self.stdout.write(json.dumps(summary))
        else:
            self._print_summary(summary)
        if job.status == ImportStatus.FAILED:
            sys.exit(EXIT_FAILED)
        if summary["failed"]:
            sys.exit(EXIT_ROW_ERRORS)

    def _user(self, username: str | None):
        if not username:
            return None
        user_model = get_user_model()
        try:
            return user_model.objects.get(**{user_model.USERNAME_FIELD: username})
        except user_model.DoesNotExist:
            raise CommandError(f"--user {username}: no such user") from None

    def _print_summary(self, s: dict) -> None:
        label = "Dry run" if s["dry_run"] else "Import"
        self.stdout.write(f"{label} #{s['import_id']} of {s['file_name']} ({s['kind']}, {s['system']}): {s['status']}")
        if s["failure_reason"]:
            self.stdout.write(f"  {s['failure_reason']}")
        for warning in s["warnings"]:
            self.stdout.write(f"  warning: {warning}")
        self.stdout.write(
            "  rows {total_rows}: inserted {inserted}, updated {updated}, unchanged {unchanged}, "
            "superseded {superseded}, failed {failed}".format(**s)
        )
        if s["duration_seconds"] is not None:
            rate = f", {s['rows_per_second']:,.0f} rows/s" if s["rows_per_second"] else ""
            self.stdout.write(f"  {s['duration_seconds']:.2f}s{rate}")
        if s["failed"]:
            self.stdout.write(f"  failed rows: python manage.py import_errors {s['import_id']} --format csv")
