"""The admin's import screens (imports.admin, imports.admin_views): file -> preview -> confirm -> job page,
the job list, retry and cancel, permissions, and the metrics page."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from catalog.models import ItemVariant
from imports import services
from imports.corrections import Correction
from imports.models import ImportJob, ImportResult, ImportRowError, ImportStatus
from imports.previews import sample_changes
from imports.services import create_import_job, import_checked_file
from imports.undos import undo_import
from tests.imports.engine.job_runs import VARIANT_HEADER, csv_bytes, make_variant, run_import
from tests.imports.files import stream, variants_csv

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("import_env")]

START = reverse("admin:imports_importjob_start")
JOBS = reverse("admin:imports_importjob_changelist")
METRICS = reverse("admin:imports_importjob_metrics")

#: 6 rows: 2 new, 1 update of the seeded variant, 1 unchanged, 2 bad (negative price; missing item).
FILE_ROWS = [
    ("Shirt", "Oxford", "Red", "M", "SKU-1", "52.00", "3"),
    ("Shirt", "Oxford", "Red", "L", "SKU-2", "19.99", "4"),
    ("Shirt", "Oxford", "Blue", "M", "SKU-3", "-5", "1"),
    ("Scarf", "Wool", "Red", "One size", "SKU-4", "29.00", "12"),
    ("", "No item", "Red", "M", "SKU-5", "10.00", "1"),
    ("Shirt", "Oxford", "Navy", "S", "SKU-6", "9.00", "2"),
]


def preview_url(job) -> str:
    return reverse("admin:imports_importjob_preview", args=[job.pk])


def job_url(job) -> str:
    return reverse("admin:imports_importjob_change", args=[job.pk])


@pytest.fixture
def catalog():
    make_variant("Shirt", "Red", "M", sku="SKU-1", price=Decimal("49.90"), stock=3, description="Oxford")
    make_variant("Shirt", "Navy", "S", sku="SKU-6", price=Decimal("9.00"), stock=2, description="Oxford")


def upload(client, content: bytes, *, kind: str = "variants", name: str = "upload.csv"):
    return client.post(START, {"file": stream(content, name), "kind": kind, "sheet": ""})


def checked(client, content: bytes | None = None) -> ImportJob:
    """Upload a file and return its dry run."""
    response = upload(client, content or csv_bytes(VARIANT_HEADER, FILE_ROWS))
    job = ImportJob.objects.get(dry_run=True)
    assert response.status_code == 302
    assert response["Location"] == preview_url(job)
    return job


def staff_with(django_user_model, username: str, *codenames: str):
    user = django_user_model.objects.create_user(username=username, password=None, is_staff=True)
    for codename in codenames:
        user.user_permissions.add(Permission.objects.get(codename=codename, content_type__app_label="imports"))
    return user


# --- step 1: choose a file ----------------------------------------------------------------


def test_start_page_preselects_the_kind_of_the_list_it_came_from(admin_client):
    response = admin_client.get(START, {"kind": "colors"})

    assert response.status_code == 200
    assert response.context["form"].initial == {"kind": "colors"}
    page = response.content.decode()
    assert re.search(r'<input[^>]*value="colors"[^>]*checked', page)
    assert not re.search(r'<input[^>]*value="variants"[^>]*checked', page)
    assert "item_name, color_name, size_name (required)" in page


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"%PDF-1.4 not a spreadsheet", "not a spreadsheet this importer reads"),
    ],
)
def test_a_refused_file_is_a_form_error_and_no_job(admin_client, content, message):
    response = upload(admin_client, content)

    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors["file"])
    assert not ImportJob.objects.exists()


# --- step 2: preview from a dry run -----------------------------------------------------------


def test_uploading_runs_a_dry_run_that_writes_nothing(admin_client, catalog):
    before = list(ItemVariant.objects.values())

    job = checked(admin_client)

    assert (job.source, job.kind, job.status) == ("admin", "variants", "completed_with_errors")
    assert job.user.is_superuser
    assert list(ItemVariant.objects.values()) == before


def test_preview_shows_the_figures_the_first_problems_and_a_sample_of_changes(admin_client, catalog):
    job = checked(admin_client)

    response = admin_client.get(preview_url(job))

    assert response.status_code == 200
    summary = response.context["summary"]
    assert {key: summary[key] for key in ("inserted", "updated", "unchanged", "failed")} == {
        "inserted": 2,
        "updated": 1,
        "unchanged": 1,
        "failed": 2,
    }
    problems = response.context["errors"]["first_rows"]
    assert [(p["row_number"], p["column"]) for p in problems] == [(3, "price"), (5, "item_name")]
    assert "price must be 0 or more" in problems[0]["error"]
    sample = response.context["sample"]
    assert [(row.row_number, row.key) for row in sample.inserts] == [
        (2, "Shirt / Red / L"),
        (4, "Scarf / Red / One size"),
    ]
    [update] = sample.updates
    assert (update.row_number, update.key) == (1, "Shirt / Red / M")
    assert [(c.column, c.old, c.new) for c in update.changes] == [("price", "49.90", "52.00")]
    page = response.content.decode()
    assert "Import 3 new or changed rows" in page
    assert "price must be 0 or more" in page
    assert response.context["can_confirm"] is True


def test_sample_compares_only_the_columns_the_file_has(catalog):
    content = csv_bytes(("item_name", "color_name", "size_name", "stock"), [("Shirt", "Red", "M", "8")])
    job = run_import(content, dry_run=True)

    sample = sample_changes(job=job)

    [update] = sample.updates
    assert [(c.column, c.old, c.new) for c in update.changes] == [("stock", "3", "8")]
    assert sample.whole_file is True


def test_sample_counts_a_repeated_key_once_by_its_last_row(catalog):
    rows = [("Hat", "", "Red", "M", "H-1", "5.00", "1"), ("Hat", "", "Red", "M", "H-2", "6.00", "1")]
    job = run_import(csv_bytes(VARIANT_HEADER, rows), dry_run=True)

    sample = sample_changes(job=job)

    assert [(row.row_number, dict(row.values)["sku"]) for row in sample.inserts] == [(2, "H-2")]


def test_a_dry_run_the_file_fails_cannot_be_confirmed(admin_client, settings):
    settings.IMPORT_MAX_ROWS = 2
    job = checked(admin_client, variants_csv(5))

    response = admin_client.get(preview_url(job))

    assert job.status == "failed"
    assert "cannot be imported as it is" in response.content.decode()
    assert "more than 2 rows, the most one import accepts; split the file or ask an administrator" in (
        response.content.decode()
    )
    assert "IMPORT_MAX_ROWS" not in response.content.decode()
    refused = admin_client.post(preview_url(job))
    assert refused.status_code == 302
    assert not ImportJob.objects.filter(dry_run=False).exists()


# --- step 2: the columns of the file ----------------------------------------------------------

SUPPLIER_ROWS = [("Shirt", "Red", "M", "12,00 €"), ("Shirt", "Blue", "L", "9.00"), ("Hat", "Red", "S", "")]
SUPPLIER = csv_bytes(("Artikel", "Tint", "Größe", "Notes"), SUPPLIER_ROWS)


def check_again_url(job) -> str:
    return reverse("admin:imports_importjob_check_again", args=[job.pk])


def test_a_file_whose_required_column_cannot_be_placed_opens_its_check_page_asking_for_it(admin_client):
    response = upload(admin_client, SUPPLIER)

    check = ImportJob.objects.get()
    assert response["Location"] == preview_url(check)
    page = admin_client.get(preview_url(check))
    assert page.context["needs_mapping"] is True
    form = page.context["mapping_form"]
    assert [(c.header, c.examples, c.field) for c in form.columns] == [
        ("Artikel", ["Shirt", "Shirt", "Hat"], "item_name"),
        ("Tint", ["Red", "Blue", "Red"], None),
        ("Größe", ["M", "L", "S"], "size_name"),
        ("Notes", ["12,00 €", "9.00"], None),
    ]
    text = page.content.decode()
    assert "Choose the column that holds color name: it is needed for every row." in text
    assert "This file cannot be imported as it is" not in text
    assert "Color name" in text  # the fields by the words people use
    assert not ItemVariant.objects.exists()


def test_checking_again_with_the_chosen_columns_shows_what_would_change_and_imports_it(admin_client):
    upload(admin_client, SUPPLIER)
    first = ImportJob.objects.get()

    response = admin_client.post(
        check_again_url(first),
        {"column_0": "item_name", "column_1": "color_name", "column_2": "size_name", "column_3": ""},
    )

    again = ImportJob.objects.exclude(pk=first.pk).get()
    assert response["Location"] == preview_url(again)
    assert (again.dry_run, again.status, again.result.inserted) == (True, ImportStatus.COMPLETED, 3)
    assert again.mapping == {"Artikel": "item_name", "Tint": "color_name", "Größe": "size_name", "Notes": None}
    preview = admin_client.get(preview_url(again))
    assert preview.context["can_confirm"] is True
    assert preview.context["needs_mapping"] is False

    admin_client.post(preview_url(again))

    job = ImportJob.objects.get(dry_run=False)
    assert job.mapping == again.mapping
    assert ItemVariant.objects.count() == 3
    page = admin_client.get(job_url(job))
    assert ("Tint", "Color name") in page.context["columns_read"]
    assert ("Notes", "ignored") in page.context["columns_read"]


def test_the_check_page_says_how_numbers_are_read_and_checking_again_with_another_format_rereads_them(admin_client):
    two_way = csv_bytes(("item_name", "color_name", "size_name", "stock"), [("Shirt", "Red", "M", "1.000")])
    upload(admin_client, two_way)
    first = ImportJob.objects.get()
    page = admin_client.get(preview_url(first))
    text = page.content.decode()
    assert "Numbers in this file are written with" in text
    assert "a number that could be read two ways (such as 1.000) is reported as a problem" in text
    assert "stock could be 1 or 1000" in text
    assert page.context["mapping_form"]["number_format"].value() == "auto"

    response = admin_client.post(
        check_again_url(first),
        {"column_0": "item_name", "column_1": "color_name", "column_2": "size_name", "column_3": "stock",
         "number_format": "comma"},
    )  # fmt: skip

    again = ImportJob.objects.exclude(pk=first.pk).get()
    assert response["Location"] == preview_url(again)
    assert (again.options["number_format"], again.result.failed) == ("comma", 0)
    page = admin_client.get(preview_url(again))
    assert "Numbers are read with a decimal comma (1.299,50), as chosen." in page.content.decode()
    assert page.context["mapping_form"]["number_format"].value() == "comma"
    admin_client.post(preview_url(again))
    job = ImportJob.objects.get(dry_run=False)
    assert ItemVariant.objects.get().stock == 1000
    assert "Numbers are read with a decimal comma" in admin_client.get(job_url(job)).content.decode()


def test_a_file_that_shows_a_decimal_comma_is_read_with_it_and_the_check_page_says_why(admin_client):
    upload(admin_client, b"item_name;color_name;size_name;price\nShirt;Red;M;12,50\n")
    page = admin_client.get(preview_url(ImportJob.objects.get())).content.decode()
    assert (
        "Numbers are read with a decimal comma (1.299,50): the file&#x27;s prices and stocks are written that way."
        in page
    )
    assert "12.50" in page  # the sample of changes reads the price as the import will


def test_a_field_chosen_for_two_columns_is_refused_with_a_message_and_no_new_check(admin_client):
    upload(admin_client, SUPPLIER)
    first = ImportJob.objects.get()

    response = admin_client.post(
        check_again_url(first),
        {"column_0": "item_name", "column_1": "color_name", "column_2": "size_name", "column_3": "color_name"},
        follow=True,
    )

    assert ImportJob.objects.count() == 1
    assert "Color name is chosen for 2 columns ('Tint', 'Notes'): choose it for one of them." in [
        str(m) for m in response.context["messages"]
    ]


def test_a_file_with_our_headers_shows_its_columns_as_read_on_the_check_page(admin_client, catalog):
    job = checked(admin_client)
    form = admin_client.get(preview_url(job)).context["mapping_form"]
    assert [c.field for c in form.columns] == list(VARIANT_HEADER)
    assert form.problems() == []


def test_checking_again_needs_the_permission_to_import(client, django_user_model):
    viewer = staff_with(django_user_model, "viewer", "view_importjob")
    job = services.start_import(
        stream=stream(SUPPLIER), file_name="s.csv", kind="variants", dry_run=True, require_mapping=False
    )
    client.force_login(viewer)
    assert client.post(check_again_url(job), {"column_1": "color_name"}).status_code == 403


# --- step 3: confirm -> the job page -----------------------------------------------------------


def test_confirming_imports_the_same_stored_file_once(admin_client, catalog):
    dry_run = checked(admin_client)

    response = admin_client.post(preview_url(dry_run))

    job = ImportJob.objects.get(dry_run=False)
    assert response.status_code == 302
    assert response["Location"] == job_url(job)
    assert job.file_checksum == dry_run.file_checksum
    assert job.checked_by == dry_run
    assert job.status == "completed_with_errors"
    assert (job.result.inserted, job.result.updated, job.result.unchanged, job.result.failed) == (2, 1, 1, 2)
    assert ItemVariant.objects.get(sku="SKU-1").price == Decimal("52.00")
    # a second confirmation (double click, resent form) leads to the same import
    again = admin_client.post(preview_url(dry_run))
    assert again["Location"] == job_url(job)
    assert ImportJob.objects.filter(dry_run=False).count() == 1
    assert "already been imported" in admin_client.get(preview_url(dry_run)).content.decode()


def test_import_checked_file_refuses_what_is_not_a_completed_dry_run(admin_client, catalog):
    from imports.services import JobStateError

    real = run_import(csv_bytes(VARIANT_HEADER, FILE_ROWS[:1]))
    with pytest.raises(JobStateError, match="not a dry run"):
        import_checked_file(dry_run_job=real)
    pending = create_import_job(stream=stream(variants_csv(2)), file_name="a.csv", dry_run=True, system="upsert")
    with pytest.raises(JobStateError, match="only a file whose check completed"):
        import_checked_file(dry_run_job=pending)


def test_job_page_shows_the_finished_summary_progress_and_problems(admin_client, catalog):
    dry_run = checked(admin_client)
    admin_client.post(preview_url(dry_run))
    job = ImportJob.objects.get(dry_run=False)

    response = admin_client.get(job_url(job))

    assert response.status_code == 200
    assert response.context["progress"]["percent"] == 100.0
    page = response.content.decode()
    assert 'aria-valuenow="100"' in page
    assert 'data-finished="true"' in page
    assert "Completed with errors" in page
    assert f"{reverse('imports:errors', args=[job.pk])}?format=csv" in page
    assert f"{reverse('imports:errors', args=[job.pk])}?format=xlsx" in page
    assert [e.row_number for e in response.context["errors"]] == [3, 5]
    assert "Cancel import" not in page
    assert "Retry import" not in page


def test_job_page_of_a_running_job_polls_the_api(admin_client):
    job = create_import_job(stream=stream(variants_csv(3)), file_name="a.csv", system="upsert")

    page = admin_client.get(job_url(job)).content.decode()

    assert 'data-finished="false"' in page
    assert f'data-url="{reverse("imports:detail", args=[job.pk])}"' in page
    assert "Cancel import" in page
    # the endpoint the page polls answers the admin's session with the job's progress
    progress = admin_client.get(reverse("imports:detail", args=[job.pk])).json()["progress"]
    assert progress["status"] == "pending"


def test_failed_rows_download_is_the_files_own_columns_and_imports_back(admin_client, catalog):
    dry_run = checked(admin_client)
    admin_client.post(preview_url(dry_run))
    job = ImportJob.objects.get(dry_run=False)

    response = admin_client.get(reverse("imports:errors", args=[job.pk]), {"format": "csv"})

    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == [*VARIANT_HEADER, "row_number", "line_number", "error"]
    assert [row[4] for row in rows[1:]] == ["SKU-3", "SKU-5"]
    fixed = [row[:7] for row in rows[1:]]
    fixed[0][5], fixed[1][0] = "5.00", "Belt"
    again = run_import(csv_bytes(rows[0][:7], fixed))
    assert (again.status, again.result.inserted, again.result.failed) == ("completed", 2, 0)


def test_errors_table_is_paginated(admin_client):
    job = run_import(variants_csv(60, bad_every=1))
    assert job.result.failed == 60

    first = admin_client.get(job_url(job))
    second = admin_client.get(job_url(job), {"page": 2})

    assert [e.row_number for e in first.context["errors"]] == list(range(1, 51))
    assert [e.row_number for e in second.context["errors"]] == list(range(51, 61))
    assert "Page 1 of 2" in first.content.decode()


def test_a_dry_run_jobs_change_page_is_its_job_page_and_links_the_preview(admin_client, catalog):
    dry_run = checked(admin_client)

    page = admin_client.get(job_url(dry_run)).content.decode()

    assert "This was a check only" in page
    assert preview_url(dry_run) in page


# --- cancel and retry ---------------------------------------------------------------------


def test_cancel_a_waiting_import_then_retry_it(admin_client):
    job = create_import_job(stream=stream(variants_csv(4)), file_name="a.csv", system="upsert")

    cancelled = admin_client.post(reverse("admin:imports_importjob_cancel", args=[job.pk]))
    job.refresh_from_db()
    assert cancelled["Location"] == job_url(job)
    assert job.status == "cancelled"
    assert "Retry import" in admin_client.get(job_url(job)).content.decode()

    admin_client.post(reverse("admin:imports_importjob_retry", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == "completed"
    assert job.result.inserted == 4


def test_retrying_a_completed_import_is_refused_with_a_message(admin_client):
    job = run_import(variants_csv(2))

    response = admin_client.post(reverse("admin:imports_importjob_retry", args=[job.pk]), follow=True)

    messages = [str(message) for message in response.context["messages"]]
    assert any("only failed or cancelled imports can be retried" in message for message in messages)


def test_list_actions_retry_and_cancel_each_selected_job(admin_client):
    waiting = create_import_job(stream=stream(variants_csv(2)), file_name="w.csv", system="upsert")
    done = run_import(variants_csv(2))

    admin_client.post(JOBS, {"action": "cancel_selected", "_selected_action": [waiting.pk, done.pk]})
    waiting.refresh_from_db()
    assert waiting.status == "cancelled"
    admin_client.post(JOBS, {"action": "retry_selected", "_selected_action": [waiting.pk]})
    waiting.refresh_from_db()
    assert waiting.status == "completed"


# --- permissions ----------------------------------------------------------------------------


def test_viewing_needs_the_view_permission_and_importing_the_add_permission(client, django_user_model):
    job = run_import(variants_csv(2))
    viewer = staff_with(django_user_model, "viewer", "view_importjob")
    client.force_login(viewer)

    assert client.get(job_url(job)).status_code == 200
    assert client.get(METRICS).status_code == 200
    assert client.get(START).status_code == 403
    assert client.post(reverse("admin:imports_importjob_retry", args=[job.pk])).status_code == 403
    assert "Import a file" not in client.get(JOBS).content.decode()

    nobody = staff_with(django_user_model, "nobody")
    client.force_login(nobody)
    assert client.get(job_url(job)).status_code == 403
    assert client.get(METRICS).status_code == 403


def test_an_importer_can_preview_and_confirm(client, django_user_model, catalog):
    importer = staff_with(django_user_model, "importer-staff", "view_importjob", "add_importjob")
    client.force_login(importer)

    dry_run = checked(client)
    client.post(preview_url(dry_run))

    assert ImportJob.objects.get(dry_run=False).user == importer


# --- the job list ----------------------------------------------------------------------------


def test_job_list_shows_badges_and_figures_and_finds_a_job_by_number(admin_client):
    job = run_import(variants_csv(10, bad_every=5))
    check = run_import(variants_csv(3), dry_run=True)

    page = admin_client.get(JOBS).content.decode()
    assert '<span class="import-status import-status--completed_with_errors">Completed with errors</span>' in page
    assert "80 % ok" in page
    assert "check only" in page
    assert '<span class="import-kind">Item variants</span>' in page
    assert "upsert" not in page.lower().replace("?system__exact=upsert", "")
    assert ">New importer</a>" in page  # the importer filter, in words

    found = admin_client.get(JOBS, {"q": f"#{job.pk}"})
    assert list(found.context["cl"].result_list) == [job]
    checks = admin_client.get(JOBS, {"type": "check"})
    assert list(checks.context["cl"].result_list) == [check]


def test_job_list_has_no_add_change_or_delete(admin_client):
    job = run_import(variants_csv(1))

    assert admin_client.get(reverse("admin:imports_importjob_add")).status_code == 403
    assert admin_client.post(reverse("admin:imports_importjob_delete", args=[job.pk])).status_code == 403
    assert ImportJob.objects.filter(pk=job.pk).exists()


def test_job_list_query_count_does_not_grow_with_jobs(admin_client, django_user_model):
    users = [django_user_model.objects.create_user(username=f"u{n}", password=None) for n in range(3)]

    def add_jobs(count: int) -> None:
        for n in range(count):
            job = ImportJob.objects.create(file_name=f"f{n}.csv", user=users[n % 3], status="completed")
            ImportResult.objects.create(job=job, total_rows=10, duration_seconds=1.5, success_rate=100.0)

    def queries() -> int:
        admin_client.get(JOBS)  # warm per-process caches
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(JOBS).status_code == 200
        return len(captured)

    add_jobs(3)
    few = queries()
    add_jobs(40)
    assert queries() == few


# --- metrics and the home page ----------------------------------------------------------------


def seed_run(system, status="completed", *, duration=1.0, success_rate=100.0, days_ago=0.0, reason=""):
    created = timezone.now() - timedelta(days=days_ago)
    job = ImportJob.objects.create(
        system=system, status=status, file_name=f"{system}.csv", created_at=created, failure_reason=reason
    )
    ImportResult.objects.create(job=job, duration_seconds=duration, success_rate=success_rate, total_rows=100)
    return job


def test_metrics_page_compares_the_importers_and_shows_alerts_and_failures(admin_client):
    seed_run("legacy", duration=10.0, days_ago=2)
    seed_run("legacy", duration=10.0, days_ago=1)
    seed_run("upsert", duration=2.0, days_ago=1)
    seed_run("upsert", duration=2.0, success_rate=90.0, status="completed_with_errors")
    broken = seed_run("upsert", status="failed", success_rate=0.0, reason="Missing required column(s) size_name")

    response = admin_client.get(METRICS, {"days": 7})

    assert response.status_code == 200
    page = response.content.decode()
    assert "<strong>80.0 % less time</strong>" in page
    data = response.context["chart_data"]
    assert len(data["days"]) == 7
    assert data["systems"]["legacy"]["runs"][-3:] == [1, 1, 0]
    assert data["systems"]["upsert"]["runs"][-2:] == [1, 2]
    assert data["systems"]["upsert"]["avg_duration"][-1] == 2.0
    assert json.loads(page.split('id="import-metrics-data" type="application/json">')[1].split("</script>")[0]) == data
    alerts = {row["check"]: row for row in response.context["alerts"]["rows"]}
    upsert_success = alerts["import_success_rate"]["cells"][0]
    assert (upsert_success["system"], upsert_success["state"]) == ("upsert", "alert")  # (100 + 90 + 0) / 3 < 95
    assert alerts["import_duration"]["cells"][0]["state"] == "ok"
    assert response.context["failures"] == [broken]
    assert "Missing required column(s) size_name" in page
    assert "chart.umd.min.js" in page
    assert 'id="chart-imports-per-day"' in page


def test_metrics_page_falls_back_to_30_days_for_an_unknown_window(admin_client):
    response = admin_client.get(METRICS, {"days": "365"})

    assert response.context["days"] == 30
    assert "The improvement shows once both importers" in response.content.decode()


def test_admin_home_links_the_import_screens(admin_client):
    page = admin_client.get(reverse("admin:index")).content.decode()

    for url in (START, JOBS, METRICS):
        assert f'href="{url}"' in page


def test_row_errors_from_the_admin_keep_the_original_row(admin_client, catalog):
    checked(admin_client)

    error = ImportRowError.objects.get(row_number=3)
    assert error.row_data["sku"] == "SKU-3"


def test_a_large_file_is_checked_and_imported_in_the_background(admin_client, settings):
    from imports.runtime import execute_import

    settings.IMPORT_BACKGROUND_THRESHOLD = 3
    dry_run = checked(admin_client, variants_csv(8))
    assert (dry_run.status, bool(dry_run.task_id)) == ("pending", True)

    waiting = admin_client.get(preview_url(dry_run))
    assert "Checking the file" in waiting.content.decode()
    assert 'data-finished="false"' in waiting.content.decode()
    assert "can_confirm" not in waiting.context

    execute_import(import_id=dry_run.pk)  # what the background worker does with the task
    assert admin_client.get(preview_url(dry_run)).context["can_confirm"] is True

    admin_client.post(preview_url(dry_run))
    job = ImportJob.objects.get(dry_run=False)
    assert (job.status, bool(job.task_id)) == ("pending", True)
    assert 'data-finished="false"' in admin_client.get(job_url(job)).content.decode()
    execute_import(import_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.result.inserted) == ("completed", 8)


def test_the_sheet_chosen_for_the_check_is_the_sheet_imported(admin_client):
    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.active.title = "Notes"
    workbook.active.append(["Read me first"])
    sheet = workbook.create_sheet("Variants")
    sheet.append(list(VARIANT_HEADER))
    sheet.append(["Cap", "", "Red", "One size", "CAP-1", 12.5, 3])
    content = io.BytesIO()
    workbook.save(content)

    response = admin_client.post(
        START, {"file": stream(content.getvalue(), "caps.xlsx"), "kind": "variants", "sheet": "Variants"}
    )
    dry_run = ImportJob.objects.get(dry_run=True)
    assert response["Location"] == preview_url(dry_run)
    assert (dry_run.status, dry_run.result.inserted) == ("completed", 1)

    admin_client.post(preview_url(dry_run))
    job = ImportJob.objects.get(dry_run=False)
    assert job.options["sheet"] == "Variants"
    assert ItemVariant.objects.get(sku="CAP-1").price == Decimal("12.50")


@pytest.mark.postgresql
def test_on_the_legacy_importer_a_bad_row_refuses_the_file_and_a_clean_file_imports(admin_client, settings):
    settings.USE_NEW_IMPORT_SYSTEM = "false"  # the rollout's first phase: everyone on the legacy importer

    refused = checked(admin_client)
    page = admin_client.get(preview_url(refused)).content.decode()
    assert (refused.system, refused.status) == ("legacy", "failed")
    assert "cannot be imported as it is" in page
    assert "Importer: Legacy importer." in page
    assert 'name="confirm"' not in page
    assert admin_client.get(preview_url(refused)).context["can_confirm"] is False

    ImportJob.objects.all().delete()
    clean = checked(admin_client, csv_bytes(VARIANT_HEADER, [FILE_ROWS[0], FILE_ROWS[1]]))
    assert (clean.system, clean.status) == ("legacy", "completed")
    admin_client.post(preview_url(clean))
    job = ImportJob.objects.get(dry_run=False)
    assert (job.system, job.status, job.result.inserted) == ("legacy", "completed", 2)


def test_a_refused_files_page_says_so_without_figures_of_zeros_or_a_retry(admin_client, settings):
    settings.IMPORT_MAX_ROWS = 2
    job = run_import(variants_csv(5))

    page = admin_client.get(job_url(job)).content.decode()

    assert "The file was refused:" in page
    assert "more than 2 rows, the most one import accepts" in page
    assert "Retry" not in page
    assert "done in" not in page
    assert "rows a second" not in page


# --- undo -------------------------------------------------------------------------------------


def undo_url(job) -> str:
    return reverse("admin:imports_importjob_undo", args=[job.pk])


def test_undo_from_the_job_page_previews_then_undoes_and_conflicts_are_listed(admin_client, catalog):
    job = run_import(csv_bytes(VARIANT_HEADER, FILE_ROWS))
    page = admin_client.get(job_url(job)).content.decode()
    assert "Undo this import" in page
    assert "Possible until" in page

    # A later edit of a row the import changed: the undo keeps it and says so.
    edited = ItemVariant.objects.get(sku="SKU-1")
    edited.stock = 99
    edited.save()

    preview = admin_client.post(undo_url(job))
    undo_preview = ImportJob.objects.get(undoes=job, dry_run=True)
    assert preview["Location"] == job_url(undo_preview)
    page = admin_client.get(job_url(undo_preview)).content.decode()
    assert "Preview: undo of import" in page
    assert "nothing has been changed yet" in page
    assert "Rows changed after the import (1)" in page
    assert "Also put back rows changed since the import" in page
    assert ItemVariant.objects.filter(sku="SKU-2").exists()  # the preview changed nothing

    done = admin_client.post(undo_url(job), {"confirm": "1"})
    undo = ImportJob.objects.get(undoes=job, dry_run=False)
    assert done["Location"] == job_url(undo)
    assert undo.status == ImportStatus.COMPLETED_WITH_ERRORS
    assert not ItemVariant.objects.filter(sku__in=["SKU-2", "SKU-4"]).exists()
    assert ItemVariant.objects.get(sku="SKU-1").stock == 99
    assert f"This import was undone on {date_format(timezone.localtime(undo.finished_at), 'DATETIME_FORMAT')}" in (
        " ".join(admin_client.get(job_url(job)).content.decode().split())
    )
    assert "Undo this undo" in admin_client.get(job_url(undo)).content.decode()


def test_undo_needs_the_import_permission(client, django_user_model):
    job = run_import(variants_csv(2))
    viewer = django_user_model.objects.create_user("viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_importjob"))
    client.force_login(viewer)

    assert "Undo this import" not in client.get(job_url(job)).content.decode()
    assert client.post(undo_url(job)).status_code == 403
    assert not ImportJob.objects.filter(undoes=job).exists()


# --- corrections: the job page's editable rows ------------------------------------------------


def _with_failed_rows(user) -> ImportJob:
    job = services.start_import(
        stream=stream(variants_csv(12, bad_every=5)), file_name="v.csv", kind="variants", user=user, source="admin"
    )
    assert job.result.failed == 2
    return job


def _corrections(*rows) -> dict:
    return {"corrections": json.dumps([{"row_number": n, "values": {"price": price}} for n, price in rows])}


def test_the_job_page_offers_its_failed_rows_for_correction_only_when_they_can_be_imported_again(
    admin_client, admin_user
):
    job = _with_failed_rows(admin_user)
    page = admin_client.get(job_url(job)).content.decode()
    assert "data-corrections" in page
    assert "Import the corrected rows" in page
    assert reverse("imports:corrections_check", args=[job.pk]) in page
    check = services.start_import(
        stream=stream(variants_csv(12, bad_every=5)), file_name="v.csv", kind="variants", dry_run=True
    )
    assert "Import the corrected rows" not in admin_client.get(job_url(check)).content.decode()


def test_importing_the_corrected_rows_opens_the_check_of_a_new_import_linked_to_the_job(admin_client, admin_user):
    job = _with_failed_rows(admin_user)
    url = reverse("admin:imports_importjob_corrections_import", args=[job.pk])
    response = admin_client.post(url, _corrections((5, "5.00"), (10, "6.00")))
    check = ImportJob.objects.get(parent_import=job)
    assert response.status_code == 302
    assert response["Location"] == preview_url(check)
    assert (check.dry_run, check.source, check.result.inserted) == (True, "admin", 2)
    preview = admin_client.get(preview_url(check)).content.decode()
    assert f'corrected rows of <a href="{job_url(job)}">import #{job.pk}</a>' in preview
    imported = import_checked_file(dry_run_job=check, user=admin_user)
    assert imported.parent_import_id == job.pk
    assert f"import #{imported.pk}" in admin_client.get(job_url(job)).content.decode()
    assert f"import #{job.pk}" in admin_client.get(job_url(imported)).content.decode()


def test_corrections_the_service_refuses_come_back_as_a_message(admin_client, admin_user):
    job = _with_failed_rows(admin_user)
    url = reverse("admin:imports_importjob_corrections_import", args=[job.pk])
    response = admin_client.post(url, _corrections((1, "5.00")), follow=True)
    assert "did not fail; only its failed rows can be corrected" in response.content.decode()
    response = admin_client.post(url, {"corrections": "not json"}, follow=True)
    assert "could not be read" in response.content.decode()
    assert ImportJob.objects.count() == 1


def test_a_corrected_import_says_where_its_rows_went_instead_of_offering_them_again(admin_client, admin_user):
    job = _with_failed_rows(admin_user)
    check = services.import_corrections(
        job=job, corrections=[Correction(5, {"price": "5.00"})], user=admin_user, dry_run=True
    )
    corrected = import_checked_file(dry_run_job=check, user=admin_user)
    corrected.refresh_from_db()
    page = admin_client.get(job_url(job)).content.decode()
    assert "Import the corrected rows" not in page
    assert "data-corrections-grid" not in page
    when = date_format(timezone.localtime(corrected.finished_at), "DATETIME_FORMAT")
    said = " ".join(page.split())
    assert (
        f'These rows were corrected and imported again on {when} in <a href="{job_url(corrected)}">'
        f"import #{corrected.pk}</a>." in said
    )
    assert 'data-download="csv"' in page  # the failed rows still download
    # a second correction from the job page (a tab left open) is refused with a message, and nothing started
    url = reverse("admin:imports_importjob_corrections_import", args=[job.pk])
    response = admin_client.post(url, _corrections((10, "6.00")), follow=True)
    assert f"were already corrected and imported again in import #{corrected.pk}" in response.content.decode()
    assert ImportJob.objects.filter(parent_import=job).count() == 2  # the check and its import


def test_a_correction_imports_own_failed_rows_are_offered_for_correction(admin_client, admin_user):
    job = _with_failed_rows(admin_user)
    corrected = services.import_corrections(job=job, corrections=[Correction(5, {"price": "bad"})], user=admin_user)
    assert corrected.result.failed == 1
    assert "Import the corrected rows" in admin_client.get(job_url(corrected)).content.decode()
    page = " ".join(admin_client.get(job_url(job)).content.decode().split())
    assert f"import #{corrected.pk}</a>. 1 of them still has problems: correct it on its page." in page


def test_a_check_of_corrected_rows_overtaken_by_another_cannot_be_imported(admin_client, admin_user):
    job = _with_failed_rows(admin_user)
    first, second = (
        services.import_corrections(
            job=job, corrections=[Correction(5, {"price": price})], user=admin_user, dry_run=True
        )
        for price in ("1.00", "2.00")
    )
    corrected = import_checked_file(dry_run_job=second, user=admin_user)
    page = admin_client.get(preview_url(first)).content.decode()
    assert 'data-stale-correction="already_corrected"' in page
    assert "they can no longer be imported" in page
    assert f'corrected and imported again in <a href="{job_url(corrected)}">import #{corrected.pk}</a>' in page
    assert 'name="confirm"' not in page
    assert "What this check found" in page
    assert "Check the file again" not in page  # nothing to change on a check that cannot be imported
    response = admin_client.post(preview_url(first), follow=True)
    assert f"imported again in import #{corrected.pk}" in response.content.decode()
    assert not ImportJob.objects.filter(checked_by=first).exists()


def test_an_undone_import_says_when_and_by_whom_and_offers_no_correction(admin_client, admin_user):
    job = _with_failed_rows(admin_user)
    undo = undo_import(job=job, user=admin_user, background=False)
    page = admin_client.get(job_url(job)).content.decode()
    undo.refresh_from_db()
    when = date_format(timezone.localtime(undo.finished_at), "DATETIME_FORMAT")
    assert f"This import was undone on {when} by {admin_user.get_username()}:" in " ".join(page.split())
    assert f'see <a href="{job_url(undo)}">undo #{undo.pk}</a>' in page
    assert "This import was undone, so its rows with problems are no longer offered for correction" in page
    assert "Import the corrected rows" not in page
    assert 'data-download="csv"' in page
    response = admin_client.post(
        reverse("admin:imports_importjob_corrections_import", args=[job.pk]), _corrections((5, "5.00")), follow=True
    )
    assert f"Import #{job.pk} was undone (undo #{undo.pk})" in response.content.decode()
    assert not ImportJob.objects.filter(parent_import=job).exists()
    # undone in turn (a redo): the page says so, and the rows are offered for correction again
    redo = undo_import(job=undo, user=admin_user, background=False)
    page = " ".join(admin_client.get(job_url(job)).content.decode().split())
    assert f'Its changes were brought back by <a href="{job_url(redo)}">undo #{redo.pk}</a> (completed).' in page
    assert "Import the corrected rows" in page


def test_the_corrected_rows_download_as_csv_and_excel_with_what_is_still_wrong(admin_client, admin_user):
    job = _with_failed_rows(admin_user)
    url = reverse("admin:imports_importjob_corrections_download", args=[job.pk])
    response = admin_client.post(f"{url}?format=csv", _corrections((10, "6.00")))
    assert response["Content-Disposition"] == f'attachment; filename="import-{job.pk}-corrected-rows.csv"'
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(row["row_number"], row["line_number"], row["price"], row["error"]) for row in rows] == [
        ("5", "6", "'-1", "price must be 0 or more"),  # a formula-like cell, guarded as in every export
        ("10", "11", "6.00", ""),  # the line in the sheet: the header is line 1
    ]
    response = admin_client.post(f"{url}?format=xlsx", _corrections((10, "6.00")))
    import openpyxl

    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active  # rows as wide as the sheet
    assert [(row[5], *row[-3:]) for row in sheet.iter_rows(min_row=2, values_only=True)] == [
        (-1, 5, 6, "price must be 0 or more"),  # prices, row and line numbers are number cells, as in the failed rows
        (6, 10, 11, None),
    ]


# --- header rows and line numbers (issue 12) ----------------------------------------------------

TITLED = "Frühjahr 2026\nPreise in EUR\nArtikel;Farbe;Größe;Preis\nHemd;Rot;M;12,50\nHut;Blau;L;-1\n".encode()


def test_the_check_page_says_which_line_holds_the_column_names_and_shows_lines_of_problems(admin_client):
    upload(admin_client, TITLED)
    check = ImportJob.objects.get()
    page = admin_client.get(preview_url(check))
    text = page.content.decode()
    assert "The column names were read from <strong>line 3</strong> of your sheet" in text
    assert page.context["mapping_form"]["header_row"].value() == 3
    assert "Line in your sheet" in text
    assert '<td class="import-errors__line">5</td>' in text  # row 2 below the header is line 5

    admin_client.post(preview_url(check))
    job = ImportJob.objects.get(dry_run=False)
    assert (job.header_row, job.result.failed) == (3, 1)
    job_page = admin_client.get(job_url(job)).content.decode()
    assert '<td class="import-errors__line">5</td>' in job_page
    assert "The column names were read from line 3 of the sheet; the lines above it were skipped." in job_page


def test_checking_again_with_another_line_reads_the_column_names_there(admin_client):
    upload(admin_client, "Artikel,Farbe,Größe\nitem_name,color_name,size_name\nShirt,Red,M\n".encode())
    first = ImportJob.objects.get()
    assert first.header_row == 1  # its first row places every required field

    response = admin_client.post(
        check_again_url(first), {"column_0": "", "column_1": "", "column_2": "", "header_row": "2"}
    )  # the columns chosen are line 1's: with another line they are read by their own suggestion

    again = ImportJob.objects.exclude(pk=first.pk).get()
    assert response["Location"] == preview_url(again)
    assert (again.header_row, again.status, again.result.inserted) == (2, ImportStatus.COMPLETED, 1)
    assert again.mapping == {"item_name": "item_name", "color_name": "color_name", "size_name": "size_name"}
    assert "read from <strong>line 2</strong>" in admin_client.get(preview_url(again)).content.decode()


def test_a_line_with_no_column_names_still_offers_another_line(admin_client):
    upload(admin_client, b"Catalogue\n\nitem_name,color_name,size_name\nShirt,Red,M\n")
    first = ImportJob.objects.get()
    admin_client.post(check_again_url(first), {"header_row": "2"})
    empty = ImportJob.objects.exclude(pk=first.pk).get()
    assert empty.status == ImportStatus.FAILED
    assert "line 2 is empty or past the end" in empty.failure_reason
    page = admin_client.get(preview_url(empty))
    assert page.context["mapping_form"]["header_row"].value() == 2
    text = page.content.decode()
    assert "The column names are on line" in text
    assert "line 2 is empty or past the end; choose the line that holds the column names" in text
    assert "Choose the column that holds" not in text  # no columns to choose from that line


def test_a_row_with_two_problems_shows_each_problem_cell_on_the_job_page_and_the_check(admin_client, admin_user):
    """Issue 15: the table of problems showed only the first problem cell's value of a row."""
    content = csv_bytes(
        VARIANT_HEADER, [("Shirt", "", "Red", "M", "S-1", "-5", "lots"), ("Shirt", "", "Red", "L", "S-2", "-1", "1")]
    )
    check = services.start_import(
        stream=stream(content), file_name="two.csv", kind="variants", user=admin_user, source="admin", dry_run=True
    )
    job = services.start_import(
        stream=stream(content), file_name="two.csv", kind="variants", user=admin_user, source="admin"
    )

    for url in (preview_url(check), job_url(job)):
        page = admin_client.get(url).content.decode()
        table = page[page.index('<table class="import-errors">') :]
        cells = [
            [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr[^>]*data-row[^>]*>(.*?)</tr>", table[: table.index("</table>")], re.S)
        ]
        assert cells == [
            ["2", "1", "price", "-5", "price must be 0 or more"],
            ["stock", "lots", "stock is not a number (a whole number, e.g. 12)"],  # line and row span both lines
            ["3", "2", "price", "-1", "price must be 0 or more"],
        ], url
        assert 'rowspan="2"' in table


def test_cancel_on_the_import_form_returns_to_the_list_the_user_came_from(admin_client):
    """Issue 15: Cancel went to the import jobs even when the user came from, say, the colors list."""
    colors = reverse("admin:catalog_color_changelist") + "?q=Navy"
    listing = admin_client.get(colors).content.decode()
    [import_link] = re.findall(r'href="([^"]*/start/[^"]*)"', listing)
    start = admin_client.get(import_link.replace("&amp;", "&")).content.decode()
    assert f'<a href="{colors}" class="closelink">Cancel</a>' in start

    filtered_jobs = f"{JOBS}?status__exact=failed"
    jobs_page = admin_client.get(filtered_jobs).content.decode()
    [from_jobs] = re.findall(r'href="([^"]*/start/[^"]*)"', jobs_page)
    start = admin_client.get(from_jobs.replace("&amp;", "&")).content.decode()
    assert f'<a href="{filtered_jobs}" class="closelink">Cancel</a>' in start  # the job list, filter kept

    for back in ("", "https://evil.example/admin/", "//evil.example/admin/", "/api/imports/"):
        page = admin_client.get(START, {"kind": "colors", "back": back}).content.decode()
        assert f'<a href="{JOBS}" class="closelink">Cancel</a>' in page, back


def test_the_check_of_a_file_already_imported_shows_what_the_import_did(admin_client, catalog):
    """Issue 15: the check page kept its "If you import this file" figures next to "already been imported"."""
    dry_run = checked(admin_client)
    assert admin_client.get(preview_url(dry_run)).context["summary"]["inserted"] == 2
    # someone adds one of the file's new rows between the check and the import
    make_variant("Shirt", "Red", "L", sku="SKU-2", price=Decimal("19.99"), stock=4, description="Oxford")
    admin_client.post(preview_url(dry_run))
    job = ImportJob.objects.get(dry_run=False)
    assert (job.result.inserted, job.result.unchanged) == (1, 2)

    response = admin_client.get(preview_url(dry_run))
    page = response.content.decode()

    assert "If you import this file" not in page
    assert f"What import #{job.pk} did" in page
    figures = dict(re.findall(r'data-count="(\w+)">([^<]*)<', page))
    assert (figures["inserted"], figures["unchanged"], figures["failed"]) == ("1", "2", "2")
    assert "new row added" in page
    assert "to add" not in page
    assert "Examples of changes" not in page  # what the check would have changed is history now
    assert "The import skipped these rows" in page
    assert not response.context["can_confirm"]


def test_an_undo_page_speaks_of_the_undo_in_singular_and_plural(admin_client):
    """An undo's page: no import steps or "Import another file", a link to the import, "1 row" not "1 rows"."""
    make_variant("Shirt", "Red", "L", sku="S-0")
    make_variant("Shirt", "Blue", "M", sku="S-2")  # the item, the color and the size exist: one new row
    job = run_import(csv_bytes(VARIANT_HEADER, [("Shirt", "", "Red", "M", "S-1", "5.00", "1")]))

    response = admin_client.post(undo_url(job), {"confirm": "1"}, follow=True)
    page = response.content.decode()

    undo = ImportJob.objects.get(undoes=job, dry_run=False)
    assert f"Import #{job.pk} was undone (undo #{undo.pk})." in page
    assert f'This undid <a href="{job_url(job)}">import #{job.pk}</a>' in page
    assert "1. Choose a file" not in page
    assert "Import another file" not in page
    figures = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page[page.index('class="import-figures"') :]))
    assert "1 row added by the import, removed" in figures
    assert "0 rows put back as they were" in figures
    assert "0 rows changed since by someone else (kept)" in figures
