"""calamine and the streaming reader give the same rows, and calamine reads only the sheets where they would.

Every workbook of the corpus is read twice through :func:`open_table`: with
``IMPORT_XLSX_IN_MEMORY_MB`` at its default (a plain sheet goes to
:mod:`imports.engine.xlsx_calamine`) and at 0 (every sheet streams through
:mod:`imports.engine.xlsx_stream`); headers, rows (values, their types and
their line numbers) and details must be identical, and the first read must
have gone through calamine. The sheets that are not plain must stream, and
for each the test shows what calamine alone would have got wrong.
"""

from __future__ import annotations

import datetime
import io
import re
import zipfile

import openpyxl
import pytest
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from openpyxl.styles import Font

from catalog.kinds import KINDS
from imports.engine import xlsx_calamine, xlsx_sheets
from imports.engine.columns import header_score
from imports.engine.readers import open_table

SHEET = "xl/worksheets/sheet1.xml"
HEADER = ["item_name", "color_name", "size_name", "price", "stock"]


def workbook(rows: list[list], *, at: str = "A1", styled: dict | None = None) -> bytes:
    """One sheet ``S`` holding ``rows``, the first at ``at``; ``styled``: cell -> (font, number format)."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "S"
    first = sheet[at]
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is not None:
                sheet.cell(row=first.row + r, column=first.column + c, value=value)
    for ref, (font, number_format) in (styled or {}).items():
        sheet[ref].font = font
        sheet[ref].number_format = number_format
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def patched(data: bytes, *changes: tuple[bytes, bytes], part: str = SHEET) -> bytes:
    """The workbook with each ``old`` replaced by ``new`` in ``part`` (regular expressions), as other programs write."""
    source, target = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == part:
                for old, new in changes:
                    content, count = re.subn(old, new, content)
                    assert count, old
            archive.writestr(info, content)
    return target.getvalue()


def shared(data: bytes, *, extra: list[bytes] = ()) -> bytes:
    """The workbook with its inline strings moved to a shared strings table (as Excel writes), plus ``extra`` items."""
    items: list[bytes] = []

    def share(match: re.Match) -> bytes:
        items.append(match.group(3))
        return b'<c r="%s"%s t="s"><v>%d</v></c>' % (match.group(1), match.group(2) or b"", len(items) - 1)

    source, target = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == SHEET:
                content = re.sub(
                    rb'<c r="([A-Z]+\d+)"( s="\d+")? t="inlineStr"><is>(.*?)</is></c>',
                    share,
                    content,
                )
            elif info.filename == "[Content_Types].xml":
                content = content.replace(
                    b"</Types>",
                    b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                    b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
                )
            elif info.filename == "xl/_rels/workbook.xml.rels":
                content = content.replace(
                    b"</Relationships>",
                    b'<Relationship Id="rIdSst" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                    b'relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
                )
            archive.writestr(info, content)
        body = b"".join(b"<si>" + item + b"</si>" for item in [*items, *extra])
        archive.writestr(
            "xl/sharedStrings.xml",
            b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">' + body + b"</sst>",
        )
    return target.getvalue()


ROWS = [
    HEADER,
    ["Oxford Shirt", "Red", "M", 19.99, 5],
    ["Polo", "Blue", 42, 0.1, 123456789012345],  # the longest whole number calamine reads exactly
    ["Tee", "Green", "L", 12.0, -3],  # openpyxl writes 12.0 as "12"
    ["Jumper", "Navy", "XL", 1.5e-07, 0],
    ["Cap", "Black", "S", 1e20, True],
    ["Sock", "White", "M", -2.5, False],
    ["  spaced  ", " Red", "M ", "x ", "\ty"],
    ["line\nbreak", "Grün", "Größe 40", "<&>\"'", "🧦 靴下"],
]

PLAIN = {
    "every type": workbook(ROWS),
    "shared strings": shared(workbook(ROWS)),
    "a title above the header, gaps, offset": workbook(
        [["Price list 2026"], [], [None, "notes"], [], HEADER, ["A", "Red", "M", 1, 2], [], [], ["B", "Red", "L"]],
        at="C3",
    ),
    "numbers as other programs write them": patched(
        workbook(ROWS),
        (rb"<v>12</v>", rb"<v>12.0</v>"),  # whole, with a point: an int in both
        (rb"<v>1e\+20</v>", rb"<v>1E20</v>"),
        (rb"<v>-3</v>", rb"<v>-3.000</v>"),
        (rb'(<c r="E5" t="n">)<v>0</v>', rb"\1<v>-0</v>"),
        (rb"<v>123456789012345</v>", rb"<v>1.23456789012345e14</v>"),
    ),
    "rows and cells without r": patched(
        workbook(ROWS),
        (rb'<row r="\d+"', b"<row"),
        (rb' r="[A-E]\d+"', b""),
    ),
    "rows numbered far down, cells far right": patched(
        workbook([HEADER, ["A", "Red", "M", 1, 2]]),
        (rb'<row r="2"', b'<row r="70000"'),
        (rb'<c r="([A-D])2"', rb'<c r="\g<1>70000"'),
        (rb'<c r="E2"', b'<c r="AB70000"'),
    ),
    "empty values and styled empty cells": patched(
        workbook([HEADER, ["A", "Red", "M", 1, 2], ["B", "Red", "M", 1, 2]]),
        (rb'<c r="D2" t="n"><v>1</v></c>', rb'<c r="D2" t="n"><v/></c>'),
        (rb'<c r="E3" t="n"><v>2</v></c>', rb'<c r="E3" s="0"/><c r="F3"/>'),
    ),
    "inline rich text, blank text kept": patched(
        workbook([HEADER, ["A", CellRichText(["Dark ", TextBlock(InlineFont(b=True), "red")]), "M", 1, 2]]),
        (rb"<t>M</t>", b'<t xml:space="preserve"> \t </t>'),
    ),
    "shared rich text and phonetic runs": patched(
        shared(workbook([HEADER, ["A", "x", "M", 1, 2]])),
        (
            rb"<si><t>x</t></si>",
            '<si><r><t>漢</t></r><r><rPr><b/></rPr><t xml:space="preserve">字 </t></r>'
            '<rPh sb="0" eb="1"><t>かん</t></rPh></si>'.encode(),
        ),
        part="xl/sharedStrings.xml",
    ),
    "plain number formats and fonts": workbook(
        [HEADER, ["A", "Red", "M", 1234.5, 2], ["B", "Red", "M", 0.25, 3]],
        styled={
            "A1": (Font(bold=True), "General"),
            "D2": (Font(), "#,##0.00"),
            "D3": (Font(), "0%"),
            "E2": (Font(italic=True), "0"),
            "E3": (Font(), "@"),
        },
    ),
    "many rows": shared(
        workbook(
            [HEADER] + [[f"Item {n % 97}", f"Colour {n % 13}", f"Size {n % 7}", n * 1.01, n % 500] for n in range(6000)]
        )
    ),
}


def read(data: bytes, settings, *, in_memory_mb: int) -> tuple[list[str], list[tuple[int, list]], dict]:
    """``(headers, rows, details)``, the header looked for as an import of variants looks for it."""
    settings.IMPORT_XLSX_IN_MEMORY_MB = in_memory_mb
    with open_table(io.BytesIO(data), file_name="book.xlsx", header_score=header_score(KINDS.get("variants"))) as table:
        return table.headers, list(table.rows), table.details


def typed(rows: list[tuple[int, list]]) -> list[tuple[int, list[tuple[str, object]]]]:
    """Each value with its type's name: ``12`` and ``12.0``, ``1`` and ``True`` are equal in Python."""
    return [(number, [(type(value).__name__, value) for value in cells]) for number, cells in rows]


