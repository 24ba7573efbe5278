"""The readers: each format and encoding, format detection, and flat memory on big files.

Files are generated in memory or in ``tmp_path`` (workbooks with openpyxl);
no database is needed.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import importlib
import io
import json
import sys
import tracemalloc
import types
import zipfile
from decimal import Decimal

import openpyxl
import pytest
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Font

from catalog.kinds import KINDS
from imports.engine import xlsx_sheets
from imports.engine.columns import map_columns
from imports.engine.errors import ImportRejected
from imports.engine.readers import count_data_rows, detect_encoding, detect_format, open_table
from imports.engine.rows import row_parser
from imports.engine.tables import ExcelError, NotAnObject, UnsavedFormula

MB = 1024 * 1024


def read(data: bytes, **options) -> tuple[list[str], list[tuple[int, list]], dict[str, str]]:
    """``(headers, [(row_number, cells)], details)`` of a file's bytes."""
    with open_table(io.BytesIO(data), **options) as table:
        return table.headers, list(table.rows), table.details


def rejection(data: bytes, **options) -> str:
    with pytest.raises(ImportRejected) as caught:
        read(data, **options)
    return str(caught.value)


def parsed(data: bytes, kind: str = "variants", **options) -> list[tuple[int, tuple | None, list[str]]]:
    """``[(row_number, values, [reasons])]``: the file read, mapped and validated."""
    with open_table(io.BytesIO(data), **options) as table:
        parse = row_parser(map_columns(table.headers, KINDS.get(kind)), width=len(table.headers))
        result = []
        for row_number, cells in table.rows:
            values, problems = parse(cells)
            result.append((row_number, values, [p.reason for p in problems]))
        return result


def workbook_bytes(sheets: dict[str, list[list]]) -> bytes:
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- detect_format ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "file_name", "expected"),
    [
        pytest.param(b"item_name,color_name\n", "a.csv", "csv", id="csv-text"),
        pytest.param(b"PK\x03\x04rest-of-zip", "a.xlsx", "xlsx", id="xlsx-zip-magic"),
        pytest.param(b"PK\x03\x04rest-of-zip", "upload.csv", "xlsx", id="xlsx-renamed-csv-content-wins"),
        pytest.param(b'[{"item_name": "A"}]', "a.json", "json", id="json-array"),
        pytest.param(b'  \n [{"a": 1}]', "data.txt", "json", id="json-after-whitespace-any-name"),
        pytest.param(b'\xef\xbb\xbf[{"a": 1}]', "a.json", "json", id="json-with-utf8-bom"),
        pytest.param('[{"a": 1}]'.encode("utf-16"), "a.json", "json", id="json-utf16-bom"),
        pytest.param(b'{"item_name": "A"}\n{"item_name": "B"}\n', "a.jsonl", "jsonl", id="jsonl-object-per-line"),
        pytest.param(b'{"item_name": "A"}\n', "a.json", "jsonl", id="jsonl-content-named-json"),
        pytest.param(b"item_name;color_name\n", "a.xlsx", "csv", id="csv-content-named-xlsx"),
        pytest.param(b"color_name\nRed\n", "", "csv", id="no-name"),
        pytest.param("item,color\nCafé,Rot\n".encode("utf-16"), "a.csv", "csv", id="csv-utf16-bom"),
    ],
)
def test_detect_format_reads_content_first(head, file_name, expected):
    assert detect_format(head, file_name) == expected


@pytest.mark.parametrize(
    ("head", "file_name", "message"),
    [
        pytest.param(b"", "a.csv", "a.csv is empty.", id="empty"),
        pytest.param(b" \r\n\t\n", "a.csv", "a.csv is empty.", id="only-whitespace"),
        pytest.param(codecs.BOM_UTF8 + b"\n", "a.csv", "a.csv is empty.", id="only-a-bom"),
        pytest.param(b"", "", "The file is empty.", id="empty-without-name"),
        pytest.param(
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "old.xls", "old Excel 97-2003 (.xls)", id="old-xls-ole"
        ),
        pytest.param(bytes(range(256)) * 4, "a.csv", "looks like binary data", id="binary-garbage"),
        pytest.param(b"\x89PNG\r\n\x1a\n" + bytes(50), "a.csv", "is not a spreadsheet", id="png"),
        pytest.param(b"%PDF-1.7\n", "a.csv", "is not a spreadsheet", id="pdf"),
        pytest.param(b"item_name,color_name\nA,B\n", "a.json", "a.json does not start like JSON", id="json-name-csv"),
        pytest.param(b"item_name,color_name\n", "a.jsonl", "a.jsonl does not start like JSON", id="jsonl-name-csv"),
        pytest.param(b"<!DOCTYPE html><html><table>", "export.xls", "HTML or XML document", id="html-saved-as-xls"),
    ],
)
def test_detect_format_refuses_what_it_cannot_read(head, file_name, message):
    with pytest.raises(ImportRejected) as caught:
        detect_format(head, file_name)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("data", "declared", "message"),
    [
        pytest.param(b"item_name\nA\n", "xlsx", "declared as XLSX but is not an XLSX workbook", id="text-as-xlsx"),
        pytest.param(workbook_bytes({"S": [["item_name"]]}), "csv", "declared as CSV but is an XLSX", id="xlsx-as-csv"),
        pytest.param(b"item_name\nA\n", "xls", "Unknown format 'xls'", id="unknown-format"),
        pytest.param(b"", "csv", "is empty", id="declared-but-empty"),
        pytest.param(bytes(range(256)) * 4, "csv", "looks like binary data", id="declared-csv-binary"),
        pytest.param(b"item_name,color\nA,B\n", "json", "is not valid JSON before its first row", id="csv-as-json"),
    ],
)
def test_a_declared_format_is_not_trusted_against_the_content(data, declared, message):
    assert message in rejection(data, file_format=declared, file_name="")


