"""Row semantics, one table per rule: keys, lengths, price, stock, control characters, empty cells,
whole-row reporting, extra cells, typed cells (XLSX/JSON) and formula-escaped cells."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from catalog.kinds import KINDS
from imports.engine.columns import map_columns
from imports.engine.numbers import AUTO, COMMA, POINT
from imports.engine.rows import CellProblem, RowProblem, cell_text, row_parser
from imports.engine.tables import ExcelError, NotAnObject, UnsavedFormula

VARIANTS = KINDS.get("variants")
KEYS = {"item_name": "Oxford Shirt", "color_name": "Navy", "size_name": "M"}


def parse_row(cells: dict, *, kind: str = "variants", extra: list | None = None, number_format: str = AUTO):
    """``(values by field or None, [reasons])`` of one row whose header is ``cells``' keys."""
    headers = list(cells)
    spec = KINDS.get(kind)
    parse = row_parser(map_columns(headers, spec), width=len(headers), number_format=number_format)
    values, problems = parse([*cells.values(), *(extra or [])])
    assert (values is None) == bool(problems)
    return (None if values is None else dict(zip(spec.column_names, values, strict=True))), [p.reason for p in problems]


def value_of(field: str, cell: object, number_format: str = AUTO) -> object:
    values, reasons = parse_row({**KEYS, field: cell}, number_format=number_format)
    assert reasons == []
    return values[field]


def reasons_for(field: str, cell: object, number_format: str = AUTO) -> list[str]:
    values, reasons = parse_row({**KEYS, field: cell}, number_format=number_format)
    assert values is None
    return reasons


# --- keys ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "key"),
    [
        pytest.param("Oxford Shirt", "Oxford Shirt", id="plain"),
        pytest.param("  Oxford Shirt  ", "Oxford Shirt", id="trimmed"),
        pytest.param("Oxford   Shirt", "Oxford Shirt", id="spaces-collapsed"),
        pytest.param("Oxford\tShirt", "Oxford Shirt", id="tab-collapsed"),
        pytest.param("Oxford\r\n Shirt\n", "Oxford Shirt", id="line-breaks-collapsed"),
        pytest.param("Oxford\u00a0\u00a0Shirt", "Oxford Shirt", id="no-break-spaces-collapsed"),
        pytest.param("Oxford\u2003Shirt", "Oxford Shirt", id="em-space-collapsed"),
        pytest.param("Cafe\u0301 Noir", "Caf\u00e9 Noir", id="decomposed-e-acute-becomes-composed"),
        pytest.param("Caf\u00e9 Noir", "Caf\u00e9 Noir", id="composed-stays"),
        pytest.param("OXFORD shirt", "OXFORD shirt", id="case-kept"),
        # Issue 11: invisible characters removed, drawing-only compatibility forms folded (catalog.keys).
        pytest.param("\ufb01ne", "fine", id="ligature-folded"),
        pytest.param("Oxford Shirt\u200b", "Oxford Shirt", id="zero-width-space-removed"),
        pytest.param("\u202eOxford Shirt", "Oxford Shirt", id="bidi-override-removed"),
        pytest.param("\uff2f\uff58\uff46\uff4f\uff52\uff44", "Oxford", id="full-width-folded"),
        pytest.param("Size \u2460", "Size \u2460", id="circled-digit-kept"),
        pytest.param("10 m\u00b2", "10 m\u00b2", id="superscript-kept"),
    ],
)
@pytest.mark.parametrize("field", ["item_name", "color_name", "size_name"])
def test_keys_are_trimmed_collapsed_nfc_normalised_and_keep_their_case(field, cell, key):
    assert value_of(field, cell) == key


def test_decomposed_and_composed_spellings_give_the_same_key_and_case_does_not():
    decomposed = value_of("color_name", "Cre\u0300me")
    composed = value_of("color_name", "Cr\u00e8me")
    assert decomposed == composed
    assert value_of("color_name", "cr\u00e8me") != composed


@pytest.mark.parametrize(
    "cell",
    [pytest.param("", id="empty"), pytest.param("   ", id="spaces"), pytest.param(" \t\n ", id="whitespace"),
     pytest.param(None, id="none")],
)  # fmt: skip
@pytest.mark.parametrize("field", ["item_name", "color_name", "size_name"])
def test_required_keys_must_be_present(field, cell):
    assert reasons_for(field, cell) == [f"{field} is required"]


def test_a_short_row_misses_its_last_required_cells():
    headers = ["item_name", "color_name", "size_name"]
    parse = row_parser(map_columns(headers, VARIANTS), width=3)
    values, problems = parse(["Shirt"])
    assert values is None
    assert problems == [
        RowProblem("color_name", "", "color_name is required"),
        RowProblem("size_name", "", "size_name is required"),
    ]


