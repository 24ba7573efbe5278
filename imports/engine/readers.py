"""File -> header and raw rows, streamed.

Every reader yields ``(row_number, cells)`` where ``row_number`` counts data
rows from 1 (the first row after the header) and ``cells`` line up with
``headers``. A blank row (every cell empty or whitespace) keeps its number but
is not yielded; blank rows *before* the header are skipped. Nothing holds the
whole file in memory: CSV and JSON Lines decode as they read, an XLSX sheet
is parsed row by row (the workbook's structure through openpyxl, the sheet's
XML through expat, each row dropped once read; a sheet of at most
``IMPORT_XLSX_IN_MEMORY_MB`` that python-calamine reads exactly alike is read
whole by it, faster; on an openpyxl release that way was not verified on,
openpyxl's public API, whose memory grows with the rows: see
:mod:`imports.engine.xlsx_sheets`), JSON is parsed incrementally by ijson.

Headers are kept as the job stores them (:func:`stored_headers`): a NUL or
another character PostgreSQL cannot store becomes U+FFFD, and a header
longer than :data:`~imports.engine.limits.MAX_HEADER_CHARS` characters is cut.

Formats are told by content first (an XLSX is a zip, JSON starts with ``[``,
JSON Lines with ``{``), the file name second, so a renamed file is still read
correctly and anything else (binary data, an old ``.xls``, an HTML page, a
``.json`` name on CSV text) is refused with a message that says what it is.
A declared format is honoured, but not against the content: a workbook
declared as CSV (or text declared as XLSX) is refused rather than misread.

Text (CSV, JSON, JSON Lines) is read in the declared encoding, else in the
one :func:`detect_encoding` finds: UTF-8 with or without BOM, UTF-16/UTF-32
with BOM, else cp1252, else latin-1. An unknown declared encoding is refused.

CSV: the delimiter is the one of ``, ; TAB |`` found most often (outside
quotes) in the header line, ``,`` when there is none (a one-column file);
Excel's ``sep=;`` first line is honoured. Quoting is strict: a field whose
quote is never closed rejects the file (it would swallow every later row),
while a row with a stray character after a closing quote becomes that row's
problem. A row the reader cannot turn into cells is handed on as a single
:class:`~imports.engine.tables.NotAnObject` cell, which the row parser reports as the row's problem.

XLSX: the first worksheet or a named one (exact name, else a unique
case-insensitive match); cells come typed (numbers, dates, booleans), formula
cells give their saved value, and an error cell (``#N/A``...) or a formula
whose result was never saved is marked (:class:`~imports.engine.tables.ExcelError`,
:class:`~imports.engine.tables.UnsavedFormula`) so the row is refused instead of storing the error
as text or an empty value. Every row the sheet holds is read, whatever size
the file declares.

JSON: an array of objects; the header is every key in first-seen order (a
first streaming pass gathers them), a missing key reads as an empty cell and
an element that is not an object becomes that row's problem. Numbers keep
their exact decimal value (``19.99`` is ``Decimal('19.99')``, never a float).
JSON Lines: one object per line; a line that is not valid JSON is that row's
problem and the other rows are read.

Bounds (:mod:`imports.engine.limits`; the README's "Limits"): a cell longer
than the field limit, a line longer than a row, more columns than a sheet
has, JSON nested deeper than :data:`~imports.engine.limits.MAX_JSON_DEPTH`
refuse the file (a JSON Lines line nesting too deep is that row's problem);
a workbook is checked part by part first (:mod:`imports.engine.xlsx_parts`).
Lines are read at most a row's length at a time, JSON is built from ijson's
events (never its prefix-building ``items``), and a JSON token longer than a
cell is refused before the parser holds it, so no file costs more than the
bounds, however small and however hostile.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from decimal import Decimal
from typing import BinaryIO

import ijson

from imports.engine.errors import ImportRejected
from imports.engine.header_rows import HeaderChoice, HeaderScore
from imports.engine.limits import (
    HEADER_SEARCH_ROWS,
    HELD_CONTENT_CHARS,
    JSON_NESTED_SHOWN,
    MAX_CELL_CHARS,
    MAX_COLUMNS,
    MAX_HEADER_CHARS,
    MAX_HEADER_ROW,
    MAX_JSON_DEPTH,
    MAX_ROW_CHARS,
)
from imports.engine.tables import NotAnObject, Table, blank_cells
from mtc.storable import clipped, storable

FORMATS = ("csv", "xlsx", "json", "jsonl")
DELIMITERS = (",", ";", "\t", "|")
EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
_SNIFF_BYTES = 64 * 1024
_CHUNK = 1024 * 1024
#: A CSV field longer than this refuses the file ("the field limit").
CSV_FIELD_LIMIT = MAX_CELL_CHARS
#: Leading blank lines tolerated before a CSV header.
_MAX_LEADING_BLANK_LINES = 1000
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_OTHER_BINARY_MAGIC = (b"%PDF", b"\x1f\x8b", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"Rar!", b"7z\xbc\xaf")
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_QUOTED = re.compile(r'"[^"]*"?')
_SEP_HINT = re.compile(r"sep=(.)", re.IGNORECASE)
_BLANK_LINE = re.compile(r'[\s,;|"\ufeff]+')
_MARKUP = ("<!doctype", "<html", "<?xml", "<table", "<head", "<body")
csv.field_size_limit(CSV_FIELD_LIMIT)


# --- format -----------------------------------------------------------------------


def detect_format(head: bytes, file_name: str = "", *, encoding: str = "") -> str:
    """The file's format from its first bytes, the name breaking ties.

    Raises :class:`ImportRejected` for an empty file, binary data, an old
    ``.xls`` and markup; and for text that does not start like JSON when
    the name says ``.json``/``.jsonl`` (a renamed CSV would only fail later
    with a confusing message). A declared ``encoding`` is how the head is
    decoded (UTF-16 without a BOM would otherwise look binary).
    """
    label = file_name or "The file"
    content = _content_format(head, label, encoding)
    if content != "text":
        return content
    suffix = "." + file_name.rsplit(".", 1)[-1].lower() if "." in file_name else ""
    if EXTENSIONS.get(suffix) in ("json", "jsonl"):
        raise ImportRejected(
            f"{file_name} does not start like JSON: a JSON file must hold an array of objects "
            "and a JSON Lines file one object per line."
        )
    return "csv"


def _content_format(head: bytes, label: str, encoding: str = "") -> str:
    """``xlsx``, ``json``, ``jsonl`` or ``text`` (CSV or anything textual), from the first bytes."""
    if not _strip_boms(head).strip():
        raise ImportRejected(f"{label} is empty.")
    if head.startswith(_ZIP_MAGIC):
        return "xlsx"
    if head.startswith(_OLE_MAGIC):
        raise ImportRejected(
            f"{label} is an old Excel 97-2003 (.xls) workbook or a password-protected one; "
            "save it as .xlsx (without a password) or CSV and import that."
        )
    if head.startswith(_OTHER_BINARY_MAGIC):
        raise ImportRejected(
            f"{label} is not a spreadsheet this importer reads (expected CSV, XLSX, JSON or JSON Lines)."
        )
    text = head.decode(encoding, errors="ignore") if encoding else _decode_head(head)
    if text is None:
        raise ImportRejected(
            f"{label} looks like binary data, not a CSV, XLSX, JSON or JSON Lines file "
            "(text must be UTF-8, UTF-16 with a byte-order mark, or a legacy encoding such as cp1252)."
        )
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith("["):
        return "json"
    if stripped.startswith("{"):
        return "jsonl"
    if stripped[:16].lower().startswith(_MARKUP):
        raise ImportRejected(
            f"{label} is an HTML or XML document, not a spreadsheet; "
            "open it in a spreadsheet program and save it as .xlsx or CSV."
        )
    return "text"


def _strip_boms(head: bytes) -> bytes:
    for bom, _ in _BOMS:
        if head.startswith(bom):
            return head[len(bom) :]
    return head


def _decode_head(head: bytes) -> str | None:
    """The start of a text file, or None when it is binary.

    Binary means more than 1% control characters: a stray NUL in a cell is
    left for the row parser to refuse with its position, not the whole file.
    """
    for bom, encoding in _BOMS:
        if head.startswith(bom) and encoding != "utf-8-sig":
            return head.decode(encoding, errors="ignore")
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
    header_row: int | None = None,
    header_score: HeaderScore | None = None,
    delimiter: str = "",
    first_rows_only: bool = False,
) -> Iterator[Table]:
    """Open a binary, seekable stream as a :class:`Table`.

    ``file_format``, ``encoding`` and ``sheet`` are what the user declared
    (empty: detect, detect, first sheet). The stream is left open and usable
    when the block ends.

    The header (CSV and XLSX) is read from line ``header_row`` of the sheet
    when given (1 = the first line, as a spreadsheet program counts them);
    else it is looked for with ``header_score`` (:func:`pick_header`); else
    it is the first row with content. ``delimiter`` (CSV) is the one a
    check found, so a job's run reads the file as its check did; without it,
    it is sniffed (with ``header_score``, as the one that reads the best
    header). The table's ``details`` say which line the header was read
    from (``header_row``) and the delimiter used.

    ``first_rows_only``: the caller reads only the first rows (a check),
    so an XLSX sheet streams rather than being read whole by calamine first
    (:mod:`imports.engine.xlsx_sheets`).
    """
    head = stream.read(_SNIFF_BYTES)
    stream.seek(0)
    label = file_name or "The file"
    if file_format and file_format not in FORMATS:
        raise ImportRejected(f"Unknown format {file_format!r}: expected one of {', '.join(FORMATS)}.")
    if encoding:
        encoding = _declared_encoding(encoding, label)
    if header_row is not None and not 1 <= header_row <= MAX_HEADER_ROW:
        raise ImportRejected(f"The header row must be a line from 1 to {MAX_HEADER_ROW:,}; {header_row} is not.")
    header = HeaderChoice(header_row, header_score, label)
    if file_format:
        content = _content_format(head, label, encoding)
        if file_format == "xlsx" and content != "xlsx":
            raise ImportRejected(f"{label} was declared as XLSX but is not an XLSX workbook (it holds text).")
        if file_format != "xlsx" and content == "xlsx":
            raise ImportRejected(f"{label} was declared as {file_format.upper()} but is an XLSX workbook (a zip file).")
    else:
        file_format = detect_format(head, file_name, encoding=encoding)
    with ExitStack() as cleanup:
        if file_format == "csv":
            table = _csv_table(stream, label, encoding, cleanup, header, delimiter)
        elif file_format == "xlsx":
            # openpyxl loads only when a workbook is read (it costs every command ~50 ms to import).
            from imports.engine.xlsx_sheets import xlsx_table

            table = xlsx_table(stream, label, sheet, cleanup, header, first_rows_only=first_rows_only)
        elif file_format == "json":
            table = _json_table(stream, label, encoding)
        else:
            table = _jsonl_table(stream, label, encoding, cleanup)
        if len(table.headers) > MAX_COLUMNS:
            raise ImportRejected(
                f"{label} has {len(table.headers):,} columns; a file may have at most {MAX_COLUMNS:,}."
            )
        table.headers = stored_headers(table.headers)
        yield table


def stored_headers(headers: list[str]) -> list[str]:
    """Headers as the job keeps them: a character PostgreSQL cannot store (NUL) becomes U+FFFD, and a
    header longer than :data:`~imports.engine.limits.MAX_HEADER_CHARS` is cut (``mtc.storable``).

    A new list: the JSON readers keep the file's own keys to look cells up.
    """
    return [clipped(storable(header), MAX_HEADER_CHARS) for header in headers]


@contextmanager
def open_stored_table(job) -> Iterator[Table]:
    """A job's stored file as a :class:`Table`, read with the options it was imported with.

    ``job`` is an :class:`~imports.models.ImportJob` (anything with
    ``open_file()``, ``file_format``, ``file_name`` and ``options``). The
    table's ``bytes_read()`` tells how far into the file reading has got.
    The header row and the delimiter are the ones its check found or its
    user chose (``options``), so every run and resume reads the same rows.
    """
    options = job.options or {}
    with (
        job.open_file() as stream,
        open_table(
            stream,
            file_format=job.file_format,
            file_name=job.file_name,
            encoding=options.get("encoding", ""),
            sheet=options.get("sheet", ""),
            header_row=options.get("header_row") or None,
            delimiter=options.get("delimiter", ""),
        ) as table,
    ):
        table.bytes_read = stream.tell
        yield table


def count_data_rows(table: Table, *, stop_after: int | None = None) -> int:
    """How many data rows the table yields (up to ``stop_after + 1``, if given)."""
    count = 0
    for _ in table.rows:
        count += 1
        if stop_after is not None and count > stop_after:
            break
    return count


# --- encodings --------------------------------------------------------------------


def detect_encoding(stream: BinaryIO) -> str:
    """UTF-8 (``utf-8-sig`` with a BOM), UTF-16/UTF-32 with a BOM, else cp1252, else latin-1.

    The whole file is checked (in chunks, at C speed) so an accented byte on
    row 90,000 cannot turn into a decoding error after 89 batches committed,
    nor be read as UTF-8 when it is cp1252. latin-1 decodes any byte: the few
    bytes cp1252 leaves undefined become C1 control characters, which the row
    parser refuses with their position.
    """
    stream.seek(0)
    head = stream.read(4)
    stream.seek(0)
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding
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


def _declared_encoding(encoding: str, label: str) -> str:
    """A declared encoding, checked: it must exist and be a text encoding."""
    try:
        info = codecs.lookup(encoding)
    except LookupError:
        raise ImportRejected(
            f"{label}: unknown encoding {encoding!r}; use a name such as utf-8, utf-16, cp1252 or latin-1."
        ) from None
    if not getattr(info, "_is_text_encoding", True):
        raise ImportRejected(f"{label}: {encoding!r} is not a text encoding.")
    return encoding


def _text_stream(stream: BinaryIO, encoding: str, cleanup: ExitStack) -> io.TextIOWrapper:
    """Decoded text over the caller's stream, detached (not closed) when the table closes."""
    text = io.TextIOWrapper(stream, encoding=encoding, newline="", errors="strict")
    cleanup.callback(_detach, text)
    return text


