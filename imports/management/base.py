"""What the import commands share: exit codes scripts can rely on, refusals, pipes, file arguments.

Exit codes: 0 = done, 1 = the import failed, was cancelled or was refused
(or, for ``compare_importers``, the importers disagree), 2 = usage error (as
argparse's own; Django's is 1; also an option the service found does not
apply to the file, ``mtc.errors.OptionRefused``: ``--header-row`` for a JSON
file), 3 = done with failed rows. A refusal from a
service (``mtc.errors``: a refused file, a job whose state does not allow
the action) prints its message on stderr, and with ``--json`` also
``{"detail", "code"}`` as the last line of stdout, then exits 1.

Output is best effort: when the reader of stdout goes away (``| head``), the
rest of the output is dropped quietly and the command still ends with its
own exit code (an import that ran is not reported as failed because nobody
read its summary), never with a ``BrokenPipeError`` traceback.
"""

from __future__ import annotations

import codecs
import json
import logging
import os
import shlex
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO, cast

from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.kinds import KINDS
from imports.engine.limits import MAX_HEADER_ROW
from imports.engine.numbers import AUTO, COMMA, NUMBER_FORMATS
from imports.engine.readers import FORMATS
from imports.models import ImportStatus
from mtc.errors import DomainError, OptionRefused

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_ROW_ERRORS = 0, 1, 2, 3
#: How a finished job ends a command (``import_catalog``, ``import_status``).
EXIT_BY_STATUS = {
    ImportStatus.COMPLETED: EXIT_OK,
    ImportStatus.COMPLETED_WITH_ERRORS: EXIT_ROW_ERRORS,
    ImportStatus.FAILED: EXIT_FAILED,
    ImportStatus.CANCELLED: EXIT_FAILED,
}


