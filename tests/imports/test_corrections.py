"""Correcting failed rows: the engine's checks on corrected cells, and the new import linked to the first.

Through ``imports.corrections`` and ``services.import_corrections`` (the API's
and the admin's doors are in ``test_apis.py`` and ``test_admin.py``).
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from catalog.models import Color, ItemVariant
from imports import services
from imports.corrections import Correction, check_corrections, corrected_rows, corrections_file
from imports.models import ImportJob, ImportSource, ImportStatus
from imports.undos import undo_import
from mtc.errors import Conflict, Refused
from tests.imports.files import stream, variants_csv

pytestmark = pytest.mark.usefixtures("import_env")


def _import(content: bytes, *, name: str = "variants.csv", user=None, **kwargs) -> ImportJob:
    return services.start_import(stream=stream(content, name), file_name=name, kind="variants", user=user, **kwargs)


@pytest.fixture
def with_failed_rows(db, importer) -> ImportJob:
    """12 rows, rows 5 and 10 with a negative price (failed); the other 10 imported."""
    job = _import(variants_csv(12, bad_every=5), user=importer)
    assert (job.status, job.result.failed) == (ImportStatus.COMPLETED_WITH_ERRORS, 2)
    return job


def test_corrected_rows_import_as_a_new_import_linked_to_the_first(with_failed_rows, importer):
    job = services.import_corrections(
        job=with_failed_rows,
        corrections=[Correction(5, {"price": "5.00"}), Correction(10, {"price": "7.25"})],
        user=importer,
    )
    assert job.parent_import_id == with_failed_rows.pk
    assert (job.status, job.result.inserted, job.result.failed) == (ImportStatus.COMPLETED, 2, 0)
    assert job.file_format == "json"
    assert job.file_name == "variants-corrected-rows.json"
    assert job.mapping == with_failed_rows.mapping
    assert sorted(ItemVariant.objects.filter(sku__in=["SKU-000005", "SKU-000010"]).values_list("price", flat=True)) == [
        Decimal("5.00"),
        Decimal("7.25"),
    ]
    assert ItemVariant.objects.count() == 12
    assert list(with_failed_rows.corrections.all()) == [job]


def test_rows_still_wrong_are_reported_by_the_new_import_like_any_file(with_failed_rows):
    job = services.import_corrections(
        job=with_failed_rows, corrections=[Correction(5, {"price": "5.00"}), Correction(10, {"price": "abc"})]
    )
    assert (job.status, job.result.inserted, job.result.failed) == (ImportStatus.COMPLETED_WITH_ERRORS, 1, 1)
    error = job.row_errors.get()
    assert error.row_number == 2  # the second row of the corrections' file
    assert "price" in error.reason


def test_a_checked_correction_keeps_its_parent_through_the_confirmed_import(with_failed_rows, importer):
    check = services.import_corrections(
        job=with_failed_rows,
        corrections=[Correction(5, {"price": "1"})],
        user=importer,
        source=ImportSource.ADMIN,
        dry_run=True,
    )
    assert check.dry_run
    assert check.parent_import_id == with_failed_rows.pk
    assert ItemVariant.objects.count() == 10
    imported = services.import_checked_file(dry_run_job=check, user=importer)
    assert (imported.parent_import_id, imported.checked_by_id, imported.result.inserted) == (
        with_failed_rows.pk,
        check.pk,
        1,
    )


def test_the_check_uses_the_engines_rules_and_says_what_is_still_wrong(with_failed_rows):
    rows = check_corrections(
        job=with_failed_rows,
        corrections=[Correction(5, {"price": "-2"}), Correction(10, {"price": "3", "stock": "1.5"})],
    )
    assert [row.row_number for row in rows] == [5, 10]
    assert not rows[0].ok
    assert rows[0].problems == [{"column": "price", "value": "-2", "reason": "price must be 0 or more"}]
    assert rows[0].corrected == ["price"]
    assert rows[1].problems == [{"column": "stock", "value": "1.5", "reason": "stock must be a whole number"}]
    assert rows[1].values["item_name"] == "Item 00000"
    assert rows[1].values["price"] == "3"
    assert check_corrections(job=with_failed_rows, corrections=[Correction(5, {"price": "4.10"})])[0].ok


def test_a_correction_is_read_in_the_number_format_of_the_first_file(db):
    content = b'item_name,color_name,size_name,price\nShirt,Red,M,"1.299,50"\nShirt,Blue,M,"-1,00"\n'
    first = _import(content)
    assert first.result.failed == 1
    assert check_corrections(job=first, corrections=[Correction(2, {"price": "12.5"})])[0].problems  # point: refused
    job = services.import_corrections(job=first, corrections=[Correction(2, {"price": "12,50"})])
    assert job.result.inserted == 1
    assert ItemVariant.objects.get(color__color_name="Blue").price == Decimal("12.50")


def test_a_supplier_file_is_corrected_by_its_own_headers_or_by_field(db, importer):
    content = "Artikel,Tint,Größe,Preis\nShirt,Red,M,-1\nShirt,Blue,M,-2\n".encode()
    first = _import(content, user=importer, mapping={"Tint": "color_name"})
    assert first.result.failed == 2
    job = services.import_corrections(
        job=first, corrections=[Correction(1, {"Preis": "3"}), Correction(2, {"price": "4"})], user=importer
    )
    assert (job.result.inserted, job.mapping["Tint"]) == (2, "color_name")
    assert sorted(ItemVariant.objects.values_list("price", flat=True)) == [Decimal("3.00"), Decimal("4.00")]


def test_a_new_mixed_script_lookalike_is_refused_by_the_check(with_failed_rows):
    Color.objects.get(color_name="Red")
    rows = check_corrections(
        job=with_failed_rows, corrections=[Correction(5, {"price": "1", "color_name": "R\u0435d"})]
    )
    assert [problem["column"] for problem in rows[0].problems] == ["color_name"]
    assert "looks like the existing color 'Red'" in rows[0].problems[0]["reason"]


@pytest.mark.parametrize(
    ("corrections", "code"),
    [
        ([], "no_corrections"),
        ([Correction(1, {"price": "1"})], "not_a_failed_row"),
        ([Correction(5, {"colour": "Red"})], "unknown_column"),
        ([Correction(5, {}), Correction(5, {})], "duplicate_row"),
    ],
)
def test_what_cannot_be_corrected_is_refused(with_failed_rows, corrections, code):
    with pytest.raises(Refused) as refused:
        services.import_corrections(job=with_failed_rows, corrections=corrections)
    assert refused.value.code == code
    assert ImportJob.objects.count() == 1


def test_a_check_only_import_cannot_be_corrected(db):
    check = _import(variants_csv(6, bad_every=5), dry_run=True)
    with pytest.raises(Conflict) as refused:
        services.import_corrections(job=check, corrections=[Correction(5, {"price": "1"})])
    assert refused.value.code == "not_correctable"


def test_the_corrections_file_holds_only_the_corrected_rows_under_the_files_headers(with_failed_rows):
    content, name, options = corrections_file(job=with_failed_rows, corrections=[Correction(10, {"price": "2"})])
    records = json.loads(content)
    assert name == "variants-corrected-rows.json"
    assert options == {"number_format": "point"}
    assert records == [
        {
            "item_name": "Item 00000",
            "description": "Description of item 0",
            "color_name": "Green",
            "size_name": "L",
            "sku": "SKU-000010",
            "price": "2",
            "stock": "10",
        }
    ]


def test_every_failed_row_comes_out_with_the_corrections_laid_over_it(with_failed_rows):
    headers, rows = corrected_rows(job=with_failed_rows, corrections=[Correction(10, {"price": "2"})])
    rows = list(rows)
    assert headers[0] == "item_name"
    assert [(row.row_number, row.ok, row.values["price"]) for row in rows] == [(5, False, "-1"), (10, True, "2")]


# --- corrected once: a second correction, and an undone import, are refused ---------------------


def _correct(job: ImportJob, *corrections: Correction, **kwargs) -> ImportJob:
    return services.import_corrections(job=job, corrections=list(corrections), **kwargs)


def test_failed_rows_are_corrected_once_then_on_the_correction_import(with_failed_rows):
    first = _correct(with_failed_rows, Correction(5, {"price": "5.00"}), Correction(10, {"price": "abc"}))
    assert (first.result.inserted, first.result.failed) == (1, 1)
    with pytest.raises(Conflict) as refused:
        _correct(with_failed_rows, Correction(10, {"price": "7.00"}))
    assert (refused.value.code, refused.value.extra) == ("already_corrected", {"corrected_by": first.pk})
    assert f"imported again in import #{first.pk}" in str(refused.value)
    # the row still wrong is corrected on the correction import: its own failed rows, like any import's
    second = _correct(first, Correction(2, {"price": "7.00"}))
    assert (second.parent_import_id, second.result.inserted) == (first.pk, 1)
    assert ItemVariant.objects.get(sku="SKU-000010").price == Decimal("7.00")
    assert ImportJob.objects.filter(parent_import=with_failed_rows).count() == 1


def test_checks_of_corrected_rows_do_not_count_but_a_check_imported_after_another_is_refused(
    with_failed_rows, importer
):
    checks = [
        _correct(with_failed_rows, Correction(5, {"price": price}), user=importer, dry_run=True)
        for price in ("1.00", "2.00")
    ]
    imported = services.import_checked_file(dry_run_job=checks[1], user=importer)
    assert imported.result.inserted == 1
    assert services.import_checked_file(dry_run_job=checks[1], user=importer) == imported  # a double click
    with pytest.raises(Conflict) as refused:
        services.import_checked_file(dry_run_job=checks[0], user=importer)
    assert (refused.value.code, refused.value.extra) == ("already_corrected", {"corrected_by": imported.pk})
    assert ItemVariant.objects.get(sku="SKU-000005").price == Decimal("2.00")


def test_the_job_of_a_second_correction_is_refused_where_it_would_be_born(with_failed_rows):
    """Two corrections sent at once both pass the early check; the second job is refused under the parent's lock."""
    first = _correct(with_failed_rows, Correction(5, {"price": "5.00"}))
    with pytest.raises(Conflict) as refused:
        services.create_import_job(
            stream=stream(b'[{"item_name": "Item 00000"}]', "x.json"),
            file_name="x.json",
            parent_import=with_failed_rows,
        )
    assert (refused.value.code, refused.value.extra) == ("already_corrected", {"corrected_by": first.pk})
    check = services.create_import_job(
        stream=stream(b'[{"item_name": "Item 00000"}]', "x.json"),
        file_name="x.json",
        parent_import=with_failed_rows,
        dry_run=True,
    )
    assert check.parent_import_id == with_failed_rows.pk  # a check writes nothing: never refused


