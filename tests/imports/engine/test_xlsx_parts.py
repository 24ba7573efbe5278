"""What the parts check learns besides the bounds (which ``tests/imports/hostile`` tests): plain parts, styles, and
that a workbook passed once is not scanned again in the same process."""

from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest
from openpyxl.styles import Font

from imports.engine import xlsx_parts
from imports.engine.errors import ImportRejected
from imports.engine.xlsx_parts import check_workbook

SHEET = "xl/worksheets/sheet1.xml"
STRINGS = "xl/sharedStrings.xml"


def workbook(*rows: list, bold: str = "") -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    if bold:
        book.active[bold].font = Font(bold=True)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def with_part(data: bytes, name: str, content: bytes) -> bytes:
    source, target = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            if info.filename != name:
                archive.writestr(info, source.read(info.filename))
        archive.writestr(name, content)
    return target.getvalue()


SST = b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'


def test_the_sheets_and_shared_strings_are_reported_with_their_size_and_styles():
    data = with_part(workbook(["name", 1], ["x", 2.5], bold="A1"), STRINGS, SST + b"<si><t>a</t></si></sst>")
    checked = check_workbook(io.BytesIO(data), "book.xlsx")
    assert set(checked.parts) == {SHEET, STRINGS}  # styles, the workbook, themes: bounds only
    sheet = checked.parts[SHEET]
    assert sheet.plain
    assert sheet.size == zipfile.ZipFile(io.BytesIO(data)).getinfo(SHEET).file_size
    assert len(sheet.styles) == 1  # the bold header cell's; the other cells have none (style 0)


@pytest.mark.parametrize(
    ("part", "xml"),
    [
        (SHEET, b'<c r="A2"><f>1+1</f></c>'),
        (SHEET, b'<c r="A2" t="e"><v>#N/A</v></c>'),
        (SHEET, b"<c><v>12345678901234567</v></c>"),
        (SHEET, b'<row r="2.0">'),
        (STRINGS, b"<si><t/></si>"),
        (STRINGS, b"<si><t> padded </t></si>"),
        (STRINGS, b"<si><t>a_x000D_</t></si>"),
        (STRINGS, b"<si><t>a\r\nb</t></si>"),
    ],
    ids=["formula", "error", "16 digits", "row 2.0", "empty text", "unkept spaces", "escape", "carriage return"],
)
def test_a_part_holding_what_calamine_reads_otherwise_is_not_plain(part, xml):
    root = (
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1">'
        if part == SHEET
        else SST
    )
    # A pattern cut across two of the scan's chunks is found too.
    padding = b"<si><t>pad</t></si>" if part == STRINGS else b'<c r="A1"><v>1</v></c>'
    filler = padding * (xlsx_parts._CHUNK // len(padding))
    data = with_part(workbook(["name"]), part, root + filler[: xlsx_parts._CHUNK - len(root) - len(xml) // 2] + xml)
    assert not check_workbook(io.BytesIO(data), "book.xlsx").parts[part].plain


def test_a_workbook_passed_once_is_not_scanned_again_and_a_refused_one_always_is(monkeypatch):
    data = workbook(["name", 1])
    first = check_workbook(io.BytesIO(data), "book.xlsx")
    assert check_workbook(io.BytesIO(data), "again.xlsx") is first  # the same bytes: the same result
    assert check_workbook(io.BytesIO(workbook(["name", 2])), "other.xlsx") is not first

    monkeypatch.setattr(xlsx_parts, "MAX_XLSX_ROWS", 0)
    refused = workbook(["name", 3])
    for _ in range(2):
        with pytest.raises(ImportRejected, match="holds more than 0 rows"):
            check_workbook(io.BytesIO(refused), "book.xlsx")
