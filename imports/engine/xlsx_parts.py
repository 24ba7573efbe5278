"""An XLSX's parts, checked before openpyxl reads any of them: what each may inflate to and make a parser hold.

An XLSX is a zip of XML parts, and openpyxl reads them with ElementTree:
``load_workbook`` parses the workbook, its styles and the whole shared
strings table, and pre-scans every sheet that lacks ``<dimension>`` (keeping
each ``<row>`` element it passes); a text node is joined whole before it is
handed on. So a 1 MB upload whose sheet inflates to 1 GiB of one cell, or to
2 GiB of whitespace, cost 8-12 GiB, and a 1 GiB shared strings table 1.3 GB.
:func:`check_workbook` refuses such a file first, in bounded time and memory,
with a message naming the limit (``imports.engine.limits``):

1. the zip's directory: at most :data:`MAX_XLSX_PARTS` parts (read from its
   end record before ``zipfile`` builds an object per part);
2. each part's uncompressed size and ratio, as the zip declares them (which
   ``zipfile`` enforces: it never inflates a part past its declared size, and a
   part that would is a bad CRC): a sheet at most
   :data:`MAX_XLSX_SHEET_BYTES`, the shared strings
   :data:`MAX_XLSX_SHARED_STRINGS_BYTES`, any other part
   :data:`MAX_XLSX_PART_BYTES`, all together :data:`MAX_XLSX_TOTAL_BYTES`;
   past :data:`XLSX_RATIO_GRACE_BYTES`, at most :data:`MAX_XLSX_RATIO` times
   its compressed size;
3. each XML part, streamed once at C speed (a few ``bytes`` searches per
   64 KiB): no run of more than :data:`MAX_XLSX_TEXT_BYTES` without a ``<``
   (a text node, an attribute or a tag longer than any cell), no DTD (entity
   expansion), a comment or CDATA section no longer than that; a sheet at
   most :data:`MAX_XLSX_ROWS` rows, the shared strings at most
   :data:`MAX_XLSX_SHARED_STRINGS`, and at most
   :data:`MAX_XLSX_ELEMENTS_PER_ROW` elements in one row or one shared string
   (before the first row and after the last, too), any other part at most
   :data:`MAX_XLSX_ELEMENTS_PER_PART`: the most elements a parser keeps at
   once. Element counts are approximate by one chunk, never more.

Whatever reads the rows afterwards (``xlsx_sheets``, or another reader) then
holds a bounded amount; the cells' own bounds are that reader's.

The same pass notes, for each sheet and the shared strings, what decides
which reader may read the rows (:class:`CheckedWorkbook`): whether the part
is *plain*, holding nothing python-calamine reads differently from
:mod:`imports.engine.xlsx_stream` (:data:`_NOT_PLAIN_TEXT`,
:data:`_NOT_PLAIN_PATTERNS`: a formula, whose unsaved result calamine
cannot tell from an empty cell; an error, ISO date or formula-text cell; a
whole number calamine would round; an empty text, or spaces around one
not marked ``xml:space="preserve"``; a row number written ``7.0``; an ``_xHHHH_`` escape; a
carriage return), and the style indexes a sheet's cells use. A few
searches per 64 KiB at C speed, on bytes already read for the bounds
(about 0.2 s of CPU for a 100,000-row sheet of 26 MB).

A workbook passed is remembered by the SHA-256 of its bytes (the last
few): the upload's check and its run in one process read it twice, and
the second check is a look-up (a 100,000-row workbook: ~10 ms to hash
against ~0.5 s to scan).
"""

from __future__ import annotations

import hashlib
import re
import struct
import threading
import zipfile
import zlib
from dataclasses import dataclass
from typing import BinaryIO

from imports.engine.errors import ImportRejected
from imports.engine.limits import (
    MAX_XLSX_DIRECTORY_BYTES,
    MAX_XLSX_ELEMENTS_PER_PART,
    MAX_XLSX_ELEMENTS_PER_ROW,
    MAX_XLSX_PART_BYTES,
    MAX_XLSX_PARTS,
    MAX_XLSX_RATIO,
    MAX_XLSX_ROWS,
    MAX_XLSX_SHARED_STRINGS,
    MAX_XLSX_SHARED_STRINGS_BYTES,
    MAX_XLSX_SHEET_BYTES,
    MAX_XLSX_TEXT_BYTES,
    MAX_XLSX_TOTAL_BYTES,
    XLSX_RATIO_GRACE_BYTES,
    MiB,
)