@pytest.mark.parametrize(
    ("kind", "cells", "values"),
    [
        pytest.param("items", {"Item": " Polo ", "Description": " Soft "}, {"name": "Polo", "description": "Soft"},
                     id="items"),
        pytest.param("colors", {"color": "Sky  Blue"}, {"color_name": "Sky Blue"}, id="colors"),
        pytest.param("sizes", {"Size": " XL "}, {"size_name": "XL"}, id="sizes"),
    ],
)  # fmt: skip
def test_other_kinds_read_their_key_the_same_way(kind, cells, values):
    assert parse_row(cells, kind=kind) == (values, [])


@pytest.mark.parametrize(
    ("kind", "cells", "reasons"),
    [
        pytest.param("items", {"name": "  "}, ["name is required"], id="items"),
        pytest.param("colors", {"color_name": ""}, ["color_name is required"], id="colors"),
        pytest.param("sizes", {"size_name": None}, ["size_name is required"], id="sizes"),
    ],
)
def test_other_kinds_require_their_key(kind, cells, reasons):
    assert parse_row(cells, kind=kind) == (None, reasons)


# --- lengths ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "limit"),
    [
        pytest.param("item_name", 255, id="item_name-255"),
        pytest.param("color_name", 100, id="color_name-100"),
        pytest.param("size_name", 50, id="size_name-50"),
        pytest.param("sku", 64, id="sku-64"),
    ],
)
def test_lengths_within_the_schema_exactly_at_the_limit_is_accepted(field, limit):
    assert value_of(field, "x" * limit) == "x" * limit
    assert value_of(field, "  " + "\u00e9" * limit + "  ") == "\u00e9" * limit  # characters, after trimming
    assert reasons_for(field, "x" * (limit + 1)) == [f"{field} is longer than {limit} characters ({limit + 1})"]


def test_a_key_is_measured_after_normalisation():
    # 256 characters as written, 255 once the double space is collapsed.
    cell = "a" * 100 + "  " + "b" * 154
    assert len(cell) == 256
    assert value_of("item_name", cell) == "a" * 100 + " " + "b" * 154
    # A decomposed accent is two code points as written, one after NFC.
    assert value_of("size_name", "e\u0301" * 50) == "\u00e9" * 50
    # Invisible characters do not count; a folded ligature counts its letters.
    assert value_of("size_name", "M\u200b" * 50) == "M" * 50
    assert reasons_for("size_name", "\ufb03" * 17) == ["size_name is longer than 50 characters (51)"]
    assert reasons_for("size_name", "\u200b\u202e") == ["size_name is required"]


def test_items_kind_name_length():
    assert parse_row({"name": "n" * 255}, kind="items") == ({"name": "n" * 255, "description": None}, [])
    assert parse_row({"name": "n" * 256}, kind="items") == (None, ["name is longer than 255 characters (256)"])


# --- price -----------------------------------------------------------------------------

NOT_EITHER = "price is not a number written with a decimal point (1,299.00) or a decimal comma (1.299,00)"


def ambiguous(low: str, high: str, *, field: str = "price") -> str:
    return (
        f"{field} could be {low} or {high}: say whether the file writes numbers with a decimal point or a decimal comma"
    )


