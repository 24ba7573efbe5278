"""Checking a file before it becomes a job: size, type by content, header, rows.

The refusals here need no job: the API answers them with a 4xx and a
machine-readable ``code``, the admin with a form error. Nothing is written.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from django.conf import settings

from catalog.kinds import KINDS
from imports.engine.columns import Mapping, header_score, map_columns, suggest_columns
from imports.engine.errors import ImportRejected
from imports.engine.readers import count_data_rows, detect_format, open_table
from mtc.errors import OptionRefused

#: Formats whose records name their own fields: no line holds the column names (``header_row`` is refused).
LINELESS_FORMATS = {"json": "JSON", "jsonl": "JSON Lines"}


class FileRefused(ImportRejected):
    """A file refused before any job exists, with a machine-readable ``code``.

    Codes: ``file_too_large``, ``empty_file``, ``unsupported_file_type``,
    ``unreadable_file``, ``wrong_header``, ``no_data_rows``.
    """

    def __init__(self, message: str, *, code: str, extra: dict[str, object] | None = None):
        super().__init__(message, code=code, extra=extra)


@dataclass(frozen=True)
class FileCheck:
    """What a quick look at a file found: its format, header, column mapping and data rows (up to a cap)."""

    file_format: str
    #: Data rows counted, at most ``stop_after + 1`` ("more than stop_after").
    data_rows: int
    headers: list[str]
    #: The mapping the file is read with: the suggestion, with the user's mapping laid over it.
    mapping: Mapping
    #: What the reader settled that a job's run must read the same way: the header's line
    #: (``header_row``, CSV and XLSX) and the CSV delimiter (``delimiter``); see ``engine.header_rows``.
    reading: dict[str, object]


def max_upload_bytes() -> int:
    return settings.IMPORT_MAX_UPLOAD_MB * 1024 * 1024


def check_upload_size(*, size: int, file_name: str = "") -> None:
    """Refuse a file larger than ``IMPORT_MAX_UPLOAD_MB``."""
    if size > max_upload_bytes():
        label = os.path.basename(file_name) or "The file"
        raise FileRefused(
            f"{label} is {size / 1024 / 1024:.1f} MB; the largest upload accepted is "
            f"{settings.IMPORT_MAX_UPLOAD_MB} MB (IMPORT_MAX_UPLOAD_MB). Split the file.",
            code="file_too_large",
        )


def check_file(
    *,
    stream: BinaryIO,
    file_name: str,
    kind: str,
    file_format: str = "",
    sheet: str = "",
    encoding: str = "",
    mapping: Mapping | None = None,
    header_row: int | None = None,
    remembered: Callable[[list[str]], Mapping | None] | None = None,
    require_mapping: bool = True,
    stop_after: int | None = None,
) -> FileCheck:
    """Tell the format by content, map the header and count data rows (up to ``stop_after + 1``).

    Writes nothing. Raises :class:`FileRefused` (an ``ImportRejected``) with
    the reader's own message for an empty file, a file that is not CSV, XLSX,
    JSON or JSON Lines by its content, one that cannot be read, a header
    whose mapping leaves a required field without a column (``wrong_header``,
    with the suggestion and the missing fields in ``extra``; only when
    ``require_mapping``), or a header with no data rows: the refusals that
    need no job. ``remembered(headers)`` gives the mapping to use when
    ``mapping`` is None (the user's mapping for the same headers last time).
    The header is read from line ``header_row`` when given, else from the
    row that reads best as the kind's header (``engine.header_rows``); a
    ``header_row`` given for a JSON or JSON Lines file is refused
    (:class:`~mtc.errors.OptionRefused`) rather than ignored: the user meant
    a line that does not exist.
    """
    spec = KINDS.get(kind)
    label = os.path.basename(file_name) or "The file"
    stream.seek(0)
    head = stream.read(64 * 1024)
    stream.seek(0)
    if not head.strip():
        raise FileRefused(f"{label} is empty.", code="empty_file")
    if not file_format:
        try:
            file_format = detect_format(head, file_name, encoding=encoding)
        except ImportRejected as exc:
            raise FileRefused(str(exc), code="unsupported_file_type") from None
    if header_row is not None and file_format in LINELESS_FORMATS:
        raise OptionRefused(
            f"{label} is a {LINELESS_FORMATS[file_format]} file, which has no header row: each record names its "
            f"own fields, so there is no line of column names to choose. Leave the header row out.",
            option="header_row",
        )
    try:
        with open_table(
            stream,
            file_format=file_format,
            file_name=file_name,
            encoding=encoding,
            sheet=sheet,
            header_row=header_row,
            header_score=header_score(spec),
            first_rows_only=stop_after is not None,
        ) as table:
            headers = list(table.headers)
            reading: dict[str, object] = {
                key: table.details[key] for key in ("header_row", "delimiter") if key in table.details
            }
            if reading.get("delimiter") == "tab":
                reading["delimiter"] = "\t"
            if mapping is None and remembered is not None:
                mapping = remembered(headers)
            try:
                effective = map_columns(headers, spec, mapping).mapping
            except ImportRejected as exc:
                if require_mapping:
                    raise FileRefused(str(exc), code="wrong_header", extra=exc.extra) from None
                effective = {c.header: c.field for c in suggest_columns(headers, spec) if c.header.strip()}
                effective.update(mapping or {})
            rows = count_data_rows(table, stop_after=stop_after)
            detected = table.file_format
    except FileRefused:
        raise
    except ImportRejected as exc:
        raise FileRefused(str(exc), code="unreadable_file") from None
    finally:
        stream.seek(0)
    if rows == 0:
        raise FileRefused(f"{label} has a header but no data rows.", code="no_data_rows")
    return FileCheck(file_format=detected, data_rows=rows, headers=headers, mapping=effective, reading=reading)