def test_an_undone_import_is_not_corrected_until_it_is_redone(with_failed_rows):
    undo = undo_import(job=with_failed_rows, background=False)
    assert undo.status == ImportStatus.COMPLETED
    with pytest.raises(Conflict, match="has no failed rows to correct") as refused:
        _correct(undo, Correction(1, {"price": "5.00"}))  # an undo's rows are rows changed since, not failed ones
    assert refused.value.code == "not_correctable"
    with pytest.raises(Conflict) as refused:
        _correct(with_failed_rows, Correction(5, {"price": "5.00"}))
    assert (refused.value.code, refused.value.extra) == ("undone", {"undone_by": undo.pk})
    assert ItemVariant.objects.count() == 0
    undo_import(job=undo, background=False)  # a redo: the import's rows are back, and its failed rows to correct
    assert ItemVariant.objects.count() == 10
    assert _correct(with_failed_rows, Correction(5, {"price": "5.00"})).result.inserted == 1


def test_a_correction_import_undone_or_stopped_before_writing_leaves_the_rows_to_correct(with_failed_rows):
    stopped = services.cancel_import(job=_correct(with_failed_rows, Correction(5, {"price": "1"}), background=True))
    assert (stopped.status, stopped.rows_processed) == (ImportStatus.CANCELLED, 0)
    taken_back = _correct(with_failed_rows, Correction(5, {"price": "2.00"}))
    undo_import(job=taken_back, background=False)
    assert not ItemVariant.objects.filter(sku="SKU-000005").exists()
    again = _correct(with_failed_rows, Correction(5, {"price": "3.00"}))
    assert ItemVariant.objects.get(sku="SKU-000005").price == Decimal("3.00")
    with pytest.raises(Conflict) as refused:
        _correct(with_failed_rows, Correction(10, {"price": "4.00"}))
    assert refused.value.extra == {"corrected_by": again.pk}
