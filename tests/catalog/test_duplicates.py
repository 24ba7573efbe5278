"""Resolving live duplicates by rename or merge (the guide's "Common issue 1")."""

import pytest

from catalog.duplicates import DuplicateResolutionError, duplicate_name, resolve_duplicates
from catalog.models import Color, Item, ItemVariant, Size
from catalog.selectors import find_duplicates_by_master


def test_duplicate_name_is_the_guides_suffix():
    assert duplicate_name("Navy", row_id=7, max_length=100) == "Navy (duplicate-7)"


def test_duplicate_name_shortens_the_base_so_the_suffix_fits():
    name = duplicate_name("Heather Grey Melange", row_id=12345, max_length=24)

    assert name == "Heathe (duplicate-12345)"
    assert len(name) == 24


def test_duplicate_name_does_not_leave_a_double_space_when_cutting_at_a_space():
    assert duplicate_name("Sky Blue", row_id=1, max_length=18) == "Sky (duplicate-1)"


@pytest.fixture
def apparel(without_unique_indexes):
    """Two "Oxford Shirt" items (variants in Navy M/L and Navy L/XL), two "Navy" colors."""
    sizes = {name: Size.objects.create(size_name=name) for name in ("M", "L", "XL")}
    navy = Color.objects.create(color_name="Navy")
    navy_again = Color.objects.create(color_name="Navy")
    shirt = Item.objects.create(name="Oxford Shirt")
    shirt_again = Item.objects.create(name="Oxford Shirt")
    variants = {
        "shirt M": ItemVariant.objects.create(item=shirt, color=navy, size=sizes["M"], sku="OX-M"),
        "shirt L": ItemVariant.objects.create(item=shirt, color=navy, size=sizes["L"], sku="OX-L"),
        "again L": ItemVariant.objects.create(item=shirt_again, color=navy, size=sizes["L"], sku="OX2-L"),
        "again XL": ItemVariant.objects.create(item=shirt_again, color=navy_again, size=sizes["XL"]),
    }
    return {"shirt": shirt, "shirt_again": shirt_again, "navy": navy, "navy_again": navy_again, **variants}


@pytest.mark.postgresql
def test_rename_keeps_the_lowest_id_and_renames_the_others_live(apparel):
    resolution = resolve_duplicates(strategy="rename")

    again = Item.objects.get(pk=apparel["shirt_again"].pk)
    assert again.name == f"Oxford Shirt (duplicate-{again.pk})"
    assert Item.objects.get(pk=apparel["shirt"].pk).name == "Oxford Shirt"
    navy_again = Color.objects.get(pk=apparel["navy_again"].pk)
    assert navy_again.color_name == f"Navy (duplicate-{navy_again.pk})"
    assert ItemVariant.objects.count() == 4, "renaming moves and deletes no variant"
    assert [(k.master, k.kept_id) for k in resolution.keys] == [
        ("item", apparel["shirt"].pk),
        ("color", apparel["navy"].pk),
    ]
    assert resolution.keys[0].steps == [
        f"renamed item #{again.pk}: 'Oxford Shirt' -> 'Oxford Shirt (duplicate-{again.pk})'"
    ]
    assert all(not found for found in find_duplicates_by_master().values())


@pytest.mark.postgresql
def test_rename_fits_the_column(without_unique_indexes):
    long_name = "S" * 50  # size_name is max 50
    Size.objects.create(size_name=long_name)
    extra = Size.objects.create(size_name=long_name)

    resolve_duplicates(strategy="rename", masters=["size"])

    renamed = Size.objects.get(pk=extra.pk).size_name
    assert len(renamed) == 50
    assert renamed.endswith(f" (duplicate-{extra.pk})")


@pytest.mark.postgresql
def test_rename_refuses_when_the_new_name_is_taken_and_changes_nothing(without_unique_indexes):
    Color.objects.create(color_name="Navy")
    extra = Color.objects.create(color_name="Navy")
    Color.objects.create(color_name=f"Navy (duplicate-{extra.pk})")

    with pytest.raises(DuplicateResolutionError, match=f"Cannot rename color #{extra.pk}"):
        resolve_duplicates(strategy="rename")

    assert Color.objects.filter(color_name="Navy").count() == 2


@pytest.mark.postgresql
def test_merge_moves_variants_to_the_kept_row_and_keeps_its_own_on_collision(apparel):
    resolution = resolve_duplicates(strategy="merge")

    shirt = apparel["shirt"]
    assert list(Item.objects.all()) == [shirt]
    assert Item.all_objects.get(pk=apparel["shirt_again"].pk).deleted_at is not None
    assert list(Color.objects.all()) == [apparel["navy"]]
    live = {(v.item_id, v.color_id, v.size.size_name): v.sku for v in ItemVariant.objects.select_related("size")}
    navy = apparel["navy"].pk
    assert live == {(shirt.pk, navy, "M"): "OX-M", (shirt.pk, navy, "L"): "OX-L", (shirt.pk, navy, "XL"): ""}
    assert ItemVariant.all_objects.get(pk=apparel["again L"].pk).deleted_at is not None
    item_steps = resolution.keys[0].steps
    assert any(f"soft-deleted variant #{apparel['again L'].pk}" in s and "which is kept" in s for s in item_steps)
    assert any(f"moved variant #{apparel['again XL'].pk}" in step for step in item_steps)
    assert item_steps[-1] == f"soft-deleted item #{apparel['shirt_again'].pk}: merged into #{shirt.pk}"
    assert all(not found for found in find_duplicates_by_master().values())


@pytest.mark.postgresql
def test_variant_duplicates_keep_the_lowest_id_and_soft_delete_the_rest(without_unique_indexes):
    item = Item.objects.create(name="Polo Shirt 0003")
    color = Color.objects.create(color_name="White")
    size = Size.objects.create(size_name="S")
    kept, *extra = (ItemVariant.objects.create(item=item, color=color, size=size) for _ in range(3))

    resolution = resolve_duplicates(strategy="rename", masters=["variant"])

    assert list(ItemVariant.objects.all()) == [kept]
    assert all(ItemVariant.all_objects.get(pk=v.pk).deleted_at for v in extra)
    assert resolution.keys[0].steps == [
        f"soft-deleted variant #{v.pk}: duplicate of variant #{kept.pk}, which is kept" for v in extra
    ]


@pytest.mark.postgresql
def test_dry_run_reports_the_same_and_changes_nothing(apparel):
    planned = resolve_duplicates(strategy="merge", dry_run=True)

    assert planned.dry_run
    assert [key.steps for key in planned.keys] == [key.steps for key in resolve_duplicates(strategy="merge").keys]


@pytest.mark.postgresql
def test_dry_run_leaves_the_rows_as_they_were(apparel):
    resolve_duplicates(strategy="merge", dry_run=True)

    assert Item.objects.count() == 2
    assert Color.objects.count() == 2
    assert ItemVariant.objects.count() == 4


@pytest.mark.django_db
def test_unknown_strategy_is_refused():
    with pytest.raises(DuplicateResolutionError, match="Unknown strategy 'delete'"):
        resolve_duplicates(strategy="delete")