def _detach(text: io.TextIOWrapper) -> None:
    with suppress(ValueError):  # already detached
        text.detach()


def _not_valid(label: str, encoding: str, exc: UnicodeDecodeError, where: str) -> ImportRejected:
    return ImportRejected(
        f"{label} is not valid {encoding} {where} ({exc.reason}: byte 0x{exc.object[exc.start]:02x}); "
        "declare the file's real encoding, or leave it out to have it detected."
    )


# --- CSV --------------------------------------------------------------------------


def _csv_table(
    stream: BinaryIO, label: str, encoding: str, cleanup: ExitStack, header: HeaderChoice, delimiter: str = ""
) -> Table:
    """The header is the row ``header`` picks; lines are counted as a spreadsheet shows them.

    A line is a CSV record (a quoted cell may span several lines of text),
    counted from the first, but not Excel's ``sep=`` hint, which a
    spreadsheet program does not show.
    """
    encoding = encoding or detect_encoding(stream)
    text = _text_stream(stream, encoding, cleanup)
    try:
        sniffed, hint_line = _sniff_delimiter(text, label, header.score if not delimiter else None)
    except UnicodeDecodeError as exc:
        raise _not_valid(label, encoding, exc, "in its first lines") from None
    delimiter = delimiter or sniffed or ""
    if not delimiter:
        raise ImportRejected(f"{label} has no header row.")
    text.seek(0)
    if hint_line:
        text.readline(MAX_ROW_CHARS)
    reader = csv.reader(_bounded_lines(text, label, delimiter), delimiter=delimiter, strict=True)
    records = _CsvRecords(reader, label, encoding)
    try:
        picked = header.pick(records.with_content())
    except UnicodeDecodeError as exc:
        raise _not_valid(label, encoding, exc, "in its header") from None
    if picked is None:
        raise ImportRejected(f"{label} has no header row.")
    header_line, headers, rest = picked
    if headers and isinstance(headers[0], NotAnObject):
        raise ImportRejected(f"{label}: the header row (line {header_line}) cannot be read as CSV ({headers[0].text}).")
    records.header_line = header_line
    headers = list(headers)
    headers[0] = headers[0].lstrip("\ufeff")
    details: dict[str, str | int] = {
        "encoding": encoding,
        "delimiter": {"\t": "tab"}.get(delimiter, delimiter),
        "header_row": header_line,
    }
    return Table(
        headers=headers,
        rows=records.data_rows(rest),
        file_format="csv",
        details=details,
        content_read=stream.tell,
    )