@pytest.mark.parametrize(
    ("cell", "price"),
    [
        pytest.param("19.99", Decimal("19.99"), id="two-places"),
        pytest.param("10.5", Decimal("10.50"), id="one-place"),
        pytest.param("10.50", Decimal("10.50"), id="two-places-trailing-zero"),
        pytest.param("10", Decimal("10.00"), id="whole"),
        pytest.param("0", Decimal("0.00"), id="zero"),
        pytest.param("0.00", Decimal("0.00"), id="zero-cents"),
        pytest.param("-0", Decimal("0.00"), id="minus-zero-is-zero"),
        pytest.param("+5", Decimal("5.00"), id="plus-sign"),
        pytest.param(".5", Decimal("0.50"), id="leading-point"),
        pytest.param("5.", Decimal("5.00"), id="trailing-point"),
        pytest.param(" 19.99 ", Decimal("19.99"), id="trimmed"),
        pytest.param("007.10", Decimal("7.10"), id="leading-zeros"),
        pytest.param("9999999999.99", Decimal("9999999999.99"), id="numeric-12-2-maximum"),
        pytest.param(Decimal("19.99"), Decimal("19.99"), id="json-number"),
        pytest.param(Decimal("1E+2"), Decimal("100.00"), id="json-number-exponent-is-exact"),
        pytest.param(100, Decimal("100.00"), id="int-cell"),
        pytest.param(19.99, Decimal("19.99"), id="xlsx-float"),
        pytest.param(21.990000000000002, Decimal("21.99"), id="xlsx-float-noise-read-at-excel-precision"),
        pytest.param(0.1 + 0.2, Decimal("0.30"), id="xlsx-float-sum"),
        pytest.param("'+5", Decimal("5.00"), id="formula-escaped"),
        # As spreadsheets write numbers: each of these reads one way only.
        pytest.param("12,50", Decimal("12.50"), id="decimal-comma"),
        pytest.param("1,5", Decimal("1.50"), id="decimal-comma-one-place"),
        pytest.param("1.299,00", Decimal("1299.00"), id="point-thousands-decimal-comma"),
        pytest.param("1,299.00", Decimal("1299.00"), id="comma-thousands-decimal-point"),
        pytest.param("1 299,00", Decimal("1299.00"), id="space-thousands"),
        pytest.param("1\u00a0299,00", Decimal("1299.00"), id="no-break-space-thousands"),
        pytest.param("1'299.00", Decimal("1299.00"), id="apostrophe-thousands-swiss"),
        pytest.param("12.500.000", Decimal("12500000.00"), id="several-point-groups-are-thousands"),
        pytest.param("€30", Decimal("30.00"), id="euro-before"),
        pytest.param("30 €", Decimal("30.00"), id="euro-after"),
        pytest.param("12,00 €", Decimal("12.00"), id="euro-after-decimal-comma"),
        pytest.param("30 EUR", Decimal("30.00"), id="code-after"),
        pytest.param("EUR 30", Decimal("30.00"), id="code-before"),
        pytest.param("$1,299.00", Decimal("1299.00"), id="dollar-thousands"),
        pytest.param("$19.99", Decimal("19.99"), id="dollar"),
        pytest.param("19.99 usd", Decimal("19.99"), id="code-lower-case"),
        pytest.param("CHF 1'299.50", Decimal("1299.50"), id="swiss-franc"),
    ],
)
def test_price_accepted(cell, price):
    value = value_of("price", cell)
    assert value == price
    assert str(value) == str(price)  # always two places, never -0.00


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        pytest.param("abc", "price is not a number (e.g. 19.99)", id="text"),
        pytest.param("19.99 XYZ", "price is not a number (e.g. 19.99)", id="unknown-currency-code"),
        pytest.param("$-5", "price must be 0 or more", id="negative-after-currency"),
        pytest.param("-$5", "price must be 0 or more", id="negative-before-currency"),
        pytest.param("--5", "price is not a number (e.g. 19.99)", id="two-minus-signs"),
        pytest.param("1_000", "price is not a number (e.g. 19.99)", id="underscore"),
        pytest.param("\u0661\u0662", "price is not a number (e.g. 19.99)", id="non-ascii-digits"),
        pytest.param("-1", "price must be 0 or more", id="negative"),
        pytest.param("-0.01", "price must be 0 or more", id="negative-cent"),
        pytest.param("1,2,3", NOT_EITHER, id="commas-that-are-not-groups"),
        pytest.param("1.2.3", NOT_EITHER, id="points-that-are-not-groups"),
        pytest.param("1,29.00", NOT_EITHER, id="thousands-group-of-two"),
        pytest.param("01,299.00", NOT_EITHER, id="thousands-group-with-a-leading-zero"),
        pytest.param("1.299.00", NOT_EITHER, id="two-kinds-of-grouping-no-decimal"),
        pytest.param("1,299 000.00", NOT_EITHER, id="two-thousands-separators"),
        pytest.param("10.500", ambiguous("10.5", "10500"), id="three-places-could-be-thousands"),
        pytest.param("1,000", ambiguous("1", "1000"), id="one-comma-group-could-be-a-decimal-comma"),
        pytest.param("NaN", "price is not a number (e.g. 19.99)", id="nan"),
        pytest.param("Infinity", "price is not a number (e.g. 19.99)", id="infinity"),
        pytest.param("-inf", "price is not a number (e.g. 19.99)", id="minus-inf"),
        pytest.param("1e2", "price is in scientific notation; write the number in full (e.g. 19.99)", id="exponent"),
        pytest.param(
            "1.23457E+10", "price is in scientific notation; write the number in full (e.g. 19.99)", id="excel-rounded"
        ),
        pytest.param("10.5555", "price has more than 2 decimal places", id="four-places"),
        pytest.param("10.555", ambiguous("10.555", "10555"), id="three-places-is-ambiguous-not-guessed"),
        pytest.param("0.001", "price has more than 2 decimal places", id="tenth-of-a-cent"),
        pytest.param(19.999, "price has more than 2 decimal places", id="xlsx-float-three-places"),
        pytest.param("10000000000", "price is larger than the maximum 9999999999.99", id="too-large-numeric-12-2"),
        pytest.param("1" + "0" * 40, "price is larger than the maximum 9999999999.99", id="forty-digits"),
        pytest.param(Decimal("1E+50"), "price is larger than the maximum 9999999999.99", id="json-huge"),
        pytest.param(Decimal("NaN"), "price is not a number (e.g. 19.99)", id="decimal-nan"),
        pytest.param(True, "price expected text or a number, found true", id="json-true"),
        pytest.param(datetime.date(2024, 1, 2), "price is not a number (e.g. 19.99)", id="xlsx-date"),
        pytest.param(ExcelError("#VALUE!"), "price is the Excel error #VALUE! (fix the formula that gives it)",
                     id="excel-error"),
    ],
)  # fmt: skip
def test_price_refused_with_a_specific_reason(cell, reason):
    assert reasons_for("price", cell) == [reason]