_CHUNK = 64 * 1024
_END_OF_DIRECTORY = b"PK\x05\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP64_END = b"PK\x06\x06"
#: The root element of an XML part (after the declaration, comments, a DTD): its local name.
_ROOT = re.compile(rb"<(?![?!])(?:[\w.-]+:)?([\w.-]+)")
_ROW = re.compile(rb"<(?:[\w.-]+:)?row[\s/>]")
_STRING_ITEM = re.compile(rb"<(?:[\w.-]+:)?si[\s/>]")
_SHEET_DATA_END = re.compile(rb"</(?:[\w.-]+:)?sheetData\s*>")
_DECLARATIONS = re.compile(rb"<!(DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)", re.IGNORECASE)
#: Elements kept by a parser past a sheet's ``</sheetData>`` (merged cells, hyperlinks...).
_AFTER_DATA_ELEMENTS = 4 * MAX_XLSX_ELEMENTS_PER_PART
#: What python-calamine reads otherwise than ``xlsx_stream``: a sheet or shared strings table holding one of
#: these is not plain (see the module docstring). Each is a literal, or a pattern starting with one (which
#: ``re`` finds at C speed): an unprefixed namespace is all they know, a prefixed one is never plain.
_NOT_PLAIN_TEXT = (
    b't="e"',  # an error cell: calamine reads it as empty
    b't="d"',  # an ISO 8601 date
    b't="str"',  # a formula's text result
    b"t='",  # the same, single-quoted
    b"x005F_",  # an escaped underscore: cut here (as openpyxl does), kept there
    b"\r",  # a carriage return: XML reads CR LF as LF, calamine keeps it
)
_NOT_PLAIN_PATTERNS = (
    re.compile(rb"<f[\s/>]"),  # a formula: calamine reads one whose result was never saved as an empty cell
    re.compile(rb"<v>\s*[-+]?\d{16}"),  # a whole number of 16 digits or more: exact here, rounded there
    re.compile(rb"<t(?:\s[^>]*)?(?:/>|></)"),  # an empty text: "" here, no value there
    re.compile(rb"<t>(?:\s|[^<]*\s</t>)"),  # spaces around a text, not marked to be kept: calamine strips them
    re.compile(rb'<row[^>]*\sr="\d*[^\d"]'),  # a row number that is not digits ("7.0"): calamine refuses it
    re.compile(rb"_x[0-9A-Fa-f]{4}_"),  # an escaped character: decoded there, kept here
)
_PREFIXED_ROOT = re.compile(rb"<[\w.-]+:(?:worksheet|dialogsheet|sst)[\s>]")
_STYLE = re.compile(rb"\ss=[\"'](\d+)[\"']")
#: Bytes of the last chunk searched again with the next one, so a pattern cut in two is still found.
_OVERLAP = 64


@dataclass(frozen=True)
class CheckedPart:
    """What the check learnt of a sheet's or the shared strings' XML, besides its bounds."""

    size: int  #: bytes, uncompressed
    plain: bool  #: holds nothing of :data:`_NOT_PLAIN_TEXT` and :data:`_NOT_PLAIN_PATTERNS`
    styles: frozenset[int]  #: the style indexes its cells use (``s="3"``)


@dataclass(frozen=True)
class CheckedWorkbook:
    """The sheets and shared strings of a checked workbook, by part name (``xl/worksheets/sheet1.xml``)."""

    parts: dict[str, CheckedPart]


#: Workbooks this process has found within the bounds, by the SHA-256 of their bytes (the last few): an
#: upload's check and its run in one process (the command line, an inline import, the admin's preview)
#: read the same bytes twice, and the second check is then a look-up, not another scan of every part.
_PASSED: dict[bytes, CheckedWorkbook] = {}
_PASSED_KEPT = 8
_PASSED_LOCK = threading.Lock()


