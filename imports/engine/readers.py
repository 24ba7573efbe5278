"""File -> header and raw rows, streamed.

Every reader yields ``(row_number, cells)`` where ``row_number`` counts data
rows from 1 (the first row after the header; blank rows keep their number but
are not yielded) and ``cells`` line up with ``headers``. Nothing holds the
whole file in memory: CSV decodes as it reads, XLSX uses openpyxl's read-only
mode, JSON is parsed incrementally by ijson.

Formats are told by content first (an XLSX is a zip, JSON starts with ``[``),
the file name second, so a renamed file is still read correctly and garbage
is refused with a clear message.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import BinaryIO

import ijson
import openpyxl

from imports.engine.errors import ImportRejected

FORMATS = ("csv", "xlsx", "json", "jsonl")
DELIMITERS = (",", ";", "\t", "|")
EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".xlsx": "xlsx",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
_SNIFF_BYTES = 64 * 1024
_CHUNK = 1024 * 1024
csv.field_size_limit(10 * 1024 * 1024)


@dataclass
class Table:
    """A file opened for import: its header and a one-pass stream of rows."""

    headers: list[str]
    rows: Iterator[tuple[int, list]]
    file_format: str
    #: What the reader worked out (encoding, delimiter, sheet), for the job's record.
    details: dict[str, str] = field(default_factory=dict)


def detect_format(head: bytes, file_name: str = "") -> str:
    """The file's format from its first bytes, the name breaking ties."""
    suffix = "." + file_name.rsplit(".", 1)[-1].lower() if "." in file_name else ""
    by_name = EXTENSIONS.get(suffix)
    if not head.strip():
        raise ImportRejected(f"{file_name or 'The file'} is empty.")
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith((b"\xd0\xcf\x11\xe0", b"%PDF", b"\x1f\x8b", b"\x89PNG", b"GIF8", b"\xff\xd8\xff")):
        raise ImportRejected(
            f"{file_name or 'The file'} is not a spreadsheet this importer reads "
            "(expected CSV, XLSX, JSON or JSON Lines; old .xls files must be saved as .xlsx)."
        )
    text = _decode_head(head)
    if text is None:
        raise ImportRejected(
            f"{file_name or 'The file'} looks like binary data, not a CSV, XLSX, JSON or JSON Lines file."
        )
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith("["):
        return "json"
    if stripped.startswith("{"):
        return "jsonl"
    if by_name in ("json", "jsonl"):
        raise ImportRejected(
            f"{file_name} does not start like JSON: a JSON file must hold an array of objects "
            "and a JSON Lines file one object per line."
        )
    return "csv"