POINT_ONLY = "price is not a number written with a decimal point (1,299.00)"
COMMA_ONLY = "price is not a number written with a decimal comma (1.299,00)"


@pytest.mark.parametrize(
    ("cell", "auto", "point", "comma"),
    [
        ("1.000", ambiguous("1", "1000"), Decimal("1.00"), Decimal("1000.00")),
        ("10.500", ambiguous("10.5", "10500"), Decimal("10.50"), Decimal("10500.00")),
        ("12,50", Decimal("12.50"), POINT_ONLY, Decimal("12.50")),
        ("12.50", Decimal("12.50"), Decimal("12.50"), COMMA_ONLY),
        ("1,299.00", Decimal("1299.00"), Decimal("1299.00"), COMMA_ONLY),
        ("1.299,00", Decimal("1299.00"), POINT_ONLY, Decimal("1299.00")),
        ("1 299", Decimal("1299.00"), Decimal("1299.00"), Decimal("1299.00")),
        ("€ 1.299", ambiguous("1.299", "1299"), "price has more than 2 decimal places", Decimal("1299.00")),
        ("1e2", *["price is in scientific notation; write the number in full (e.g. 19.99)"] * 2,
         "price is in scientific notation; write the number in full (e.g. 19,99)"),
        ("abc", "price is not a number (e.g. 19.99)", "price is not a number (e.g. 19.99)",
         "price is not a number (e.g. 19,99)"),
    ],
)  # fmt: skip
def test_price_read_in_each_number_format(cell, auto, point, comma):
    for number_format, expected in ((AUTO, auto), (POINT, point), (COMMA, comma)):
        if isinstance(expected, Decimal):
            assert value_of("price", cell, number_format) == expected, number_format
        else:
            assert reasons_for("price", cell, number_format) == [expected], number_format


@pytest.mark.parametrize(
    ("cell", "number_format", "stock"),
    [
        ("12,0", COMMA, 12),
        ("12.0", POINT, 12),
        ("1.000", COMMA, 1000),
        ("1.000", POINT, 1),
        ("1,000", POINT, 1000),
        ("1.000.000", COMMA, 1_000_000),
    ],
)
def test_stock_read_in_a_chosen_number_format(cell, number_format, stock):
    assert value_of("stock", cell, number_format) == stock


# --- stock -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "stock"),
    [
        pytest.param("5", 5, id="digits"),
        pytest.param("0", 0, id="zero"),
        pytest.param("+5", 5, id="plus-sign"),
        pytest.param(" 5 ", 5, id="trimmed"),
        pytest.param("007", 7, id="leading-zeros"),
        pytest.param("5.0", 5, id="text-whole-decimal"),
        pytest.param("5.00", 5, id="text-whole-decimal-two-places"),
        pytest.param("12,0", 12, id="text-whole-decimal-comma"),
        pytest.param("-0", 0, id="minus-zero"),
        pytest.param("2147483647", 2_147_483_647, id="integer-maximum"),
        pytest.param(5, 5, id="int-cell"),
        pytest.param(5.0, 5, id="xlsx-float-whole"),
        pytest.param(5.000000000000001, 5, id="xlsx-float-noise"),
        pytest.param(Decimal("5.0"), 5, id="json-decimal-whole"),
        pytest.param(Decimal("1E+3"), 1000, id="json-exponent"),
    ],
)
def test_stock_accepted(cell, stock):
    value = value_of("stock", cell)
    assert value == stock
    assert type(value) is int


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        pytest.param("5.5", "stock must be a whole number", id="fraction"),
        pytest.param(5.5, "stock must be a whole number", id="xlsx-fraction"),
        pytest.param(Decimal("0.5"), "stock must be a whole number", id="json-fraction"),
        pytest.param("-1", "stock must be 0 or more", id="negative"),
        pytest.param(-1, "stock must be 0 or more", id="negative-int"),
        pytest.param(-1.0, "stock must be 0 or more", id="negative-xlsx-float"),
        pytest.param("-1.5", "stock must be 0 or more", id="negative-fraction"),
        pytest.param("2147483648", "stock is larger than the maximum 2147483647", id="too-large-for-integer"),
        pytest.param(2_147_483_648, "stock is larger than the maximum 2147483647", id="too-large-int"),
        pytest.param("9" * 5000, "stock is larger than the maximum 2147483647", id="five-thousand-digits"),
        pytest.param(1e20, "stock is larger than the maximum 2147483647", id="xlsx-huge"),
        pytest.param("abc", "stock is not a number (a whole number, e.g. 12)", id="text"),
        pytest.param("NaN", "stock is not a number (a whole number, e.g. 12)", id="nan"),
        pytest.param("1.000", ambiguous("1", "1000", field="stock"), id="one-thousand-or-one"),
        pytest.param("12,5", "stock must be a whole number", id="decimal-comma-fraction"),
        pytest.param("1,299", ambiguous("1.299", "1299", field="stock"), id="not-guessed-from-being-a-stock"),
        pytest.param(
            "1e3", "stock is in scientific notation; write the number in full (a whole number, e.g. 12)", id="exponent"
        ),
        pytest.param("\uff15", "stock is not a number (a whole number, e.g. 12)", id="full-width-digit"),
        pytest.param(False, "stock expected text or a number, found false", id="json-false"),
        pytest.param("'-5", "stock must be 0 or more", id="formula-escaped-negative"),
    ],
)
def test_stock_refused_with_a_specific_reason(cell, reason):
    assert reasons_for("stock", cell) == [reason]