class ImportCommand(BaseCommand):
    """A command of the import tooling (see the module docstring for its contract)."""

    def execute(self, *args, **options):
        self.stdout._out = PipeSafe(self.stdout._out)
        try:
            return super().execute(*args, **options)
        except CommandError as exc:
            self.stderr.write(f"{self.name}: error: {exc}")
            sys.exit(EXIT_USAGE)
        except OptionRefused as exc:  # an option that does not apply to the file, as the service found
            self.stderr.write(f"{self.name}: error: --{exc.option.replace('_', '-')}: {exc}")
            sys.exit(EXIT_USAGE)
        except DomainError as exc:
            self.stderr.write(f"{self.name}: {exc}")
            suggestion = exc.extra.get("suggestion")
            if isinstance(suggestion, dict):
                self.stderr.write(map_options_hint(suggestion, missing=exc.extra.get("missing")))
            if options.get("json"):
                self.stdout.write(json.dumps({**exc.extra, "detail": str(exc), "code": exc.code}))
            sys.exit(EXIT_FAILED)

    @property
    def name(self) -> str:
        return self.__module__.rsplit(".", 1)[-1]

    @staticmethod
    @contextmanager
    def outcome_told_here() -> Iterator[None]:
        """While a command runs a job and prints its outcome itself, the job's INFO lines stay off the console.

        The engine logs a refusal or a stop at INFO for the worker's log
        (``Import 5 rejected: ...``); on a terminal that was the command's own
        message a second time. Warnings and errors still show.
        """
        logger = logging.getLogger("imports")
        level = logger.level
        if logger.getEffectiveLevel() < logging.WARNING:
            logger.setLevel(logging.WARNING)
        try:
            yield
        finally:
            logger.setLevel(level)

    def binary_stdout(self) -> BinaryIO:
        """Where binary output (an XLSX workbook) goes: stdout's bytes, quiet once the reader has gone."""
        return cast(BinaryIO, PipeSafe(sys.stdout.buffer))  # a BinaryIO by delegation

    # --- arguments of the commands that read an import file ------------------------------------

    @staticmethod
    def add_file_arguments(parser: CommandParser) -> None:
        parser.add_argument("path", help="the file to import")
        parser.add_argument("--kind", choices=KINDS.names(), default=KINDS.default, help="what the file holds")
        parser.add_argument("--format", choices=FORMATS, help="default: told from the file's content and name")
        parser.add_argument("--max-rows", type=int, help="override IMPORT_MAX_ROWS for this run")
        parser.add_argument("--sheet", help="XLSX: the sheet to read (default: the first)")
        parser.add_argument("--encoding", help="CSV/JSONL: the file's encoding (default: detected)")
        parser.add_argument(
            "--header-row",
            type=int,
            metavar="N",
            help="CSV/XLSX: the line of the sheet that holds the column names, counted as a spreadsheet program "
            "counts its lines (default: the row that reads best as a header; a title or notes above it are skipped); "
            "refused for a JSON or JSON Lines file, which has no header row",
        )
        numbers = parser.add_mutually_exclusive_group()
        numbers.add_argument(
            "--number-format",
            choices=NUMBER_FORMATS,
            default=AUTO,
            help="how prices and stocks are written: point (1,299.50), comma (1.299,50) or auto (default: told "
            "by the file's values; a value that reads two ways, such as 1.000, is a row problem)",
        )
        numbers.add_argument(
            "--decimal-comma",
            dest="number_format",
            action="store_const",
            const=COMMA,
            help="numbers are written with a decimal comma (12,50; 1.299,50): --number-format comma",
        )

    @staticmethod
    def check_file_options(options: dict) -> None:
        """The ``path``, ``--max-rows`` and ``--encoding`` arguments of a command that reads an import file."""
        path = options["path"]
        if not os.path.exists(path):
            raise CommandError(f"{path}: no such file")
        if not os.path.isfile(path):
            raise CommandError(f"{path}: not a file")
        if options.get("max_rows") is not None and options["max_rows"] < 1:
            raise CommandError("--max-rows must be at least 1")
        if options.get("header_row") is not None and not 1 <= options["header_row"] <= MAX_HEADER_ROW:
            raise CommandError(f"--header-row must be a line from 1 to {MAX_HEADER_ROW:,}")
        if options.get("encoding"):
            try:
                codec = codecs.lookup(options["encoding"])
            except LookupError:
                raise CommandError(f"--encoding {options['encoding']}: unknown encoding") from None
            if not getattr(codec, "_is_text_encoding", True):  # e.g. zlib, base64: bytes to bytes
                raise CommandError(f"--encoding {options['encoding']}: not a text encoding")

    @staticmethod
    def add_mapping_argument(parser: CommandParser) -> None:
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="HEADER=FIELD",
            help="read the file's column HEADER as FIELD; 'HEADER=' ignores the column (repeatable). "
            "Columns not named keep their suggested field",
        )

    @staticmethod
    def mapping(options: dict) -> dict[str, str | None] | None:
        """``--map`` options as a mapping, or None when there are none."""
        mapping: dict[str, str | None] = {}
        for option in options.get("map") or []:
            header, equals, field = option.rpartition("=")
            if not equals or not header.strip():
                raise CommandError(f"--map {option!r}: expected HEADER=FIELD, or HEADER= to ignore the column")
            mapping[header.strip()] = field.strip() or None
        return mapping or None

    @staticmethod
    def reader_options(options: dict) -> dict:
        """The options a job keeps for reading its file again (retry, resume)."""
        return {key: options.get(key) for key in ("max_rows", "sheet", "encoding", "number_format", "header_row")}


class PipeSafe:
    """A stream whose writes stop quietly once its reader has gone (a closed pipe).

    After the first ``BrokenPipeError`` the descriptor is pointed at
    ``/dev/null``, so neither later writes nor the interpreter's final flush
    can raise again.
    """

    def __init__(self, stream):
        self._stream = stream
        self.reader_gone = False

    def write(self, data):
        if self.reader_gone:
            return len(data)
        try:
            return self._stream.write(data)
        except BrokenPipeError:
            self._silence()
            return len(data)

    def flush(self) -> None:
        if self.reader_gone:
            return
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._silence()

    def _silence(self) -> None:
        self.reader_gone = True
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError):
            pass

    def __getattr__(self, name):
        return getattr(self._stream, name)


def map_options_hint(suggestion: dict, *, missing: object = None) -> str:
    """The suggested mapping as ``--map`` options to paste (and edit), and the fields nothing maps yet."""
    options = " ".join(shlex.quote(f"--map={header}={field or ''}") for header, field in suggestion.items())
    lines = ["Suggested mapping, as options to edit and add to the command:", f"  {options}"]
    if isinstance(missing, list) and missing:
        lines.append(f"No column suggested for: {', '.join(map(str, missing))} (add --map='HEADER=FIELD' for each).")
    return "\n".join(lines)