def _decode_head(head: bytes) -> str | None:
    """The start of a text file, or None when it is binary."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return head.decode("utf-16", errors="ignore")
    if b"\x00" in head:
        return None
    text = head.decode("utf-8", errors="replace")
    unprintable = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\r\n\x0c")
    return None if unprintable > len(text) // 100 + 1 else text


@contextmanager
def open_table(
    stream: BinaryIO,
    *,
    file_format: str = "",
    file_name: str = "",
    encoding: str = "",
    sheet: str = "",
) -> Iterator[Table]:
    """Open a binary, seekable stream as a :class:`Table`."""
    head = stream.read(_SNIFF_BYTES)
    stream.seek(0)
    file_format = file_format or detect_format(head, file_name)
    if file_format not in FORMATS:
        raise ImportRejected(f"Unknown format {file_format!r}: expected one of {', '.join(FORMATS)}.")
    if not head.strip():
        raise ImportRejected(f"{file_name or 'The file'} is empty.")
    label = file_name or "the file"
    if file_format == "csv":
        yield _csv_table(stream, label, encoding)
    elif file_format == "xlsx":
        with _xlsx_table(stream, label, sheet) as table:
            yield table
    elif file_format == "json":
        yield _json_table(stream, label)
    else:
        yield _jsonl_table(stream, label, encoding)


# --- CSV ------------------------------------------------------------------------


def detect_encoding(stream: BinaryIO) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, else cp1252 or latin-1.

    The whole file is checked (in chunks, at C speed) so an accented byte on
    row 90,000 cannot turn into a decoding error after 89 batches committed.
    """
    stream.seek(0)
    head = stream.read(4)
    stream.seek(0)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for candidate in ("utf-8", "cp1252"):
        decoder = codecs.getincrementaldecoder(candidate)()
        try:
            while chunk := stream.read(_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        finally:
            stream.seek(0)
        return candidate
    return "latin-1"


def _csv_table(stream: BinaryIO, label: str, encoding: str) -> Table:
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ImportRejected(f"Unknown encoding {encoding!r} for {label}.") from None
    else:
        encoding = detect_encoding(stream)
    text = io.TextIOWrapper(stream, encoding=encoding, newline="", errors="strict")
    try:
        first_line = text.readline()
    except UnicodeDecodeError as exc:
        raise ImportRejected(f"{label} is not valid {encoding}: {exc.reason} at byte {exc.start}.") from None
    delimiter = max(DELIMITERS, key=first_line.count) if any(d in first_line for d in DELIMITERS) else ","
    text.seek(0)
    reader = csv.reader(text, delimiter=delimiter)
    try:
        headers = next(reader, None)
    except csv.Error as exc:
        raise ImportRejected(f"{label}: the header row cannot be read as CSV ({exc}).") from None
    if not headers or not any(h.strip() for h in headers):
        raise ImportRejected(f"{label} has no header row.")
    if headers[0].startswith("\ufeff"):
        headers[0] = headers[0][1:]
    details = {"encoding": encoding, "delimiter": {"\t": "tab"}.get(delimiter, delimiter)}
    return Table(headers=headers, rows=_csv_rows(reader, label, encoding), file_format="csv", details=details)


def _csv_rows(reader, label: str, encoding: str) -> Iterator[tuple[int, list]]:
    row_number = 0
    try:
        for cells in reader:
            row_number += 1
            if any(cells):
                yield row_number, cells
    except csv.Error as exc:
        raise ImportRejected(f"{label}, data row {row_number + 1}: cannot be read as CSV ({exc}).") from None
    except UnicodeDecodeError as exc:
        raise ImportRejected(f"{label}, near data row {row_number + 1}: not valid {encoding} ({exc.reason}).") from None


# --- XLSX -----------------------------------------------------------------------


@contextmanager
def _xlsx_table(stream: BinaryIO, label: str, sheet: str) -> Iterator[Table]:
    try:
        workbook = openpyxl.load_workbook(stream, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise ImportRejected(f"{label} is not a readable XLSX workbook ({exc}).") from None
    try:
        if sheet:
            if sheet not in workbook.sheetnames:
                raise ImportRejected(
                    f"{label} has no sheet named {sheet!r}; its sheets are: {', '.join(workbook.sheetnames)}."
                )
            worksheet = workbook[sheet]
        else:
            worksheet = workbook.worksheets[0]
        rows = worksheet.iter_rows(values_only=True)
        header_cells = next(rows, None)
        if not header_cells or not any(cell not in (None, "") for cell in header_cells):
            raise ImportRejected(f"{label}, sheet {worksheet.title!r}: the first row (the header) is empty.")
        headers = ["" if cell is None else str(cell) for cell in header_cells]
        while headers and headers[-1] == "":
            headers.pop()
        yield Table(
            headers=headers,
            rows=_xlsx_rows(rows),
            file_format="xlsx",
            details={"sheet": worksheet.title},
        )
    finally:
        workbook.close()


def _xlsx_rows(rows) -> Iterator[tuple[int, list]]:
    for row_number, cells in enumerate(rows, start=1):
        if any(cell is not None and cell != "" for cell in cells):
            yield row_number, list(cells)


# --- JSON and JSON Lines --------------------------------------------------------


def _json_table(stream: BinaryIO, label: str) -> Table:
    """An array of objects; the header is every key, in first-seen order.

    The keys are gathered in a first streaming pass, so an object that adds a
    key late still gets its column, and a missing key reads as an empty cell.
    """
    headers: dict[str, None] = {}
    try:
        for record in ijson.items(stream, "item"):
            if isinstance(record, dict):
                headers.update(dict.fromkeys(record))
    except ijson.JSONError as exc:
        raise ImportRejected(f"{label} is not valid JSON ({exc}).") from None
    finally:
        stream.seek(0)
    if not headers:
        raise ImportRejected(f"{label} holds no JSON objects: expected an array of objects, one per row.")
    names = list(headers)
    return Table(headers=names, rows=_json_rows(stream, label, names), file_format="json")


def _json_rows(stream: BinaryIO, label: str, headers: list[str]) -> Iterator[tuple[int, list]]:
    row_number = 0
    try:
        for row_number, record in enumerate(ijson.items(stream, "item"), start=1):
            if record != {}:
                yield row_number, _record_cells(record, headers)
    except ijson.JSONError as exc:
        raise ImportRejected(f"{label}, after row {row_number}: not valid JSON ({exc}).") from None


def _jsonl_table(stream: BinaryIO, label: str, encoding: str) -> Table:
    encoding = encoding or detect_encoding(stream)
    headers: dict[str, None] = {}
    for _, record in _jsonl_records(stream, encoding):
        if isinstance(record, dict):
            headers.update(dict.fromkeys(record))
    stream.seek(0)
    if not headers:
        raise ImportRejected(f"{label} holds no JSON objects: expected one object per line.")
    names = list(headers)
    rows = ((row_number, _record_cells(record, names)) for row_number, record in _jsonl_records(stream, encoding))
    return Table(headers=names, rows=rows, file_format="jsonl", details={"encoding": encoding})


class NotAnObject:
    """A JSON row that is not an object; the row parser reports it."""

    def __init__(self, text: str):
        self.text = text


def _jsonl_records(stream: BinaryIO, encoding: str) -> Iterator[tuple[int, object]]:
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    try:
        row_number = 0
        for line in text:
            row_number += 1
            if not line.strip() or line.strip() == "{}":
                continue
            try:
                yield row_number, json.loads(line, parse_float=Decimal)
            except json.JSONDecodeError as exc:
                yield row_number, NotAnObject(f"not valid JSON ({exc.msg}, column {exc.colno})")
    finally:
        text.detach()


def _record_cells(record: object, headers: list[str]) -> list:
    if isinstance(record, NotAnObject):
        return [record]
    if not isinstance(record, dict):
        return [NotAnObject(f"expected an object with the columns as keys, found {type(record).__name__}")]
    return [record.get(name) for name in headers]


def count_data_rows(table: Table, *, stop_after: int | None = None) -> int:
    """How many data rows the table yields (up to ``stop_after + 1``, if given)."""
    count = 0
    for _ in table.rows:
        count += 1
        if stop_after is not None and count > stop_after:
            break
    return count
