"""Finding live duplicate keys (needs the unique indexes dropped, to have any)."""

import pytest

from catalog.models import Color, Item, ItemVariant, Size
from catalog.selectors import find_duplicates, find_duplicates_by_master, variant_key_labels

pytestmark = pytest.mark.postgresql


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