def test_a_declared_format_is_honoured_when_the_content_allows_it():
    # A .json name would be refused by detection; declared CSV reads it as CSV.
    headers, rows, _ = read(b"item_name,color_name\nA,B\n", file_format="csv", file_name="odd.json")
    assert (headers, rows) == (["item_name", "color_name"], [(1, ["A", "B"])])


# --- CSV: delimiters and quoting ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "delimiter", "headers", "first_row"),
    [
        pytest.param("item,color,size\nA,B,C\n", ",", ["item", "color", "size"], ["A", "B", "C"], id="comma"),
        pytest.param("item;color;size\nA;B,5;C\n", ";", ["item", "color", "size"], ["A", "B,5", "C"], id="semicolon"),
        pytest.param("item\tcolor\tsize\nA\tB\tC\n", "tab", ["item", "color", "size"], ["A", "B", "C"], id="tab"),
        pytest.param("item|color|size\nA|B|C\n", "|", ["item", "color", "size"], ["A", "B", "C"], id="pipe"),
        pytest.param("color_name\nNavy Blue\n", ",", ["color_name"], ["Navy Blue"], id="one-column-no-delimiter"),
        pytest.param(
            '"item, name";color;size\nA;B;C\n',
            ";",
            ["item, name", "color", "size"],
            ["A", "B", "C"],
            id="quoted-header-delimiters-not-counted",
        ),
        pytest.param("sep=;\nitem,x;color\nA,1;B\n", ";", ["item,x", "color"], ["A,1", "B"], id="excel-sep-hint"),
        pytest.param("sep=\t\nitem\tcolor\nA\tB\n", "tab", ["item", "color"], ["A", "B"], id="excel-sep-hint-tab"),
        pytest.param("item;color,size\nA;B,C\n", ",", ["item;color", "size"], ["A;B", "C"], id="tie-comma-first"),
        pytest.param("item;color;size,x\nA;B;C,D\n", ";", ["item", "color", "size,x"], ["A", "B", "C,D"], id="most"),
        pytest.param("\n \n,,\nitem,color\nA,B\n", ",", ["item", "color"], ["A", "B"], id="blank-lines-before-header"),
    ],
)
def test_csv_delimiter_is_sniffed_from_the_header(text, delimiter, headers, first_row):
    found_headers, rows, details = read(text.encode(), file_name="f.csv")
    assert details["delimiter"] == delimiter
    assert found_headers == headers
    assert rows[0] == (1, first_row)


@pytest.mark.parametrize(
    ("line", "cells"),
    [
        pytest.param('"Shirt, long","Red",M', ["Shirt, long", "Red", "M"], id="embedded-delimiter"),
        pytest.param('"Shirt\nline two",Red,M', ["Shirt\nline two", "Red", "M"], id="embedded-lf"),
        pytest.param('"Shirt\r\nline two",Red,M', ["Shirt\r\nline two", "Red", "M"], id="embedded-crlf"),
        pytest.param('"The ""Best"" Shirt",Red,M', ['The "Best" Shirt', "Red", "M"], id="doubled-quotes"),
        pytest.param('Shirt 5" long,Red,M', ['Shirt 5" long', "Red", "M"], id="quote-inside-unquoted-field"),
        pytest.param('"",Red,M', ["", "Red", "M"], id="empty-quoted"),
        pytest.param("Shirt,Red,M,", ["Shirt", "Red", "M", ""], id="trailing-delimiter"),
        pytest.param("Shirt,Red", ["Shirt", "Red"], id="short-row"),
    ],
)
def test_csv_quoted_fields(line, cells):
    _, rows, _ = read(f"item,color,size\n{line}\nNext,Blue,L\n".encode())
    assert rows == [(1, cells), (2, ["Next", "Blue", "L"])]


def test_csv_blank_rows_are_skipped_but_keep_their_number():
    _, rows, _ = read(b"item,color,size\nA,B,C\n\n,,\n  , ,\t\nD,E,F\r\n\r\n")
    assert rows == [(1, ["A", "B", "C"]), (5, ["D", "E", "F"])]


def test_csv_a_stray_nul_is_the_rows_problem_not_a_binary_file():
    result = parsed(b"item,color,size\nShirt,Red,M\nPo\x00lo,Red,M\n", file_name="f.csv")
    assert result == [
        (1, ("Shirt", None, "Red", "M", None, None, None), []),
        (2, None, ["item contains a control character (U+0000) at position 3"]),
    ]


def test_csv_header_only_has_no_rows():
    headers, rows, _ = read(b"item_name,color_name,size_name\r\n")
    assert (headers, rows) == (["item_name", "color_name", "size_name"], [])