def check_workbook(stream: BinaryIO, label: str) -> CheckedWorkbook:
    """Refuse a workbook whose parts would cost more than the bounds (see the module docstring); rewinds ``stream``.

    A workbook this process has already passed (the same bytes) is not scanned again.
    """
    digest = _digest(stream)
    with _PASSED_LOCK:
        passed = _PASSED.get(digest)
    if passed is not None:
        return passed
    checked = _check(stream, label)
    with _PASSED_LOCK:
        _PASSED[digest] = checked
        while len(_PASSED) > _PASSED_KEPT:
            del _PASSED[next(iter(_PASSED))]
    return checked


def _digest(stream: BinaryIO) -> bytes:
    """The SHA-256 of the whole stream, read as any file-like object reads (an upload, a stored file); rewinds."""
    digest = hashlib.sha256()
    stream.seek(0)
    while chunk := stream.read(MiB):
        digest.update(chunk)
    stream.seek(0)
    return digest.digest()


def _check(stream: BinaryIO, label: str) -> CheckedWorkbook:
    parts: dict[str, CheckedPart] = {}
    try:
        _check_directory(stream, label)
        stream.seek(0)
        try:
            archive = zipfile.ZipFile(stream)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
            raise _unreadable(label, exc) from None
        with archive:
            infos = archive.infolist()
            _check_sizes(infos, label)
            for info in infos:
                if not info.is_dir():
                    checked = _scan(archive, info, label)
                    if checked is not None:
                        parts[info.filename] = checked
    finally:
        stream.seek(0)
    return CheckedWorkbook(parts=parts)


def _unreadable(label: str, exc: Exception) -> ImportRejected:
    return ImportRejected(f"{label} is not a readable XLSX workbook ({type(exc).__name__}: {exc}).")


def _refused(label: str, part: str, what: str) -> ImportRejected:
    return ImportRejected(
        f"{label} cannot be read safely: its part {part!r} {what}. Open it in a spreadsheet program, "
        "save it again (or save it as CSV) and import that."
    )


# --- 1. the directory --------------------------------------------------------------


def _check_directory(stream: BinaryIO, label: str) -> None:
    """The number of parts and the directory's size, from the zip's end record (zip64 too)."""
    size = stream.seek(0, 2)
    tail_size = min(size, 64 * 1024 + 22)
    stream.seek(size - tail_size)
    tail = stream.read(tail_size)
    at = tail.rfind(_END_OF_DIRECTORY)
    if at < 0 or at + 22 > len(tail):
        return  # not a zip's end: zipfile says so
    entries, directory = struct.unpack("<HI", tail[at + 10 : at + 16])
    locator = at - 20
    if (
        (entries == 0xFFFF or directory == 0xFFFFFFFF)
        and locator >= 0
        and tail[locator : locator + 4] == _ZIP64_LOCATOR
    ):
        (offset,) = struct.unpack("<Q", tail[locator + 8 : locator + 16])
        if offset < size:
            stream.seek(offset)
            record = stream.read(56)
            if record[:4] == _ZIP64_END and len(record) == 56:
                entries, directory = struct.unpack("<QQ", record[32:48])
    if entries > MAX_XLSX_PARTS:
        raise ImportRejected(
            f"{label} holds {entries:,} files in its zip; a workbook may hold at most {MAX_XLSX_PARTS:,}."
        )
    if directory > MAX_XLSX_DIRECTORY_BYTES:
        raise ImportRejected(
            f"{label}'s zip directory is {directory / MiB:,.1f} MB; at most {MAX_XLSX_DIRECTORY_BYTES // MiB} MB."
        )


# --- 2. declared sizes -------------------------------------------------------------


def _size_limit(name: str) -> tuple[int, str]:
    lowered = name.lower()
    if "worksheets/" in lowered or "dialogsheets/" in lowered:
        return MAX_XLSX_SHEET_BYTES, "a sheet"
    if "sharedstrings" in lowered:
        return MAX_XLSX_SHARED_STRINGS_BYTES, "the shared strings table"
    return MAX_XLSX_PART_BYTES, "a part other than a sheet or the shared strings"