# --- control characters ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "cell", "reason"),
    [
        pytest.param("item_name", "Oxf\x00ord", "item_name contains a control character (U+0000) at position 4",
                     id="nul-in-name"),
        pytest.param("color_name", " \x1fRed", "color_name contains a control character (U+001F) at position 2",
                     id="unit-separator-counted-before-trimming"),
        pytest.param("size_name", "M\x0b", "size_name contains a control character (U+000B) at position 2",
                     id="vertical-tab-in-name"),
        pytest.param("item_name", "Shirt\x7f", "item_name contains a control character (U+007F) at position 6",
                     id="delete"),
        pytest.param("item_name", "Shirt\x85", "item_name contains a control character (U+0085) at position 6",
                     id="c1-next-line"),
        pytest.param("description", "Soft\x00", "description contains a control character (U+0000) at position 5",
                     id="nul-in-description"),
        pytest.param("description", "\x0cpage", "description contains a control character (U+000C) at position 1",
                     id="form-feed-in-description"),
        pytest.param("sku", "AB\tC", "sku contains a control character (U+0009) at position 3", id="tab-in-sku"),
        pytest.param("sku", " AB\nC", "sku contains a control character (U+000A) at position 4",
                     id="line-feed-in-sku-position-as-written"),
        pytest.param("sku", "AB\rC", "sku contains a control character (U+000D) at position 3", id="cr-in-sku"),
        pytest.param("sku", "AB\x00", "sku contains a control character (U+0000) at position 3", id="nul-in-sku"),
    ],
)  # fmt: skip
def test_control_characters_are_refused_with_their_position(field, cell, reason):
    assert reasons_for(field, cell) == [reason]


@pytest.mark.parametrize(
    ("field", "cell", "value"),
    [
        pytest.param("description", "Line 1\nLine 2\tindented", "Line 1\nLine 2\tindented", id="description-keeps"),
        pytest.param("description", "Line 1\r\nLine 2\rLine 3", "Line 1\nLine 2\nLine 3", id="description-crlf-to-lf"),
        pytest.param("description", "\n  Soft cotton \r\n", "Soft cotton", id="description-trimmed"),
        pytest.param("item_name", "Oxford\tShirt\r\n", "Oxford Shirt", id="name-collapses"),
        pytest.param("sku", "\tAB-12 \r\n", "AB-12", id="sku-trimmed-at-the-ends"),
        pytest.param("sku", "AB  12", "AB  12", id="sku-inner-spaces-kept"),
    ],
)
def test_tab_line_feed_and_carriage_return(field, cell, value):
    assert value_of(field, cell) == value


# --- empty cells and absent columns -----------------------------------------------------


def test_an_empty_cell_in_a_present_column_is_empty_text_or_null():
    values, reasons = parse_row({**KEYS, "description": "", "sku": "  ", "price": "", "stock": None})
    assert reasons == []
    assert values == {**KEYS, "description": "", "sku": "", "price": None, "stock": None}


def test_an_absent_column_gives_none_for_every_field_type():
    values, reasons = parse_row(dict(KEYS))
    assert reasons == []
    assert values == {**KEYS, "description": None, "sku": None, "price": None, "stock": None}


# --- the whole row ------------------------------------------------------------------------


def test_a_row_with_several_problems_reports_all_of_them_in_column_order():
    headers = ["Item", "Color", "Size", "SKU", "Price", "Stock"]
    parse = row_parser(map_columns(headers, VARIANTS), width=len(headers))
    values, problems = parse(["", "Navy", "S" * 51, "A\tB", "-1", "2.5", "surplus"])
    assert values is None
    assert problems == [
        RowProblem("Item", "", "Item is required"),
        RowProblem("Size", "S" * 51, "Size is longer than 50 characters (51)"),
        RowProblem("SKU", "A\tB", "SKU contains a control character (U+0009) at position 2"),
        RowProblem("Price", "-1", "Price must be 0 or more"),
        RowProblem("Stock", "2.5", "Stock must be a whole number"),
        RowProblem("", "", "the row has 7 cells but the header has 6: check the delimiter or quoting"),
    ]