@pytest.fixture
def calamine_reads(monkeypatch) -> list[str]:
    """The sheets read through calamine (the function is wrapped, not replaced)."""
    read_sheets: list[str] = []
    real = xlsx_sheets.calamine_sheet_rows

    def spy(stream, sheet):
        read_sheets.append(sheet)
        return real(stream, sheet)

    monkeypatch.setattr(xlsx_sheets, "calamine_sheet_rows", spy)
    return read_sheets


@pytest.mark.skipif(not xlsx_sheets.PRIVATE_PARSER, reason="calamine is used on the fast path only")
@pytest.mark.parametrize("name", PLAIN)
def test_a_plain_sheet_reads_through_calamine_as_it_streams(name, settings, calamine_reads):
    data = PLAIN[name]
    streamed = read(data, settings, in_memory_mb=0)
    assert calamine_reads == []
    in_memory = read(data, settings, in_memory_mb=64)
    assert calamine_reads == ["S"]
    assert in_memory[0] == streamed[0]
    assert typed(in_memory[1]) == typed(streamed[1])
    assert in_memory[2] == streamed[2]
    assert streamed[1], "the corpus sheet has rows"


def test_the_corpus_covers_what_must_agree(settings):
    _, rows, _ = read(PLAIN["every type"], settings, in_memory_mb=0)
    assert {type(value) for _, cells in rows for value in cells} == {str, int, float, bool}
    _, offset_rows, offset_details = read(PLAIN["a title above the header, gaps, offset"], settings, in_memory_mb=0)
    assert offset_details["header_row"] == 7  # below the title and the notes
    assert [number for number, _ in offset_rows] == [1, 4]  # line numbers count the sheet's empty rows
    assert offset_rows[0][1][:3] == [None, None, "A"]  # the sheet's columns A and B are empty
    _, numbers, _ = read(PLAIN["numbers as other programs write them"], settings, in_memory_mb=0)
    assert typed([(n, cells[3:5]) for n, cells in numbers[:4]]) == typed(
        [(1, [19.99, 5]), (2, [0.1, 123456789012345]), (3, [12, -3]), (4, [1.5e-07, 0])]
    )
    _, far, _ = read(PLAIN["rows numbered far down, cells far right"], settings, in_memory_mb=0)
    assert far == [(69999, ["A", "Red", "M", 1, *[None] * 23, 2])]


