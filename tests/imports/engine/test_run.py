"""The import engine's row semantics, end to end (file -> masters + job figures).

Each line of the engine's contract has a test here; they run on PostgreSQL
and again on SQLite.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from catalog.models import Color, Item, ItemVariant, Size
from imports.engine.run import run_job
from imports.models import ImportJob, ImportRowError, ImportStatus
from imports.runtime import claim_job
from imports.services import create_import_job
from tests.imports.engine.job_runs import (
    VARIANT_HEADER,
    counts,
    csv_bytes,
    live_variants,
    make_variant,
    run_import,
)

pytestmark = pytest.mark.django_db

D = Decimal


@dataclass
class Case:
    """Stored variants before, file rows, and what must come out."""

    id: str
    rows: list[tuple]
    expect: dict[str, int]
    live: set[tuple]
    before: list[dict] = field(default_factory=list)
    header: tuple = VARIANT_HEADER
    batch_size: int = 1000


CASES = [
    Case(
        "new rows create item, color, size and variant",
        rows=[("Shirt", "Cotton", "Red", "M", "SH-1", "10.50", "5")],
        expect={"inserted": 1},
        live={("Shirt", "Cotton", "Red", "M", "SH-1", D("10.50"), 5)},
    ),
    Case(
        "keys are trimmed, inner whitespace collapsed, and then matched exactly",
        before=[{"item": "Oxford Shirt", "sku": "A", "price": "1.00", "stock": 1}],
        rows=[("  Oxford \t  Shirt ", "", " Red ", "M", "B", "1.00", "1")],
        expect={"updated": 1},
        live={("Oxford Shirt", "", "Red", "M", "B", D("1.00"), 1)},
        header=VARIANT_HEADER,
    ),
    Case(
        "NFC: a decomposed accent matches the composed one",
        before=[{"item": "Caf\u00e9", "sku": "A"}],
        rows=[("Cafe\u0301", "", "Red", "M", "B", "", "")],
        expect={"updated": 1},
        live={("Caf\u00e9", "", "Red", "M", "B", None, None)},
    ),
    Case(
        "matching is case-sensitive: another case is another item",
        before=[{"item": "Shirt", "sku": "A"}],
        rows=[("shirt", "", "Red", "M", "A", "", "")],
        expect={"inserted": 1},
        live={("Shirt", "", "Red", "M", "A", None, None), ("shirt", "", "Red", "M", "A", None, None)},
    ),
    Case(
        "a soft-deleted twin is never revived: a new live row is inserted beside it",
        before=[{"item": "Shirt", "sku": "OLD", "deleted": True}],
        rows=[("Shirt", "", "Red", "M", "NEW", "", "")],
        expect={"inserted": 1},
        live={("Shirt", "", "Red", "M", "NEW", None, None)},
    ),
    Case(
        "sku, price and stock update the variant",
        before=[{"sku": "A", "price": "1.00", "stock": 1}],
        rows=[("Shirt", "", "Red", "M", "B", "2.00", "2")],
        expect={"updated": 1},
        live={("Shirt", "", "Red", "M", "B", D("2.00"), 2)},
    ),
    Case(
        "a row equal to what is stored is unchanged",
        before=[{"sku": "A", "price": "1.00", "stock": 1, "description": "Cotton"}],
        rows=[("Shirt", "Cotton", "Red", "M", "A", "1.0", "1")],
        expect={"unchanged": 1},
        live={("Shirt", "Cotton", "Red", "M", "A", D("1.00"), 1)},
    ),
    Case(
        "a column absent from the file leaves stored values alone",
        before=[{"sku": "A", "price": "1.00", "stock": 1, "description": "Cotton"}],
        header=("item", "color", "size", "stock"),
        rows=[("Shirt", "Red", "M", "7")],
        expect={"updated": 1},
        live={("Shirt", "Cotton", "Red", "M", "A", D("1.00"), 7)},
    ),
    Case(
        "an empty cell in a present column stores '' or NULL",
        before=[{"sku": "A", "price": "1.00", "stock": 1, "description": "Cotton"}],
        rows=[("Shirt", "", "Red", "M", "", "", "")],
        expect={"updated": 1},
        live={("Shirt", "", "Red", "M", "", None, None)},
    ),
    Case(
        "description: the last valid row of the item wins",
        rows=[
            ("Shirt", "first", "Red", "M", "", "", ""),
            ("Shirt", "second", "Blue", "M", "", "", ""),
            ("Shirt", "broken", "Green", "M", "", "-1", ""),
        ],
        expect={"inserted": 2, "failed": 1},
        live={("Shirt", "second", "Red", "M", "", None, None), ("Shirt", "second", "Blue", "M", "", None, None)},
    ),
    Case(
        "description: the last valid row wins across batches",
        batch_size=1,
        rows=[("Shirt", "first", "Red", "M", "", "", ""), ("Shirt", "last", "Blue", "M", "", "", "")],
        expect={"inserted": 2},
        live={("Shirt", "last", "Red", "M", "", None, None), ("Shirt", "last", "Blue", "M", "", None, None)},
    ),
    Case(
        "the same key twice: the last valid row wins, the earlier one is superseded",
        rows=[("Shirt", "", "Red", "M", "A", "1", ""), ("Shirt", "", "Red", "M", "B", "2", "")],
        expect={"inserted": 1, "superseded": 1},
        live={("Shirt", "", "Red", "M", "B", D("2.00"), None)},
    ),
    Case(
        "superseded is exact across the whole file, not only within a batch",
        batch_size=2,
        rows=[
            ("Shirt", "", "Red", "M", "A", "", ""),
            ("Pants", "", "Red", "M", "", "", ""),
            ("Hat", "", "Red", "M", "", "", ""),
            ("Shirt", "", "Red", "M", "C", "", ""),
            ("Shirt", "", "Red", "M", "D", "", ""),
        ],
        expect={"inserted": 3, "superseded": 2},
        live={
            ("Shirt", "", "Red", "M", "D", None, None),
            ("Pants", "", "Red", "M", "", None, None),
            ("Hat", "", "Red", "M", "", None, None),
        },
    ),
    Case(
        "a later invalid row does not supersede the last valid one",
        rows=[("Shirt", "", "Red", "M", "A", "1", ""), ("Shirt", "", "Red", "M", "B", "x", "")],
        expect={"inserted": 1, "failed": 1},
        live={("Shirt", "", "Red", "M", "A", D("1.00"), None)},
    ),
    Case(
        "superseding a stored row: the winner is compared with what was stored",
        before=[{"sku": "A", "price": "1.00"}],
        rows=[("Shirt", "", "Red", "M", "Z", "9", ""), ("Shirt", "", "Red", "M", "A", "1", "")],
        expect={"unchanged": 1, "superseded": 1},
        live={("Shirt", "", "Red", "M", "A", D("1.00"), None)},
    ),
    Case(
        "a failing row changes nothing and creates no item, color or size",
        rows=[("Ghost", "", "Purple", "XXL", "", "-5", ""), ("Shirt", "", "Red", "M", "", "", "")],
        expect={"inserted": 1, "failed": 1},
        live={("Shirt", "", "Red", "M", "", None, None)},
    ),
]


def _seed(before: list[dict]) -> None:
    for spec in before:
        spec = dict(spec)
        deleted = spec.pop("deleted", False)
        variant = make_variant(spec.pop("item", "Shirt"), spec.pop("color", "Red"), spec.pop("size", "M"), **spec)
        if deleted:
            now = timezone.now()
            ItemVariant.all_objects.filter(pk=variant.pk).update(deleted_at=now)
            Item.all_objects.filter(pk=variant.item_id).update(deleted_at=now)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_row_semantics(case: Case):
    _seed(case.before)
    with override_settings(IMPORT_BATCH_SIZE=case.batch_size):
        job = run_import(csv_bytes(case.header, case.rows))

    expected = {"inserted": 0, "updated": 0, "unchanged": 0, "superseded": 0, "failed": 0, **case.expect}
    expected["total_rows"] = len(case.rows)
    assert counts(job) == expected
    assert live_variants() == case.live
    assert job.status == (ImportStatus.COMPLETED_WITH_ERRORS if expected["failed"] else ImportStatus.COMPLETED)


def test_every_row_ends_in_exactly_one_outcome_and_success_rate_follows():
    make_variant("Shirt", sku="A", price="1.00")
    make_variant("Pants", sku="P", price="1.00")
    rows = [
        ("Shirt", "", "Red", "M", "A", "1.00", ""),  # unchanged
        ("Pants", "", "Red", "M", "P2", "1.00", ""),  # updated
        ("Hat", "", "Red", "M", "H", "", ""),  # superseded
        ("Hat", "", "Red", "M", "H2", "", ""),  # inserted
        ("Bad", "", "Red", "M", "", "abc", ""),  # failed
    ]
    job = run_import(csv_bytes(VARIANT_HEADER, rows))
    figures = counts(job)
    assert figures == {"total_rows": 5, "inserted": 1, "updated": 1, "unchanged": 1, "superseded": 1, "failed": 1}
    assert sum(v for k, v in figures.items() if k != "total_rows") == figures["total_rows"]
    assert job.result.success_rate == pytest.approx(80.0)
    assert job.result.duration_seconds is not None


def test_failed_rows_are_recorded_with_row_column_value_reason_and_the_original_row():
    rows = [
        ("Shirt", "", "Red", "M", "", "1", ""),
        ("Pants", "", "Red", "", "", "1.9999", "-2"),
    ]
    job = run_import(csv_bytes(VARIANT_HEADER, rows))
    error = ImportRowError.objects.get(job=job)
    assert error.row_number == 2
    assert error.column == "size_name"
    assert {p["column"] for p in error.problems} == {"size_name", "price", "stock"}
    assert "size_name is required" in error.reason
    assert "price has more than 2 decimal places" in error.reason
    assert error.row_data == {
        "item_name": "Pants",
        "description": "",
        "color_name": "Red",
        "size_name": "",
        "sku": "",
        "price": "1.9999",
        "stock": "-2",
    }
    assert job.options["headers"] == list(VARIANT_HEADER)


@pytest.mark.parametrize(
    ("kind", "header", "rows", "model", "field", "expect"),
    [
        ("items", ("name", "description"), [("Shirt", "Cotton"), ("Hat", "")], Item, "name", {"inserted": 2}),
        ("colors", ("color",), [("Red",), ("Red",), ("Blue",)], Color, "color_name", {"inserted": 2, "superseded": 1}),
        ("sizes", ("size_name",), [("M",), ("X" * 51,)], Size, "size_name", {"inserted": 1, "failed": 1}),
    ],
    ids=["items", "colors", "sizes"],
)
def test_master_kinds(kind, header, rows, model, field, expect):
    job = run_import(csv_bytes(header, rows), kind=kind)
    expected = {"inserted": 0, "updated": 0, "unchanged": 0, "superseded": 0, "failed": 0, **expect}
    expected["total_rows"] = len(rows)
    assert counts(job) == expected
    assert set(model.objects.values_list(field, flat=True)) == {row[0] for row in rows if len(row[0]) <= 50}


def test_items_file_updates_descriptions_and_leaves_identical_items_unchanged():
    Item.objects.create(name="Shirt", description="old")
    Item.objects.create(name="Hat", description="same")
    job = run_import(csv_bytes(("name", "description"), [("Shirt", "new"), ("Hat", "same")]), kind="items")
    assert counts(job) == {
        "total_rows": 2,
        "inserted": 0,
        "updated": 1,
        "unchanged": 1,
        "superseded": 0,
        "failed": 0,
    }
    assert dict(Item.objects.values_list("name", "description")) == {"Shirt": "new", "Hat": "same"}


def test_colors_file_counts_existing_colors_as_unchanged():
    Color.objects.create(color_name="Red")
    job = run_import(csv_bytes(("color_name",), [("Red",), ("Blue",)]), kind="colors")
    assert (job.result.inserted, job.result.unchanged) == (1, 1)


def test_dry_run_gives_the_real_run_figures_and_writes_nothing():
    make_variant("Shirt", sku="A", price="1.00")
    make_variant("Pants", sku="P")
    rows = [
        ("Shirt", "", "Red", "M", "A", "1.00", ""),
        ("Pants", "", "Red", "M", "P2", "", ""),
        ("Hat", "new", "Teal", "XL", "H", "", ""),
        ("Hat", "new", "Teal", "XL", "H2", "", ""),
        ("Bad", "", "Red", "M", "", "abc", ""),
    ]
    content = csv_bytes(VARIANT_HEADER, rows)
    before = live_variants()
    with override_settings(IMPORT_BATCH_SIZE=2):
        dry = run_import(content, dry_run=True)
        assert live_variants() == before
        assert not Item.objects.filter(name="Hat").exists()
        assert not Color.objects.filter(color_name="Teal").exists()
        real = run_import(content)
    assert counts(dry) == counts(real)
    assert dry.dry_run
    assert dry.status == ImportStatus.COMPLETED_WITH_ERRORS
    assert ImportRowError.objects.filter(job=dry).count() == 1


def test_unknown_columns_are_ignored_and_listed_as_a_warning():
    job = run_import(csv_bytes(("item", "color", "size", "Supplier", "notes"), [("Shirt", "Red", "M", "ACME", "x")]))
    assert job.status == ImportStatus.COMPLETED
    assert job.warnings == ["Ignored column(s) not used by a variants import: 'Supplier', 'notes'."]


def test_missing_required_column_fails_the_job_before_any_write():
    job = run_import(csv_bytes(("item_name", "color_name", "sku"), [("Shirt", "Red", "A")]))
    assert job.status == ImportStatus.FAILED
    assert "size_name" in job.failure_reason
    assert "Found: 'item_name', 'color_name', 'sku'" in job.failure_reason
    assert not Item.objects.exists()


def test_more_rows_than_the_limit_is_rejected_before_any_write():
    rows = [(f"Item {n}", "", "Red", "M", "", "", "") for n in range(5)]
    with override_settings(IMPORT_MAX_ROWS=4, IMPORT_BATCH_SIZE=2):
        job = run_import(csv_bytes(VARIANT_HEADER, rows))
        assert job.status == ImportStatus.FAILED
        assert job.failure_reason == (
            "file.csv has more than 4 rows, the most one import accepts; split the file or ask an "
            "administrator to raise the limit. Nothing was imported."
        )
        assert (job.refused_code, job.is_retryable) == ("too_many_rows", False)
        assert not Item.objects.exists()
        allowed = run_import(csv_bytes(VARIANT_HEADER, rows), max_rows=5)
    assert allowed.status == ImportStatus.COMPLETED
    assert Item.objects.count() == 5


def test_a_header_without_rows_is_rejected():
    job = run_import(csv_bytes(VARIANT_HEADER, []))
    assert job.status == ImportStatus.FAILED
    assert "no data rows" in job.failure_reason


def test_cancel_stops_at_a_batch_boundary_and_a_resumed_run_finishes_exactly():
    """A cancel asked for between batches 1 and 2 is read by batch 2's bookkeeping: the run stops after it."""
    rows = [(f"Item {n}", "", "Red", "M", f"S{n}", "", "") for n in range(6)]
    rows.append(("Item 0", "", "Red", "M", "LAST", "", ""))  # supersedes row 1, which is in batch 1
    content = csv_bytes(VARIANT_HEADER, rows)
    with override_settings(IMPORT_BATCH_SIZE=2):
        job = create_import_job(stream=io.BytesIO(content), file_name="f.csv", system="upsert")
        job = claim_job(job_id=job.pk)

        def cancel_after_the_first_batch(progress):
            if progress.stage == "writing" and progress.rows_done >= 2:
                ImportJob.objects.filter(pk=job.pk).update(cancel_requested=True)

        job = run_job(job, on_progress=cancel_after_the_first_batch)
        assert job.status == ImportStatus.CANCELLED
        assert job.checkpoint_row == 4
        assert Item.objects.count() == 3  # rows 2-4; row 1 is superseded
        job.result.refresh_from_db()
        assert job.result.inserted + job.result.superseded == 4

        ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.PENDING, cancel_requested=False)
        job = run_job(claim_job(job_id=job.pk))

    assert job.status == ImportStatus.COMPLETED
    assert counts(ImportJob.objects.select_related("result").get(pk=job.pk)) == {
        "total_rows": 7,
        "inserted": 6,
        "updated": 0,
        "unchanged": 0,
        "superseded": 1,
        "failed": 0,
    }
    assert ItemVariant.objects.get(item__name="Item 0").sku == "LAST"


