"""Each reader's bounds, one at a time (``imports.engine.limits``): past one, the file is refused naming it.

The door tests (``test_memory_bombs``) run the issue's files; these check each bound on its own,
small, with the limit it names, and that a file within every bound still reads as before.
"""

from __future__ import annotations

import io
import json
import zipfile

import openpyxl
import pytest

from imports.engine import limits, xlsx_parts
from imports.engine.errors import ImportRejected
from imports.engine.readers import open_table
from imports.engine.tables import NotAnObject
from tests.imports.hostile import bombs


def read(content: bytes, name: str) -> tuple[list[str], list]:
    with open_table(io.BytesIO(content), file_name=name) as table:
        return table.headers, list(table.rows)


def refusal(content: bytes, name: str) -> str:
    with pytest.raises(ImportRejected) as refused:
        read(content, name)
    return str(refused.value)


# --- JSON and JSON Lines -----------------------------------------------------------------------


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"1" + b"]" * depth


@pytest.mark.parametrize(("depth", "refused"), [(30, False), (31, True)])
def test_json_nests_at_most_32_levels_counting_the_array_of_rows(depth, refused):
    content = b'[{"item_name": ' + _nested(depth) + b"}]"  # the array 1, the row 2, then depth levels

    if refused:
        assert "JSON values nest more than 32 levels deep" in refusal(content, "f.json")
    else:
        assert read(content, "f.json")[1] == [(1, [json.loads(_nested(depth))])]


@pytest.mark.parametrize(("depth", "refused"), [(30, False), (31, True)])
def test_a_json_lines_row_nesting_too_deep_is_that_rows_problem(depth, refused):
    content = b'{"item_name": ' + _nested(depth) + b'}\n{"item_name": "Shirt"}\n'

    _, rows = read(content, "f.jsonl")

    assert rows[1] == (2, ["Shirt"])
    assert isinstance(rows[0][1][0], NotAnObject) is refused
    if refused:
        assert "more than 32 levels deep" in rows[0][1][0].text


def test_a_json_object_with_more_keys_than_columns_is_refused():
    record = {f"k{i}": 1 for i in range(limits.MAX_COLUMNS + 1)}

    assert f"more than {limits.MAX_COLUMNS:,} keys" in refusal(json.dumps([record]).encode(), "f.json")


def test_json_objects_with_more_distinct_keys_than_columns_are_refused():
    records = [{f"k{i}": 1} for i in range(limits.MAX_COLUMNS + 1)]

    assert f"more than {limits.MAX_COLUMNS:,} different keys" in refusal(json.dumps(records).encode(), "f.json")


@pytest.mark.parametrize("escaped", [False, True], ids=["plain", "with escaped quotes"])
def test_a_json_string_longer_than_a_cell_is_refused_before_it_is_held(escaped):
    text = b'x\\"' * (limits.MAX_CELL_CHARS * 3) if escaped else b"x" * (7 * limits.MAX_CELL_CHARS)

    message = refusal(b'[{"item_name": "' + text + b'"}]', "f.json")

    assert f"a cell is longer than the field limit of {limits.MAX_CELL_CHARS:,} characters" in message


def test_a_json_string_just_over_a_cell_is_refused_by_its_length():
    message = refusal(b'[{"item_name": "' + b"x" * (limits.MAX_CELL_CHARS + 1) + b'"}]', "f.json")

    assert message == f"f.json, row 1: a cell is longer than the field limit of {limits.MAX_CELL_CHARS:,} characters."


def test_a_nested_json_value_keeps_only_its_first_elements_to_show():
    content = json.dumps([{"item_name": list(range(1000))}]).encode()

    ((_, cells),) = read(content, "f.json")[1]

    assert cells[0] == [*range(limits.JSON_NESTED_SHOWN), "\u2026"]


def test_half_a_surrogate_pair_in_a_json_array_reaches_the_row_rules_not_a_question_mark():
    # The C parser would read it as "?"; pairs and an escaped backslash before "ud800" stay as written.
    content = b'[{"a": "X\\ud800L", "b": "\\ud83d\\ude00", "c": "\\\\ud800", "d": "\\udc00"}]'

    assert read(content, "f.json")[1] == [(1, ["X\ud800L", "\U0001f600", "\\ud800", "\udc00"])]