def test_csv_a_row_with_broken_quoting_is_that_rows_problem_and_the_others_are_read():
    data = b'item,color,size\nA,B,C\nD,"E"x,F\nG,H,I\n'
    result = parsed(data)
    assert [(number, values is None) for number, values, _ in result] == [(1, False), (2, True), (3, False)]
    assert result[1][2] == ["the row cannot be read as CSV (',' expected after '\"', line 3 of the file)"]


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b'item,color,size\nA,B,C\nD,"E,F\nG,H,I\n', id="quote-never-closed"),
        pytest.param(b'item,color,size\nA,B,C\nD,"E,F', id="quote-never-closed-at-eof"),
    ],
)
def test_csv_a_quote_never_closed_rejects_the_file_naming_the_row(data):
    message = rejection(data, file_name="f.csv")
    assert message.startswith("f.csv, data row 2: a quoted field is never closed")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(b"\n\n  \n", "is empty", id="only-blank-lines"),
        pytest.param(b",,,\n;;\n", "has no header row", id="only-delimiters"),
    ],
)
def test_csv_without_a_header(data, message):
    assert message in rejection(data, file_name="f.csv")


# --- CSV: encodings ----------------------------------------------------------------

CAFE_CSV = "item_name,color_name,size_name\nCafé Crème,Grün,Größe M\n"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        pytest.param(CAFE_CSV.encode("utf-8"), "utf-8", id="utf-8"),
        pytest.param(codecs.BOM_UTF8 + CAFE_CSV.encode("utf-8"), "utf-8-sig", id="utf-8-bom"),
        pytest.param(codecs.BOM_UTF16_LE + CAFE_CSV.encode("utf-16-le"), "utf-16", id="utf-16-le-bom"),
        pytest.param(codecs.BOM_UTF16_BE + CAFE_CSV.encode("utf-16-be"), "utf-16", id="utf-16-be-bom"),
        pytest.param(codecs.BOM_UTF32_LE + CAFE_CSV.encode("utf-32-le"), "utf-32", id="utf-32-le-bom"),
        pytest.param(CAFE_CSV.encode("cp1252"), "cp1252", id="cp1252"),
    ],
)
def test_csv_encoding_is_detected(data, encoding):
    headers, rows, details = read(data)
    assert details["encoding"] == encoding
    assert headers == ["item_name", "color_name", "size_name"]  # no BOM left on the first header
    assert rows == [(1, ["Café Crème", "Grün", "Größe M"])]


def test_cp1252_text_with_characters_latin1_lacks_is_detected():
    text = "item_name,color_name,size_name\n\u201cSmart\u201d Shirt \u2013 \u20ac20,Red,M\n"
    _, rows, details = read(text.encode("cp1252"))
    assert details["encoding"] == "cp1252"
    assert rows[0][1][0] == "\u201cSmart\u201d Shirt \u2013 \u20ac20"


@pytest.mark.parametrize(
    ("late_text", "encoding", "codec"),
    [
        pytest.param("Café", "cp1252", "cp1252", id="cp1252-after-64kb"),
        pytest.param("Café", "utf-8", "utf-8", id="utf-8-after-64kb"),
    ],
)
def test_the_whole_file_decides_the_encoding_not_its_first_64kb(late_text, encoding, codec):
    ascii_rows = "".join(f"Item {n:06d},Red,M\n" for n in range(6000))  # ~100 KB of ASCII
    data = ("item_name,color_name,size_name\n" + ascii_rows + f"{late_text},Blue,L\n").encode(codec)
    assert len(data) > 96 * 1024
    assert detect_encoding(io.BytesIO(data)) == encoding
    _, rows, details = read(data)
    assert details["encoding"] == encoding
    assert rows[-1] == (6001, [late_text, "Blue", "L"])


def test_bytes_cp1252_leaves_undefined_fall_back_to_latin1_and_are_refused_by_the_row_parser():
    data = b"item_name,color_name,size_name\nCaf\xe9\x81,Red,M\n"  # 0x81 is undefined in cp1252
    assert detect_encoding(io.BytesIO(data)) == "latin-1"
    [(_, values, reasons)] = parsed(data)
    assert values is None
    assert reasons == ["item_name contains a control character (U+0081) at position 5"]


DECLARED = "item,color,size\nCafé,Red,M\n"


@pytest.mark.parametrize(
    ("data", "declared", "cell"),
    [
        pytest.param(DECLARED.encode("latin-1"), "latin-1", "Café", id="latin-1"),
        pytest.param(DECLARED.encode("cp1252"), "windows-1252", "Café", id="alias-windows-1252"),
        pytest.param(DECLARED.encode("utf-8"), "cp1252", "CafÃ©", id="declared-wins-over-detection"),
        pytest.param(codecs.BOM_UTF8 + DECLARED.encode(), "utf-8", "Café", id="utf-8-declared-bom-dropped"),
        pytest.param(DECLARED.encode("utf-16-le"), "utf-16-le", "Café", id="utf-16-le-without-bom"),
    ],
)
def test_csv_declared_encoding_is_honoured(data, declared, cell):
    headers, rows, details = read(data, encoding=declared)
    assert headers == ["item", "color", "size"]
    assert rows == [(1, [cell, "Red", "M"])]
    assert details["encoding"] == declared


