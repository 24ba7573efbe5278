"""Catalog fixtures: rows built in one line, and a database without the unique indexes.

``without_unique_indexes`` is how tests get real duplicates: migrating the
catalog back to 0001 drops the four partial unique indexes (the guide's
rollback step 2); teardown empties the catalog tables and migrates forward,
so the next test finds the indexes again even when this one failed.
"""

from decimal import Decimal

import pytest
from django.core.management import call_command

from catalog.models import Color, Item, ItemVariant, Size
from tests.catalog.pg_introspection import empty_catalog_tables, index_names
from tests.conftest import token_client


@pytest.fixture
def api(db, django_user_model):
    """An API client of a user with no permission at all: reading the catalog needs none."""
    return token_client(django_user_model.objects.create_user(username="viewer", password=None))


@pytest.fixture
def make_item(db):
    def make(name="Oxford Shirt 0001", **fields):
        return Item.objects.create(name=name, **fields)

    return make


@pytest.fixture
def make_color(db):
    def make(color_name="Navy", **fields):
        return Color.objects.create(color_name=color_name, **fields)

    return make


@pytest.fixture
def make_size(db):
    def make(size_name="M", **fields):
        return Size.objects.create(size_name=size_name, **fields)

    return make


@pytest.fixture
def make_variant(db):
    def make(item, color, size, **fields):
        fields.setdefault("sku", f"SKU-{item.pk}-{color.pk}-{size.pk}")
        fields.setdefault("price", Decimal("49.90"))
        fields.setdefault("stock", 10)
        return ItemVariant.objects.create(item=item, color=color, size=size, **fields)

    return make


@pytest.fixture
def without_unique_indexes(transactional_db):
    call_command("migrate", "catalog", "0002_timestamp_database_defaults", verbosity=0)
    assert index_names() == set(), "migrating back to 0001 should drop the four unique indexes"
    try:
        yield
    finally:
        empty_catalog_tables()
        call_command("migrate", verbosity=0)
