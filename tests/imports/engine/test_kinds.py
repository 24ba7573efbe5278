"""The kinds of import file: their columns, what is required, lengths from the models, keys."""

import pytest

from catalog.models import Color, Item, ItemVariant, Size
from imports.engine.kinds import KINDS, FieldSpec, get_kind


@pytest.mark.parametrize(
    ("kind", "fields", "required", "key"),
    [
        pytest.param(
            "variants",
            ("item_name", "description", "color_name", "size_name", "sku", "price", "stock"),
            ("item_name", "color_name", "size_name"),
            ("item_name", "color_name", "size_name"),
            id="variants",
        ),
        pytest.param("items", ("name", "description"), ("name",), ("name",), id="items"),
        pytest.param("colors", ("color_name",), ("color_name",), ("color_name",), id="colors"),
        pytest.param("sizes", ("size_name",), ("size_name",), ("size_name",), id="sizes"),
    ],
)
def test_each_kind_lists_its_columns_required_fields_and_key(kind, fields, required, key):
    spec = get_kind(kind)
    assert spec.name == kind
    assert (spec.field_names, spec.required, spec.key) == (fields, required, key)


def test_the_kinds_are_exactly_these():
    assert list(KINDS) == ["variants", "items", "colors", "sizes"]


@pytest.mark.parametrize(
    ("kind", "field", "type_", "max_length", "aliases"),
    [
        pytest.param("variants", "item_name", "name", 255, ("item",), id="item_name"),
        pytest.param("variants", "description", "text", None, (), id="description"),
        pytest.param("variants", "color_name", "name", 100, ("color",), id="color_name"),
        pytest.param("variants", "size_name", "name", 50, ("size",), id="size_name"),
        pytest.param("variants", "sku", "code", 64, (), id="sku"),
        pytest.param("variants", "price", "price", None, (), id="price"),
        pytest.param("variants", "stock", "count", None, (), id="stock"),
        pytest.param("items", "name", "name", 255, ("item_name", "item"), id="items-name"),
    ],
)
def test_fields(kind, field, type_, max_length, aliases):
    spec = get_kind(kind).field(field)
    assert (spec.type, spec.max_length, spec.aliases) == (type_, max_length, aliases)


@pytest.mark.parametrize(
    ("kind", "field", "model", "column"),
    [
        pytest.param("variants", "item_name", Item, "name", id="item_name"),
        pytest.param("items", "name", Item, "name", id="items-name"),
        pytest.param("variants", "color_name", Color, "color_name", id="color_name"),
        pytest.param("colors", "color_name", Color, "color_name", id="colors-color_name"),
        pytest.param("variants", "size_name", Size, "size_name", id="size_name"),
        pytest.param("sizes", "size_name", Size, "size_name", id="sizes-size_name"),
        pytest.param("variants", "sku", ItemVariant, "sku", id="sku"),
    ],
)
def test_lengths_come_from_the_models(kind, field, model, column):
    # The schema is the one source of truth: a kind's limit is its column's own.
    assert get_kind(kind).field(field).max_length == model._meta.get_field(column).max_length


def test_an_unknown_kind_is_refused_listing_the_kinds():
    with pytest.raises(
        ValueError, match=r"^Unknown import kind 'products': expected one of variants, items, colors, sizes\.$"
    ):
        get_kind("products")


def test_a_field_type_the_row_parser_does_not_know_is_refused():
    with pytest.raises(ValueError, match="unknown field type 'money'"):
        FieldSpec("price", "money")
