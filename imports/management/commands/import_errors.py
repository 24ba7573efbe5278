"""``manage.py import_errors IMPORT_ID``: a job's failed rows, ready to fix and re-import."""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError

from imports import error_reports
from imports.models import ImportJob
from imports.selectors import row_errors


class Command(BaseCommand):
    help = "Write the failed rows of an import (the file's columns + row_number + error) to stdout or a file."

    def add_arguments(self, parser):
        parser.add_argument("import_id", type=int)
        parser.add_argument("--format", choices=("csv", "json", "xlsx"), default="csv")
        parser.add_argument("-o", "--output", help="write to this file instead of stdout")

    def handle(self, *args, import_id, format, output, **options):
        try:
            job = ImportJob.objects.get(pk=import_id)
        except ImportJob.DoesNotExist:
            raise CommandError(f"import {import_id} does not exist") from None
        errors = row_errors(job=job).iterator(chunk_size=2000)
        if format == "xlsx":
            if output:
                error_reports.write_xlsx(job, errors, output)
            else:
                error_reports.write_xlsx(job, errors, sys.stdout.buffer)
            return
        chunks = error_reports.iter_csv(job, errors) if format == "csv" else error_reports.iter_json(job, errors)
        if output:
            with open(output, "w", encoding="utf-8", newline="") as target:
                target.writelines(chunks)
        else:
            for chunk in chunks:
                self.stdout.write(chunk, ending="")
