"""Soft delete and restore: all or nothing, and never two live rows of one key."""

import pytest

from catalog.models import Color, Item, ItemVariant, Size
from catalog.services import RestoreRefused, SoftDeleteRefused, restore, soft_delete

pytestmark = pytest.mark.django_db


@pytest.fixture
def variant(make_item, make_color, make_size, make_variant):
    return make_variant(make_item(), make_color(), make_size())


def test_soft_delete_marks_rows_deleted_and_hides_them_from_the_live_manager(make_color):
    navy, black = make_color("Navy"), make_color("Black")

    assert soft_delete(rows=Color.objects.filter(pk=navy.pk)) == 1

    navy.refresh_from_db()
    assert navy.deleted_at is not None
    assert navy.updated_at >= navy.deleted_at
    assert list(Color.objects.all()) == [black]
    assert Color.all_objects.count() == 2


def test_soft_delete_leaves_already_deleted_rows_alone(make_color):
    navy = make_color("Navy")
    soft_delete(rows=Color.objects.filter(pk=navy.pk))
    first_deletion = Color.all_objects.get(pk=navy.pk).deleted_at

    assert soft_delete(rows=Color.all_objects.filter(pk=navy.pk)) == 0
    assert Color.all_objects.get(pk=navy.pk).deleted_at == first_deletion


@pytest.mark.parametrize("master", ["item", "color", "size"])
def test_soft_deleting_a_master_with_live_variants_is_refused(variant, master):
    row = getattr(variant, master)
    model = type(row)

    with pytest.raises(SoftDeleteRefused) as refused:
        soft_delete(rows=model.objects.filter(pk=row.pk))

    assert f'"{row}" (id {row.pk})' in str(refused.value)
    assert "still has 1 active variant(s)" in str(refused.value)
    assert model.objects.filter(pk=row.pk).exists()


def test_a_refused_soft_delete_changes_nothing_in_the_selection(variant, make_item):
    unused = make_item(name="Polo Shirt 0003")

    with pytest.raises(SoftDeleteRefused):
        soft_delete(rows=Item.objects.filter(pk__in=[unused.pk, variant.item_id]))

    assert Item.objects.filter(pk=unused.pk).exists()


def test_a_master_whose_variants_are_all_deleted_can_be_deleted(variant):
    soft_delete(rows=ItemVariant.objects.filter(pk=variant.pk))

    assert soft_delete(rows=Size.objects.filter(pk=variant.size_id)) == 1
    assert not Size.objects.exists()


def test_restore_brings_a_deleted_row_back(make_color):
    navy = make_color("Navy")
    soft_delete(rows=Color.objects.all())

    # The live manager's queryset would be empty; restore re-reads the selection.
    assert restore(rows=Color.all_objects.filter(pk=navy.pk)) == 1
    assert Color.objects.get(pk=navy.pk).deleted_at is None


def test_restore_is_refused_when_a_live_twin_holds_the_key(make_color):
    old = make_color("Navy")
    soft_delete(rows=Color.objects.filter(pk=old.pk))
    twin = make_color("Navy")

    with pytest.raises(RestoreRefused) as refused:
        restore(rows=Color.all_objects.filter(pk=old.pk))

    assert str(refused.value) == (
        f'Cannot restore color "Navy" (id {old.pk}): the active color "Navy" (id {twin.pk}) has the same '
        f"name. Rename or delete the active one first."
    )
    assert Color.all_objects.get(pk=old.pk).deleted_at is not None


def test_restoring_two_deleted_rows_of_one_key_together_is_refused(make_color):
    first = make_color("Navy")
    soft_delete(rows=Color.objects.all())
    second = make_color("Navy")
    soft_delete(rows=Color.objects.all())

    with pytest.raises(RestoreRefused, match="only one can be active") as refused:
        restore(rows=Color.all_objects.all())

    assert f"(id {first.pk})" in str(refused.value)
    assert f"(id {second.pk})" in str(refused.value)
    assert not Color.objects.exists()


def test_restoring_a_variant_of_a_deleted_item_is_refused(variant):
    soft_delete(rows=ItemVariant.objects.all())
    soft_delete(rows=Item.objects.all())

    with pytest.raises(RestoreRefused, match=r'its item "Oxford Shirt 0001" \(id \d+\) is deleted'):
        restore(rows=ItemVariant.all_objects.all())

    restore(rows=Item.all_objects.all())
    assert restore(rows=ItemVariant.all_objects.all()) == 1


def test_restoring_a_variant_is_refused_when_a_live_variant_has_its_key(variant, make_variant):
    soft_delete(rows=ItemVariant.objects.all())
    twin = make_variant(variant.item, variant.color, variant.size)

    with pytest.raises(RestoreRefused, match=f"the active item variant #{twin.pk}"):
        restore(rows=ItemVariant.all_objects.filter(pk=variant.pk))
