"""``manage.py resolve_duplicates``: prints each step; --dry-run rolls back."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from catalog.concurrent_constraints import DuplicateKeysError
from catalog.models import Color, Item, ItemVariant, Size
from tests.catalog.pg_introspection import UNIQUE_INDEXES, index_names, invalid_indexes

pytestmark = pytest.mark.postgresql


def run(*args) -> str:
    out = StringIO()
    call_command("resolve_duplicates", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def two_shirts(without_unique_indexes):
    navy = Color.objects.create(color_name="Navy")
    size = Size.objects.create(size_name="M")
    shirt = Item.objects.create(name="Oxford Shirt")
    again = Item.objects.create(name="Oxford Shirt")
    variant = ItemVariant.objects.create(item=again, color=navy, size=size)
    return shirt, again, variant


def test_merge_prints_every_step_and_resolves(two_shirts):
    shirt, again, variant = two_shirts

    output = run("--strategy", "merge")

    assert output.splitlines() == [
        f"item 'Oxford Shirt': 2 live rows (#{shirt.pk}, #{again.pk}), keeping #{shirt.pk}",
        f"  moved variant #{variant.pk} (Oxford Shirt / Navy / M) from item #{again.pk} to #{shirt.pk}",
        f"  soft-deleted item #{again.pk}: merged into #{shirt.pk}",
        "Resolved 1 duplicate key(s) (merge).",
    ]
    assert ItemVariant.objects.get().item_id == shirt.pk


def test_dry_run_prints_the_same_steps_and_changes_nothing(two_shirts):
    shirt, again, _ = two_shirts

    output = run("--strategy", "rename", "--dry-run")

    assert output.splitlines() == [
        f"[dry run] item 'Oxford Shirt': 2 live rows (#{shirt.pk}, #{again.pk}), keeping #{shirt.pk}",
        f"[dry run]   renamed item #{again.pk}: 'Oxford Shirt' -> 'Oxford Shirt (duplicate-{again.pk})'",
        "Dry run: 1 duplicate key(s) would be resolved; everything rolled back.",
    ]
    assert list(Item.objects.values_list("name", flat=True)) == ["Oxford Shirt", "Oxford Shirt"]


def test_model_option_limits_the_masters(two_shirts):
    assert run("--strategy", "rename", "--model", "color").strip() == "No live duplicates to resolve."
    assert Item.objects.filter(name="Oxford Shirt").count() == 2


def test_a_refused_resolution_is_a_command_error_and_changes_nothing(without_unique_indexes):
    Color.objects.create(color_name="Navy")
    extra = Color.objects.create(color_name="Navy")
    Color.objects.create(color_name=f"Navy (duplicate-{extra.pk})")

    with pytest.raises(CommandError, match="Nothing was changed: Cannot rename color"):
        run("--strategy", "rename")
    assert Color.objects.filter(color_name="Navy").count() == 2


def test_strategy_is_required():
    with pytest.raises(CommandError, match="--strategy"):
        run()


@pytest.mark.parametrize("strategy", ["rename", "merge"])
def test_resolving_every_master_lets_the_unique_indexes_be_built(without_unique_indexes, strategy):
    """The guide's path: duplicates block the migration; resolve them; the four indexes build."""
    navy, navy_again = Color.objects.create(color_name="Navy"), Color.objects.create(color_name="Navy")
    m, m_again = Size.objects.create(size_name="M"), Size.objects.create(size_name="M")
    shirt, shirt_again = Item.objects.create(name="Oxford Shirt"), Item.objects.create(name="Oxford Shirt")
    for item, color, size in [
        (shirt, navy, m),
        (shirt, navy, m),  # a variant duplicate too
        (shirt_again, navy_again, m_again),  # collides with the first once merged
        (shirt_again, navy, m_again),
    ]:
        ItemVariant.objects.create(item=item, color=color, size=size)
    with pytest.raises(DuplicateKeysError):
        call_command("migrate", "catalog", verbosity=0)

    run("--strategy", strategy)
    call_command("migrate", "catalog", verbosity=0)

    assert index_names() == set(UNIQUE_INDEXES)
    assert invalid_indexes() == []
    assert Item.objects.count() == (2 if strategy == "rename" else 1)
    live_variants = ItemVariant.objects.count()
    assert live_variants == (3 if strategy == "rename" else 1)
    assert ItemVariant.all_objects.count() == 4, "nothing is hard-deleted"
