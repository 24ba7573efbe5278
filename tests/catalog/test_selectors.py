"""Catalog questions: an item's variants as a page of items lists them, and live duplicate keys.

(Finding duplicates needs the unique indexes dropped, to have any.)
"""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from catalog.models import Color, Item, ItemVariant, Size
from catalog.selectors import (
    LISTED_VARIANT_COLUMNS,
    find_duplicates,
    find_duplicates_by_master,
    variant_key_labels,
    with_variants,
)

pytestmark = pytest.mark.postgresql


def test_with_variants_gives_each_item_its_first_variants_by_color_and_size_name_in_one_query(
    make_item, make_color, make_size, make_variant, django_assert_num_queries
):
    zulu, alpha = make_color("Zulu"), make_color("Alpha")  # created in the other order than their names
    large, medium = make_size("L"), make_size("M")
    shirt, chino, bare = make_item("Shirt"), make_item("Chino"), make_item("Bare")
    for color in (zulu, alpha):
        for size in (large, medium):
            make_variant(shirt, color, size, price=Decimal("39.90"))
    make_variant(chino, zulu, medium, deleted_at=datetime(2026, 1, 2, tzinfo=UTC))
    only_live = make_variant(chino, alpha, large)

    with django_assert_num_queries(1):
        items = with_variants([shirt, chino, bare], first=3)

    assert [(row["color_name"], row["size_name"]) for row in items[0].listed_variants] == [
        ("Alpha", "L"),
        ("Alpha", "M"),
        ("Zulu", "L"),
    ]
    assert items[0].variant_count == 4  # all of them, though the first three are listed
    assert [row["variant_id"] for row in items[1].listed_variants] == [only_live.pk]
    assert items[1].variant_count == 1  # the deleted one is not counted for a live list
    assert (items[2].listed_variants, items[2].variant_count) == ([], 0)
    assert tuple(items[0].listed_variants[0]) == LISTED_VARIANT_COLUMNS
    assert items[0].listed_variants[0]["price"] == Decimal("39.90")


def test_with_variants_shows_deleted_variants_when_deleted_rows_are_asked_for(
    make_item, make_color, make_size, make_variant
):
    item = make_item("Jacket", deleted_at=datetime(2026, 1, 2, tzinfo=UTC))
    gone = make_variant(item, make_color("Navy"), make_size("M"), deleted_at=datetime(2026, 1, 2, tzinfo=UTC))
    for status in ("deleted", "all"):
        (shown,) = with_variants([item], status=status)
        assert [row["variant_id"] for row in shown.listed_variants] == [gone.pk]
        assert shown.listed_variants[0]["deleted_at"] == gone.deleted_at
    (live,) = with_variants([item])
    assert live.listed_variants == []


def test_find_duplicates_lists_live_keys_with_their_ids_lowest_first(without_unique_indexes):
    a = Color.objects.create(color_name="Navy")
    b = Color.objects.create(color_name="Navy")
    c = Color.objects.create(color_name="Navy")
    Color.objects.create(color_name="Navy", deleted_at="2026-01-01T00:00:00Z")
    Color.objects.create(color_name="Black")
    Color.objects.create(color_name="White")
    Color.objects.create(color_name="White", deleted_at="2026-01-01T00:00:00Z")

    [duplicate] = find_duplicates(model=Color)

    assert duplicate.key == {"color_name": "Navy"}
    assert duplicate.ids == [a.pk, b.pk, c.pk]
    assert duplicate.count == 3


def test_find_duplicates_by_master_covers_every_master_in_order(without_unique_indexes):
    item = Item.objects.create(name="Oxford Shirt 0001")
    color = Color.objects.create(color_name="Navy")
    Size.objects.create(size_name="M")
    size = Size.objects.create(size_name="M")
    first = ItemVariant.objects.create(item=item, color=color, size=size)
    second = ItemVariant.objects.create(item=item, color=color, size=size)

    found = find_duplicates_by_master()

    assert list(found) == ["item", "color", "size", "variant"]
    assert found["item"] == found["color"] == []
    assert [d.key for d in found["size"]] == [{"size_name": "M"}]
    assert [d.ids for d in found["variant"]] == [[first.pk, second.pk]]
    assert variant_key_labels(found["variant"]) == {
        (item.pk, color.pk, size.pk): f"Oxford Shirt 0001 (#{item.pk}) / Navy (#{color.pk}) / M (#{size.pk})"
    }


@pytest.mark.django_db
def test_find_duplicates_by_master_rejects_an_unknown_master():
    with pytest.raises(ValueError, match="Unknown master"):
        find_duplicates_by_master(masters=["colour"])