def test_a_cancel_requested_before_the_first_batch_writes_nothing():
    content = csv_bytes(VARIANT_HEADER, [("Shirt", "", "Red", "M", "", "", "")])
    job = claim_job(job_id=create_import_job(stream=io.BytesIO(content), file_name="f.csv", system="upsert").pk)
    ImportJob.objects.filter(pk=job.pk).update(cancel_requested=True)
    job = run_job(job)
    assert job.status == ImportStatus.CANCELLED
    assert not Item.objects.exists()


def test_timeout_stops_at_a_batch_boundary_keeping_committed_batches():
    rows = [(f"Item {n}", "", "Red", "M", "", "", "") for n in range(4)]
    with override_settings(IMPORT_BATCH_SIZE=2, IMPORT_TIMEOUT_SECONDS=1):
        job = create_import_job(stream=io.BytesIO(csv_bytes(VARIANT_HEADER, rows)), file_name="f.csv", system="upsert")

        def slow(progress):
            if progress.stage == "writing":
                time.sleep(1.1)

        job = run_job(claim_job(job_id=job.pk), on_progress=slow)
    assert job.status == ImportStatus.FAILED
    assert job.failure_reason.startswith("Timed out after")
    assert "rows up to 2 are committed" in job.failure_reason
    assert Item.objects.count() == 2