@pytest.mark.parametrize(
    ("declared", "message"),
    [
        pytest.param(
            "klingon",
            "f.csv: unknown encoding 'klingon'; use a name such as utf-8, utf-16, cp1252 or latin-1.",
            id="unknown",
        ),
        pytest.param("rot13", "f.csv: 'rot13' is not a text encoding.", id="not-a-text-encoding"),
        pytest.param("base64", "f.csv: 'base64' is not a text encoding.", id="bytes-codec"),
    ],
)
def test_csv_unknown_declared_encoding_is_rejected_clearly(declared, message):
    assert rejection(b"item,color,size\nA,B,C\n", encoding=declared, file_name="f.csv") == message


def test_csv_declared_utf8_on_cp1252_bytes_is_rejected_naming_the_encoding():
    data = b"item,color,size\n" + b"Shirt,Red,M\n" * 2000 + b"Caf\xe9,Red,M\n"
    message = rejection(data, encoding="utf-8", file_name="f.csv")
    assert message.startswith("f.csv is not valid utf-8 near data row")
    assert "byte 0xe9" in message
    assert "declare the file's real encoding" in message


def test_the_callers_stream_stays_open_after_reading():
    stream = io.BytesIO(b"item,color,size\nA,B,C\n")
    with open_table(stream) as table:
        list(table.rows)
    assert not stream.closed
    stream.seek(0)
    assert stream.read() == b"item,color,size\nA,B,C\n"


# --- XLSX --------------------------------------------------------------------------

HEADER = ["item_name", "color_name", "size_name", "price", "stock"]


@pytest.fixture(params=["calamine", "streamed", "public"])
def xlsx_path(request, monkeypatch, settings):
    """Each way of reading a sheet: calamine (where the sheet allows it), expat streaming, openpyxl's public API."""
    if request.param != "public" and not xlsx_sheets.PRIVATE_PARSER:
        pytest.skip(f"the fast path is off on openpyxl {openpyxl.__version__}")
    monkeypatch.setattr(xlsx_sheets, "PRIVATE_PARSER", request.param != "public")
    if request.param == "streamed":
        settings.IMPORT_XLSX_IN_MEMORY_MB = 0
    return request.param


@pytest.mark.parametrize(
    ("sheet", "expected_sheet", "first_cell"),
    [
        pytest.param("", "Variants", "from Variants", id="first-sheet-by-default"),
        pytest.param("Other", "Other", "from Other", id="named-sheet"),
        pytest.param(" other ", "Other", "from Other", id="named-sheet-case-insensitive"),
    ],
)
@pytest.mark.usefixtures("xlsx_path")
def test_xlsx_reads_the_first_or_a_named_sheet(sheet, expected_sheet, first_cell):
    data = workbook_bytes(
        {
            "Variants": [HEADER, ["from Variants", "Red", "M", 1, 1]],
            "Other": [HEADER, ["from Other", "Red", "M", 1, 1]],
        }
    )
    _, rows, details = read(data, sheet=sheet)
    assert details == {"sheet": expected_sheet, "header_row": 1}
    assert rows[0][1][0] == first_cell


@pytest.mark.usefixtures("xlsx_path")
def test_xlsx_missing_sheet_is_rejected_listing_the_sheets():
    data = workbook_bytes({"Variants": [HEADER], "Prices 2024": [HEADER]})
    message = rejection(data, sheet="Sheet1", file_name="book.xlsx")
    assert message == "book.xlsx has no sheet named 'Sheet1'; its sheets are: 'Variants', 'Prices 2024'."


@pytest.mark.usefixtures("xlsx_path")
def test_xlsx_cells_keep_their_types():
    when = datetime.datetime(2024, 3, 1, 14, 30)
    data = workbook_bytes(
        {
            "S": [
                [*HEADER, "when", "day", "flag", "empty"],
                ["Shirt", "Red", "M", 19.99, 5, when, datetime.date(2024, 3, 1), True, None],
                ["Polo", "Blue", 42, 0.1, 12345678901, None, None, False, None],
            ]
        }
    )
    headers, rows, _ = read(data)
    assert headers == [*HEADER, "when", "day", "flag", "empty"]
    assert rows == [
        # A row ends at its last cell in the file: the row parser reads missing cells as empty.
        (1, ["Shirt", "Red", "M", 19.99, 5, when, datetime.datetime(2024, 3, 1), True]),
        (2, ["Polo", "Blue", 42, 0.1, 12345678901, None, None, False]),
    ]


