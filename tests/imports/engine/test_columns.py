"""Header -> fields: case, spacing, order, aliases, unknown, missing and duplicated columns, per kind."""

import pytest

from catalog.kinds import KINDS
from imports.engine.columns import (
    CHOSEN,
    OURS,
    WORD,
    MappingIncomplete,
    canonical_header,
    map_columns,
    suggest_columns,
)
from imports.engine.errors import ImportRejected
from imports.engine.header_words import folded


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
            ["item_name", "hue", "Size", "Price"],
            "Missing required column(s) color_name for a variants import. "
            "Found: 'item_name', 'hue', 'Size', 'Price'. "
            "Expected: item_name (required, or item), description, color_name (required, or color), "
            "size_name (required, or size), sku, price, stock. Map a column of the file to each missing field.",
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
            ["hue"],
            "Missing required column(s) color_name for a colors import. Found: 'hue'. "
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


KEEP_ONE = "keep one of them, or map one of them to another field."


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        pytest.param(
            ["item", "item_name", "color", "size"],
            "Columns 'item' (column 1) and 'item_name' (column 2) both give item_name; " + KEEP_ONE,
            id="alias-and-name",
        ),
        pytest.param(
            ["item", "Color", "size", "color"],
            "Columns 'Color' (column 2) and 'color' (column 4) both give color_name; " + KEEP_ONE,
            id="same-header-twice",
        ),
        pytest.param(
            ["item", "color", "size_name", "Size Name"],
            "Columns 'size_name' (column 3) and 'Size Name' (column 4) both give size_name; " + KEEP_ONE,
            id="spelled-two-ways",
        ),
        pytest.param(
            ["item", "color", "size", "price", "PRICE"],
            "Columns 'price' (column 4) and 'PRICE' (column 5) both give price; " + KEEP_ONE,
            id="optional-column-twice",
        ),
    ],
)
def test_two_columns_for_one_field_reject_the_file(headers, message):
    with pytest.raises(ImportRejected) as caught:
        map_columns(headers, KINDS.get("variants"))
    assert str(caught.value) == message


# --- suggestions: a supplier's words -------------------------------------------------------------


def suggested(headers: list[str], kind: str = "variants") -> dict[str, str | None]:
    return {c.header: c.field for c in suggest_columns(headers, KINDS.get(kind))}


@pytest.mark.parametrize(
    ("headers", "fields"),
    [
        pytest.param(
            ["Item", "Colour", "Size", "Retail Price", "Qty", "Description", "SKU"],
            ["item_name", "color_name", "size_name", "price", "stock", "description", "sku"],
            id="english-british",
        ),
        pytest.param(
            ["Product name", "Color", "Size", "Unit price", "Quantity", "Details", "Item code"],
            ["item_name", "color_name", "size_name", "price", "stock", "description", "sku"],
            id="english-american",
        ),
        pytest.param(
            ["Artikel", "Farbe", "Größe", "Preis", "Bestand", "Beschreibung", "Artikelcode"],
            ["item_name", "color_name", "size_name", "price", "stock", "description", "sku"],
            id="german",
        ),
        pytest.param(
            ["Produit", "Couleur", "Taille", "Prix", "Quantité", "Descriptif", "Référence"],
            ["item_name", "color_name", "size_name", "price", "stock", "description", "sku"],
            id="french",
        ),
        pytest.param(
            ["Artículo", "Color", "Talla", "Precio", "Existencias", "Descripción", "Código"],
            ["item_name", "color_name", "size_name", "price", "stock", "description", "sku"],
            id="spanish",
        ),
        pytest.param(
            ["Articolo", "Colore", "Taglia", "Prezzo", "Giacenza", "Descrizione", "Codice articolo"],
            ["item_name", "color_name", "size_name", "price", "stock", "description", "sku"],
            id="italian",
        ),
        pytest.param(
            ["Productnaam", "Kleur", "Maat", "Prijs", "Voorraad", "Omschrijving", "Productcode"],
            ["item_name", "color_name", "size_name", "price", "stock", "description", "sku"],
            id="dutch",
        ),
        pytest.param(
            ["ITEM-NAME", "color.name", " Size_Name ", "PRICE (EUR)", "On hand"],
            ["item_name", "color_name", "size_name", None, "stock"],
            id="case-spacing-punctuation",
        ),
    ],
)
def test_a_suppliers_words_are_suggested_in_six_languages(headers, fields):
    assert list(suggested(headers).values()) == fields