class _CsvRecords:
    """A CSV file's records, numbered as a spreadsheet numbers its lines, from one ``csv.reader``.

    Before the header is known (``header_line`` 0), the records with content
    are handed to the header's choice; after it, the data rows, numbered from
    the header (1 = the line below it). A record the reader cannot turn into
    cells is a :class:`~imports.engine.tables.NotAnObject` row; a quote never
    closed, or a cell past the field limit, refuses the file.
    """

    def __init__(self, reader, label: str, encoding: str):
        self.reader = reader
        self.label = label
        self.encoding = encoding
        self.header_line = 0
        self.line = 0

    def _where(self) -> str:
        if self.header_line:
            return f"data row {self.line - self.header_line}"
        return f"line {self.line}"

    def _records(self) -> Iterator[tuple[int, list]]:
        reader = self.reader
        physical = reader.line_num
        while True:
            try:
                for cells in reader:
                    self.line += 1
                    physical = reader.line_num
                    yield self.line, cells
                return
            except csv.Error as exc:
                self.line += 1
                message = str(exc)
                if _FIELD_LIMIT in message and reader.line_num - physical <= 1:
                    raise ImportRejected(f"{self.label}, {self._where()}: {_too_long_cell()}.") from None
                if "unexpected end of data" in message or _FIELD_LIMIT in message:
                    past = (
                        f", here past the field limit of {MAX_CELL_CHARS:,} characters"
                        if _FIELD_LIMIT in message
                        else ""
                    )
                    raise ImportRejected(
                        f"{self.label}, {self._where()}: a quoted field is never closed "
                        f'(a stray " swallows every row after it{past}); fix the quoting and import again.'
                    ) from None
                yield (
                    self.line,
                    [NotAnObject(f"the row cannot be read as CSV ({message}, line {reader.line_num} of the file)")],
                )
                physical = reader.line_num
            except UnicodeDecodeError as exc:
                raise _not_valid(self.label, self.encoding, exc, f"near {self._where_next()}") from None

    def _where_next(self) -> str:
        if self.header_line:
            return f"data row {self.line + 1 - self.header_line}"
        return f"line {self.line + 1}"

    def with_content(self) -> Iterator[tuple[int, list]]:
        """``(line, cells)`` of the records with content: above the header, more than whitespace,
        delimiters and quotes; below it, any cell that is not blank (a blank row keeps its number)."""
        for line, cells in self._records():
            if not cells:
                continue
            if isinstance(cells[0], NotAnObject):
                yield line, cells
            elif self.header_line:
                if any(map(str.strip, cells)):
                    yield line, cells
            elif _has_content("".join(cells)):
                yield line, cells

    def data_rows(self, rest: Iterator[tuple[int, list]]) -> Iterator[tuple[int, list]]:
        """``(row number, cells)`` below the header, numbered from it (1 = the line below the header)."""
        start = self.header_line
        for line, cells in rest:
            yield line - start, cells