def _check_sizes(infos: list[zipfile.ZipInfo], label: str) -> None:
    total = 0
    for info in infos:
        limit, what = _size_limit(info.filename)
        if info.file_size > limit:
            raise _refused(
                label,
                info.filename,
                f"inflates to {info.file_size / MiB:,.1f} MB; {what} may inflate to at most {limit // MiB:,} MB",
            )
        compressed = max(info.compress_size, 1)
        if info.file_size > XLSX_RATIO_GRACE_BYTES and info.file_size > MAX_XLSX_RATIO * compressed:
            raise _refused(
                label,
                info.filename,
                f"inflates {info.file_size // compressed:,} times ({compressed:,} bytes to "
                f"{info.file_size / MiB:,.1f} MB); a part may inflate at most {MAX_XLSX_RATIO} times (a zip bomb?)",
            )
        total += info.file_size
    if total > MAX_XLSX_TOTAL_BYTES:
        raise ImportRejected(
            f"{label} inflates to {total / MiB:,.1f} MB in all; a workbook may inflate to at most "
            f"{MAX_XLSX_TOTAL_BYTES // MiB:,} MB."
        )


# --- 3. the XML ------------------------------------------------------------------------


def _scan(archive: zipfile.ZipFile, info: zipfile.ZipInfo, label: str) -> CheckedPart | None:
    """Check one part; what was learnt of it when it is a sheet or the shared strings."""
    try:
        with archive.open(info) as part:
            head = part.read(_CHUNK)
            stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
            if stripped[:1] != b"<":
                return None  # not XML (an image, a binary part): no XML parser reads it
            root = _ROOT.search(head)
            scanner = _XmlScanner(label, info.filename, root.group(1) if root else b"")
            data = head
            while data:
                scanner.feed(data)
                data = part.read(_CHUNK)
            scanner.finish()
            if scanner.record is None:
                return None
            return CheckedPart(size=info.file_size, plain=scanner.plain, styles=frozenset(scanner.styles))
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError) as exc:
        raise _unreadable(label, exc) from None