@pytest.mark.usefixtures("xlsx_path")
def test_xlsx_trailing_empty_rows_and_header_cells_are_skipped(tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append([*HEADER, None, "  "])
    sheet.append(["Shirt", "Red", "M", 1, 2])
    sheet.append([None, None, None])
    sheet.append(["Polo", "Blue", "L", None, None])
    for row in range(5, 40):  # formatted but empty rows, as spreadsheets leave them
        sheet.cell(row=row, column=1).font = Font(bold=True)
        sheet.cell(row=row, column=2).value = ""
    path = tmp_path / "trailing.xlsx"
    workbook.save(path)
    headers, rows, _ = read(path.read_bytes())
    assert headers == HEADER
    assert [(number, cells[:3]) for number, cells in rows] == [(1, ["Shirt", "Red", "M"]), (3, ["Polo", "Blue", "L"])]


@pytest.mark.usefixtures("xlsx_path")
def test_xlsx_blank_rows_before_the_header_are_skipped():
    data = workbook_bytes({"S": [[None], [None, "  "], HEADER, ["Shirt", "Red", "M", 1, 2]]})
    headers, rows, _ = read(data)
    assert headers == HEADER
    assert rows == [(1, ["Shirt", "Red", "M", 1, 2])]


@pytest.mark.usefixtures("xlsx_path")
def test_xlsx_error_cells_are_marked_and_text_that_looks_like_one_is_not():
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    sheet.append(["#N/A", "Red", "M", "#DIV/0!", 1])  # openpyxl stores these as error cells (t="e")
    sheet.append(["#Hashtag", "Red", "M", 1, 1])
    sheet.append([None, "Red", "M", 1, 1])
    sheet["A4"].value = "#N/A"
    sheet["A4"].data_type = "s"  # the same characters typed as text
    buffer = io.BytesIO()
    workbook.save(buffer)
    _, rows, _ = read(buffer.getvalue())
    [(_, errors), (_, hashtag), (_, text)] = rows
    assert [type(errors[0]), errors[0], type(errors[3]), errors[3]] == [ExcelError, "#N/A", ExcelError, "#DIV/0!"]
    assert [type(hashtag[0]), type(text[0]), text[0]] == [str, str, "#N/A"]


def _patched_sheet(data: bytes, old: bytes, new: bytes) -> bytes:
    """The workbook with ``old`` replaced by ``new`` in its first sheet's XML (as other programs write it)."""
    source, target = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                assert old in content
                content = content.replace(old, new)
            archive.writestr(info, content)
    return target.getvalue()


@pytest.mark.usefixtures("xlsx_path")
def test_xlsx_every_row_is_read_whatever_size_the_file_declares():
    rows = [HEADER] + [[f"Item {n}", "Red", "M", n, n] for n in range(1, 6)]
    data = _patched_sheet(workbook_bytes({"S": rows}), b'<dimension ref="A1:E6" />', b'<dimension ref="A1"/>')
    assert b'<dimension ref="A1"/>' in zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    headers, found, _ = read(data)
    assert headers == HEADER
    assert [cells[0] for _, cells in found] == ["Item 1", "Item 2", "Item 3", "Item 4", "Item 5"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(workbook_bytes({"Empty": []}), "book.xlsx, sheet 'Empty': the sheet is empty", id="empty-sheet"),
        pytest.param(b"PK\x03\x04 not really a zip", "book.xlsx is not a readable XLSX workbook", id="corrupt-zip"),
    ],
)
@pytest.mark.usefixtures("xlsx_path")
def test_xlsx_unreadable(data, message):
    assert message in rejection(data, file_name="book.xlsx")


@pytest.mark.usefixtures("xlsx_path")
def test_xlsx_a_zip_that_is_not_a_workbook_is_rejected():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "hello")
    assert "book.xlsx is not a readable XLSX workbook" in rejection(buffer.getvalue(), file_name="book.xlsx")


@pytest.mark.usefixtures("xlsx_path")
def test_xlsx_formulas_give_their_saved_result_or_are_marked_unsaved():
    data = workbook_bytes({"S": [HEADER, ["Saved", "Red", "M", 1, 1], ["Unsaved", "Red", "M", "=A1*2", 1]]})
    # As Excel writes a saved result: a number, and a text formula whose result is "".
    data = _patched_sheet(data, b'<c r="D2" t="n"><v>1</v></c>', b'<c r="D2"><f>2*5</f><v>10</v></c>')
    data = _patched_sheet(data, b'<c r="E2" t="n"><v>1</v></c>', b'<c r="E2" t="str"><f>""</f><v></v></c>')
    _, rows, _ = read(data)
    [(_, saved), (_, unsaved)] = rows
    assert saved == ["Saved", "Red", "M", 10]  # E2's saved text is empty: no value, and a row ends at its last
    assert type(unsaved[3]) is UnsavedFormula
    assert unsaved[3] == "=A1*2"


@pytest.mark.usefixtures("xlsx_path")
def test_xlsx_a_formula_whose_saved_result_is_an_error_is_marked():
    data = workbook_bytes({"S": [HEADER, ["Shirt", "Red", "M", 1, 1]]})
    data = _patched_sheet(data, b'<c r="D2" t="n"><v>1</v></c>', b'<c r="D2" t="e"><f>1/0</f><v>#DIV/0!</v></c>')
    _, [(_, cells)], _ = read(data)
    assert [type(cells[3]), cells[3]] == [ExcelError, "#DIV/0!"]


@pytest.mark.usefixtures("xlsx_path")
def test_xlsx_every_row_is_read_when_the_file_declares_no_size():
    rows = [HEADER] + [[f"Item {n}", "Red", "M", n, n] for n in range(1, 6)]
    data = _patched_sheet(workbook_bytes({"S": rows}), b'<dimension ref="A1:E6" />', b"")
    assert b"<dimension" not in zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    _, found, _ = read(data)
    assert [(number, cells[0]) for number, cells in found] == [(n, f"Item {n}") for n in range(1, 6)]


