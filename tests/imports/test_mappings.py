"""Column mappings through the services: given, suggested, kept on the job, remembered per user, checked again."""

from __future__ import annotations

import pytest

from catalog.models import ItemVariant
from imports import services
from imports.file_checks import FileRefused
from imports.mappings import headers_key, remember_mapping, remembered_mapping
from imports.models import ImportJob, ImportStatus, RememberedMapping
from tests.imports.engine.job_runs import csv_bytes
from tests.imports.files import stream

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("import_env")]

SUPPLIER = csv_bytes(("Artikel", "Tint", "Größe", "Preis", "Notes"), [("Shirt", "Red", "M", "12.50", "x")])
SUPPLIER_MAPPING = {"Tint": "color_name"}


def start(content: bytes = SUPPLIER, *, user=None, dry_run: bool = False, **kwargs) -> ImportJob:
    job = services.start_import(
        stream=stream(content), file_name="supplier.csv", kind="variants", user=user, dry_run=dry_run, **kwargs
    )
    return ImportJob.objects.select_related("result").get(pk=job.pk)


def test_a_file_our_words_cannot_place_is_refused_with_the_suggestion():
    with pytest.raises(FileRefused) as refused:
        start()
    assert refused.value.code == "wrong_header"
    assert refused.value.extra["missing"] == ["color_name"]
    assert refused.value.extra["suggestion"] == {
        "Artikel": "item_name",
        "Tint": None,
        "Größe": "size_name",
        "Preis": "price",
        "Notes": None,
    }
    assert not ImportJob.objects.exists()


def test_a_given_mapping_imports_the_file_and_the_job_keeps_the_whole_mapping():
    job = start(mapping=SUPPLIER_MAPPING)
    assert job.status == ImportStatus.COMPLETED, job.failure_reason
    assert job.mapping == {
        "Artikel": "item_name",
        "Tint": "color_name",
        "Größe": "size_name",
        "Preis": "price",
        "Notes": None,
    }
    variant = ItemVariant.objects.select_related("item", "color", "size").get()
    assert (variant.item.name, variant.color.color_name, variant.size.size_name, str(variant.price)) == (
        "Shirt",
        "Red",
        "M",
        "12.50",
    )


def test_headers_that_are_ours_need_no_mapping_and_keep_working():
    job = start(csv_bytes(("item_name", "color_name", "size_name"), [("Shirt", "Red", "M")]))
    assert job.status == ImportStatus.COMPLETED
    assert job.mapping == {"item_name": "item_name", "color_name": "color_name", "size_name": "size_name"}


def test_a_users_mapping_is_remembered_for_the_same_headers_and_used_next_time(importer, other_user):
    start(mapping=SUPPLIER_MAPPING, user=importer)
    next_month = csv_bytes(("Notes", "Preis", "Größe", "Tint", "Artikel"), [("y", "13.00", "L", "Blue", "Shirt")])

    job = start(next_month, user=importer)  # same headers, another order: no mapping needed

    assert job.status == ImportStatus.COMPLETED, job.failure_reason
    assert job.mapping["Tint"] == "color_name"
    assert ItemVariant.objects.count() == 2
    with pytest.raises(FileRefused):  # another user has not mapped this supplier
        start(next_month, user=other_user)


def test_a_dry_run_remembers_nothing_and_other_headers_get_no_remembered_mapping(importer):
    start(mapping=SUPPLIER_MAPPING, user=importer, dry_run=True)
    assert not RememberedMapping.objects.exists()

    start(mapping=SUPPLIER_MAPPING, user=importer)
    other = csv_bytes(("Artikel", "Tint", "Größe"), [("Shirt", "Red", "M")])
    assert remembered_mapping(user=importer, kind="variants", headers=["Artikel", "Tint", "Größe"]) is None
    with pytest.raises(FileRefused):
        start(other, user=importer)


def test_headers_key_ignores_order_case_accents_and_empty_headers():
    assert headers_key(["Größe", "Preis", ""]) == headers_key([" preis", "GRÖSSE"])
    assert headers_key(["Größe", "Preis"]) != headers_key(["Größe", "Preis", "Notes"])


def test_remembering_again_replaces_the_earlier_choice(importer):
    headers = ["A", "B"]
    remember_mapping(user=importer, kind="colors", headers=headers, mapping={"A": "color_name", "B": None})
    remember_mapping(user=importer, kind="colors", headers=headers, mapping={"A": None, "B": "color_name"})
    assert RememberedMapping.objects.count() == 1
    assert remembered_mapping(user=importer, kind="colors", headers=headers) == {"A": None, "B": "color_name"}
    assert remembered_mapping(user=importer, kind="sizes", headers=headers) is None


# --- the admin's check: without a complete mapping, then checked again ------------------------------


def test_a_check_without_a_complete_mapping_fails_naming_what_is_missing_and_keeps_the_file(importer):
    check = start(user=importer, dry_run=True, require_mapping=False)
    assert check.status == ImportStatus.FAILED
    assert check.failure_reason.startswith("Missing required column(s) color_name")
    assert check.mapping["Tint"] is None
    assert check.file.name


def test_checking_again_with_a_mapping_reads_the_same_file_with_it(importer):
    first = start(user=importer, dry_run=True, require_mapping=False)

    again = services.check_again(dry_run_job=first, mapping=SUPPLIER_MAPPING, user=importer)

    again = ImportJob.objects.select_related("result").get(pk=again.pk)
    assert again.pk != first.pk
    assert (again.dry_run, again.status, again.result.inserted) == (True, ImportStatus.COMPLETED, 1)
    assert again.file_checksum == first.file_checksum
    assert again.mapping["Tint"] == "color_name"
    assert not ItemVariant.objects.exists()

    imported = services.import_checked_file(dry_run_job=again, user=importer)
    assert imported.mapping == again.mapping
    assert ItemVariant.objects.count() == 1
    assert remembered_mapping(user=importer, kind="variants", headers=list(again.mapping))["Tint"] == "color_name"


def test_only_a_finished_check_can_be_checked_again(importer):
    job = start(mapping=SUPPLIER_MAPPING, user=importer)
    with pytest.raises(services.JobStateError, match="only a check can be checked again"):
        services.check_again(dry_run_job=job, mapping={}, user=importer)