class _XmlScanner:
    """The bounds of one XML part, fed chunk by chunk (see the module docstring, 3)."""

    def __init__(self, label: str, part: str, root: bytes):
        self.label = label
        self.part = part
        self.run = 0  # bytes since the last "<"
        self.records = 0
        self.elements = 0  # since the last record (row, shared string), or in the whole part
        self.after_data = False
        self.ending = b""  # a comment or CDATA section is open, until this
        self.section = 0  # bytes of the open section so far
        self.tail = b""  # the end of the last chunk, for a marker cut in two
        self.plain = True  # nothing in _NOT_PLAIN_* yet (sheets and shared strings)
        self.styles: set[int] = set()
        self.record: re.Pattern[bytes] | None
        if root in (b"worksheet", b"dialogsheet"):
            self.record, self.max_records, self.kind = _ROW, MAX_XLSX_ROWS, "rows"
        elif root == b"sst":
            self.record, self.max_records, self.kind = _STRING_ITEM, MAX_XLSX_SHARED_STRINGS, "shared strings"
        else:
            self.record, self.max_records, self.kind = None, 0, ""

    def feed(self, data: bytes) -> None:
        tail, self.tail = self.tail, data[-_OVERLAP:]
        if self.record is not None:
            self._learn(tail, data)
        if _DECLARATIONS.search(tail + data[:16]) or (b"<!" in data and _DECLARATIONS.search(data)):
            self._refuse("holds a DTD (<!DOCTYPE or <!ENTITY), which a workbook never needs")
        if self.ending or b"<!" in data:
            data = self._sections(tail, data)
        first = data.find(b"<")
        if first < 0:
            self.run += len(data)
            self._text(self.run)
            return
        self._text(self.run + first)
        self.run = len(data) - data.rfind(b"<") - 1
        self._text(self.run)
        self._count(data)

    def _learn(self, tail: bytes, data: bytes) -> None:
        """Whether the part is still plain, and (a sheet) the styles its cells use (see the module docstring)."""
        joined = tail + data
        if self.plain and (
            (not tail and _PREFIXED_ROOT.search(data))
            or any(text in joined for text in _NOT_PLAIN_TEXT)
            or any(pattern.search(joined) for pattern in _NOT_PLAIN_PATTERNS)
        ):
            self.plain = False
        if self.kind == "rows" and b"s=" in joined:
            self.styles.update(map(int, _STYLE.findall(joined)))

    def finish(self) -> None:
        if self.ending:
            self._refuse("leaves a comment or CDATA section open")

    def _text(self, run: int) -> None:
        if run > MAX_XLSX_TEXT_BYTES:
            self._refuse(
                f"holds {run:,} bytes without a tag (a text, an attribute or a comment longer than any cell); "
                f"at most {MAX_XLSX_TEXT_BYTES:,}"
            )

    def _count(self, data: bytes) -> None:
        elements = data.count(b"<")
        if self.record is None:
            self.elements += elements
            if self.elements > MAX_XLSX_ELEMENTS_PER_PART:
                self._refuse(f"holds more than {MAX_XLSX_ELEMENTS_PER_PART:,} XML elements")
            return
        if self.after_data:
            self.elements += elements
            if self.elements > _AFTER_DATA_ELEMENTS:
                self._refuse(f"holds more than {_AFTER_DATA_ELEMENTS:,} XML elements after its rows")
            return
        records = len(self.record.findall(data))
        if records:
            self.records += records
            if self.records > self.max_records:
                self._refuse(f"holds more than {self.max_records:,} {self.kind}")
            self.elements = elements  # since a record in this chunk, at most
        else:
            self.elements += elements
            if self.elements > MAX_XLSX_ELEMENTS_PER_ROW:
                one = "row" if self.kind == "rows" else "shared string"
                self._refuse(
                    f"holds more than {MAX_XLSX_ELEMENTS_PER_ROW:,} XML elements in one {one} "
                    f"(or before the first, or after the last)"
                )
        if self.kind == "rows" and _SHEET_DATA_END.search(data):
            self.after_data = True
            self.elements = 0

    def _sections(self, tail: bytes, data: bytes) -> bytes:
        """``data`` with each comment and CDATA section made one ``<>`` (their bytes bounded as a text's).

        Comments and CDATA may hold ``<``, and a parser holds one whole before
        going on; rare in a workbook, so handled here, outside the fast path.
        """
        pieces: list[bytes] = []
        at = 0
        while at < len(data):
            if self.ending:
                end = self._ending_at(tail, data, at)
                if end is None:
                    self._section(len(data) - at)
                    return b"".join(pieces)
                self._section(max(end, at) - at)
                at = end + len(self.ending)
                self.ending, self.section = b"", 0
                pieces.append(b">")
                continue
            start = data.find(b"<!", at)
            if start < 0:
                pieces.append(data[at:])
                break
            pieces.append(data[at:start])
            if data.startswith(b"<!--", start):
                self.ending, skip = b"-->", 4
            elif data.startswith(b"<![CDATA[", start):
                self.ending, skip = b"]]>", 9
            else:  # "<!" cut at the chunk's end, or unknown: a tag like any other
                pieces.append(b"<!")
                at = start + 2
                continue
            pieces.append(b"<")
            at = start + skip
        return b"".join(pieces)

    def _ending_at(self, tail: bytes, data: bytes, at: int) -> int | None:
        """Where the open section's end marker starts in ``data`` (negative: in the last chunk), or None."""
        if at:
            found = data.find(self.ending, at)
            return None if found < 0 else found
        carried = tail[len(tail) - len(self.ending) + 1 :]
        found = (carried + data).find(self.ending)
        return None if found < 0 else found - len(carried)

    def _section(self, size: int) -> None:
        self.section += size
        if self.section > MAX_XLSX_TEXT_BYTES:
            self._refuse(f"holds a comment or CDATA section longer than {MAX_XLSX_TEXT_BYTES:,} bytes")

    def _refuse(self, what: str) -> None:
        raise _refused(self.label, self.part, what)