def _with_a_chart_sheet() -> bytes:
    workbook = openpyxl.Workbook()
    data = workbook.active
    data.title = "Data"
    data.append(HEADER)
    data.append(["Shirt", "Red", "M", 1, 1])
    chart = BarChart()
    chart.add_data(Reference(data, min_col=4, min_row=1, max_row=2))
    workbook.create_chartsheet("Chart", 0).add_chart(chart)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.mark.usefixtures("xlsx_path")
def test_xlsx_chart_sheets_are_refused_and_the_first_worksheet_is_the_default():
    data = _with_a_chart_sheet()
    assert rejection(data, sheet="chart", file_name="book.xlsx") == (
        "book.xlsx: sheet 'Chart' is a chart sheet, not a table of rows."
    )
    _, rows, details = read(data)
    assert (details, rows) == ({"sheet": "Data", "header_row": 1}, [(1, ["Shirt", "Red", "M", 1, 1])])
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    workbook.create_chartsheet("Only").add_chart(BarChart())
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert rejection(buffer.getvalue(), file_name="book.xlsx") == "book.xlsx has no worksheet (only chart sheets)."


# --- XLSX: which way rows are read -------------------------------------------------


def test_xlsx_the_fast_path_is_on_for_the_installed_openpyxl():
    # requirements.txt allows only releases the fast path was verified on; a newer one must be verified first
    # (run this file and bench/xlsx_reader.py on it, then widen VERIFIED_OPENPYXL and the requirement together).
    assert xlsx_sheets.PRIVATE_PARSER, f"openpyxl {openpyxl.__version__} is outside {xlsx_sheets.VERIFIED_OPENPYXL}"


@pytest.mark.parametrize(
    ("version", "verified"),
    [
        ("3.1.0", True),
        ("3.1.5", True),
        ("3.1.17", True),
        ("3.0.10", False),
        ("3.2.0", False),
        ("3.2.0b1", False),
        ("3.1.6rc1", False),
        ("4.0.0", False),
        ("not a version", False),
    ],
)
def test_xlsx_fast_path_versions(version, verified):
    assert xlsx_sheets.fast_path_verified(version) is verified


def test_xlsx_the_fast_path_reads_the_workbook_structure_through_openpyxl():
    # The fast path uses openpyxl's ExcelReader step by step (no shared strings, no sheet pre-scan) for the
    # sheets, their order, chart sheets and the date styles; the rows are xlsx_stream's.
    data = workbook_bytes({"First": [HEADER], "Second": [HEADER]})
    book = xlsx_sheets._open_book(io.BytesIO(data), "book.xlsx")
    assert [(name, chart) for name, _path, chart in book.sheets] == [("First", False), ("Second", False)]
    assert xlsx_sheets._pick_book_sheet(book, "second", "book.xlsx")[0] == "Second"
    book.archive.close()


@pytest.fixture
def reloaded_xlsx_sheets(monkeypatch):
    """``xlsx_sheets`` imported afresh under what the test patched, and again as it was afterwards."""
    yield lambda: importlib.reload(xlsx_sheets)
    monkeypatch.undo()
    importlib.reload(xlsx_sheets)


@pytest.mark.parametrize("change", ["private-name-gone", "newer-release"])
def test_xlsx_another_openpyxl_reads_through_the_public_api(change, monkeypatch, reloaded_xlsx_sheets):
    if change == "private-name-gone":  # as if a release moved them (openpyxl's own modules keep theirs)
        monkeypatch.setitem(sys.modules, "openpyxl.reader.excel", types.ModuleType("openpyxl.reader.excel"))
    else:
        monkeypatch.setattr(openpyxl, "__version__", "3.2.0")
    module = reloaded_xlsx_sheets()
    assert module.PRIVATE_PARSER is False
    data = workbook_bytes({"S": [HEADER, ["Shirt", "Red", "M", "=A1*2", 1]]})
    _, [(_, cells)], _ = read(data)
    assert cells[:3] == ["Shirt", "Red", "M"]
    assert [type(cells[3]), cells[3]] == [UnsavedFormula, "=A1*2"]


# --- JSON --------------------------------------------------------------------------


def test_json_keys_become_headers_in_first_seen_order_and_missing_keys_are_empty():
    data = json.dumps(
        [
            {"item_name": "Shirt", "color_name": "Red"},
            {"size_name": "M", "item_name": "Polo", "color_name": "Blue", "stock": 3},
            {"price": 1, "item_name": "Cap"},
        ]
    ).encode()
    headers, rows, _ = read(data)
    assert headers == ["item_name", "color_name", "size_name", "stock", "price"]
    assert rows == [
        (1, ["Shirt", "Red", None, None, None]),
        (2, ["Polo", "Blue", "M", 3, None]),
        (3, ["Cap", None, None, None, 1]),
    ]


def test_json_numbers_keep_their_exact_decimal_value():
    data = b'[{"item": "A", "price": 19.99, "small": 0.1, "big": 12345678901234567890, "sci": 1e2, "trail": 10.50}]'
    _, [(_, cells)], _ = read(data)
    assert cells[1:] == [Decimal("19.99"), Decimal("0.1"), 12345678901234567890, Decimal("1E+2"), Decimal("10.50")]
    assert str(cells[1]) == "19.99"


