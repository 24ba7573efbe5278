"""The failed-rows workbook holds typed cells (issue 15): numbers as numbers, text as text, a ``'`` only on formulas.

Before: every cell of the failed-rows XLSX was a string, and a negative price
``-4.00`` showed as ``'-4.00`` with the apostrophe in the cell. Now a price or
a stock the importer reads as a number is a number cell (in the job's number
format), a SKU or size such as ``007`` stays text, and only text a spreadsheet
would run as a formula keeps the ``'``. CSV keeps its guard unchanged
(``tests/imports/hostile/test_formula_guard.py``).
"""

from __future__ import annotations

import io
from decimal import Decimal

import openpyxl
import pytest

from imports import error_reports
from imports.selectors import row_errors
from tests.imports.engine.job_runs import csv_bytes, run_import

pytestmark = [pytest.mark.usefixtures("import_env"), pytest.mark.django_db]

HEADER = ("item_name", "color_name", "size_name", "sku", "price", "stock", "Notes")
ROWS = [
    ("Shirt", "Red", "007", "007", "-4.00", "3", "-2"),  # a negative price
    ("Shirt", "Red", "M", "S-M", "12.50", "many", "=2+2"),  # a stock that is not a number
    ("Shirt", "Red", "L", "S-L", "9999999999999999.99", "1", "+Shirt"),  # too many digits for a spreadsheet
]


def workbook_rows(job) -> list[list[tuple[object, str]]]:
    target = io.BytesIO()
    error_reports.write_xlsx(job, row_errors(job=job), target)
    sheet = openpyxl.load_workbook(io.BytesIO(target.getvalue())).active
    return [[(cell.value, cell.data_type) for cell in row] for row in sheet.iter_rows(min_row=2)]


def test_prices_and_stocks_are_number_cells_and_codes_stay_text():
    job = run_import(csv_bytes(HEADER, ROWS))
    assert job.result.failed == 3

    first, second, third = workbook_rows(job)

    assert first == [
        ("Shirt", "s"),
        ("Red", "s"),
        ("007", "s"),  # a size code keeps its leading zeros
        ("007", "s"),  # and so does a SKU
        (-4, "n"),  # a number, no visible apostrophe
        (3, "n"),
        ("-2", "s"),  # an ignored column: text, a plain number needs no apostrophe
        (1, "n"),  # row_number
        (2, "n"),  # line_number: the header is line 1
        ("price must be 0 or more", "s"),
    ]
    assert second[4:7] == [(12.5, "n"), ("many", "s"), ("'=2+2", "s")]  # a formula keeps its guard
    assert third[4:7] == [("9999999999999999.99", "s"), (1, "n"), ("'+Shirt", "s")]


def test_numbers_are_read_in_the_jobs_number_format():
    rows = [("Shirt", "Red", "M", "S-M", "1.299,50", "-1", "")]
    job = run_import(csv_bytes(HEADER, rows), number_format="comma")

    (row,) = workbook_rows(job)

    assert row[4:6] == [(1299.5, "n"), (-1, "n")]


def test_the_workbook_imports_back_to_the_same_failed_rows():
    job = run_import(csv_bytes(HEADER, ROWS))
    target = io.BytesIO()
    error_reports.write_xlsx(job, row_errors(job=job), target)

    again = run_import(target.getvalue(), name="failed-rows.xlsx")

    assert again.result.failed == 3
    kept = {e.row_number: e.row_data for e in row_errors(job=again)}
    assert [(kept[n]["sku"], kept[n]["price"], kept[n]["stock"]) for n in (1, 2, 3)] == [
        ("007", "-4", "3"),
        ("S-M", "12.5", "many"),
        ("S-L", "9999999999999999.99", "1"),
    ]
    assert Decimal(kept[2]["price"]) == Decimal("12.50")