def _sniff_delimiter(text: io.TextIOWrapper, label: str, score: HeaderScore | None) -> tuple[str | None, bool]:
    """``(delimiter, whether the first line was Excel's sep= hint)``; ``(None, False)`` when there is no header.

    The delimiter is the one of ``, ; TAB |`` found most often (outside
    quotes) in the first line with content. With ``score`` (the kind's header
    score), when that line is not a header that places every required field
    (a title, a note), each delimiter found in the first lines with content
    splits them, and the one whose best line scores highest is taken (a
    ``;`` header below a title holding a comma); the first line's wins a tie.
    """
    lines: list[str] = []
    held = 0
    for number, line in enumerate(_bounded_lines(text, label, ","), start=1):
        if number > _MAX_LEADING_BLANK_LINES and not lines:
            break
        content = line.lstrip("\ufeff").rstrip("\r\n")
        if number == 1 and (hint := _SEP_HINT.fullmatch(content)):
            return hint.group(1), True
        if not _has_content(content):
            continue
        lines.append(content)
        held += len(content)
        if score is None or len(lines) >= HEADER_SEARCH_ROWS or held > HELD_CONTENT_CHARS:
            break
    if not lines:
        return None, False
    first = _most_frequent_delimiter(lines[0])
    if score is None or score(_split(lines[0], first))[0]:
        return first, False
    present = [d for d in DELIMITERS if any(d in _QUOTED.sub("", line) for line in lines)]
    best = {d: max(score(_split(line, d)) for line in lines) for d in dict.fromkeys([first, *present])}
    return max(best, key=lambda d: best[d]), False


