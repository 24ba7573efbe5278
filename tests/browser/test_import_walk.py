"""A person's walk through the admin's import screens, in a real browser (Playwright + Debian's chromium).

Log in, import a file with bad rows from the variants list, read the
preview, confirm, see the progress bar at 100 %, download the rows with
problems and check them, open the metrics page and see its charts drawn.
A second walk watches the progress bar of a running import move without
the page reloading. Screenshots: test-artifacts/screenshots/.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone
from playwright.sync_api import expect

from catalog.models import ItemVariant
from imports.models import ImportJob, ImportResult, ImportSource
from imports.runtime import run_import_now
from imports.services import create_import_job, start_import
from tests.browser.conftest import PASSWORD, SCREENSHOTS
from tests.imports.engine.job_runs import VARIANT_HEADER, csv_bytes, make_variant
from tests.imports.files import stream, variants_csv

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

#: 2 new rows, 1 update, 1 unchanged, 2 rows with problems.
ROWS = [
    ("Oxford Shirt", "Cotton oxford", "Navy", "M", "OXF-NAV-M", "52.00", "8"),
    ("Oxford Shirt", "Cotton oxford", "Navy", "L", "OXF-NAV-L", "52.00", "5"),
    ("Oxford Shirt", "Cotton oxford", "White", "M", "OXF-WHT-M", "-4.00", "2"),
    ("Linen Trousers", "Light linen", "Sand", "32", "LIN-SND-32", "59.90", "3"),
    ("Linen Trousers", "Light linen", "Sand", "34", "LIN-SND-34", "-59.90", "many"),  # two problems in one row
    ("Oxford Shirt", "Cotton oxford", "White", "S", "OXF-WHT-S", "49.90", "6"),
]


PRICE = Decimal("49.90")


def figure(page, name: str) -> str:
    return page.locator(f'[data-count="{name}"]').inner_text().strip()


#: A week of earlier imports for the metrics page: (days ago, system, seconds, status).
HISTORY = [
    (6, "legacy", 48.0, "completed"),
    (5, "legacy", 52.5, "completed"),
    (4, "legacy", 0.8, "failed"),
    (3, "legacy", 44.0, "completed"),
    (3, "upsert", 6.5, "completed"),
    (2, "upsert", 5.0, "completed"),
    (2, "legacy", 41.0, "completed"),
    (1, "upsert", 4.2, "completed"),
    (1, "upsert", 4.8, "completed"),
]


def seed_history(user) -> None:
    for days_ago, system, seconds, status in HISTORY:
        created = timezone.now() - timedelta(days=days_ago, hours=1)
        job = ImportJob.objects.create(
            system=system,
            status=status,
            source="api",
            user=user,
            file_name=f"supplier-{system}-{days_ago}.csv",
            created_at=created,
            started_at=created,
            finished_at=created + timedelta(seconds=seconds),
            failure_reason="Row 12: price must be 0 or more (the legacy importer stops at the first bad row)"
            if status == "failed"
            else "",
        )
        ImportResult.objects.create(
            job=job,
            duration_seconds=seconds,
            success_rate=0.0 if status == "failed" else 100.0,
            total_rows=5000,
            inserted=0 if status == "failed" else 5000,
        )


def test_import_a_file_from_preview_to_failed_rows_and_metrics(logged_in, admin_user, screenshot):
    page = logged_in
    seed_history(admin_user)
    for color, size, sku, stock in (("Navy", "M", "OXF-NAV-M", 8), ("White", "S", "OXF-WHT-S", 6)):
        make_variant("Oxford Shirt", color, size, sku=sku, price=PRICE, stock=stock, description="Cotton oxford")
    screenshot(page, "01-admin-home")

    # A catalog "Add" form shows no made-up timestamps (issue 15).
    page.goto("/admin/catalog/itemvariant/add/")
    expect(page.locator("#content-main")).not_to_contain_text("DatabaseDefault")
    expect(page.locator("#content-main")).not_to_contain_text("Created at")
    screenshot(page, "02a-add-variant")

    # From the variants list (1366 px, as a laptop): Export has a way back, then Import a file, kind preselected.
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto("/admin/catalog/itemvariant/?q=Oxford")
    expect(page.locator("#result_list tbody tr")).to_have_count(2)
    screenshot(page, "02-variants-list")
    page.get_by_role("link", name="Export").click()
    expect(page.get_by_role("button", name="Download")).to_be_visible()
    screenshot(page, "02b-export")
    page.get_by_role("link", name="Cancel").click()
    page.wait_for_url(re.compile(r"/admin/catalog/itemvariant/\?q=Oxford$"))
    page.get_by_role("link", name="Import a file").click()
    assert page.locator('input[name="kind"][value="variants"]').is_checked()
    page.get_by_role("link", name="Cancel").click()  # back to the list the user came from, as it was
    page.wait_for_url(re.compile(r"/admin/catalog/itemvariant/\?q=Oxford$"))
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("link", name="Import a file").click()
    assert page.locator('input[name="kind"][value="variants"]').is_checked()
    page.set_input_files(
        'input[name="file"]',
        files=[{"name": "spring-collection.csv", "mimeType": "text/csv", "buffer": csv_bytes(VARIANT_HEADER, ROWS)}],
    )
    screenshot(page, "03-choose-file")
    page.get_by_role("button", name="Check the file").click()

    # The preview: figures, the first problems with row, column and reason, a sample of changes.
    page.wait_for_url(re.compile(r"/preview/$"))
    assert [figure(page, name) for name in ("inserted", "updated", "unchanged", "superseded", "failed")] == [
        "2",
        "1",
        "1",
        "0",
        "2",
    ]
    problems = page.locator("table.import-errors tbody tr")
    assert problems.count() == 3  # row 5 has two problem cells, each on its line
    assert problems.nth(0).inner_text().split("\t")[:3] == ["4", "3", "price"]  # line in the sheet, row, column
    assert "price must be 0 or more" in problems.nth(0).inner_text()
    assert problems.nth(1).inner_text().split("\t")[:4] == ["6", "5", "price", "-59.90"]
    assert problems.nth(2).inner_text().split("\t")[:2] == ["stock", "many"]
    assert "stock is not a number" in problems.nth(2).inner_text()
    changed = page.locator("table.import-sample").last.inner_text()
    assert "Oxford Shirt / Navy / M" in changed
    assert "49.90" in changed
    assert "52.00" in changed
    assert ItemVariant.objects.count() == 2  # nothing written yet
    screenshot(page, "04-preview")

    # Confirm: the same file is imported, and the job page shows it done.
    page.get_by_role("button", name=re.compile(r"^Import 3 new or changed rows")).click()
    page.wait_for_url(re.compile(r"/importjob/\d+/change/$"))
    bar = page.get_by_role("progressbar")
    assert bar.get_attribute("aria-valuenow") == "100"
    assert page.locator('[data-progress="percent"]').inner_text() == "100 %"
    assert page.locator("[data-job-status]").inner_text() == "Completed with errors"
    assert [figure(page, name) for name in ("inserted", "updated", "unchanged", "failed")] == ["2", "1", "1", "2"]
    assert ItemVariant.objects.get(sku="OXF-NAV-M").price == Decimal("52.00")
    screenshot(page, "05-job-finished")
    job_page = page.url

    # Back on the check: what the import did, not the stale "If you import this file" (issue 15).
    page.get_by_role("link", name="2. Check what will change").click()
    expect(page.locator("[data-imported-as]")).to_contain_text("This file has already been imported")
    expect(page.locator("#content-main")).not_to_contain_text("If you import this file")
    expect(page.locator("#content-main")).to_contain_text("What import #")
    screenshot(page, "05b-check-after-import")
    page.goto(job_page)

    # Download the rows with problems: the file's own columns, fixable and importable again.
    with page.expect_download() as download:
        page.get_by_role("link", name="Download rows with problems (CSV)").click()
    assert download.value.suggested_filename.endswith("-failed-rows.csv")
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert [(row["row_number"], row["sku"]) for row in rows] == [("3", "OXF-WHT-M"), ("5", "LIN-SND-34")]
    assert "price must be 0 or more" in rows[0]["error"]
    assert rows[1]["stock"] == "many"
    assert rows[1]["error"] == "price must be 0 or more; stock is not a number (a whole number, e.g. 12)"
    with page.expect_download() as workbook:
        page.get_by_role("link", name="Download rows with problems (Excel)").click()
    assert workbook.value.suggested_filename.endswith("-failed-rows.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(Path(workbook.value.path()).read_bytes()), read_only=True).active
    # typed cells: SKUs text, prices and row numbers numbers (no "'-4.00"), a stock that is not a number text
    assert [row[4:8] for row in sheet.iter_rows(min_row=2, values_only=True)] == [
        ("OXF-WHT-M", -4, 2, 3),
        ("LIN-SND-34", -59.9, "many", 5),
    ]

    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "06-job-finished-narrow")
    page.set_viewport_size({"width": 1280, "height": 900})

    page.set_viewport_size({"width": 1366, "height": 900})
    page.get_by_role("link", name="Import jobs").first.click()
    expect(page.locator("#result_list .import-status")).to_have_count(len(HISTORY) + 2)  # + the import and its check
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366  # fits a laptop, no sideways scroll
    screenshot(page, "07-import-jobs")
    page.set_viewport_size({"width": 1280, "height": 900})

    # The metrics page draws its charts.
    page.goto("/admin/")
    page.get_by_role("link", name="Import metrics").click()
    page.wait_for_function(
        "() => window.Chart !== undefined"
        " && ['chart-imports-per-day', 'chart-duration-per-day', 'chart-systems'].every("
        "id => { const chart = Chart.getChart(document.getElementById(id)); return chart && chart.width > 0; })"
    )
    drawn = page.evaluate(
        "() => { const chart = Chart.getChart(document.getElementById('chart-imports-per-day'));"
        " return chart.data.datasets.map(d => d.data.reduce((a, b) => a + b, 0)); }"
    )
    # the history plus today's import on the new importer (the preview's check is not an import)
    assert drawn == [4 + 1, 5]
    assert page.locator("table.import-alerts tbody tr").count() == 3
    assert "less time" in page.locator("[data-improvement]").inner_text()
    assert "supplier-legacy-4.csv" in page.locator("table.import-failures").inner_text()
    screenshot(page, "08-metrics")


def test_the_progress_bar_moves_while_an_import_runs_without_reloading(logged_in, screenshot):
    page = logged_in
    job = create_import_job(
        stream=stream(variants_csv(20)), file_name="twenty-rows.csv", system="upsert", options={"batch_size": 5}
    )
    page.goto(f"/admin/imports/importjob/{job.pk}/change/")
    assert page.locator("[data-job-status]").inner_text() == "Waiting"
    assert page.get_by_role("progressbar").get_attribute("aria-valuenow") == "0"
    page.evaluate("window.sameDocument = true")  # gone if the page reloads
    seen = []

    def watch(progress):
        # Runs in the import, after each committed batch: the open page must show it by itself.
        if progress.stage == "writing" and not seen:
            page.wait_for_function(
                "() => window.sameDocument === true && Number(document.querySelector('[role=progressbar]')"
                ".getAttribute('aria-valuenow')) >= 25",
                timeout=10_000,
            )
            seen.append(page.locator('[data-progress="rows"]').inner_text())
            seen.append(page.locator("[data-job-status]").inner_text())
            page.wait_for_timeout(400)  # let the bar's width transition end before the picture
            screenshot(page, "09-job-running")

    run_import_now(job=ImportJob.objects.get(pk=job.pk), on_progress=watch)

    assert seen
    assert re.fullmatch(r"(5|10|15) of 20 rows", seen[0])
    assert seen[1] == "Running"
    page.wait_for_selector('[data-import-progress][data-finished="true"]')  # reloaded once finished
    assert page.get_by_role("progressbar").get_attribute("aria-valuenow") == "100"
    assert page.locator("[data-job-status]").inner_text() == "Completed"
    assert figure(page, "inserted") == "20"


def test_a_catalog_managers_admin_and_the_page_of_a_refused_file(page, django_user_model, screenshot):
    """Issue 15's screens as a catalog manager sees them: the catalog and the imports only; a refused file's page
    says why, with no figures of zeros and no Retry."""
    manager = django_user_model.objects.create_user(username="manager", password=PASSWORD, is_staff=True)
    manager.user_permissions.add(*Permission.objects.filter(content_type__app_label__in=["catalog", "imports"]))
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", "manager")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")
    expect(page.locator("#site-name")).to_have_text("MTC Catalog")
    expect(page.locator("#content-main")).to_contain_text("Item variants")
    expect(page.locator("#content-main")).to_contain_text("Import jobs")
    expect(page.locator("#content-main")).not_to_contain_text("Tokens")
    expect(page.locator("#content-main")).not_to_contain_text("Successful tasks")
    screenshot(page, "10-manager-home")

    refused = start_import(
        stream=stream(variants_csv(6)),
        file_name="too-long.csv",
        kind="variants",
        user=manager,
        source=ImportSource.ADMIN,
        options={"max_rows": 5},
    )
    assert refused.is_refused
    page.goto(f"/admin/imports/importjob/{refused.pk}/change/")
    expect(page.locator("[data-job-status]")).to_have_text("Refused")  # the user's file, not a failure
    expect(page.locator("[role=alert]")).to_contain_text("The file was refused:")
    expect(page.locator("[role=alert]")).to_contain_text("more than 5 rows, the most one import accepts")
    expect(page.locator(".import-figures")).to_have_count(0)  # no figures of zeros
    expect(page.get_by_role("progressbar")).to_have_count(0)
    expect(page.get_by_role("button", name="Retry import")).to_have_count(0)
    screenshot(page, "11-refused-file")


def test_the_api_opens_in_a_browser(logged_in, screenshot):
    """Issue 15: /api/ was a 404 and /api/schema/ downloaded a .yaml file; both now open as pages."""
    page = logged_in
    response = page.goto("/api/")
    assert response.ok
    expect(page.locator("h1")).to_have_text("MTC Catalog Imports API")
    expect(page.locator("body")).to_contain_text("/api/docs/")
    screenshot(page, "12-api-index")

    response = page.goto("/api/schema/")  # a download would fail this navigation
    assert response.ok
    expect(page.locator("body")).to_contain_text("openapi")
    page.screenshot(path=str(SCREENSHOTS / "13-api-schema.png"))  # its first screen: the whole is 40,000 px high
