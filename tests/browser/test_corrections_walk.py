"""Fixing failed rows in the browser: edit two failed cells, import them, undo the first import (issue 13).

The job page's rows with problems become an editable table: the problem
cells are highlighted with their reason, each change is re-checked through
the API, the keyboard moves between cells (Tab, Enter), the corrected rows
download as CSV and Excel, and "Import the corrected rows" goes the usual way
(check, preview, import) to a new import linked to the first; then the
first import is undone (its preview, then the undo), leaving the corrected
rows. Screenshots: test-artifacts/screenshots/corrections-*.png.
"""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import expect

from catalog.models import Color, ItemVariant
from imports.corrections import Correction
from imports.models import ImportJob, ImportSource
from imports.services import import_checked_file, import_corrections, start_import
from tests.imports.engine.job_runs import VARIANT_HEADER, csv_bytes
from tests.imports.files import stream

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROWS = [
    ("Oxford Shirt", "Cotton oxford", "Navy", "M", "OXF-NAV-M", "52.00", "8"),
    ("Oxford Shirt", "Cotton oxford", "White", "M", "OXF-WHT-M", "-4.00", "2"),
    ("Linen Trousers", "Light linen", "Sand", "32", "LIN-SND-32", "59.90", "3"),
    ("Linen Trousers", "Light linen", "Sand", "34", "LIN-SND-34", "59.90", "many"),
]


def imported(rows, name: str, *, user) -> ImportJob:
    """A variants file of ``rows`` imported from the admin, inline, as the walks' first import."""
    return start_import(
        stream=stream(csv_bytes(VARIANT_HEADER, rows), name),
        file_name=name,
        kind="variants",
        user=user,
        source=ImportSource.ADMIN,
        background=False,
    )


def cell(page, row: int, header: str):
    return page.locator(f'tr[data-row="{row}"] td[data-column="{header}"]')


