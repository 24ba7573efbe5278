"""``manage.py import_errors IMPORT_ID``: a job's failed rows, ready to fix and import again.

The file's own columns + ``row_number`` + ``error``, as CSV (default), JSON
or XLSX, to stdout or ``-o FILE`` (then one line on stdout says what was
written where). An XLSX workbook is binary: it is written to a file or a
pipe, never to a terminal (exit 2, asking for ``-o``).
Exit codes as the other import commands: 0 = written, 2 = usage error (no
such import, XLSX to a terminal, an ``-o FILE`` that cannot be written).
"""

from __future__ import annotations

import sys
from typing import IO

from django.core.management.base import CommandError
from django.template.defaultfilters import pluralize

from imports import error_reports
from imports.management.base import ImportCommand
from imports.models import ImportJob
from imports.selectors import row_errors
from imports.serializers import ERROR_FORMATS


class Command(ImportCommand):
    help = "Write the failed rows of an import (the file's columns + row_number + error) to stdout or a file."

    def add_arguments(self, parser):
        parser.add_argument("import_id", type=int)
        parser.add_argument("--format", choices=ERROR_FORMATS, default="csv")
        parser.add_argument("-o", "--output", help="write to this file instead of stdout")

    def handle(self, *args, import_id, format, output, **options):
        job = ImportJob.objects.filter(pk=import_id).first()
        if job is None:
            raise CommandError(f"import {import_id} does not exist")
        if format == "xlsx" and not output and sys.stdout.isatty():
            raise CommandError("an XLSX workbook is binary: write it to a file with -o FILE, or redirect stdout")
        errors = row_errors(job=job).iterator(chunk_size=2000)
        if format == "xlsx":
            if output:
                with _open(output, "wb") as target:
                    error_reports.write_xlsx(job, errors, target)
                self._written(job, output)
            else:
                error_reports.write_xlsx(job, errors, self.binary_stdout())
            return
        chunks = error_reports.iter_csv(job, errors) if format == "csv" else error_reports.iter_json(job, errors)
        if output:
            with _open(output, "w") as target:
                target.writelines(chunks)
            self._written(job, output)
        else:
            for chunk in chunks:
                self.stdout.write(chunk, ending="")

    def _written(self, job: ImportJob, output: str) -> None:
        """Say what ``-o FILE`` now holds: a silent success looked like nothing had happened."""
        rows = row_errors(job=job).count()
        what = "changed since" if job.is_undo else "with problems"
        self.stdout.write(f"{rows:,} row{pluralize(rows)} {what} of import #{job.pk} written to {output}")


def _open(path: str, mode: str) -> IO:
    """``-o FILE``, opened before any row is read: a path that cannot be written is a usage error."""
    try:
        if "b" in mode:
            return open(path, mode)  # the caller closes it
        return open(path, mode, encoding="utf-8", newline="")
    except OSError as exc:
        raise CommandError(f"-o {path}: cannot write it ({exc.strerror})") from None
