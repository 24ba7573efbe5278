"""Small files that inflate, nest or stretch: the memory bombs of issue 11, item 1, written to disk.

Each writer streams its file (a workbook whose sheet inflates to 2 GiB is
never built in memory) and returns its path. The sizes are the issue's:
a 200 KB JSON nested 100,000 deep, a 1 MB workbook with one 1 GiB cell, 2 MB
with 2 GiB of whitespace in the sheet, a 1 GiB shared strings table, a 50 MB
unquoted CSV cell.
"""

from __future__ import annotations

import json
import struct
import zipfile
import zlib
from pathlib import Path

MiB = 1024 * 1024
GiB = 1024 * MiB
HEADER = ("item_name", "color_name", "size_name", "price")

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "{shared}</Types>"
)
_SHARED_TYPE = (
    '<Override PartName="/xl/sharedStrings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Variants" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/>{shared}</Relationships>'
)
_SHARED_REL = (
    '<Relationship Id="rId2" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
    'Target="sharedStrings.xml"/>'
)
_SHEET_START = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)
_SHEET_END = b"</sheetData></worksheet>"


def _inline_row(number: int, values) -> bytes:
    cells = "".join(
        f'<c r="{chr(65 + i)}{number}" t="inlineStr"><is><t>{value}</t></is></c>' for i, value in enumerate(values)
    )
    return f'<row r="{number}">{cells}</row>'.encode()


def _header_and_row() -> bytes:
    return _inline_row(1, HEADER) + _inline_row(2, ("Shirt", "Red", "M", "1.00"))


def _write_workbook(path: Path, sheet, shared=None) -> Path:
    """A workbook whose sheet (and shared strings) are made of ``(bytes, times)`` segments.

    Written by hand rather than with ``zipfile``, so that a part inflating to
    gigabytes costs seconds, not minutes: each segment is deflated once, and a
    full flush after it makes its compressed bytes stand alone, so a repeated
    segment is the same compressed bytes repeated (a valid deflate stream).
    """
    members = [
        ("[Content_Types].xml", [(_CONTENT_TYPES.format(shared=_SHARED_TYPE if shared else "").encode(), 1)]),
        ("_rels/.rels", [(_RELS.encode(), 1)]),
        ("xl/workbook.xml", [(_WORKBOOK.encode(), 1)]),
        ("xl/_rels/workbook.xml.rels", [(_WORKBOOK_RELS.format(shared=_SHARED_REL if shared else "").encode(), 1)]),
        ("xl/worksheets/sheet1.xml", sheet),
    ]
    if shared:
        members.append(("xl/sharedStrings.xml", shared))
    directory = []
    with path.open("wb") as out:
        for name, segments in members:
            crc, size, pieces = 0, 0, []
            for data, times in segments:
                compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
                pieces.append((compressor.compress(data) + compressor.flush(zlib.Z_FULL_FLUSH), times))
                for _ in range(times):
                    crc = zlib.crc32(data, crc)
                size += len(data) * times
            pieces.append((zlib.compressobj(9, zlib.DEFLATED, -15).flush(zlib.Z_FINISH), 1))
            compressed = sum(len(piece) * times for piece, times in pieces)
            offset = out.tell()
            encoded = name.encode()
            out.write(
                struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, compressed, size, len(encoded), 0)
            )
            out.write(encoded)
            for piece, times in pieces:
                for _ in range(times):
                    out.write(piece)
            directory.append(
                struct.pack(
                    "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, crc, compressed, size, len(encoded),
                    0, 0, 0, 0, 0, offset,
                ) + encoded
            )  # fmt: skip
        start = out.tell()
        out.write(b"".join(directory))
        out.write(
            struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(directory), len(directory), out.tell() - start, start, 0)
        )
    return path


