"""Header -> fields: case, spacing, order, aliases, unknown, missing and duplicated columns, per kind."""

import pytest

from catalog.kinds import KINDS
from imports.engine.columns import canonical_header, map_columns
from imports.engine.errors import ImportRejected


@pytest.mark.parametrize(
    ("header", "canonical"),
    [
        pytest.param("item_name", "item_name", id="as-is"),
        pytest.param("  Item_Name \t", "item_name", id="trimmed-lowercased"),
        pytest.param("Item Name", "item_name", id="space"),
        pytest.param("item-name", "item_name", id="hyphen"),
        pytest.param("ITEM  -  NAME", "item_name", id="run-of-separators"),
        pytest.param("item__name", "item_name", id="double-underscore"),
        pytest.param("Item\u00a0Name", "item_name", id="no-break-space"),
        pytest.param("Colour", "colour", id="unknown-words-kept"),
    ],
)
def test_canonical_header(header, canonical):
    assert canonical_header(header) == canonical


@pytest.mark.parametrize(
    ("kind", "headers", "positions"),
    [
        pytest.param(
            "variants",
            ["item_name", "description", "color_name", "size_name", "sku", "price", "stock"],
            {"item_name": 0, "description": 1, "color_name": 2, "size_name": 3, "sku": 4, "price": 5, "stock": 6},
            id="variants-all-columns",
        ),
        pytest.param(
            "variants",
            ["STOCK", " Size ", "Color", "Item", "Price"],
            {"stock": 0, "size_name": 1, "color_name": 2, "item_name": 3, "price": 4},
            id="variants-aliases-any-order-any-case",
        ),
        pytest.param(
            "variants",
            ["Item Name", "Color-Name", "size name"],
            {"item_name": 0, "color_name": 1, "size_name": 2},
            id="variants-spaced-and-hyphenated",
        ),
        pytest.param("items", ["Item Name", "Description"], {"name": 0, "description": 1}, id="items-item-name-alias"),
        pytest.param("items", ["description", "item"], {"name": 1, "description": 0}, id="items-item-alias"),
        pytest.param("items", ["Name"], {"name": 0}, id="items-name"),
        pytest.param("colors", ["Color"], {"color_name": 0}, id="colors-alias"),
        pytest.param("colors", ["notes", "color name"], {"color_name": 1}, id="colors-with-other-column"),
        pytest.param("sizes", ["SIZE"], {"size_name": 0}, id="sizes-alias"),
        pytest.param("sizes", ["size_name"], {"size_name": 0}, id="sizes"),
    ],
)
def test_columns_are_found_by_name_alias_case_and_spacing(kind, headers, positions):
    columns = map_columns(headers, KINDS.get(kind))
    assert columns.positions == positions
    assert columns.present == frozenset(positions)
    assert columns.headers == {field: headers[index] for field, index in positions.items()}  # as written


def test_unknown_columns_are_ignored_and_listed_in_a_warning():
    columns = map_columns(["Item", "Supplier", "color", "", "  ", "size", "Notes "], KINDS.get("variants"))
    assert columns.positions == {"item_name": 0, "color_name": 2, "size_name": 5}
    assert columns.unknown == ["Supplier", "Notes "]  # empty headers are not "unknown"
    assert columns.warnings() == ["Ignored column(s) not used by a variants import: 'Supplier', 'Notes '."]


def test_no_unknown_columns_no_warning():
    assert map_columns(["item", "color", "size"], KINDS.get("variants")).warnings() == []


def test_a_column_the_kind_does_not_use_is_unknown_for_that_kind():
    columns = map_columns(["color", "price"], KINDS.get("colors"))
    assert columns.unknown == ["price"]
    assert columns.warnings() == ["Ignored column(s) not used by a colors import: 'price'."]
    items = map_columns(["item", "price"], KINDS.get("items"))
    assert items.warnings() == ["Ignored column(s) not used by an items import: 'price'."]


@pytest.mark.parametrize(
    ("kind", "headers", "message"),
    [
        pytest.param(
            "variants",
            ["item_name", "colour", "Size", "Price"],
            "Missing required column(s) color_name for a variants import. "
            "Found: 'item_name', 'colour', 'Size', 'Price'. "
            "Expected: item_name (required, or item), description, color_name (required, or color), "
            "size_name (required, or size), sku, price, stock.",
            id="variants-one-missing",
        ),
        pytest.param(
            "variants",
            ["sku", "", "price"],
            "Missing required column(s) item_name, color_name, size_name for a variants import. "
            "Found: 'sku', 'price'. ",
            id="variants-all-keys-missing",
        ),
        pytest.param(
            "items",
            ["description"],
            "Missing required column(s) name for an items import. Found: 'description'. "
            "Expected: name (required, or item_name, or item), description.",
            id="items",
        ),
        pytest.param(
            "colors",
            ["colour"],
            "Missing required column(s) color_name for a colors import. Found: 'colour'. "
            "Expected: color_name (required, or color).",
            id="colors",
        ),
        pytest.param(
            "sizes",
            ["", " "],
            "Missing required column(s) size_name for a sizes import. Found: none. "
            "Expected: size_name (required, or size).",
            id="sizes-no-headers-at-all",
        ),
    ],
)
def test_a_missing_required_column_rejects_the_file_naming_found_and_expected(kind, headers, message):
    with pytest.raises(ImportRejected) as caught:
        map_columns(headers, KINDS.get(kind))
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        pytest.param(
            ["item", "item_name", "color", "size"],
            "Columns 'item' (column 1) and 'item_name' (column 2) both give item_name; keep one of them.",
            id="alias-and-name",
        ),
        pytest.param(
            ["item", "Color", "size", "color"],
            "Columns 'Color' (column 2) and 'color' (column 4) both give color_name; keep one of them.",
            id="same-header-twice",
        ),
        pytest.param(
            ["item", "color", "size_name", "Size Name"],
            "Columns 'size_name' (column 3) and 'Size Name' (column 4) both give size_name; keep one of them.",
            id="spelled-two-ways",
        ),
        pytest.param(
            ["item", "color", "size", "price", "PRICE"],
            "Columns 'price' (column 4) and 'PRICE' (column 5) both give price; keep one of them.",
            id="optional-column-twice",
        ),
    ],
)
def test_two_columns_for_one_field_reject_the_file(headers, message):
    with pytest.raises(ImportRejected) as caught:
        map_columns(headers, KINDS.get("variants"))
    assert str(caught.value) == message