def test_reasons_name_the_column_as_the_file_writes_it():
    headers = [" Item Name ", "Colour", "color", "size"]
    parse = row_parser(map_columns(headers, VARIANTS), width=len(headers))
    _, problems = parse(["", "ignored", "Red", "M"])
    assert problems == [RowProblem(" Item Name ", "", "Item Name is required")]


@pytest.mark.parametrize(
    ("extra", "reasons"),
    [
        pytest.param(["x"], ["the row has 4 cells but the header has 3: check the delimiter or quoting"], id="text"),
        pytest.param(["", "0"], ["the row has 5 cells but the header has 3: check the delimiter or quoting"],
                     id="zero-after-empty"),
        pytest.param(["", None, "  ", "\t"], [], id="empty-or-whitespace-extras-are-fine"),
    ],
)  # fmt: skip
def test_cells_beyond_the_header_must_be_empty(extra, reasons):
    values, found = parse_row(dict(KEYS), extra=extra)
    assert found == reasons
    assert (values is None) == bool(reasons)


def test_a_row_the_reader_could_not_read_is_one_problem():
    parse = row_parser(map_columns(list(KEYS), VARIANTS), width=3)
    values, problems = parse([NotAnObject("the line is not valid JSON (Expecting value, column 3)", raw='{"a": }')])
    assert values is None
    assert problems == [RowProblem("", '{"a": }', "the line is not valid JSON (Expecting value, column 3)")]


def test_values_come_in_the_kinds_field_order_whatever_the_file_order():
    headers = ["stock", "price", "sku", "size", "color", "description", "item"]
    parse = row_parser(map_columns(headers, VARIANTS), width=len(headers))
    values, problems = parse(["3", "1.5", "SKU-1", "M", "Navy", "Soft", "Polo"])
    assert problems == []
    assert values == ("Polo", "Soft", "Navy", "M", "SKU-1", Decimal("1.50"), 3)


# --- typed cells and formula-escaped cells ------------------------------------------------


@pytest.mark.parametrize(
    ("field", "cell", "reason"),
    [
        pytest.param("item_name", True, "item_name expected text or a number, found true", id="bool-name"),
        pytest.param("description", False, "description expected text or a number, found false", id="bool-text"),
        pytest.param("sku", True, "sku expected text or a number, found true", id="bool-sku"),
        pytest.param("color_name", {"en": "Red"}, "color_name expected a single value, found a nested JSON object",
                     id="nested-object"),
        pytest.param("size_name", ["M", "L"], "size_name expected a single value, found a nested JSON array",
                     id="nested-array"),
        pytest.param("item_name", ExcelError("#N/A"),
                     "item_name is the Excel error #N/A (fix the formula that gives it)", id="excel-error-in-name"),
        pytest.param("price", UnsavedFormula("=B2*1.2"),
                     "price is a formula (=B2*1.2) whose result was never saved: open the file in a spreadsheet "
                     "program, save it and import it again", id="unsaved-formula"),
        pytest.param("description", ExcelError("#REF!"),
                     "description is the Excel error #REF! (fix the formula that gives it)", id="excel-error-in-text"),
    ],
)  # fmt: skip
def test_cells_that_are_not_a_single_value_are_refused(field, cell, reason):
    assert reasons_for(field, cell) == [reason]


def test_a_refused_typed_cell_is_shown_as_json():
    parse = row_parser(map_columns(list(KEYS), VARIANTS), width=3)
    _, problems = parse(["Shirt", {"en": "Red"}, True])
    assert [p.value for p in problems] == ['{"en": "Red"}', "true"]


@pytest.mark.parametrize(
    ("field", "cell", "value"),
    [
        pytest.param("size_name", 42, "42", id="int"),
        pytest.param("size_name", 42.0, "42", id="xlsx-whole-float"),
        pytest.param("size_name", 42.5, "42.5", id="xlsx-float"),
        pytest.param("sku", 12345678901234.0, "12345678901234", id="xlsx-long-number"),
        pytest.param("sku", 0.30000000000000004, "0.3", id="xlsx-float-at-excel-precision"),
        pytest.param("size_name", Decimal("1E+2"), "100", id="json-exponent-written-out"),
        pytest.param("size_name", Decimal("36.50"), "36.50", id="json-decimal-as-written"),
        pytest.param("size_name", datetime.datetime(2024, 3, 1), "2024-03-01", id="xlsx-date-at-midnight"),
        pytest.param("size_name", datetime.datetime(2024, 3, 1, 9, 30), "2024-03-01T09:30:00", id="xlsx-datetime"),
        pytest.param("size_name", datetime.date(2024, 3, 1), "2024-03-01", id="date"),
        pytest.param("size_name", datetime.time(9, 30), "09:30:00", id="time"),
    ],
)
def test_typed_cells_in_text_columns(field, cell, value):
    assert value_of(field, cell) == value