def test_json_rows_that_are_not_objects_are_row_problems():
    data = b'[{"item_name":"A","color_name":"B","size_name":"C"}, 5, "text", [1, 2], null, true, {}]'
    result = parsed(data)
    assert result == [
        (1, ("A", None, "B", "C", None, None, None), []),
        (2, None, ["expected an object with the columns as keys, found a number"]),
        (3, None, ["expected an object with the columns as keys, found a string"]),
        (4, None, ["expected an object with the columns as keys, found an array"]),
        (5, None, ["expected an object with the columns as keys, found null"]),
        (6, None, ["expected an object with the columns as keys, found true/false"]),
    ]  # {} is a blank row: skipped, like an empty CSV line


def test_json_a_non_object_row_carries_its_original_text():
    _, rows, _ = read(b'[{"item": "A"}, [1, "x"]]')
    cell = rows[1][1][0]
    assert isinstance(cell, NotAnObject)
    assert str(cell) == '[1, "x"]'


def test_json_nested_values_are_row_problems():
    data = b'[{"item_name": {"en": "Shirt"}, "color_name": ["Red"], "size_name": "M", "description": "ok"}]'
    [(_, values, reasons)] = parsed(data)
    assert values is None
    assert reasons == [
        "item_name expected a single value, found a nested JSON object",
        "color_name expected a single value, found a nested JSON array",
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(
            b'[{"item": "A"}, {"item": "B"},]',
            "f.json is not valid JSON after row 2: parse error: unallowed token at this point in JSON text.",
            id="trailing-comma",
        ),
        pytest.param(
            b'[{"item": "A"}, {"item": "B"}',
            "f.json is not valid JSON after row 2: parse error: premature EOF.",
            id="truncated",
        ),
        pytest.param(
            b'[{"item": "A"}] and more',
            "f.json is not valid JSON after row 1: parse error: trailing garbage.",
            id="trailing-garbage",
        ),
        pytest.param(
            b'[{"item": NaN}]',
            "f.json is not valid JSON before its first row: lexical error: invalid char in json text.",
            id="nan-is-not-json",
        ),
        pytest.param(b"[]", "f.json holds no JSON objects: expected an array of objects", id="empty-array"),
        pytest.param(b"[1, 2]", "f.json holds no JSON objects", id="no-objects"),
    ],
)
def test_json_invalid_is_rejected_saying_where(data, message):
    assert rejection(data, file_name="f.json").startswith(message)


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        pytest.param(codecs.BOM_UTF8 + '[{"item": "Café"}]'.encode(), "utf-8-sig", id="utf-8-bom"),
        pytest.param('[{"item": "Café"}]'.encode("utf-16"), "utf-16", id="utf-16-bom"),
        pytest.param('[{"item": "Café"}]'.encode("cp1252"), "cp1252", id="cp1252"),
    ],
)
def test_json_in_other_encodings(data, encoding):
    headers, rows, details = read(data)
    assert (headers, rows, details) == (["item"], [(1, ["Café"])], {"encoding": encoding})


@pytest.mark.parametrize(
    ("data", "declared"),
    [
        pytest.param(codecs.BOM_UTF8 + '[{"item": "Café"}]'.encode(), "UTF-8", id="utf-8-declared-bom-dropped"),
        pytest.param('[{"item": "Café"}]'.encode("latin-1"), "latin-1", id="latin-1"),
        pytest.param('[{"item": "Café"}]'.encode("utf-16-be"), "utf-16-be", id="utf-16-be-without-bom"),
    ],
)
def test_json_declared_encoding_is_honoured(data, declared):
    headers, rows, details = read(data, encoding=declared)
    assert (headers, rows, details) == (["item"], [(1, ["Café"])], {"encoding": declared})


# --- JSON Lines --------------------------------------------------------------------


def test_jsonl_blank_lines_skipped_and_a_broken_line_is_only_that_rows_problem():
    data = (
        b'{"item_name": "A", "color_name": "Red", "size_name": "M", "price": 19.99}\n'
        b"\n"
        b'{"item_name": "B", "color_name": "Red", "size_name": broken}\n'
        b"   \r\n"
        b'{"item_name": "C", "color_name": "Red", "size_name": "L"}\n'
        b"[1, 2]\n"
        b'{"item_name": "D", "color_name": "Red", "size_name": "S", "stock": NaN}\n'
        b"{}\n"
        b'{"item_name": "E", "color_name": "Red", "size_name": "XL"}'
    )
    result = parsed(data)
    assert result == [
        (1, ("A", None, "Red", "M", None, Decimal("19.99"), None), []),
        (3, None, ["the line is not valid JSON (Expecting value, column 54)"]),
        (5, ("C", None, "Red", "L", None, None, None), []),
        (6, None, ["expected an object with the columns as keys, found an array"]),
        (7, None, ["the line is not valid JSON (NaN is not a JSON value)"]),
        (9, ("E", None, "Red", "XL", None, None, None), []),
    ]


def test_jsonl_keys_in_first_seen_order_and_decimals_kept():
    data = b'{"b": 1, "a": 2.50}\n{"c": 3, "a": 0.1}\n'
    headers, rows, details = read(data)
    assert headers == ["b", "a", "c"]
    assert rows == [(1, [1, Decimal("2.50"), None]), (2, [None, Decimal("0.1"), 3])]
    assert details == {"encoding": "utf-8"}


