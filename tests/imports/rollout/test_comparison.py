"""compare_importers (the guide's 3.2): both systems on one file, nothing kept, agreement judged.

Agreement on a clean file; a disagreement injected into the legacy importer
is caught and named; the documented difference (a bad row) makes them
disagree; and in every case no row, job or stored file is left behind. The
command's usage errors, refusals and JSON keys: management/test_compare_importers.py.
"""

from __future__ import annotations

import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command

from catalog.models import Color, Item, Size
from imports.models import ImportJob, ImportRowError
from imports.rollout.comparison import compare_importers
from imports.rollout.legacy import RowWriter
from tests.imports.engine.job_runs import VARIANT_HEADER, csv_bytes, live_variants, make_variant

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db]

CLEAN_ROWS = [
    ("Shirt", "Cotton", "Red", "M", "S-1", "10.00", "5"),  # updates the stored variant
    ("Shirt", "Cotton", "Blue", "M", "S-2", "10.00", "5"),  # new color
    ("Hat", "Wool", "Red", "L", "H-1", "", ""),  # new item and size
    ("Hat", "Felt", "Red", "L", "H-2", "12.50", "1"),  # the same key again: the last row wins
    ("Pants", "", "Red", "M", "P-1", "30.00", "2"),  # identical to what is stored
]


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture
def stored_catalog():
    make_variant("Shirt", "Red", "M", sku="OLD", price="9.00", stock=1, description="Cotton")
    make_variant("Pants", "Red", "M", sku="P-1", price="30.00", stock=2)


def snapshot() -> tuple:
    return (
        live_variants(),
        set(Item.all_objects.values_list("pk", "name", "description", "updated_at")),
        Color.all_objects.count(),
        Size.all_objects.count(),
    )


def write(tmp_path, rows, header=VARIANT_HEADER):
    path = tmp_path / "compare.csv"
    path.write_bytes(csv_bytes(header, rows))
    return str(path)


def run_command(path: str, *args: str) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("compare_importers", path, *args, stdout=out)
    except SystemExit as exc:
        return exc.code, out.getvalue()
    return 0, out.getvalue()


def assert_nothing_kept(before: tuple, media_dir) -> None:
    assert snapshot() == before
    assert not ImportJob.objects.exists()
    assert not ImportRowError.objects.exists()
    assert not [path for path in media_dir.rglob("*") if path.is_file()]


def test_a_clean_file_agrees_and_nothing_is_kept(tmp_path, media, stored_catalog):
    path = write(tmp_path, CLEAN_ROWS)
    before = snapshot()
    code, output = run_command(path)

    assert code == 0, output
    assert "Result: AGREE" in output
    assert "legacy (LOCK TABLE)" in output
    assert "upsert (ON CONFLICT)" in output
    assert "Performance improvement: " in output
    assert_nothing_kept(before, media)


def test_the_comparison_reads_both_runs_back_before_rolling_them_back(tmp_path, media, stored_catalog):
    comparison = compare_importers(path=write(tmp_path, CLEAN_ROWS))

    assert comparison.agree, comparison.differences
    legacy, upsert = comparison.runs["legacy"], comparison.runs["upsert"]
    assert legacy.processed == upsert.processed == 5
    assert legacy.failed == upsert.failed == 0
    # Both wrote the same rows: the updated Shirt/Red/M, two new variants and the new Hat, Blue and L.
    for run in (legacy, upsert):
        assert run.written["variants"] == {
            ("Shirt", "Red", "M"): ("S-1", Decimal("10.00"), 5),
            ("Shirt", "Blue", "M"): ("S-2", Decimal("10.00"), 5),
            ("Hat", "Red", "L"): ("H-2", Decimal("12.50"), 1),
        }
        assert run.written["items"] == {("Hat",): ("Felt",)}
        assert run.written["colors"] == {("Blue",): ()}
        assert run.written["sizes"] == {("L",): ()}
    # Where they differ by design: counts of a key given twice.
    assert (legacy.summary["inserted"], legacy.summary["updated"], legacy.summary["superseded"]) == (2, 2, 0)
    assert (upsert.summary["inserted"], upsert.summary["updated"], upsert.summary["superseded"]) == (2, 1, 1)
    assert comparison.improvement_percent is not None


def test_an_injected_disagreement_is_caught_and_named(tmp_path, media, stored_catalog, monkeypatch):
    # A bug in the old importer: a missing price becomes 0.00 instead of staying empty.
    real_absent = RowWriter.absent

    def price_zero_when_absent(self, master):
        absent = real_absent(self, master)
        return {**absent, "price": Decimal("0.00")} if master.table == "item_variant" else absent

    monkeypatch.setattr(RowWriter, "absent", price_zero_when_absent)
    path = write(
        tmp_path,
        [("Shirt", "Red", "M", "7"), ("Scarf", "Green", "S", "3")],
        header=("item_name", "color_name", "size_name", "stock"),
    )
    before = snapshot()
    code, output = run_command(path, "--json")

    assert code == 1
    report = json.loads(output.strip().splitlines()[-1])
    assert report["agree"] is False
    assert report["differences"] == ["live rows: 1 differ"]
    assert report["row_differences"] == [
        {"master": "variants", "key": ["Scarf", "Green", "S"], "upsert": ["", None, 3], "legacy": ["", "0.00", 3]}
    ]
    assert report["runs"]["legacy"]["processed"] == report["runs"]["upsert"]["processed"] == 2
    assert_nothing_kept(before, media)


def test_a_disagreement_in_an_existing_row_compares_with_what_was_stored(tmp_path, media, stored_catalog, monkeypatch):
    # A bug in the old importer: it never updates a stored variant.
    real_values = RowWriter.values_of

    def values_without_variants(self, master, row):
        return {} if master.table == "item_variant" else real_values(self, master, row)

    monkeypatch.setattr(RowWriter, "values_of", values_without_variants)
    code, output = run_command(write(tmp_path, CLEAN_ROWS[:1]))

    assert code == 1
    assert "live rows: 1 differ" in output
    assert "variants Shirt / Red / M: legacy ('OLD', '9.00', '1') | upsert ('S-1', '10.00', '5')" in output


def test_a_bad_row_is_the_documented_difference(tmp_path, media, stored_catalog):
    rows = [*CLEAN_ROWS, ("Broken", "", "Red", "M", "", "-1", "")]
    before = snapshot()
    code, output = run_command(write(tmp_path, rows))

    assert code == 1
    assert "Result: DISAGREE" in output
    assert "processed: legacy 0, upsert 5" in output
    assert "failed: legacy 1, upsert 1" not in output  # same failed count: not a difference
    assert "live rows: 6 differ" in output
    assert "Expected difference: the legacy importer is all-or-nothing" in output
    assert "row 6: price must be 0 or more" in output
    assert_nothing_kept(before, media)
