"""The migrations give each master the guide's partial unique index, and can be rolled back.

The guide's section 2.1 "Verify Indexes" query and its "Common issue 1" SQL
are run verbatim (only the guide's trailing spaces are dropped): they are what
an operator will paste into psql.
"""

import importlib

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from catalog.models import Color, Item, ItemVariant, Size
from tests.catalog.pg_introspection import UNIQUE_INDEXES, index_names, invalid_indexes

GUIDE_VERIFY_INDEXES = """
SELECT indexname, indexdef
FROM pg_indexes
WHERE tablename IN ('item_master', 'color_master', 'size_master', 'item_variant')
AND indexname LIKE 'idx_%unique';
"""

GUIDE_FIND_DUPLICATES = """
SELECT name, COUNT(*)
FROM item_master
WHERE deleted_at IS NULL
GROUP BY name
HAVING COUNT(*) > 1;
"""

GUIDE_RENAME_DUPLICATES = """
UPDATE item_master
SET name = name || ' (duplicate-' || item_id || ')'
WHERE item_id IN (
    SELECT item_id FROM (
        SELECT item_id, ROW_NUMBER() OVER (PARTITION BY name ORDER BY item_id) as rn
        FROM item_master WHERE deleted_at IS NULL
    ) t WHERE rn > 1
);
"""

EXPECTED_INDEXDEFS = {
    "idx_item_master_name_unique": "CREATE UNIQUE INDEX idx_item_master_name_unique "
    "ON public.item_master USING btree (name) WHERE (deleted_at IS NULL)",
    "idx_color_master_color_name_unique": "CREATE UNIQUE INDEX idx_color_master_color_name_unique "
    "ON public.color_master USING btree (color_name) WHERE (deleted_at IS NULL)",
    "idx_size_master_size_name_unique": "CREATE UNIQUE INDEX idx_size_master_size_name_unique "
    "ON public.size_master USING btree (size_name) WHERE (deleted_at IS NULL)",
    "idx_item_variant_item_color_size_unique": "CREATE UNIQUE INDEX idx_item_variant_item_color_size_unique "
    "ON public.item_variant USING btree (item_id, color_id, size_id) WHERE (deleted_at IS NULL)",
}