def _most_frequent_delimiter(content: str) -> str:
    outside_quotes = _QUOTED.sub("", content)
    counts = [outside_quotes.count(d) for d in DELIMITERS]
    best = max(counts)
    return DELIMITERS[counts.index(best)] if best else ","


def _split(line: str, delimiter: str) -> list:
    """One line's cells under ``delimiter``, for scoring it as a header (quoting read leniently)."""
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:
        return []


def _has_content(text: str) -> bool:
    """Whether a line (or a row's cells joined) holds more than whitespace, delimiters and quotes."""
    return bool(_BLANK_LINE.sub("", text))


_FIELD_LIMIT = "field larger than field limit"


def _too_long_cell() -> str:
    return f"a cell is longer than the field limit of {MAX_CELL_CHARS:,} characters"


class _LineTooLong(ImportRejected):
    pass


def _bounded_lines(text: io.TextIOWrapper, label: str, delimiter: str) -> Iterator[str]:
    """The stream's lines, none longer than :data:`~imports.engine.limits.MAX_ROW_CHARS` characters.

    A longer line refuses the file (reading it whole could cost gigabytes):
    saying the cell exceeds the field limit when a cell of it does, else that
    the line exceeds the limit of one row. ``delimiter`` tells its cells apart
    (``","`` for JSON Lines, where any long run is a long cell).
    """
    readline = text.readline
    limit = MAX_ROW_CHARS + 1
    number = 0
    while line := readline(limit):
        number += 1
        if len(line) == limit:
            where = f"{label}, line {number} of the file"
            if max(map(len, line.split(delimiter))) > MAX_CELL_CHARS:
                raise _LineTooLong(f"{where}: {_too_long_cell()}.")
            raise _LineTooLong(
                f"{where} is longer than {MAX_ROW_CHARS:,} characters, the limit of one row "
                f"({MAX_COLUMNS:,} columns at most, {MAX_CELL_CHARS:,} characters a cell)."
            )
        yield line


# --- JSON and JSON Lines ----------------------------------------------------------