@pytest.mark.parametrize(
    "header",
    ["EAN", "ean13", "GTIN", "Barcode", "Article number", "Artikelnummer", "Item No.", "Purchase price", "Notes"],
)
def test_numbers_and_codes_that_look_like_names_are_never_suggested(header):
    assert suggested([header, "Item", "Color", "Size"])[header] is None


def test_a_suggestion_never_maps_two_columns_to_one_field():
    # "Item" is ours (an alias), "Product" a supplier's word for the same field: the alias wins, wherever it is.
    assert suggested(["Product", "Item", "Farbe", "Colour"]) == {
        "Product": None,
        "Item": "item_name",
        "Farbe": "color_name",
        "Colour": None,
    }


def test_an_items_file_names_the_item_with_the_same_words():
    assert suggested(["Produktname", "Beschreibung"], kind="items") == {
        "Produktname": "name",
        "Beschreibung": "description",
    }


def test_how_each_suggestion_was_made():
    how = {c.header: c.how for c in suggest_columns(["Item", "Farbe", "Notes", ""], KINDS.get("variants"))}
    assert how == {"Item": OURS, "Farbe": WORD, "Notes": "", "": ""}


def test_words_fold_case_accents_and_punctuation():
    assert folded("  Größe (EU) ") == "grosse eu"
    assert folded("Prix-Unitaire") == "prix unitaire"
    assert folded("QUANTITÀ") == "quantita"


# --- the user's mapping -------------------------------------------------------------------------


def test_a_mapping_overrides_the_suggestion_for_the_headers_it_names():
    columns = map_columns(
        ["Colour", "Tint", "Size", "Item"], KINDS.get("variants"), {"Colour": None, "Tint": "color_name"}
    )
    assert columns.positions == {"color_name": 1, "size_name": 2, "item_name": 3}
    assert columns.mapping == {"Colour": None, "Tint": "color_name", "Size": "size_name", "Item": "item_name"}
    assert [c.how for c in columns.choices] == [CHOSEN, CHOSEN, OURS, OURS]
    assert columns.unknown == []  # a column the user chose to ignore is no warning


def test_a_mapping_that_repeats_the_suggestion_keeps_the_suggestions_warning_for_unknown_columns():
    columns = map_columns(
        ["Item", "Color", "Size", "Notes"], KINDS.get("variants"), {"Notes": None, "Item": "item_name"}
    )
    assert columns.warnings() == ["Ignored column(s) not used by a variants import: 'Notes'."]


def test_a_mapping_can_resolve_two_columns_for_one_field():
    columns = map_columns(["item", "item_name", "color", "size"], KINDS.get("variants"), {"item": None})
    assert columns.positions["item_name"] == 1


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        pytest.param(
            {"Hue": "color_name"},
            "The mapping names column(s) 'Hue' the file does not have; its columns are 'Item', 'Colour', 'Size'.",
            id="unknown-header",
        ),
        pytest.param(
            {"Colour": "colour_name"},
            "The mapping names field(s) colour_name that a variants import does not have; its fields are "
            "item_name, description, color_name, size_name, sku, price, stock.",
            id="unknown-field",
        ),
        pytest.param(
            {"Colour": "size_name"},
            "Columns 'Colour' (column 2) and 'Size' (column 3) both give size_name; keep one of them, or map one of "
            "them to another field.",
            id="two-columns-one-field",
        ),
    ],
)
def test_a_mapping_that_cannot_be_applied_rejects_the_file(mapping, message):
    with pytest.raises(ImportRejected) as caught:
        map_columns(["Item", "Colour", "Size"], KINDS.get("variants"), mapping)
    assert str(caught.value) == message


def test_a_missing_required_field_comes_with_the_suggestion_and_what_is_missing():
    with pytest.raises(MappingIncomplete) as caught:
        map_columns(["Artikel", "Tint", "Notes"], KINDS.get("variants"))
    assert caught.value.code == "wrong_header"
    assert caught.value.extra == {
        "missing": ["color_name", "size_name"],
        "suggestion": {"Artikel": "item_name", "Tint": None, "Notes": None},
        "fields": ["item_name", "description", "color_name", "size_name", "sku", "price", "stock"],
    }