@pytest.mark.parametrize(
    ("field", "cell", "value"),
    [
        pytest.param("description", "'=1+1", "=1+1", id="equals"),
        pytest.param("description", "'+1", "+1", id="plus"),
        pytest.param("item_name", "'-Shirt", "-Shirt", id="minus"),
        pytest.param("item_name", "'@Shirt", "@Shirt", id="at"),
        pytest.param("description", "'\tTabbed", "Tabbed", id="tab-then-trimmed"),
        pytest.param("item_name", "'Shirt", "'Shirt", id="quote-before-ordinary-text-kept"),
        pytest.param("item_name", "''=x", "''=x", id="only-one-quote-before-a-formula-character"),
    ],
)
def test_formula_escaped_cells_are_read_back(field, cell, value):
    assert value_of(field, cell) == value


# --- cell_text --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "text"),
    [
        pytest.param(None, "", id="none"),
        pytest.param("", "", id="empty"),
        pytest.param(" a ", " a ", id="text-untrimmed"),
        pytest.param("'=SUM(A1)", "=SUM(A1)", id="escaped-formula"),
        pytest.param(0, "0", id="zero"),
        pytest.param(1.5, "1.5", id="float"),
        pytest.param(1e16, "10000000000000000", id="big-float-written-out"),
        pytest.param(1e-7, "0.0000001", id="small-float-written-out"),
        pytest.param(float("nan"), "NaN", id="nan"),
        pytest.param(Decimal("1E+400"), "1E+400", id="absurd-exponent-not-expanded"),
    ],
)
def test_cell_text(cell, text):
    assert cell_text(cell) == text


@pytest.mark.parametrize(
    "cell",
    [pytest.param(True, id="bool"), pytest.param({}, id="dict"), pytest.param([], id="list"),
     pytest.param(ExcelError("#N/A"), id="excel-error")],
)  # fmt: skip
def test_cell_text_refuses_what_is_not_a_single_value(cell):
    with pytest.raises(CellProblem):
        cell_text(cell)


# --- chunk_parser: the fast path must agree with row_parser ----------------------

#: Cells the fast path must judge itself: text of printable ASCII, numbers written as text.
PLAIN_POOL = {
    "name": [
        "Shirt",
        "  Oxford   Shirt ",
        "",
        "   ",
        "X" * 255,
        "X" * 256,
        " " + "Y" * 255 + " ",
        "M",
        "'=SUM(A1)",
        "it's",
    ],
    "text": ["Cotton", "", "  padded  ", "Z" * 5000],
    "code": ["SKU-1", "", " S ", "X" * 64, "X" * 65, " " + "Q" * 64 + " ", "'-5"],
    "decimal": [
        "1.234",
        "0.001",
        "10.5",
        "10.50",
        "10.500",
        "0",
        "",
        " 3 ",
        "-1",
        "1,5",
        "1e2",
        "abc",
        "12345678901",
        "9999999999.99",
        "10000000000",
        "+5",
        ".5",
        "5.",
        "NaN",
        "1.2.3",
        "-0",
        "12,50",
        "1.299,00",
        "1,299.00",
        "1,000",
        "12,5",
        "\u20ac30",
        "30 EUR",
    ],
    "count": [
        "5",
        "",
        "+5",
        "5.0",
        "5.5",
        "-1",
        "0",
        "2147483647",
        "2147483648",
        "9999999999",
        "007",
        " 8 ",
        "1e3",
        "12,0",
        "1.000",
        "1,000",
    ],
}
#: Text the fast path must send to the careful path cell by cell: control characters, non-ASCII.
ODD_TEXT_POOL = {
    "name": [
        "Caf\u00e9",
        "Cafe\u0301",
        "a\tb",
        "a\x01b",
        "\u00a0Navy\u00a0",
        "\u00c5land",
        "Navy\u200b",
        "\u202eNavy",
        "\uff2e\uff41\uff56\uff59",
        "\ufb03" * 100,
        "\u200b" * 3,
        "R\u0435d",
    ],
    "text": ["two\nlines", "cr\r\nlf", "bad\x00nul", "\u00e9t\u00e9"],
    "code": ["A\tB", "AB\n", "\u00e9", "a\x1fb"],
    "decimal": ["\u0665", "1\u00a0000"],
    "count": ["\u0665", "\t5"],
}
#: Typed cells (XLSX, JSON): empty cells, numbers the fast path vouches for, and the ones it must not.
TYPED_POOL = {
    "name": [None, 42, 4.5, True],
    "text": [None, 7, datetime.date(2026, 1, 2)],
    "code": [None, 12, 1.5],
    "decimal": [
        None, 10.25, 3, 12.5, 10.0, 0.1 + 0.2, 1e-05, 1e20, -0.0, -3.5, 12.345, 0.005, -2, 10**12, 99999999.99,
        float("nan"), float("inf"), True, Decimal("1.50"), 123456789012.0,
    ],
    "count": [
        None, 5.0, True, 7, 7.5, -1, -1.0, 2**31, 2147483647.0, 2147483648.0, 1e15, float("nan"), 0.0,
        2.9999999999999996,
    ],
}  # fmt: skip
POOLS = (PLAIN_POOL, ODD_TEXT_POOL, TYPED_POOL)