def test_a_row_the_database_refuses_is_isolated_and_the_rest_commit():
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE item_variant ADD CONSTRAINT test_no_bad_sku CHECK (sku <> 'BAD')")
        else:
            cursor.execute(
                "CREATE TRIGGER test_no_bad_sku BEFORE INSERT ON item_variant WHEN NEW.sku = 'BAD' "
                "BEGIN SELECT RAISE(ABORT, 'test_no_bad_sku'); END"
            )
    rows = [(f"Item {n}", "", "Red", "M", "BAD" if n == 5 else f"S{n}", "", "") for n in range(8)]
    job = run_import(csv_bytes(VARIANT_HEADER, rows))
    assert job.status == ImportStatus.COMPLETED_WITH_ERRORS
    assert counts(job)["inserted"] == 7
    error = ImportRowError.objects.get(job=job)
    assert error.row_number == 6
    assert "the database refused the row" in error.reason
    assert "test_no_bad_sku" in error.reason
    assert error.row_data["sku"] == "BAD"
    assert not ItemVariant.objects.filter(sku="BAD").exists()


# --- number formats: told by the file, chosen, or each value by itself ------------------------------

EUROPEAN = (
    "item_name;color_name;size_name;price;stock\n"
    "Shirt;Red;M;12,50;1.000\n"
    "Shirt;Red;L;1.299,00;7\n"
    "Hat;Blue;S;\u20ac 9,99;12,0\n"
).encode()