BASE = workbook([HEADER, ["A", "Red", "M", 1, 2]])
NOT_PLAIN = {
    # what the streaming reader yields there / what calamine alone yields (why the sheet must stream)
    "an unsaved formula": patched(BASE, (rb'<c r="D2" t="n"><v>1</v></c>', rb'<c r="D2"><f>B2*2</f></c>')),
    "a saved formula": patched(BASE, (rb'<c r="D2" t="n"><v>1</v></c>', rb'<c r="D2"><f>0+1</f><v>1</v></c>')),
    "an error cell": patched(BASE, (rb'<c r="D2" t="n"><v>1</v></c>', rb'<c r="D2" t="e"><v>#N/A</v></c>')),
    "an ISO date cell": patched(
        BASE, (rb'<c r="D2" t="n"><v>1</v></c>', rb'<c r="D2" t="d"><v>2024-03-01T00:00:00</v></c>')
    ),
    "a 16-digit whole number": patched(BASE, (rb"<v>1</v>", rb"<v>1234567890123456789</v>")),
    "an empty text": patched(
        BASE, (rb'<c r="C2" t="inlineStr"><is><t>M</t></is></c>', rb'<c r="C2" t="inlineStr"><is><t/></is></c>')
    ),
    "an escaped character": patched(BASE, (rb"<t>Red</t>", rb"<t>Red_x000D_</t>")),
    "a carriage return": patched(BASE, (rb"<t>Red</t>", b"<t>Re\r\nd</t>")),
    "a date format": workbook([HEADER, ["A", "Red", "M", datetime.date(2024, 3, 1), 2]]),
    "a custom number format": workbook([HEADER, ["A", "Red", "M", 12.5, 2]], styled={"D2": (Font(), '#,##0.00 "EUR"')}),
    "an empty shared string": shared(BASE, extra=[b"<t></t>"]),
    "spaces around a text not kept": patched(BASE, (rb"<t>Red</t>", b"<t> Red </t>")),
    "a blank text not kept": patched(BASE, (rb"<t>Red</t>", b"<t> \t </t>")),
    "a row numbered with a point": patched(BASE, (rb'<row r="2"', b'<row r="2.0"')),
}


@pytest.mark.parametrize("name", NOT_PLAIN)
def test_a_sheet_calamine_would_read_otherwise_streams(name, settings, calamine_reads):
    data = NOT_PLAIN[name]
    streamed = read(data, settings, in_memory_mb=0)
    assert read(data, settings, in_memory_mb=64) == streamed
    assert calamine_reads == []


@pytest.mark.parametrize(
    "name",
    [
        "an unsaved formula",
        "an error cell",
        "a 16-digit whole number",
        "an escaped character",
        "a date format",
        "spaces around a text not kept",
        "a blank text not kept",
    ],
)
def test_calamine_alone_would_get_these_wrong(name, settings):
    """Why they stream: calamine's own rows differ (an unsaved formula read as empty, #N/A as empty...)."""
    data = NOT_PLAIN[name]
    _, streamed, _ = read(data, settings, in_memory_mb=0)
    # calamine alone, with xlsx_calamine's conversions: the data rows below the header (row 1), numbered from it
    calamine = [(number - 1, cells) for number, cells in xlsx_calamine.sheet_rows(io.BytesIO(data), "S")][1:]
    assert typed(calamine) != typed(streamed)


def test_a_sheet_larger_than_the_bound_streams(settings, calamine_reads):
    data = PLAIN["many rows"]
    sheet_bytes = zipfile.ZipFile(io.BytesIO(data)).getinfo(SHEET).file_size
    assert sheet_bytes > 1024 * 1024
    streamed = read(data, settings, in_memory_mb=0)
    assert read(data, settings, in_memory_mb=1) == streamed  # its XML is over 1 MB
    assert calamine_reads == []
    assert read(data, settings, in_memory_mb=sheet_bytes // (1024 * 1024) + 1) == streamed
    assert calamine_reads == ["S"]


def test_a_check_of_the_first_rows_streams(settings, calamine_reads):
    """The upload check reads the header and a few rows: calamine would read the whole sheet first."""
    data = PLAIN["many rows"]
    with open_table(io.BytesIO(data), file_name="book.xlsx", first_rows_only=True) as table:
        first = [next(table.rows) for _ in range(3)]
    assert calamine_reads == []
    assert first == read(data, settings, in_memory_mb=64)[1][:3]
    assert calamine_reads == ["S"]
