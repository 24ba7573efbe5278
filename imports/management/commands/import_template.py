"""``manage.py import_template KIND``: the template file of a kind, to fill in and import.

Every column of the kind under our header names and one example row (CSV),
plus a sheet describing each column (XLSX). Exit codes as the other import
commands: 0 = written, 2 = usage error (an XLSX workbook is binary: it is
written to a file or a pipe, never to a terminal).
"""

from __future__ import annotations

import sys

from django.core.management.base import CommandError

from catalog.kinds import KINDS
from imports import import_templates
from imports.management.base import ImportCommand


class Command(ImportCommand):
    help = "Write the template file of a kind (our column names and an example row) to stdout or a file."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=KINDS.names(), help="what the file holds")
        parser.add_argument("--format", choices=import_templates.FORMATS, default="csv")
        parser.add_argument("-o", "--output", help="write to this file instead of stdout")

    def handle(self, *args, kind, format, output, **options):
        if format == "xlsx" and not output and sys.stdout.isatty():
            raise CommandError("an XLSX workbook is binary: write it to a file with -o FILE, or redirect stdout")
        content, _, _ = import_templates.template(kind=kind, file_format=format)
        if output:
            try:
                with open(output, "wb") as target:
                    target.write(content)
            except OSError as exc:
                raise CommandError(f"-o {output}: cannot write it ({exc.strerror})") from None
        elif format == "xlsx":
            self.binary_stdout().write(content)
        else:
            self.stdout.write(content.decode("utf-8"), ending="")
