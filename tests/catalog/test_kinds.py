"""The kinds of catalog file, derived from the models: columns, keys, parents, types, limits, absent values."""

from decimal import Decimal

import pytest

from catalog.kinds import KINDS, Column, KindRegistry, Master, UnknownKind
from catalog.models import Color, Item, ItemVariant, Size


@pytest.mark.parametrize(
    ("kind", "columns", "required", "key", "values"),
    [
        pytest.param(
            "variants",
            ("item_name", "description", "color_name", "size_name", "sku", "price", "stock"),
            ("item_name", "color_name", "size_name"),
            ("item_name", "color_name", "size_name"),
            ("sku", "price", "stock"),
            id="variants",
        ),
        pytest.param("items", ("name", "description"), ("name",), ("name",), ("description",), id="items"),
        pytest.param("colors", ("color_name",), ("color_name",), ("color_name",), (), id="colors"),
        pytest.param("sizes", ("size_name",), ("size_name",), ("size_name",), (), id="sizes"),
    ],
)
def test_each_kind_lists_its_columns_required_ones_key_and_values(kind, columns, required, key, values):
    spec = KINDS.get(kind)
    assert spec.name == kind
    assert (spec.column_names, spec.required, spec.key, spec.values) == (columns, required, key, values)


def test_the_kinds_are_exactly_these_in_the_order_doors_offer_them():
    assert KINDS.names() == ["variants", "items", "colors", "sizes"]
    assert KINDS.default == "variants"
    assert KINDS.choices() == [
        ("variants", "Item variants"),
        ("items", "Items"),
        ("colors", "Colors"),
        ("sizes", "Sizes"),
    ]


@pytest.mark.parametrize(
    ("kind", "column", "type_", "max_length", "aliases", "table", "db_column", "path"),
    [
        pytest.param("variants", "item_name", "name", 255, ("item",), "item_master", "name", "item__name", id="item"),
        pytest.param(
            "variants", "description", "text", None, (), "item_master", "description", "item__description", id="desc"
        ),
        pytest.param(
            "variants",
            "color_name",
            "name",
            100,
            ("color",),
            "color_master",
            "color_name",
            "color__color_name",
            id="color",
        ),
        pytest.param(
            "variants", "size_name", "name", 50, ("size",), "size_master", "size_name", "size__size_name", id="size"
        ),
        pytest.param("variants", "sku", "code", 64, (), "item_variant", "sku", "sku", id="sku"),
        pytest.param("variants", "price", "decimal", None, (), "item_variant", "price", "price", id="price"),
        pytest.param("variants", "stock", "count", None, (), "item_variant", "stock", "stock", id="stock"),
        pytest.param("items", "name", "name", 255, ("item_name", "item"), "item_master", "name", "name", id="items"),
        pytest.param("colors", "color_name", "name", 100, ("color",), "color_master", "color_name", "color_name"),
    ],
)
def test_columns_are_read_off_the_model_fields(kind, column, type_, max_length, aliases, table, db_column, path):
    spec = KINDS.get(kind).column(column)
    assert (spec.type, spec.max_length, spec.aliases) == (type_, max_length, aliases)
    assert (spec.master.table, spec.db_column, spec.path) == (table, db_column, path)


def test_a_decimal_column_takes_its_digits_and_places_from_the_field():
    price = KINDS.get("variants").column("price")
    field = ItemVariant._meta.get_field("price")
    assert (price.max_digits, price.decimal_places) == (field.max_digits, field.decimal_places) == (12, 2)
    assert price.max_value == Decimal("9999999999.99")


@pytest.mark.parametrize(
    ("model", "table", "pk", "key", "values"),
    [
        pytest.param(Item, "item_master", "item_id", ("name",), {"description": ""}, id="items"),
        pytest.param(Color, "color_master", "color_id", ("color_name",), {}, id="colors"),
        pytest.param(Size, "size_master", "size_id", ("size_name",), {}, id="sizes"),
        pytest.param(
            ItemVariant,
            "item_variant",
            "variant_id",
            ("item_id", "color_id", "size_id"),
            {"sku": "", "price": None, "stock": None},
            id="variants",
        ),
    ],
)
def test_a_master_is_its_table_key_and_the_values_a_new_row_gets_when_a_file_lacks_them(model, table, pk, key, values):
    master = Master.of(model)
    assert (master.table, master.pk, master.key, master.values) == (table, pk, key, values)


def test_a_variants_file_names_its_item_color_and_size_and_carries_the_items_description():
    parents = KINDS.get("variants").parents
    assert [(p.relation, p.fk_column, p.master.table, p.column, p.values) for p in parents] == [
        ("item", "item_id", "item_master", "item_name", ("description",)),
        ("color", "color_id", "color_master", "color_name", ()),
        ("size", "size_id", "size_master", "size_name", ()),
    ]


def test_masters_come_once_each_in_the_order_imports_write_them():
    assert [master.table for master in KINDS.masters()] == [
        "item_master",
        "color_master",
        "size_master",
        "item_variant",
    ]


def test_an_unknown_kind_is_refused_listing_the_kinds():
    with pytest.raises(
        UnknownKind, match=r"^Unknown import kind 'products': expected one of variants, items, colors, sizes\.$"
    ):
        KINDS.get("products")


def test_a_column_type_the_row_parser_does_not_know_is_refused():
    with pytest.raises(ValueError, match="unknown column type 'money'"):
        Column("price", "money", master=Master.of(ItemVariant), db_column="price", path="price")


def test_a_registry_derives_a_kind_when_first_asked_and_again_after_a_refresh():
    registry = KindRegistry()
    registry.register(Color, name="colours", label="Colours")
    assert registry.names() == ["colours"]
    assert "colours" in registry
    first = registry.get("colours")
    assert registry.get("colours") is first
    registry.refresh()
    assert registry.get("colours") is not first
    assert registry.get("colours") == first
    registry.unregister("colours")
    assert "colours" not in registry