def _json_table(stream: BinaryIO, label: str, encoding: str) -> Table:
    """An array of objects; the header is every key, in first-seen order.

    The keys are gathered in a first streaming pass, so an object that adds a
    key late still gets its column, and a missing key reads as an empty cell.
    A file that is not valid JSON is refused, saying after which row it broke.
    """
    encoding = encoding or detect_encoding(stream)
    headers: dict[str, None] = {}
    read = 0
    try:
        for read, record in enumerate(_json_elements(stream, encoding, label), start=1):
            if isinstance(record, dict):
                headers.update(dict.fromkeys(record))
                if len(headers) > MAX_COLUMNS:
                    raise ImportRejected(
                        f"{label}, row {read}: the objects have more than {MAX_COLUMNS:,} different keys, "
                        f"the most columns a file may have."
                    )
    except UnicodeDecodeError as exc:
        raise _not_valid(label, encoding, exc, _after(read)) from None
    except (ijson.JSONError, ValueError) as exc:
        raise ImportRejected(f"{label} is not valid JSON {_after(read)}: {_first_line(exc)}.") from None
    finally:
        stream.seek(0)
    if not headers:
        raise ImportRejected(
            f"{label} holds no JSON objects: expected an array of objects, one per row "
            '([{"item_name": ..., "color_name": ...}, ...]).'
        )
    names = list(headers)
    return Table(
        headers=names,
        rows=_json_rows(stream, label, encoding, names),
        file_format="json",
        details={"encoding": encoding},
        content_read=stream.tell,
    )


def _json_rows(stream: BinaryIO, label: str, encoding: str, headers: list[str]) -> Iterator[tuple[int, list]]:
    row_number = 0
    try:
        for row_number, record in enumerate(_json_elements(stream, encoding, label), start=1):
            cells = _record_cells(record, headers)
            if not blank_cells(cells):
                yield row_number, cells
    except (ijson.JSONError, ValueError) as exc:
        raise ImportRejected(f"{label} is not valid JSON {_after(row_number)}: {_first_line(exc)}.") from None


def _json_source(stream: BinaryIO, encoding: str):
    """What ijson reads: the file's own bytes (past a BOM) when UTF-8, else the text re-encoded as UTF-8."""
    stream.seek(0)
    if codecs.lookup(encoding).name in ("utf-8", "utf-8-sig"):
        if stream.read(3) != codecs.BOM_UTF8:
            stream.seek(0)
        return stream
    return _Utf8Recoder(stream, encoding)


class _Utf8Recoder:
    """A binary file-like object giving ``stream``'s text (in ``encoding``) as UTF-8, chunk by chunk."""

    def __init__(self, stream: BinaryIO, encoding: str):
        self._stream = stream
        self._decoder = codecs.getincrementaldecoder(encoding)()

    def read(self, size: int = -1) -> bytes:
        if size == 0:
            return b""
        while True:
            chunk = self._stream.read(size if size > 0 else _CHUNK)
            text = self._decoder.decode(chunk, final=not chunk)
            if text or not chunk:
                return text.encode("utf-8")


#: The most bytes between two ``"`` of a JSON file: a string of MAX_CELL_CHARS characters, each escaped.
_JSON_RUN_BYTES = 6 * MAX_CELL_CHARS + 2
#: A ``\\u`` escape of half a surrogate pair (not a pair), not itself escaped.
_SURROGATE_ESCAPE = re.compile(
    rb"(?<!\\)((?:\\\\)*)\\u([dD][89abAB][0-9a-fA-F]{2})(\\u[dD][c-fC-F][0-9a-fA-F]{2})?"
    rb"|(?<!\\)((?:\\\\)*)\\u([dD][c-fC-F][0-9a-fA-F]{2})"
)
_MAYBE_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")
#: What a lone surrogate escape is read as, then put back (a noncharacter: never text).
_SURROGATE_MARK = "\ufdd0"


class _JsonGuard:
    """The bytes ijson reads, refusing a token too long to be one cell before the parser holds it.

    The C parser (yajl) holds a whole string or number before handing it on,
    so a 90 MB string would cost hundreds of MB before its length could be
    checked. Any string lies between two unescaped ``"``: a longer run of
    bytes without one is a string (or a number, or whitespace) longer than
    :data:`~imports.engine.limits.MAX_CELL_CHARS` characters can be, however
    escaped, and refuses the file at once. Two C searches a chunk.

    yajl also turns half a surrogate pair (``"\\ud800"``) into ``?``,
    silently; such an escape is handed on as a noncharacter and put back by
    :meth:`restore`, so the row rules refuse it as they do in JSON Lines.
    """

    def __init__(self, source, label: str):
        self._source = source
        self._label = label
        self._run = 0
        self._held = b""
        self.surrogates: list[str] = []

    def read(self, size: int = -1) -> bytes:
        while True:
            chunk = self._source.read(size)
            data = self._held + chunk
            self._held = b""
            if chunk and b"\\" in data[-11:]:
                # An escape may be cut: hand on the part before its run of backslashes, keep the rest.
                cut = len(data) - 11 + data[-11:].rfind(b"\\")
                while cut > max(len(data) - 64, 0) and data[cut - 1] == 0x5C:
                    cut -= 1
                data, self._held = data[:cut], data[cut:]
            if data or not chunk:
                break
        if not data:
            return b""
        if _MAYBE_SURROGATE.search(data):
            data = _SURROGATE_ESCAPE.sub(self._mark, data)
        last = _unescaped_quote(data, last=True)
        if last < 0:
            self._run += len(data)
        else:
            self._check(self._run + _unescaped_quote(data, last=False))
            self._run = len(data) - last - 1
        self._check(self._run)
        return data

    def _check(self, run: int) -> None:
        if run > _JSON_RUN_BYTES:
            raise ImportRejected(f"{self._label}: {_too_long_cell()} (a value runs over {_JSON_RUN_BYTES:,} bytes).")

    def _mark(self, match: re.Match) -> bytes:
        if match.group(3):  # a whole pair
            return match.group(0)
        backslashes = match.group(1) or match.group(4) or b""
        self.surrogates.append(chr(int(match.group(2) or match.group(5), 16)))
        return backslashes + b"\\ufdd0"

    def restore(self, text: str) -> str:
        """``text`` with each lone surrogate put back (in the order the file holds them)."""
        parts = text.split(_SURROGATE_MARK)
        if len(parts) == 1:
            return text
        restored = [parts[0]]
        for part in parts[1:]:
            restored.append(self.surrogates.pop(0) if self.surrogates else _SURROGATE_MARK)
            restored.append(part)
        return "".join(restored)