def test_edit_two_failed_cells_and_import_them(logged_in, admin_user, screenshot):
    page = logged_in
    first = imported(ROWS, "autumn.csv", user=admin_user)
    assert (first.result.inserted, first.result.failed) == (2, 2)

    page.goto(f"/admin/imports/importjob/{first.pk}/change/")
    grid = page.locator("[data-corrections-grid]")
    expect(grid).to_be_visible()
    expect(page.locator("[data-static-errors]")).to_be_hidden()
    # the row numbers explained as on every screen that shows them (issue 15)
    expect(page.locator("[data-corrections-help]")).to_contain_text('"Row" counts from the first row after the column')
    expect(page.locator("td.is-problem")).to_have_count(2)
    expect(cell(page, 2, "price")).to_have_class(re.compile("is-problem"))
    expect(cell(page, 2, "price").locator(".import-corrections__reason")).to_have_text("price must be 0 or more")
    expect(cell(page, 4, "stock").locator(".import-corrections__reason")).to_contain_text("stock is not a number")
    expect(page.get_by_role("button", name="Import the corrected rows")).to_be_disabled()
    screenshot(page, "corrections-01-failed-rows")

    # A wrong correction is re-checked and still refused, with the engine's reason.
    price = cell(page, 2, "price").locator("input")
    price.click()
    price.fill("-1")
    expect(cell(page, 2, "price").locator(".import-corrections__reason")).to_have_text("price must be 0 or more")
    expect(page.locator("[data-corrections-status]")).to_have_text(
        "1 row corrected: 0 ready to import, 1 still with problems."
    )

    # Fixed: the row is ready; Tab moves to the next cell of the row.
    price.fill("45.00")
    expect(page.locator('tr[data-row="2"] .import-corrections__problems')).to_have_text("Ready to import")
    expect(cell(page, 2, "price")).not_to_have_class(re.compile("is-problem"))
    page.keyboard.press("Tab")
    expect(cell(page, 2, "stock").locator("input")).to_be_focused()

    # Enter moves to the same column of the next row: the other failed row's stock.
    page.keyboard.press("Enter")
    expect(cell(page, 4, "stock").locator("input")).to_be_focused()
    page.keyboard.press("Control+A")
    page.keyboard.type("7")
    expect(page.locator('tr[data-row="4"] .import-corrections__problems')).to_have_text("Ready to import")
    expect(page.locator("[data-corrections-status]")).to_have_text("2 rows corrected: 2 ready to import.")
    expect(page.locator("td.is-problem")).to_have_count(0)
    screenshot(page, "corrections-02-corrected")

    # The corrected rows download as CSV, with nothing left in their error column.
    with page.expect_download() as download:
        page.get_by_role("button", name="Download corrected rows (CSV)").click()
    assert download.value.suggested_filename == f"import-{first.pk}-corrected-rows.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert [(row["row_number"], row["line_number"], row["price"], row["stock"], row["error"]) for row in rows] == [
        ("2", "3", "45.00", "2", ""),
        ("4", "5", "59.90", "7", ""),
    ]
    # and as a workbook, its prices and stocks number cells
    with page.expect_download() as workbook:
        page.get_by_role("button", name="Download corrected rows (Excel)").click()
    assert workbook.value.suggested_filename == f"import-{first.pk}-corrected-rows.xlsx"
    sheet = openpyxl.load_workbook(io.BytesIO(Path(workbook.value.path()).read_bytes())).active
    assert [row[4:10] for row in sheet.iter_rows(min_row=2, values_only=True)] == [
        ("OXF-WHT-M", 45, 2, 2, 3, None),  # ... row_number, line_number (the header is line 1), error
        ("LIN-SND-34", 59.9, 7, 4, 5, None),
    ]

    # Import the corrected rows: checked first, as any file; the check names the first import.
    page.get_by_role("button", name="Import the corrected rows").click()
    page.wait_for_url(re.compile(r"/preview/$"))
    expect(page.locator("[data-parent-import]")).to_contain_text(f"corrected rows of import #{first.pk}")
    expect(page.locator('[data-count="inserted"]')).to_have_text("2")
    expect(page.locator('[data-count="failed"]')).to_have_text("0")
    assert ItemVariant.objects.count() == 2  # nothing written by the check
    screenshot(page, "corrections-03-preview")

    page.get_by_role("button", name=re.compile(r"^Import 2 new or changed rows")).click()
    page.wait_for_url(re.compile(r"/importjob/\d+/change/$"))
    expect(page.locator("[data-job-status]")).to_have_text("Completed")
    expect(page.locator("[data-parent-import]")).to_contain_text(f"import #{first.pk}")
    screenshot(page, "corrections-04-imported")

    corrected = ImportJob.objects.get(dry_run=False, parent_import=first)
    assert (corrected.result.inserted, corrected.result.failed) == (2, 0)
    assert ItemVariant.objects.get(sku="OXF-WHT-M").price == Decimal("45.00")
    assert ItemVariant.objects.get(sku="LIN-SND-34").stock == 7

    # The first import's page links to the import of its corrected rows.
    page.get_by_role("link", name=f"import #{first.pk}").click()
    expect(page.locator("[data-corrections-imports]")).to_contain_text(f"import #{corrected.pk}")
    # and no longer offers its rows for correction: they were imported again (the download stays)
    expect(page.locator("[data-corrections-imports]")).to_contain_text("These rows were corrected and imported again")
    expect(page.locator("[data-corrections-grid]")).to_have_count(0)
    expect(page.get_by_role("link", name="Download rows with problems (CSV)")).to_be_visible()
    screenshot(page, "corrections-05-first-import")

    # Undo the first import: first what undoing would change (nothing changed yet), then the undo itself.
    page.get_by_role("button", name="See what undoing would change").click()
    page.wait_for_url(re.compile(r"/importjob/\d+/change/$"))
    preview = ImportJob.objects.get(undoes=first, dry_run=True)
    assert page.url.endswith(f"/importjob/{preview.pk}/change/")
    expect(page.locator("h1")).to_contain_text(f"Preview: undo of import #{first.pk}")
    # the two variants the first import added, and the color and size only they used (Navy, 32)
    expect(page.locator('[data-count="deleted"]')).to_have_text("4")
    expect(page.locator('[data-count="unchanged"]')).to_have_text("4")  # items, color, size the corrected rows use
    expect(page.locator('[data-count="failed"]')).to_have_text("0")
    assert ItemVariant.objects.count() == 4  # a preview changes nothing
    screenshot(page, "corrections-07-undo-preview")

    page.once("dialog", lambda dialog: dialog.accept())  # "Undo import #N? The rows it added are removed..."
    page.get_by_role("button", name=f"Undo import #{first.pk}").click()
    page.wait_for_url(lambda url: url.endswith("/change/") and f"/{preview.pk}/" not in url)
    undo = ImportJob.objects.get(undoes=first, dry_run=False)
    assert page.url.endswith(f"/importjob/{undo.pk}/change/")
    expect(page.locator("[data-job-status]")).to_have_text("Completed")
    expect(page.locator("h1")).to_contain_text(f"Undo #{undo.pk} of import #{first.pk}")
    expect(page.locator('[data-count="deleted"]')).to_have_text("4")
    screenshot(page, "corrections-08-undone")
    # The first import's rows are gone; the corrected rows, imported by another import, stay.
    assert set(ItemVariant.objects.values_list("sku", flat=True)) == {"OXF-WHT-M", "LIN-SND-34"}
    assert not Color.objects.filter(color_name="Navy").exists()
    assert Color.objects.filter(color_name="Sand").exists()

    page.get_by_role("link", name=f"import #{first.pk}").first.click()
    expect(page.locator(f'[data-undone-by="{undo.pk}"]')).to_contain_text(
        re.compile(rf"This import was undone on [\s\S]+?\s+by {admin_user.username}:\s+see undo #{undo.pk}\.")
    )
    screenshot(page, "corrections-09-first-import-undone")