def test_a_json_lines_line_longer_than_a_row_is_refused():
    line = json.dumps({"a": ["x" * 1000] * (limits.MAX_ROW_CHARS // 1000)}).encode()

    message = refusal(b'{"a": 1}\n' + line + b"\n", "f.jsonl")

    assert f"line 2 of the file is longer than {limits.MAX_ROW_CHARS:,} characters, the limit of one row" in message


# --- CSV -----------------------------------------------------------------------------------------


def test_an_unquoted_cell_longer_than_the_field_limit_says_so():
    content = b"item_name,price\n" + b"x" * (limits.MAX_CELL_CHARS + 1) + b",1\n"

    assert refusal(content, "f.csv") == (
        f"f.csv, data row 1: a cell is longer than the field limit of {limits.MAX_CELL_CHARS:,} characters."
    )


def test_a_quote_never_closed_is_still_a_quote_never_closed():
    content = b'item_name,price\n"Shirt,1\n' + b"Shirt,1\n" * (limits.MAX_CELL_CHARS // 8 + 10)

    message = refusal(content, "f.csv")

    assert message.startswith('f.csv, data row 1: a quoted field is never closed (a stray " swallows every row')
    assert "past the field limit of 1,048,576 characters" in message


def test_a_csv_line_longer_than_a_row_of_short_cells_is_refused():
    content = b"item_name,price\n" + b"x," * (limits.MAX_ROW_CHARS // 2 + 1) + b"\n"

    assert f"line 2 of the file is longer than {limits.MAX_ROW_CHARS:,} characters" in refusal(content, "f.csv")


def test_a_file_wider_than_the_column_limit_is_refused():
    content = ",".join(f"h{i}" for i in range(limits.MAX_COLUMNS + 1)).encode() + b"\n1\n"

    assert f"has {limits.MAX_COLUMNS + 1:,} columns; a file may have at most {limits.MAX_COLUMNS:,}" in refusal(
        content, "f.csv"
    )


# --- XLSX ------------------------------------------------------------------------------------------


def _workbook(rows) -> bytes:
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("S")
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_a_workbook_within_the_bounds_reads_as_before():
    headers, rows = read(_workbook([["item_name", "price"], ["Shirt", 1.5], ["x" * 30_000, 2]]), "f.xlsx")

    assert headers == ["item_name", "price"]
    assert rows == [(1, ["Shirt", 1.5]), (2, ["x" * 30_000, 2])]


def test_an_xlsx_cell_longer_than_the_field_limit_is_refused(monkeypatch):
    monkeypatch.setattr(limits, "MAX_CELL_CHARS", 1000)
    monkeypatch.setattr("imports.engine.xlsx_sheets.MAX_CELL_CHARS", 1000)

    message = refusal(_workbook([["item_name"], ["x" * 1001]]), "f.xlsx")

    assert message == "f.xlsx, sheet row 2: a cell is longer than the field limit of 1,000 characters."


def test_an_xlsx_row_holding_more_than_a_row_is_refused(monkeypatch):
    monkeypatch.setattr("imports.engine.xlsx_sheets.MAX_ROW_CHARS", 5000)

    message = refusal(_workbook([["item_name", "d"], ["x" * 3000, "y" * 3000]]), "f.xlsx")

    assert message == "f.xlsx, sheet row 2 holds 6,000 characters; a row may hold at most 5,000."


@pytest.mark.parametrize(
    ("write", "words"),
    [
        (bombs.xlsx_many_rows, "holds more than 1,048,576 rows"),
        (bombs.xlsx_entity_expansion, "holds a DTD (<!DOCTYPE or <!ENTITY)"),
        (lambda path: bombs.xlsx_many_parts(path, parts=10_001), "holds 10,006 files in its zip; a workbook may hold"),
    ],
    ids=["more rows than Excel", "entity expansion", "more parts than any workbook"],
)
def test_workbooks_past_a_bound_are_refused_before_openpyxl_reads_them(tmp_path, write, words):
    path = write(tmp_path / "bomb.xlsx")

    assert words in refusal(path.read_bytes(), "bomb.xlsx")


def _scan(sheet_xml: bytes, name: str = "xl/worksheets/sheet1.xml") -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, sheet_xml)
    xlsx_parts.check_workbook(buffer, "f.xlsx")


SHEET = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'


@pytest.fixture
def no_ratio(monkeypatch):
    """Bounds past the ratio: these small parts inflate far more than a real sheet does."""
    monkeypatch.setattr(xlsx_parts, "MAX_XLSX_RATIO", 10**9)


@pytest.mark.usefixtures("no_ratio")
@pytest.mark.parametrize(
    ("xml", "words"),
    [
        (SHEET + b"<row>" + b" " * (limits.MAX_XLSX_TEXT_BYTES + 1) + b"</row>", "bytes without a tag"),
        (SHEET + b'<row r="1"><c t="inlineStr"><is><t>' + b"a" * (limits.MAX_XLSX_TEXT_BYTES + 1), "without a tag"),
        (SHEET + b"<!--" + b"<a>" * (limits.MAX_XLSX_TEXT_BYTES // 3 + 1) + b"-->", "comment or CDATA section longer"),
        (SHEET + b"<row>" + b"<c/>" * (limits.MAX_XLSX_ELEMENTS_PER_ROW + 20_000), "XML elements in one row"),
        (SHEET + b"<![CDATA[ never closed", "leaves a comment or CDATA section open"),
    ],
    ids=["whitespace", "a text", "a comment holding tags", "a row of too many elements", "open CDATA"],
)
def test_the_xml_scan_bounds_what_a_parser_would_hold(xml, words):
    with pytest.raises(ImportRejected) as refused:
        _scan(xml)

    assert words in str(refused.value)


@pytest.mark.usefixtures("no_ratio")
def test_the_xml_scan_bounds_the_shared_strings_and_other_parts():
    sst = b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    with pytest.raises(ImportRejected, match="more than 1,048,576 shared strings"):
        _scan(sst + b"<si><t>a</t></si>" * (limits.MAX_XLSX_SHARED_STRINGS + 10_000), "xl/sharedStrings.xml")
    with pytest.raises(ImportRejected, match="more than 262,144 XML elements"):
        _scan(b"<styleSheet>" + b"<xf/>" * (limits.MAX_XLSX_ELEMENTS_PER_PART + 20_000), "xl/styles.xml")


@pytest.mark.usefixtures("no_ratio")
def test_comments_and_cdata_of_a_reasonable_size_pass_even_cut_by_a_chunk():
    comment = b"<!-- a comment -->" + b"<!--" + b"x" * (64 * 1024) + b"-->" + b"<![CDATA[<b>]]>"
    _scan(SHEET + comment + b'<row r="1"/></sheetData></worksheet>')