def test_a_file_whose_prices_use_a_decimal_comma_is_read_that_way_and_the_job_says_so():
    job = run_import(EUROPEAN)
    assert job.status == ImportStatus.COMPLETED, list(ImportRowError.objects.values_list("reason", flat=True))
    assert job.options["detected_number_format"] == "comma"
    assert {(v[3], v[5], v[6]) for v in live_variants()} == {
        ("M", D("12.50"), 1000),
        ("L", D("1299.00"), 7),
        ("S", D("9.99"), 12),
    }


def test_a_chosen_number_format_wins_over_what_the_file_shows():
    job = run_import(EUROPEAN, number_format="point")
    assert "detected_number_format" not in job.options
    assert counts(job)["failed"] == 3  # every row has a price written with a decimal comma
    reasons = list(ImportRowError.objects.order_by("row_number").values_list("reason", flat=True))
    assert reasons[0] == "price is not a number written with a decimal point (1,299.00)"


def test_when_the_file_does_not_show_its_format_a_two_way_value_is_a_row_problem_and_the_rest_lands():
    content = csv_bytes(
        ("item_name", "color_name", "size_name", "stock"), [("Shirt", "Red", "M", "1.000"), ("Shirt", "Red", "L", "7")]
    )
    job = run_import(content)
    assert (counts(job)["inserted"], counts(job)["failed"]) == (1, 1)
    error = ImportRowError.objects.get()
    assert (error.row_number, error.column) == (1, "stock")
    assert error.reason == (
        "stock could be 1 or 1000: say whether the file writes numbers with a decimal point or a decimal comma"
    )
    assert run_import(content, number_format="comma").result.failed == 0
    assert ItemVariant.objects.get(size__size_name="M").stock == 1000