def run_sql(sql: str, params=None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


@pytest.mark.postgresql
@pytest.mark.django_db
def test_guide_verify_query_returns_exactly_the_four_partial_unique_indexes():
    rows = dict(run_sql(GUIDE_VERIFY_INDEXES))

    assert rows == EXPECTED_INDEXDEFS
    assert invalid_indexes() == []


@pytest.mark.postgresql
@pytest.mark.django_db
def test_guide_duplicate_sql_runs_verbatim_on_the_migrated_database(make_item):
    make_item(name="Oxford Shirt 0001")
    make_item(name="Oxford Shirt 0001", deleted_at="2026-01-01T00:00:00Z")

    assert run_sql(GUIDE_FIND_DUPLICATES) == []
    run_sql(GUIDE_RENAME_DUPLICATES)  # nothing to rename: one live row per name
    assert sorted(Item.all_objects.values_list("name", flat=True)) == ["Oxford Shirt 0001"] * 2


@pytest.mark.postgresql
@pytest.mark.django_db
def test_guide_upsert_resolves_against_the_partial_index():
    """The guide's issue-2 statement: ``ON CONFLICT (name) WHERE deleted_at IS NULL`` needs this index."""
    sql = (
        "INSERT INTO item_master (name, description, created_at, updated_at) "
        "VALUES (%s, %s, now(), now()) "
        "ON CONFLICT (name) WHERE deleted_at IS NULL DO UPDATE SET description = EXCLUDED.description"
    )
    run_sql(sql, ["Test", "first"])
    run_sql(sql, ["Test", "second"])

    assert list(Item.objects.values_list("name", "description")) == [("Test", "second")]


def two_rows_of_one_key(model, make_item, make_color, make_size, make_variant, **extra):
    """Create a row and return the field values of a second row with the same key."""
    if model is Item:
        make_item(name="Chino Trousers 0002", **extra)
        return {"name": "Chino Trousers 0002"}
    if model is Color:
        make_color(color_name="Olive", **extra)
        return {"color_name": "Olive"}
    if model is Size:
        make_size(size_name="XL", **extra)
        return {"size_name": "XL"}
    item, color, size = make_item(), make_color(), make_size()
    make_variant(item, color, size, **extra)
    return {"item": item, "color": color, "size": size}


MODELS = [Item, Color, Size, ItemVariant]


@pytest.mark.django_db
@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_two_live_rows_with_one_key_are_refused(model, make_item, make_color, make_size, make_variant):
    second = two_rows_of_one_key(model, make_item, make_color, make_size, make_variant)

    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.create(**second)
    assert model.all_objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_a_live_row_may_share_its_key_with_deleted_rows(model, make_item, make_color, make_size, make_variant):
    second = two_rows_of_one_key(
        model, make_item, make_color, make_size, make_variant, deleted_at="2026-01-01T00:00:00Z"
    )

    model.objects.create(**second)
    model.objects.create(**second, deleted_at="2026-02-01T00:00:00Z")

    assert model.objects.count() == 1
    assert model.all_objects.count() == 3


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_migrating_back_drops_the_four_indexes_and_forward_restores_them():
    assert index_names() == set(UNIQUE_INDEXES)
    try:
        call_command("migrate", "catalog", "0002_timestamp_database_defaults", verbosity=0)
        assert index_names() == set()
        # Without the indexes, duplicates are accepted: that is what the indexes prevent.
        Item.objects.create(name="Oxford Shirt 0001")
        Item.objects.create(name="Oxford Shirt 0001")
        assert run_sql(GUIDE_FIND_DUPLICATES) == [("Oxford Shirt 0001", 2)]
        run_sql(GUIDE_RENAME_DUPLICATES)
        assert run_sql(GUIDE_FIND_DUPLICATES) == []
    finally:
        call_command("migrate", verbosity=0)

    assert dict(run_sql(GUIDE_VERIFY_INDEXES)) == EXPECTED_INDEXDEFS
    assert invalid_indexes() == []
    second = Item.objects.order_by("pk")[1]
    assert second.name == f"Oxford Shirt 0001 (duplicate-{second.pk})"


#: catalog 0006's indexes for the API's filters, by name: their definitions' telling part.
FILTER_INDEXES = {
    "item_variant_color_size_live": "btree (color_id, size_id, item_id, variant_id) WHERE (deleted_at IS NULL)",
    "color_master_color_name_upper_trgm": "gin (upper((color_name)::text) gin_trgm_ops)",
    "size_master_size_name_upper_trgm": "gin (upper((size_name)::text) gin_trgm_ops)",
}


def filter_indexes() -> dict[str, str]:
    return dict(run_sql("SELECT indexname, indexdef FROM pg_indexes WHERE indexname = ANY(%s)", [list(FILTER_INDEXES)]))


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_the_filter_indexes_are_built_concurrently_and_migrating_back_drops_them():
    migration = importlib.import_module("catalog.migrations.0006_variant_filter_indexes").Migration
    assert migration.atomic is False  # CREATE INDEX CONCURRENTLY: writes go on while a big table is indexed
    assert {name: FILTER_INDEXES[name] in definition for name, definition in filter_indexes().items()} == dict.fromkeys(
        FILTER_INDEXES, True
    )
    try:
        call_command("migrate", "catalog", "0005_catalog_read_indexes", verbosity=0)
        assert filter_indexes() == {}
    finally:
        call_command("migrate", verbosity=0)

    assert set(filter_indexes()) == set(FILTER_INDEXES)
    assert invalid_indexes() == []