def xlsx_one_huge_cell(path: Path, size: int = GiB) -> Path:
    """A workbook (about 1 MB) whose second data row holds one inline cell of ``size`` characters."""
    start = b'<row r="3"><c r="A3" t="inlineStr"><is><t>'
    end = b'</t></is></c><c r="B3" t="inlineStr"><is><t>Red</t></is></c></row>'
    return _write_workbook(
        path, [(_SHEET_START + _header_and_row() + start, 1), (b"a" * MiB, size // MiB), (end + _SHEET_END, 1)]
    )


def xlsx_whitespace(path: Path, size: int = 2 * GiB) -> Path:
    """A workbook (about 2 MB) with ``size`` bytes of whitespace between two rows of its sheet."""
    return _write_workbook(path, [(_SHEET_START + _header_and_row(), 1), (b" " * MiB, size // MiB), (_SHEET_END, 1)])


def xlsx_shared_strings(path: Path, size: int = GiB) -> Path:
    """A workbook whose shared strings table inflates to ``size`` bytes (one short string, many times)."""
    head = (
        b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    )
    item = b"<si><t>Shirt</t></si>"
    sheet = [(_SHEET_START + _header_and_row() + b'<row r="3"><c r="A3" t="s"><v>0</v></c></row>' + _SHEET_END, 1)]
    return _write_workbook(path, sheet, [(head, 1), (item * (MiB // len(item)), size // MiB), (b"</sst>", 1)])


def xlsx_many_rows(path: Path, rows: int = 1_100_000) -> Path:
    """A workbook whose sheet holds ``rows`` empty rows (more than Excel's 1,048,576) after a header."""
    body = b"".join(b'<row r="%d"/>' % n for n in range(3, rows + 3))
    return _write_workbook(path, [(_SHEET_START + _header_and_row() + body + _SHEET_END, 1)])


def xlsx_wide_row(path: Path, cells: int = 2_000_000) -> Path:
    """A workbook whose second row holds ``cells`` empty cells (one row, no column letters)."""
    return _write_workbook(
        path,
        [
            (_SHEET_START + _inline_row(1, HEADER) + b'<row r="2">', 1),
            (b"<c/>" * 1000, cells // 1000),
            (b"</row>" + _SHEET_END, 1),
        ],
    )


def xlsx_entity_expansion(path: Path) -> Path:
    """A workbook whose sheet declares entities that expand a billion times (a DTD)."""
    entities = '<!ENTITY a "aaaaaaaaaa">' + "".join(
        f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8)
    )
    dtd = f"<!DOCTYPE worksheet [{entities}]>".encode()
    sheet = (
        b'<?xml version="1.0" encoding="UTF-8"?>' + dtd + b'<worksheet xmlns="http://schemas.openxmlformats.org/'
        b'spreadsheetml/2006/main"><sheetData>' + _header_and_row()
        + b'<row r="3"><c r="A3" t="inlineStr"><is><t>&i;</t></is></c></row>' + _SHEET_END
    )  # fmt: skip
    return _write_workbook(path, [(sheet, 1)])


def xlsx_many_parts(path: Path, parts: int = 20_000) -> Path:
    """A workbook whose zip holds ``parts`` tiny files besides its own."""
    _write_workbook(path, [(_SHEET_START + _header_and_row() + _SHEET_END, 1)])
    with zipfile.ZipFile(path, "a") as archive:
        for n in range(parts):
            archive.writestr(f"junk/{n}.bin", b"")
    return path


def _write_repeated(out, block: bytes, size: int) -> None:
    chunk = block * (MiB // len(block))
    for _ in range(size // len(chunk)):
        out.write(chunk)
    out.write(chunk[: size % len(chunk)])


def json_deep(path: Path, depth: int = 100_000) -> Path:
    """A JSON file (``2 * depth`` bytes) nested ``depth`` arrays deep."""
    path.write_bytes(b"[" * depth + b"]" * depth)
    return path


def json_deep_in_a_row(path: Path, depth: int = 20_000) -> Path:
    """A JSON array of rows, the second nesting a value ``depth`` arrays deep."""
    good = json.dumps(dict(zip(HEADER, ("Shirt", "Red", "M", "1.00"), strict=True)))
    deep = b'{"item_name": "Shirt", "color_name": "Blue", "size_name": "M", "price": ' + b"[" * depth + b"]" * depth
    path.write_bytes(b"[" + good.encode() + b", " + deep + b"}]")
    return path


def jsonl_deep_line(path: Path, depth: int = 100_000) -> Path:
    """JSON Lines: a good row, a row nesting a value ``depth`` deep, a good row."""
    rows = [dict(zip(HEADER, ("Shirt", "Red", size, "1.00"), strict=True)) for size in ("M", "L")]
    deep = b'{"item_name": "Shirt", "color_name": "Blue", "size_name": "M", "price": ' + b"[" * depth + b"]" * depth
    path.write_bytes(json.dumps(rows[0]).encode() + b"\n" + deep + b"}\n" + json.dumps(rows[1]).encode() + b"\n")
    return path


def json_long_string(path: Path, size: int = 90 * MiB, file_format: str = "json") -> Path:
    """A JSON (or JSON Lines) file whose one row has a description of ``size`` characters."""
    row = b'{"item_name": "Shirt", "color_name": "Red", "size_name": "M", "price": "1.00", "description": "'
    with path.open("wb") as out:
        out.write(b"[" if file_format == "json" else b"")
        out.write(row)
        _write_repeated(out, b"a", size)
        out.write(b'"}]' if file_format == "json" else b'"}\n')
    return path


def csv_long_cell(path: Path, size: int = 50 * MiB, quoted: bool = False) -> Path:
    """A CSV whose second data row holds one (unquoted, or quoted) cell of ``size`` characters."""
    with path.open("wb") as out:
        out.write(b"item_name,color_name,size_name,price\nShirt,Red,M,1.00\n")
        out.write(b'"' if quoted else b"")
        _write_repeated(out, b"a", size)
        out.write(b'"' if quoted else b"")
        out.write(b",Red,L,1.00\nShirt,Red,S,1.00\n")
    return path


def csv_quote_never_closed(path: Path, rows: int = 200_000) -> Path:
    """A CSV whose second row opens a quote that is never closed, before many rows."""
    with path.open("wb") as out:
        out.write(b'item_name,color_name,size_name,price\nShirt,Red,M,1.00\n"Shirt,Red,L,1.00\n')
        out.write(b"Shirt,Red,S,1.00\n" * rows)
    return path