@pytest.mark.parametrize(
    ("data", "options", "message"),
    [
        pytest.param(b"[1]\n[2]\n", {"file_format": "jsonl"}, "holds no JSON objects", id="no-objects"),
        pytest.param(b'{"a": 1}\n', {"encoding": "klingon"}, "unknown encoding 'klingon'", id="unknown-encoding"),
        pytest.param(
            b'{"a": "x"}\n{"a": "Caf\xe9"}\n', {"encoding": "utf-8"}, "is not valid utf-8 near row", id="bad-bytes"
        ),
        pytest.param(b'{\n  "a": 1\n}\n', {}, "holds no JSON objects: expected one object per line", id="pretty"),
    ],
)
def test_jsonl_rejections(data, options, message):
    assert message in rejection(data, **options)


def test_jsonl_with_bom_and_crlf():
    data = codecs.BOM_UTF8 + b'{"item": "A"}\r\n{"item": "B"}\r\n'
    headers, rows, _ = read(data, encoding="utf-8")  # declared without -sig: the BOM is still dropped
    assert (headers, rows) == (["item"], [(1, ["A"]), (2, ["B"])])


# --- counting ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stop_after", "expected"),
    [pytest.param(None, 10, id="all"), pytest.param(3, 4, id="stops-one-past-the-limit")],
)
def test_count_data_rows(stop_after, expected):
    data = b"item,color,size\n" + b"A,B,C\n\n" * 10
    with open_table(io.BytesIO(data)) as table:
        assert count_data_rows(table, stop_after=stop_after) == expected


# --- streaming: memory stays flat ----------------------------------------------------


def _peak_while_reading(path, kind: str = "variants", **options) -> tuple[int, int]:
    """``(rows read, peak traced memory in bytes)`` while reading, mapping and validating the whole file."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        baseline = tracemalloc.get_traced_memory()[0]
        rows = 0
        with path.open("rb") as stream, open_table(stream, file_name=path.name, **options) as table:
            parse = row_parser(map_columns(table.headers, KINDS.get(kind)), width=len(table.headers))
            for _, cells in table.rows:
                values, problems = parse(cells)
                assert values is not None, problems
                rows += 1
        return rows, tracemalloc.get_traced_memory()[1] - baseline
    finally:
        tracemalloc.stop()


def _variant(n: int) -> list:
    return [
        f"Item {n // 10:07d} \u2013 Café",
        f"Colour {n % 10}",
        f"Size {n % 7}",
        f"SKU-{n:09d}",
        "19.99",
        str(n % 500),
    ]


VARIANT_HEADER = ["item_name", "color_name", "size_name", "sku", "price", "stock"]


@pytest.mark.slow
def test_csv_memory_stays_flat_on_a_large_file(tmp_path):
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(VARIANT_HEADER)
        writer.writerows(_variant(n) for n in range(200_000))
    assert path.stat().st_size > 10 * MB
    rows, peak = _peak_while_reading(path)
    assert rows == 200_000
    assert peak < 20 * MB, f"peak {peak / MB:.1f} MB while reading a {path.stat().st_size / MB:.0f} MB CSV"


@pytest.mark.slow
def test_json_memory_does_not_grow_with_the_file(tmp_path):
    peaks = {}
    for count in (10_000, 60_000):
        path = tmp_path / f"rows-{count}.json"
        with path.open("w", encoding="utf-8") as handle:
            handle.write("[\n")
            for n in range(count):
                record = dict(zip(VARIANT_HEADER, _variant(n), strict=True)) | {"price": 19.99}
                handle.write(("," if n else "") + json.dumps(record, ensure_ascii=False) + "\n")
            handle.write("]\n")
        rows, peaks[count] = _peak_while_reading(path)
        assert rows == count
    # Six times the rows: the peak stays put (a reader holding the rows would need ~6x).
    assert peaks[60_000] < peaks[10_000] * 1.5 + 1 * MB, peaks
    assert peaks[60_000] < 10 * MB, peaks


@pytest.mark.slow
def test_xlsx_memory_does_not_grow_with_the_rows(tmp_path, settings):
    # Workbooks as Excel and LibreOffice write them: with a <dimension> before the rows. (Without one,
    # openpyxl's load_workbook itself pre-scans the sheet and briefly holds ~80 bytes a row.)
    # The streaming reader, as a sheet larger than IMPORT_XLSX_IN_MEMORY_MB is read: calamine holds a
    # smaller one whole, in memory tracemalloc does not see (Rust's), bounded by that setting.
    settings.IMPORT_XLSX_IN_MEMORY_MB = 0
    peaks = {}
    for count in (2_000, 12_000):
        path = tmp_path / f"rows-{count}.xlsx"
        workbook = openpyxl.Workbook()
        sheet = workbook.active
        sheet.append(VARIANT_HEADER)
        for n in range(count):
            # Repeating text (shared strings are one table per workbook) and distinct numbers.
            sheet.append(["Oxford Shirt", f"Colour {n % 10}", f"Size {n % 7}", n, 19.99, n % 500])
        workbook.save(path)
        rows, peaks[count] = _peak_while_reading(path)
        assert rows == count
    # Six times the rows: the peak stays put (openpyxl's own iter_rows grows by ~80 bytes a row). This is
    # the fast path, the default; the public fallback holds ~170 bytes a row (see xlsx_sheets).
    assert peaks[12_000] < peaks[2_000] * 1.2 + MB // 4, peaks