def _unescaped_quote(data: bytes, *, last: bool) -> int:
    """The position of the first (or last) ``"`` in ``data`` not escaped by a backslash, or -1."""
    at = data.rfind(b'"') if last else data.find(b'"')
    while at > 0:
        before = at - 1
        while before >= 0 and data[before] == 0x5C:  # backslashes
            before -= 1
        if (at - 1 - before) % 2 == 0:
            return at
        at = data.rfind(b'"', 0, at) if last else data.find(b'"', at + 1)
    return at


class _TooDeep(Exception):
    pass


def _json_elements(stream: BinaryIO, encoding: str, label: str) -> Iterator[object]:
    """Each element of the file's top-level array, built from ijson's events within the bounds.

    An element nesting deeper than :data:`~imports.engine.limits.MAX_JSON_DEPTH`,
    an object with more than :data:`~imports.engine.limits.MAX_COLUMNS` keys
    or a string longer than a cell refuses the file (ijson's own ``items``
    builds prefixes whose memory grows with the square of the depth: 100,000
    levels in 200 KB took 12 GiB). A nested value (always a row's problem)
    keeps only its first :data:`~imports.engine.limits.JSON_NESTED_SHOWN`
    elements, to show it.
    """
    guard = _JsonGuard(_json_source(stream, encoding), label)
    events = ijson.basic_parse(guard)
    first = next(events, None)
    if first is None or first[0] != "start_array":
        for _ in events:  # not an array: nothing to read, but say so if it is not JSON either
            pass
        return
    row = 0
    surrogates = guard.surrogates  # the list the guard fills: empty in nearly every file
    try:
        for event, value in events:
            row += 1
            if event == "start_map":
                record: dict = {}
                key = ""
                # The hot loop: a few comparisons an event; every check that costs is on a rare branch.
                for event, value in events:
                    if event == "map_key":
                        key = value
                        if len(record) >= MAX_COLUMNS and key not in record:
                            raise ImportRejected(
                                f"{label}, row {row}: an object has more than {MAX_COLUMNS:,} keys, "
                                "the most columns a file may have."
                            )
                    elif event == "string":
                        record[key] = (
                            value
                            if len(value) <= MAX_CELL_CHARS and not surrogates
                            else (_json_text(value, guard, label, row))
                        )
                    elif event == "end_map":
                        break
                    elif event == "start_map" or event == "start_array":
                        record[key] = _nested(event, events, 3, [JSON_NESTED_SHOWN], guard, label, row)
                    else:
                        record[key] = value
                yield record
            elif event == "end_array":
                break
            elif event == "start_array":
                yield _nested(event, events, 2, [JSON_NESTED_SHOWN], guard, label, row)
            else:
                yield _json_text(value, guard, label, row) if event == "string" else value
        for _ in events:  # whatever follows the array must still be valid JSON (whitespace)
            pass
    except _TooDeep:
        raise ImportRejected(
            f"{label}, row {row}: JSON values nest more than {MAX_JSON_DEPTH} levels deep "
            f"(the limit; a row is an object in the array, level 2)."
        ) from None


def _json_text(value: str, guard: _JsonGuard, label: str, row: int) -> str:
    if len(value) > MAX_CELL_CHARS:
        raise ImportRejected(f"{label}, row {row}: {_too_long_cell()}.")
    return guard.restore(value) if guard.surrogates else value


