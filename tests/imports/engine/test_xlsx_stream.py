"""The streaming reader's shared strings: read only as far as the rows read need (the check reads a few rows)."""

from __future__ import annotations

import io
from datetime import datetime

import pytest

from imports.engine.xlsx_stream import MAIN, SharedStrings, sheet_rows

STRINGS = 20_000  # several of the reader's 64 KiB chunks


def _sst() -> bytes:
    items = b"".join(b"<si><t>string %d</t></si>" % n for n in range(STRINGS))
    return b'<sst xmlns="%s">' % MAIN.encode() + items + b"</sst>"


def _sheet(indexes: list[int]) -> bytes:
    rows = b"".join(
        b'<row r="%d"><c r="A%d" t="s"><v>%d</v></c></row>' % (n + 1, n + 1, i) for n, i in enumerate(indexes)
    )
    return b'<worksheet xmlns="%s"><sheetData>' % MAIN.encode() + rows + b"</sheetData></worksheet>"


def _rows(sheet: bytes, shared: SharedStrings):
    return sheet_rows(
        io.BytesIO(sheet), shared, epoch=datetime(1899, 12, 30), date_styles=set(), timedelta_styles=set()
    )


def test_the_first_rows_read_only_the_start_of_the_shared_strings_and_every_row_all_of_them():
    shared = SharedStrings(io.BytesIO(_sst()))
    rows = _rows(_sheet(list(range(STRINGS))), shared)
    assert next(rows) == (1, ["string 0"])
    assert 0 < len(shared.strings) < STRINGS // 2
    assert [cells[0] for _, cells in rows] == [f"string {n}" for n in range(1, STRINGS)]
    assert len(shared.strings) == STRINGS


def test_a_string_referenced_before_the_table_reaches_it_or_past_its_end():
    shared = SharedStrings(io.BytesIO(_sst()))
    assert list(_rows(_sheet([STRINGS - 1, 3]), shared)) == [(1, [f"string {STRINGS - 1}"]), (2, ["string 3"])]
    with pytest.raises(IndexError):
        list(_rows(_sheet([STRINGS]), shared))
    with pytest.raises(IndexError):
        list(_rows(_sheet([0]), SharedStrings(None)))  # a workbook without a table
