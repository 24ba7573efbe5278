"""Undo and redo of imports, end to end on the engine (PostgreSQL, and again on SQLite).

Every test compares the whole live catalog by natural key: an undo must give
back exactly the state before the import, a redo exactly the state after it.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import override_settings

from catalog.models import Color, Item, ItemVariant, Size
from imports.models import ImportJob, ImportJournal, ImportRowError, ImportStatus
from imports.undos import UndoRefused, cannot_undo, undo_import
from tests.imports.engine.job_runs import VARIANT_HEADER, csv_bytes, live_variants, make_variant, run_import

pytestmark = pytest.mark.django_db


def catalog_state() -> dict[str, set]:
    """Every live row of every master, by natural key with its values."""
    return {
        "items": set(Item.objects.values_list("name", "description")),
        "colors": set(Color.objects.values_list("color_name", flat=True)),
        "sizes": set(Size.objects.values_list("size_name", flat=True)),
        "variants": live_variants(),
    }


def undo(job: ImportJob, **options) -> ImportJob:
    done = undo_import(job=job, background=False, **options)
    return ImportJob.objects.select_related("result").get(pk=done.pk)


def figures(job: ImportJob) -> dict[str, int]:
    result = job.result
    return {name: getattr(result, name) for name in ("deleted", "updated", "inserted", "unchanged", "failed")}


MIXED_ROWS = [
    ("Shirt", "Cotton", "Red", "M", "SH-1", "12.00", "5"),  # price and stock change
    ("Shirt", "Cotton", "Blue", "M", "SH-2", "10.00", "3"),  # unchanged
    ("Shirt", "Cotton", "Green", "L", "SH-3", "9.00", "1"),  # new variant, new color and size
    ("Coat", "Wool", "Red", "XL", "CO-1", "99.00", ""),  # new item, new size
]


def seed_catalog():
    make_variant("Shirt", "Red", "M", sku="SH-1", price="10.00", stock=4, description="Cotton")
    make_variant("Shirt", "Blue", "M", sku="SH-2", price="10.00", stock=3)


def test_undo_of_a_mixed_import_gives_back_the_state_before_it_exactly():
    seed_catalog()
    before = catalog_state()
    job = run_import(csv_bytes(VARIANT_HEADER, MIXED_ROWS))
    assert (job.result.inserted, job.result.updated, job.result.unchanged) == (2, 1, 1)
    assert catalog_state() != before

    undone = undo(job)

    assert undone.status == ImportStatus.COMPLETED, undone.failure_reason
    assert undone.undoes_id == job.pk
    assert catalog_state() == before
    # The two variants it added and the color and two sizes it created are gone; the item it created too.
    assert figures(undone) == {"deleted": 6, "updated": 1, "inserted": 0, "unchanged": 0, "failed": 0}
    assert not Item.objects.filter(name="Coat").exists()
    assert Item.all_objects.filter(name="Coat", deleted_at__isnull=False).exists()


def test_undo_of_an_insert_only_import_into_an_empty_catalog_leaves_it_empty():
    job = run_import(csv_bytes(VARIANT_HEADER, MIXED_ROWS))
    assert job.result.inserted == 4

    undo(job)

    assert catalog_state() == {"items": set(), "colors": set(), "sizes": set(), "variants": set()}


def test_undo_of_an_update_only_import_restores_every_replaced_value_and_only_those_columns():
    seed_catalog()
    before = catalog_state()
    rows = [
        ("Shirt", "Linen", "Red", "M", "SH-1", "11.00", "4"),  # description and price change
        ("Shirt", "Linen", "Blue", "M", "SH-2b", "10.00", ""),  # sku changes, stock emptied
    ]
    job = run_import(csv_bytes(VARIANT_HEADER, rows))
    assert job.result.updated == 2

    journal = {entry.master: entry for entry in ImportJournal.objects.filter(job=job)}
    red = ItemVariant.objects.get(sku="SH-1")
    (changed,) = [values for pk, values in journal["item_variant"].updated if pk == red.pk]
    assert changed == {"price": "10.00"}  # only the column that changed, with its value before
    assert journal["item_master"].updated[0][1] == {"description": "Cotton"}
    assert journal["item_variant"].inserted == []

    undone = undo(job)

    assert catalog_state() == before
    assert figures(undone)["updated"] == 3  # two variants and the item


def test_a_row_changed_after_the_import_is_kept_and_reported_with_both_values():
    seed_catalog()
    job = run_import(csv_bytes(VARIANT_HEADER, MIXED_ROWS))
    edited = ItemVariant.objects.get(sku="SH-1")
    edited.price = Decimal("15.00")
    edited.save()

    undone = undo(job)

    assert undone.status == ImportStatus.COMPLETED_WITH_ERRORS
    assert ItemVariant.objects.get(sku="SH-1").price == Decimal("15.00")
    (conflict,) = ImportRowError.objects.filter(job=undone)
    assert conflict.row_data == {"Item name": "Shirt", "Color name": "Red", "Size name": "M"}
    assert conflict.column == "Price"
    assert conflict.value == "15.00"
    assert "changed again after the import" in conflict.reason
    assert "'15.00'" in conflict.reason
    assert "'10.00'" in conflict.reason
    assert figures(undone)["failed"] == 1
    # Everything else was undone.
    assert not ItemVariant.objects.filter(sku__in=["SH-3", "CO-1"]).exists()


def test_force_restores_a_row_changed_after_the_import():
    seed_catalog()
    before = catalog_state()
    job = run_import(csv_bytes(VARIANT_HEADER, MIXED_ROWS))
    ItemVariant.objects.filter(sku="SH-1").update(price=Decimal("15.00"))  # an edit: a new updated_at
    ItemVariant.objects.filter(sku="SH-1").first().save()

    undone = undo(job, force=True)

    assert undone.status == ImportStatus.COMPLETED
    assert catalog_state() == before


def test_an_item_the_import_created_stays_while_a_live_variant_added_since_uses_it():
    job = run_import(csv_bytes(VARIANT_HEADER, MIXED_ROWS))
    make_variant("Coat", "Black", "S")  # someone adds a variant of the imported item

    undone = undo(job)

    assert Item.objects.filter(name="Coat").exists()
    assert not ItemVariant.objects.filter(sku="CO-1").exists()
    assert figures(undone)["unchanged"] >= 1
    assert undone.status == ImportStatus.COMPLETED


def test_undoing_the_undo_brings_the_import_back_exactly():
    seed_catalog()
    job = run_import(csv_bytes(VARIANT_HEADER, MIXED_ROWS))
    imported = catalog_state()
    first = undo(job)

    redo = undo(first)

    assert redo.status == ImportStatus.COMPLETED, redo.failure_reason
    assert catalog_state() == imported
    assert figures(redo)["inserted"] == 6
    assert figures(redo)["updated"] == 1

    # And the redo can be undone again.
    undo(redo)
    seed_state = catalog_state()
    assert ("Coat", "Wool") not in seed_state["items"]


def test_the_preview_counts_what_the_undo_will_do_and_changes_nothing():
    seed_catalog()
    job = run_import(csv_bytes(VARIANT_HEADER, MIXED_ROWS))
    ItemVariant.objects.get(sku="CO-1").save()  # a later edit: a conflict
    imported = catalog_state()

    preview = undo(job, dry_run=True)

    assert catalog_state() == imported
    assert preview.dry_run
    assert preview.status == ImportStatus.COMPLETED_WITH_ERRORS
    # SH-3, Green and L go; CO-1 was edited (a conflict), so Coat and XL stay in use.
    assert figures(preview) == {"deleted": 3, "updated": 1, "inserted": 0, "unchanged": 2, "failed": 1}
    # A preview does not count as the undo: the real one can follow and does what was previewed.
    real = undo(job)
    assert figures(real) == figures(preview)


def test_refusals_say_why():
    seed_catalog()
    check = run_import(csv_bytes(VARIANT_HEADER, MIXED_ROWS), dry_run=True)
    with pytest.raises(UndoRefused, match="was a check") as refused:
        undo(check)
    assert refused.value.code == "cannot_undo"

    job = run_import(csv_bytes(VARIANT_HEADER, MIXED_ROWS))
    first = undo(job)
    with pytest.raises(UndoRefused, match=f"already been undone by undo #{first.pk}") as refused:
        undo(job)
    assert refused.value.code == "already_undone"
    assert refused.value.extra == {"undone_by": first.pk}

    nothing = run_import(csv_bytes(VARIANT_HEADER, MIXED_ROWS[1:2]))
    assert nothing.result.unchanged == 1
    assert "changed no row" in str(cannot_undo(job=nothing))

    ImportJob.objects.filter(pk=nothing.pk).update(status=ImportStatus.RUNNING)
    nothing.refresh_from_db()
    assert cannot_undo(job=nothing).code == "not_finished"


def test_an_import_whose_journal_was_pruned_cannot_be_undone(settings):
    from datetime import timedelta

    from django.utils import timezone

    from imports.undos import prune_journals

    job = run_import(csv_bytes(VARIANT_HEADER, MIXED_ROWS))
    recent = run_import(csv_bytes(VARIANT_HEADER, [("Hat", "", "Red", "M", "", "", "")]))
    ImportJob.objects.filter(pk=job.pk).update(finished_at=timezone.now() - timedelta(days=31))

    assert prune_journals() > 0

    assert not ImportJournal.objects.filter(job=job).exists()
    assert ImportJournal.objects.filter(job=recent).exists()
    assert "kept for 30 days" in str(cannot_undo(job=job))
    before_jobs = ImportJob.objects.count()
    with pytest.raises(UndoRefused):
        undo(job)
    assert ImportJob.objects.count() == before_jobs  # a refused undo leaves no job behind


def test_an_import_made_before_undo_existed_cannot_be_undone():
    job = run_import(csv_bytes(VARIANT_HEADER, MIXED_ROWS))
    ImportJob.objects.filter(pk=job.pk).update(journal_kept=False)
    ImportJournal.objects.filter(job=job).delete()
    job.refresh_from_db()

    assert "before imports could be undone" in str(cannot_undo(job=job))


@override_settings(IMPORT_BATCH_SIZE=2)
def test_an_undo_goes_part_by_part_and_its_figures_match_the_journal():
    rows = [(f"Item {n}", "", "Red", "M", f"S-{n}", "1.00", "1") for n in range(7)]
    job = run_import(csv_bytes(VARIANT_HEADER, rows))
    assert ImportJournal.objects.filter(job=job, master="item_variant").count() == 4  # 7 rows in batches of 2

    undone = undo(job)

    assert undone.checkpoint_row == ImportJournal.objects.filter(job=job).count()
    assert undone.result.total_rows == 7 + 7 + 1 + 1  # variants, items, the color, the size
    assert figures(undone)["deleted"] == 16
    assert catalog_state()["variants"] == set()


def test_an_items_file_undo_keeps_items_that_variants_use():
    make_variant("Shirt", "Red", "M")
    job = run_import(csv_bytes(("name", "description"), [("Shirt", "New words"), ("Scarf", "Silk")]), kind="items")

    undone = undo(job)

    assert set(Item.objects.values_list("name", "description")) == {("Shirt", "")}
    assert figures(undone) == {"deleted": 1, "updated": 1, "inserted": 0, "unchanged": 0, "failed": 0}