def _nested(start: str, events, level: int, room: list[int], guard: _JsonGuard, label: str, row: int):
    """A nested object or array from its start event; at most ``room[0]`` elements kept in all (then ``"…"``)."""
    if level > MAX_JSON_DEPTH:
        raise _TooDeep
    container: dict | list = {} if start == "start_map" else []
    key = ""
    for event, value in events:
        if event in ("end_map", "end_array"):
            return container
        if event == "map_key":
            key = value
            continue
        if event in ("start_map", "start_array"):
            value = _nested(event, events, level + 1, room, guard, label, row)
        elif event == "string":
            value = _json_text(value, guard, label, row)
        if room[0] > 0:
            room[0] -= 1
            if isinstance(container, dict):
                container[key] = value
            else:
                container.append(value)
        elif room[0] == 0:
            room[0] = -1
            if isinstance(container, dict):
                container["\u2026"] = "\u2026"
            else:
                container.append("\u2026")
    return container


def _after(rows: int) -> str:
    return f"after row {rows}" if rows else "before its first row"


def _first_line(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0].strip().rstrip(".") if lines else type(exc).__name__


def _jsonl_table(stream: BinaryIO, label: str, encoding: str, cleanup: ExitStack) -> Table:
    encoding = encoding or detect_encoding(stream)
    headers: dict[str, None] = {}
    for row_number, record in _jsonl_records(stream, encoding, label, cleanup):
        if isinstance(record, dict):
            headers.update(dict.fromkeys(record))
            if len(headers) > MAX_COLUMNS:
                raise ImportRejected(
                    f"{label}, row {row_number}: the objects have more than {MAX_COLUMNS:,} different keys, "
                    "the most columns a file may have."
                )
    stream.seek(0)
    if not headers:
        raise ImportRejected(f"{label} holds no JSON objects: expected one object per line.")
    names = list(headers)
    return Table(
        headers=names,
        rows=_jsonl_rows(stream, encoding, label, cleanup, names),
        file_format="jsonl",
        details={"encoding": encoding},
        content_read=stream.tell,
    )


def _jsonl_rows(stream, encoding: str, label: str, cleanup: ExitStack, headers: list[str]):
    for row_number, record in _jsonl_records(stream, encoding, label, cleanup):
        cells = _record_cells(record, headers)
        if not blank_cells(cells):
            yield row_number, cells


def _jsonl_records(stream: BinaryIO, encoding: str, label: str, cleanup: ExitStack) -> Iterator[tuple[int, object]]:
    """``(line number, parsed value or NotAnObject)`` for each non-blank line."""
    stream.seek(0)
    text = _text_stream(stream, encoding, cleanup)
    row_number = 0
    try:
        for line in _bounded_lines(text, label, '"'):
            row_number += 1
            content = line.lstrip("\ufeff").strip() if row_number == 1 else line.strip()
            if not content:
                continue
            try:
                record = json.loads(content, parse_float=Decimal, parse_constant=_refuse_constant)
            except ValueError as exc:
                reason = f"{exc.msg}, column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else str(exc)
                yield row_number, NotAnObject(f"the line is not valid JSON ({reason})", raw=content)
                continue
            except RecursionError:
                yield row_number, NotAnObject(_TOO_DEEP_LINE, raw=content[:MAX_CELL_CHARS])
                continue
            if len(content) > MAX_CELL_CHARS and isinstance(record, dict):
                _refuse_long_values(record, label, row_number)
            if content.count("[") + content.count("{") >= MAX_JSON_DEPTH and _depth(record) >= MAX_JSON_DEPTH:
                yield row_number, NotAnObject(_TOO_DEEP_LINE, raw=content[:MAX_CELL_CHARS])
                continue
            yield row_number, record
    except UnicodeDecodeError as exc:
        raise _not_valid(label, encoding, exc, f"near row {row_number + 1}") from None
    finally:
        _detach(text)


_TOO_DEEP_LINE = (
    f"the line nests JSON values more than {MAX_JSON_DEPTH} levels deep "
    "(the limit, counting as a JSON file does: the row's object is level 2)"
)


def _refuse_long_values(record: dict, label: str, row_number: int) -> None:
    if any(type(value) is str and len(value) > MAX_CELL_CHARS for value in (*record, *record.values())):
        raise ImportRejected(f"{label}, row {row_number}: {_too_long_cell()}.")


def _depth(value: object) -> int:
    """How deep a parsed JSON value nests (a scalar is 0, ``{}`` is 1); iterative, bounded by the line."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON value")


def _record_cells(record: object, headers: list[str]) -> list:
    if isinstance(record, NotAnObject):
        return [record]
    if not isinstance(record, dict):
        raw = json.dumps(record, default=str, ensure_ascii=False)
        return [NotAnObject(f"expected an object with the columns as keys, found {_json_type(record)}", raw=raw)]
    return [record.get(name) for name in headers]


def _json_type(value: object) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "true/false"
    if value is None:
        return "null"
    return "a number"