def test_a_check_of_corrected_rows_overtaken_by_another_says_why_it_cannot_be_imported(
    logged_in, admin_user, screenshot
):
    """Two checks of the same failed rows (two tabs): once one is imported, the other's page has no Import button."""
    first = imported(ROWS, "autumn.csv", user=admin_user)
    older, newer = (
        import_corrections(
            job=first, corrections=[Correction(2, {"price": price})], user=admin_user, source="admin", dry_run=True
        )
        for price in ("45.00", "46.00")
    )
    corrected = import_checked_file(dry_run_job=newer, user=admin_user)
    page = logged_in
    page.goto(f"/admin/imports/importjob/{older.pk}/preview/")
    callout = page.locator('[data-stale-correction="already_corrected"]')
    expect(callout).to_contain_text("they can no longer be imported")
    expect(callout.get_by_role("link", name=f"import #{corrected.pk}")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile(r"^Import"))).to_have_count(0)
    screenshot(page, "corrections-10-overtaken-check")


def test_a_few_thousand_failed_rows_page_with_a_pager_above_and_below(logged_in, admin_user, screenshot):
    """2,500 failed rows: 50 a page in the DOM, a pager above and below; Enter on a page's last row opens the next."""
    rows = [("Shirt", "", "Red", f"S{i}", f"SKU-{i}", "-1", "1") for i in range(2500)]
    first = imported(rows, "many.csv", user=admin_user)
    assert first.result.failed == 2500
    page = logged_in
    page.goto(f"/admin/imports/importjob/{first.pk}/change/")
    top, bottom = page.locator('nav[data-pager="top"]'), page.locator('nav[data-pager="bottom"]')
    expect(page.locator("[data-corrections-grid] tbody tr")).to_have_count(50)
    expect(top).to_contain_text("Page 1 of 50 (2,500 rows)")
    expect(bottom).to_contain_text("Page 1 of 50 (2,500 rows)")
    expect(top.get_by_role("button", name="Previous")).to_be_disabled()
    screenshot(page, "corrections-06-many-rows")

    last = cell(page, 50, "price").locator("input")
    last.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("3.50")
    page.keyboard.press("Enter")
    expect(top).to_contain_text("Page 2 of 50")
    expect(cell(page, 51, "price").locator("input")).to_be_focused()
    page.keyboard.type("4")
    page.keyboard.press("Shift+Enter")
    expect(bottom).to_contain_text("Page 1 of 50")
    expect(cell(page, 50, "price").locator("input")).to_have_value("3.50")  # kept across pages
    expect(page.locator("[data-corrections-status]")).to_have_text("2 rows corrected: 2 ready to import.")

    top.get_by_role("button", name="Last").click()
    expect(top).to_contain_text("Page 50 of 50")
    expect(page.locator("[data-corrections-grid] tbody tr").first).to_have_attribute("data-row", "2451")
    expect(bottom.get_by_role("button", name="Next")).to_be_disabled()
    bottom.get_by_role("button", name="First").click()
    expect(cell(page, 51, "price")).to_have_count(0)
    expect(cell(page, 1, "price")).to_have_count(1)
