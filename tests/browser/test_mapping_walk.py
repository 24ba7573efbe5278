"""A supplier's sheet as it arrives, mapped in a real browser (issue 12; Playwright + Debian's chromium).

The sheet has a title and a note above its header, German and British
column names (``Colour`` holds the supplier's colour code, ``Farbe`` the
colour's name), semicolons and decimal commas. The walk: upload it; the
check page says the column names were found on line 3, the dropdowns are
pre-filled by the suggestion (``Colour`` taken for the colour, ``Farbe`` left
over), the decimal comma is told by the file; the user moves the colour to
``Farbe``, checks again, sees the figures and the problem on its spreadsheet
line, imports, and lands on the job page. Screenshots:
test-artifacts/screenshots/mapping-*.png.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from catalog.models import ItemVariant
from imports.models import ImportJob

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHEET = (
    "Frühjahrskollektion 2026 - Müller Textil GmbH;;;;;\n"
    "Stand: 1. März 2026, Preise in EUR inkl. MwSt.;;;;;\n"
    "Artikel;Colour;Farbe;Größe;Preis;Bestand\n"
    "Oxford Hemd;NV01;Marine;M;49,90;12\n"
    "Oxford Hemd;NV01;Marine;L;49,90;8\n"
    "Leinenhose;SD02;Sand;32;1.299,00;3\n"
    "Leinenhose;SD02;Sand;34;-5,00;2\n"
).encode()


def figure(page, name: str) -> str:
    return page.locator(f'[data-count="{name}"]').inner_text().strip()


def chosen(page) -> list[str]:
    """The field chosen in each column's dropdown, in the file's order."""
    return [page.locator(f"#id_column_{index}").input_value() for index in range(6)]


def test_a_supplier_sheet_with_a_title_row_and_decimal_commas_is_mapped_and_imported(logged_in, screenshot):
    page = logged_in
    page.goto("/admin/catalog/itemvariant/")
    page.get_by_role("link", name="Import a file").click()
    page.set_input_files(
        'input[name="file"]', files=[{"name": "mueller-fruehjahr.csv", "mimeType": "text/csv", "buffer": SHEET}]
    )
    page.get_by_role("button", name="Check the file").click()

    # The check page: the header line found, the dropdowns pre-filled, the decimal comma told by the file.
    page.wait_for_url(re.compile(r"/preview/$"))
    header = page.locator(".import-header-row")
    assert "The column names were read from line 3 of your sheet" in header.inner_text()
    assert page.locator("#id_header_row").input_value() == "3"
    assert chosen(page) == ["item_name", "color_name", "", "size_name", "price", "stock"]
    assert "decimal comma" in page.locator(".import-numbers").inner_text()
    assert [figure(page, name) for name in ("inserted", "failed")] == ["3", "1"]
    screenshot(page, "mapping-01-check-suggested")

    # The colour's name is in Farbe: move it there and check again.
    page.select_option("#id_column_1", "")
    page.select_option("#id_column_2", "color_name")
    page.get_by_role("button", name="Check the file again with these choices").click()
    page.wait_for_url(re.compile(r"/preview/$"))
    assert chosen(page) == ["item_name", "", "color_name", "size_name", "price", "stock"]
    assert [figure(page, name) for name in ("inserted", "failed")] == ["3", "1"]
    problem = page.locator("table.import-errors tbody tr").first.inner_text().split("\t")
    assert problem[:3] == ["7", "4", "Preis"]  # line 7 of the sheet, the 4th row below the header
    sample = page.locator("table.import-sample").first.inner_text()
    assert "Marine" in sample
    assert "1299.00" in sample
    assert "NV01" not in sample
    assert ItemVariant.objects.count() == 0  # a check writes nothing
    screenshot(page, "mapping-02-check-again")

    # Import, then the job page: the figures, the columns read, the problem on its line.
    page.get_by_role("button", name=re.compile(r"^Import 3 new or changed rows")).click()
    page.wait_for_url(re.compile(r"/importjob/\d+/change/$"))
    assert page.locator("[data-job-status]").inner_text() == "Completed with errors"
    assert [figure(page, name) for name in ("inserted", "failed")] == ["3", "1"]
    page.locator("summary", has_text="Columns read").click()
    columns = page.locator(".import-details").first.inner_text()
    assert columns.index("Artikel\tItem name") < columns.index("Colour\tignored") < columns.index("Farbe\tColor name")
    assert "read from line 3 of the sheet" in columns
    screenshot(page, "mapping-03-job")

    job = ImportJob.objects.get(dry_run=False)
    assert (job.header_row, job.mapping["Farbe"], job.mapping["Colour"]) == (3, "color_name", None)
    assert {(v.color.color_name, v.size.size_name, v.price, v.stock) for v in ItemVariant.objects.all()} == {
        ("Marine", "M", Decimal("49.90"), 12),
        ("Marine", "L", Decimal("49.90"), 8),
        ("Sand", "32", Decimal("1299.00"), 3),
    }
