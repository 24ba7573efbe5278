"""``manage.py import_catalog PATH``: import a file from the command line.

The same way in as every door (``services.start_import``): the file is
checked first (size, type by content, header, data rows) and a refused file
never becomes a job. It then runs here (a progress bar on a terminal), or,
with ``--background``, is queued for the worker (``manage.py qcluster``),
its ``import_id`` printed; ``import_status IMPORT_ID --follow`` watches it.

Exit codes (relied on by scripts): 0 = no failed row (or queued), 3 =
completed with failed rows, 1 = the file was refused or the job failed or
was cancelled, 2 = usage error. The summary names the first failed rows by
the spreadsheet's own line ("line 7", the header and a title above it
counted) and by their row below the header ("row 3"). With ``--json`` the last line of stdout is
the job as one JSON object (``imports.summaries.job_summary``, the API's job), or
``{"detail", "code"}`` for a refused file.
"""

from __future__ import annotations

import json
import sys

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from imports.engine.strategies import systems
from imports.management.base import EXIT_BY_STATUS, ImportCommand
from imports.models import ImportJob, ImportSource
from imports.progress import render_bar
from imports.selectors import error_summary
from imports.services import start_import
from imports.summaries import job_summary
from mtc.commands import command_line

#: Failed rows printed after the summary (the rest: ``import_errors``).
FAILED_ROWS_SHOWN = 5


class Command(ImportCommand):
    help = "Import a catalog file (CSV, XLSX, JSON, JSON Lines) into the catalog masters."
    # System checks are for deployments (check, migrate, runserver run them); here
    # they would cost every scripted import ~0.2 s before the first row is read.
    requires_system_checks = []

    def add_arguments(self, parser):
        self.add_file_arguments(parser)
        self.add_mapping_argument(parser)
        parser.add_argument("--json", action="store_true", help="print the job as JSON (last stdout line)")
        parser.add_argument("--dry-run", action="store_true", help="validate and count, write nothing")
        parser.add_argument("--user", help="username the job is recorded for (and routed by)")
        parser.add_argument(
            "--system", choices=systems(), help="which importer runs it; default: chosen per user (the rollout)"
        )
        parser.add_argument(
            "--background", action="store_true", help="queue it for the background worker and print its import_id"
        )

    def handle(self, *args, **options):
        self.check_file_options(options)
        path = options["path"]
        user = self._user(options["user"])
        show_bar = not options["background"] and self.stderr.isatty()
        on_progress = (lambda progress: self.stderr.write("\r" + render_bar(progress), ending="")) if show_bar else None
        with open(path, "rb") as stream, self.outcome_told_here():
            job = start_import(
                stream=stream,
                file_name=path,
                kind=options["kind"],
                user=user,
                source=ImportSource.CLI,
                dry_run=options["dry_run"],
                file_format=options["format"] or "",
                system=options["system"] or "",
                options=self.reader_options(options),
                mapping=self.mapping(options),
                background=options["background"],
                on_progress=on_progress,
            )
        if show_bar:
            self.stderr.write("")
        job = ImportJob.objects.select_related("result", "user").get(pk=job.pk)
        summary = job_summary(job)
        if options["json"]:
            self.stdout.write(json.dumps(summary))
        elif options["background"]:
            self.stdout.write(str(job.import_id))
        else:
            self._print_summary(summary, job)
        if job.is_finished and EXIT_BY_STATUS[job.status]:
            sys.exit(EXIT_BY_STATUS[job.status])

    def _user(self, username: str | None):
        if not username:
            return None
        user_model = get_user_model()
        try:
            return user_model.objects.get(**{user_model.USERNAME_FIELD: username})
        except user_model.DoesNotExist:
            raise CommandError(f"--user {username}: no such user") from None

    def _print_summary(self, s: dict, job: ImportJob) -> None:
        """The job in words; a failed row by the spreadsheet's line ("line 7") and its row below the header."""
        label = "Dry run" if s["dry_run"] else "Import"
        status = "refused" if job.is_refused else s["status"]
        self.stdout.write(f"{label} #{s['import_id']} of {s['file_name']} ({s['kind']}, {s['system']}): {status}")
        if s["failure_reason"]:
            self.stdout.write(f"  {s['failure_reason']}")
        if job.is_refused:  # no row was read: no line of zero counts
            return
        if s["header_row"] and s["header_row"] > 1:
            self.stdout.write(f"  column names read from line {s['header_row']} (the lines above it skipped)")
        for warning in s["warnings"]:
            self.stdout.write(f"  warning: {warning}")
        rows = "not counted" if s["total_rows"] is None else s["total_rows"]  # refused before they were read
        self.stdout.write(
            f"  rows {rows}: inserted {s['inserted']}, updated {s['updated']}, unchanged {s['unchanged']}, "
            f"superseded {s['superseded']}, failed {s['failed']}"
        )
        if s["duration_seconds"] is not None:
            rate = f", {s['rows_per_second']:,.0f} rows/s" if s["rows_per_second"] else ""
            self.stdout.write(f"  {s['duration_seconds']:.2f}s{rate}")
        if s["failed"]:
            for row in error_summary(job=job, rows=FAILED_ROWS_SHOWN)["first_rows"]:
                where = f"row {row['row_number']}"
                if row["line_number"] is not None:
                    where = f"line {row['line_number']} (row {row['row_number']})"
                self.stdout.write(f"  {where}: {row['error']}")
            if s["failed"] > FAILED_ROWS_SHOWN:
                self.stdout.write(f"  ... and {s['failed'] - FAILED_ROWS_SHOWN:,} more")
            self.stdout.write("  failed rows: " + command_line(f"import_errors {s['import_id']} --format csv"))
