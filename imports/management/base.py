"""What the import commands share: exit codes scripts can rely on, file arguments."""

from __future__ import annotations

import os
import sys

from django.core.management.base import BaseCommand, CommandError

EXIT_USAGE = 2


class ImportCommand(BaseCommand):
    """A command whose usage errors exit 2, as argparse's own do (not Django's 1).

    The import commands give 1 its own meaning (the import failed), so a
    script must be able to tell a mistyped call from a failed import.
    """

    def execute(self, *args, **options):
        try:
            return super().execute(*args, **options)
        except CommandError as exc:
            self.stderr.write(f"{self.__module__.rsplit('.', 1)[-1]}: error: {exc}")
            sys.exit(EXIT_USAGE)

    @staticmethod
    def check_file_options(options: dict) -> None:
        """The ``path`` and ``--max-rows`` arguments of a command that reads an import file."""
        if not os.path.isfile(options["path"]):
            raise CommandError(f"{options['path']}: no such file")
        if options.get("max_rows") is not None and options["max_rows"] < 1:
            raise CommandError("--max-rows must be at least 1")
