"""Building indexes concurrently: refusing duplicates, never leaving an INVALID index, rebuilding a leftover."""

import pytest
from django.core.management import call_command
from django.db import DataError, IntegrityError, connection
from django.db.migrations.recorder import MigrationRecorder

from catalog.concurrent_constraints import AddUniqueConstraintConcurrently, DuplicateKeysError
from catalog.models import Color, Item
from tests.catalog.pg_introspection import UNIQUE_INDEXES, index_names, invalid_indexes

pytestmark = pytest.mark.postgresql


def unique_indexes_applied() -> bool:
    return MigrationRecorder(connection).migration_qs.filter(app="catalog", name="0003_unique_live_keys").exists()


def test_migrating_forward_with_duplicates_fails_naming_the_keys_and_the_fix(without_unique_indexes):
    first = Item.objects.create(name="Oxford Shirt 0001")
    second = Item.objects.create(name="Oxford Shirt 0001")
    Item.objects.create(name="Chino Trousers 0002")

    with pytest.raises(DuplicateKeysError) as refused:
        call_command("migrate", "catalog", verbosity=0)

    message = str(refused.value)
    assert "Cannot create idx_item_master_name_unique: item_master has 1 live duplicate key(s)" in message
    assert f"name='Oxford Shirt 0001' (ids {first.pk}, {second.pk})" in message
    assert "Chino" not in message
    assert "python manage.py find_duplicates --model item" in message
    assert "python manage.py resolve_duplicates --model item --strategy rename|merge" in message
    assert invalid_indexes() == []
    assert index_names() == set()
    assert not unique_indexes_applied()


def test_after_a_partial_failure_resolving_and_migrating_again_builds_every_index(without_unique_indexes):
    """The migration is non-atomic: the item index is built before the color index is refused."""
    Item.objects.create(name="Oxford Shirt 0001")
    Color.objects.create(color_name="Navy")
    Color.objects.create(color_name="Navy")

    with pytest.raises(DuplicateKeysError, match="idx_color_master_color_name_unique"):
        call_command("migrate", "catalog", verbosity=0)
    assert index_names() == {"idx_item_master_name_unique"}

    call_command("resolve_duplicates", strategy="merge", verbosity=0)
    call_command("migrate", "catalog", verbosity=0)

    assert index_names() == set(UNIQUE_INDEXES)
    assert invalid_indexes() == []
    assert unique_indexes_applied()


def test_a_failed_concurrent_build_leaves_no_invalid_index(without_unique_indexes, monkeypatch):
    """A duplicate written while the index builds: PostgreSQL fails the build half-way.

    The duplicate check is bypassed to get there; the INVALID index the failed
    ``CREATE INDEX CONCURRENTLY`` leaves must be dropped before the error surfaces.
    """
    Item.objects.create(name="Oxford Shirt 0001")
    Item.objects.create(name="Oxford Shirt 0001")
    monkeypatch.setattr(AddUniqueConstraintConcurrently, "_refuse_duplicates", lambda *args: None)

    with pytest.raises(IntegrityError):
        call_command("migrate", "catalog", verbosity=0)

    assert invalid_indexes() == []
    assert index_names() == set()


def test_an_invalid_leftover_from_a_crash_is_rebuilt(without_unique_indexes):
    """An INVALID index of the same name (a build killed half-way) is dropped and built again."""
    Item.objects.create(name="Oxford Shirt 0001")
    Item.objects.create(name="Oxford Shirt 0001")
    with connection.cursor() as cursor, pytest.raises(IntegrityError):
        cursor.execute(
            "CREATE UNIQUE INDEX CONCURRENTLY idx_item_master_name_unique ON item_master (name) "
            "WHERE deleted_at IS NULL"
        )
    assert invalid_indexes() == ["idx_item_master_name_unique"]
    Item.objects.filter(pk=Item.objects.order_by("pk").last().pk).update(name="Oxford Shirt 0002")

    call_command("migrate", "catalog", verbosity=0)

    assert invalid_indexes() == []
    assert index_names() == set(UNIQUE_INDEXES)


@pytest.mark.django_db(transaction=True)
def test_an_invalid_leftover_of_a_filter_index_is_built_again(make_item, make_color, make_size, make_variant):
    """A plain index (``AddIndexWithoutBlocking``) whose concurrent build died half-way is dropped and rebuilt."""
    call_command("migrate", "catalog", "0005_catalog_read_indexes", verbosity=0)
    try:
        make_variant(make_item(), make_color(), make_size(), stock=0)
        with connection.cursor() as cursor, pytest.raises(DataError):  # division by zero, half-way
            cursor.execute("CREATE INDEX CONCURRENTLY item_variant_color_size_live ON item_variant ((1 / stock))")
        assert invalid_indexes() == ["item_variant_color_size_live"]

        call_command("migrate", "catalog", verbosity=0)
    finally:
        call_command("migrate", verbosity=0)

    assert invalid_indexes() == []
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'item_variant_color_size_live'")
        (definition,) = cursor.fetchone()
    assert "(color_id, size_id, item_id, variant_id) WHERE (deleted_at IS NULL)" in definition