def _same_value(fast, slow) -> bool:
    if fast == slow:
        return True
    if isinstance(slow, Decimal | int) and isinstance(fast, str):
        return Decimal(fast) == slow
    return False


@pytest.mark.parametrize("number_format", [AUTO, POINT, COMMA])
@pytest.mark.parametrize(("seed", "pools"), [(seed, 1 + seed % 3) for seed in range(12)])
def test_chunk_parser_gives_the_same_values_and_problems_as_row_parser(seed, pools, number_format):
    import random

    from imports.engine.rows import chunk_parser

    rng = random.Random(seed)
    headers = list(VARIANTS.column_names)
    columns = map_columns(headers, VARIANTS)
    by_row = row_parser(columns, width=len(headers), number_format=number_format)
    by_chunk = chunk_parser(columns, width=len(headers), number_format=number_format)
    plain = ["Shirt", "desc", "Navy", "M", "SKU", "10,50" if number_format == COMMA else "10.50", "3"]
    rows = []
    for _ in range(400):
        cells = list(plain)
        for index in rng.sample(range(len(headers)), rng.randint(0, 2)):
            field_type = VARIANTS.columns[index].type
            pool = [cell for chosen in POOLS[:pools] for cell in chosen[field_type]]
            cells[index] = rng.choice(pool)
        if rng.random() < 0.05:
            cells = cells[: rng.randint(1, len(cells))] if rng.random() < 0.5 else [*cells, rng.choice(["", "x"])]
        rows.append(cells)
    parsed = by_chunk(rows)
    assert len(parsed.problems) > 20, "the pool should produce invalid rows"
    assert len(parsed.problems) < len(rows) - 100, "and plenty of valid ones"
    for i, cells in enumerate(rows):
        values, problems = by_row(cells)
        assert parsed.problems.get(i, []) == problems, cells
        fast = [column[i] for column in parsed.columns]
        if values is None:
            assert fast == [None] * len(headers)
        else:
            assert all(_same_value(f, s) for f, s in zip(fast, values, strict=True)), (cells, fast, values)


@pytest.mark.parametrize("number_format", [AUTO, POINT, COMMA])
def test_a_sheet_of_typed_numbers_takes_the_fast_path_with_the_careful_paths_values(number_format, monkeypatch):
    """XLSX prices and stocks are floats and ints, empty cells None: plain ones need no row-by-row parse."""
    import random

    from imports.engine import rows as rows_module

    careful_calls = []
    row_parser_of = rows_module.row_parser

    def counting_row_parser(*args, **kwargs):
        parse_row = row_parser_of(*args, **kwargs)

        def counted(cells):
            careful_calls.append(cells)
            return parse_row(cells)

        return counted

    monkeypatch.setattr(rows_module, "row_parser", counting_row_parser)
    rng = random.Random(7)
    headers = list(VARIANTS.column_names)
    columns = map_columns(headers, VARIANTS)
    plain_rows = [
        [
            "Shirt",
            None,
            "Navy",
            "M",
            f"SKU-{n}",
            rng.choice([10.5, 12.0, 3, 0.99, None]),
            rng.choice([7.0, 0, 12, None]),
        ]
        for n in range(500)
    ]
    parsed = rows_module.chunk_parser(columns, width=len(headers), number_format=number_format)(plain_rows)
    assert careful_calls == []
    by_row = row_parser_of(columns, width=len(headers), number_format=number_format)
    for i, cells in enumerate(plain_rows):
        values, problems = by_row(cells)
        assert problems == []
        assert i not in parsed.problems
        assert all(_same_value(f, s) for f, s in zip([c[i] for c in parsed.columns], values, strict=True)), cells

    doubtful_rows = [["Shirt", "", "Navy", "M", "S", price, 1] for price in (12.345, 1e-05, -3.5, float("nan"))]
    parsed = rows_module.chunk_parser(columns, width=len(headers), number_format=number_format)(doubtful_rows)
    assert len(careful_calls) == len(doubtful_rows)  # each went the careful way, which refuses it
    assert sorted(parsed.problems) == [0, 1, 2, 3]
