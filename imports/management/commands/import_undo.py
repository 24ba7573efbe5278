"""``manage.py import_undo IMPORT_ID``: undo an import (or redo one, by undoing its undo).

The same way in as the admin and the API (``imports.undos.undo_import``):
the rows the import added are removed, the values it replaced restored, the
items, colors and sizes it created removed when nothing uses them. A row
changed since the import is kept and listed as a failed row of the undo
(``import_errors UNDO_ID``) with both values, unless ``--force``.
``--dry-run`` counts what the undo would do and changes nothing.

Exit codes as ``import_catalog``: 0 = undone (or queued), 3 = undone except
rows changed since (conflicts), 1 = refused (still running, already undone,
nothing to undo or its record of changes is gone) or the undo failed or was
cancelled, 2 = usage error. With ``--json`` the last line of stdout is the
undo's job (``imports.summaries.job_summary``), or ``{"detail", "code"}``
for a refusal.
"""

from __future__ import annotations

import json
import sys

from django.core.management.base import CommandError

from imports.management.base import EXIT_BY_STATUS, ImportCommand
from imports.models import ImportJob, ImportSource
from imports.progress import render_bar
from imports.summaries import job_summary
from imports.undos import undo_import
from mtc.commands import command_line


class Command(ImportCommand):
    help = "Undo an import: remove the rows it added and restore the values it replaced."
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("import_id", type=int)
        parser.add_argument("--dry-run", action="store_true", help="count what the undo would do, change nothing")
        parser.add_argument("--force", action="store_true", help="also restore rows changed since the import")
        parser.add_argument("--json", action="store_true", help="print the undo's job as JSON (last stdout line)")
        parser.add_argument(
            "--background", action="store_true", help="queue it for the background worker and print its import_id"
        )

    def handle(self, *args, **options):
        job = ImportJob.objects.filter(pk=options["import_id"]).first()
        if job is None:
            raise CommandError(f"import {options['import_id']} does not exist")
        show_bar = not options["background"] and self.stderr.isatty()
        on_progress = (lambda progress: self.stderr.write("\r" + render_bar(progress), ending="")) if show_bar else None
        with self.outcome_told_here():
            undo = undo_import(
                job=job,
                source=ImportSource.CLI,
                dry_run=options["dry_run"],
                force=options["force"],
                background=options["background"],
                on_progress=on_progress,
            )
        if show_bar:
            self.stderr.write("")
        undo = ImportJob.objects.select_related("result").get(pk=undo.pk)
        summary = job_summary(undo)
        if options["json"]:
            self.stdout.write(json.dumps(summary))
        elif options["background"]:
            self.stdout.write(str(undo.import_id))
        else:
            self._print_summary(summary)
        if undo.is_finished and EXIT_BY_STATUS[undo.status]:
            sys.exit(EXIT_BY_STATUS[undo.status])

    def _print_summary(self, s: dict) -> None:
        label = "Undo preview" if s["dry_run"] else "Undo"
        self.stdout.write(f"{label} #{s['import_id']} of import #{s['undoes_import_id']}: {s['status']}")
        if s["failure_reason"]:
            self.stdout.write(f"  {s['failure_reason']}")
        self.stdout.write(
            f"  rows {s['total_rows'] or 0}: removed {s['deleted']}, restored {s['updated']}, "
            f"brought back {s['inserted']}, kept {s['unchanged']}, changed since (kept) {s['failed']}"
        )
        if s["failed"]:
            self.stdout.write("  rows changed since: " + command_line(f"import_errors {s['import_id']} --format csv"))
