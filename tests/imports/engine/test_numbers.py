"""Numbers as spreadsheets write them: each format's readings, the ambiguous cases, and detection from a file."""

from __future__ import annotations

from decimal import Decimal

import pytest

from catalog.kinds import KINDS
from imports.engine.columns import map_columns
from imports.engine.numbers import (
    AUTO,
    COMMA,
    POINT,
    NumberProblem,
    detect_number_format,
    effective_format,
    parse_number,
)
from imports.engine.rows import NUMBER_SAMPLE_ROWS, read_numbers_as


@pytest.mark.parametrize(
    ("text", "number_format", "value"),
    [
        ("12,50", COMMA, "12.50"),
        ("12.50", POINT, "12.50"),
        ("1.299,00", COMMA, "1299.00"),
        ("1,299.00", POINT, "1299.00"),
        ("1 299,00", COMMA, "1299.00"),
        ("1\u202f299,00", COMMA, "1299.00"),  # narrow no-break space, as French locales write it
        ("1'299.00", POINT, "1299.00"),
        ("1.000", COMMA, "1000"),
        ("1.000", POINT, "1.000"),
        ("\u20ac30", AUTO, "30"),
        ("30 EUR", AUTO, "30"),
        ("$1,299.00", AUTO, "1299.00"),
        ("\u00a312.5", AUTO, "12.5"),
        ("kr 12,50", AUTO, "12.50"),
        ("-1,5", AUTO, "-1.5"),
        ("+ 7", AUTO, "7"),
        (",5", COMMA, "0.5"),
        (".5", POINT, "0.5"),
        ("5,", COMMA, "5"),
    ],
)
def test_parse_number_reads_what_the_format_says(text, number_format, value):
    assert parse_number(text, number_format) == Decimal(value)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1.000", "could be 1 or 1000"),
        ("1,000", "could be 1 or 1000"),
        ("12.345", "could be 12.345 or 12345"),
    ],
)
def test_auto_refuses_a_value_with_two_readings_and_names_both(text, reason):
    with pytest.raises(NumberProblem) as refused:
        parse_number(text, AUTO)
    assert refused.value.reason.startswith(reason)


@pytest.mark.parametrize(
    ("text", "reason", "example_helps"),
    [
        ("1e3", "is in scientific notation; write the number in full", True),
        ("NaN", "is not a number", True),
        ("-Infinity", "is not a number", True),
        ("12 apples", "is not a number", True),
        ("12,50", "is not a number written with a decimal point (1,299.00)", False),
    ],
)
def test_refusals_say_why_and_whether_an_example_would_help(text, reason, example_helps):
    with pytest.raises(NumberProblem) as refused:
        parse_number(text, POINT)
    assert (refused.value.reason, refused.value.example_helps) == (reason, example_helps)


@pytest.mark.parametrize(
    ("texts", "told"),
    [
        (["12,50", "3", "7,00"], COMMA),
        (["1.299,00"], COMMA),
        (["12.5", "1,299.00"], POINT),
        (["\u20ac 9,99"], COMMA),
        (["12", "1.000", "1,000"], None),  # whole numbers and two-way values say nothing
        (["12,50", "12.50"], None),  # both: the file does not say
        ([], None),
        (["abc", "1e3"], None),
    ],
)
def test_detect_number_format_from_values_that_read_one_way_only(texts, told):
    assert detect_number_format(texts) == told


@pytest.mark.parametrize(
    ("chosen", "detected", "effective"),
    [(POINT, COMMA, POINT), (COMMA, None, COMMA), (AUTO, COMMA, COMMA), (AUTO, None, AUTO), ("", POINT, POINT)],
)
def test_the_users_choice_wins_over_what_the_file_says(chosen, detected, effective):
    assert effective_format(chosen, detected) == effective


VARIANTS = KINDS.get("variants")
HEADERS = ["item_name", "color_name", "size_name", "price", "stock"]


def rows_with(prices: list[str]) -> list[tuple[int, list]]:
    return [(n, ["Shirt", "Red", f"S{n}", price, "1"]) for n, price in enumerate(prices, start=1)]


def test_read_numbers_as_asks_the_first_rows_and_gives_every_row_back():
    rows = rows_with(["10", "1.000", "12,50", *["5"] * 2000])
    reading, again = read_numbers_as(iter(rows), map_columns(HEADERS, VARIANTS))
    assert (reading.number_format, reading.told) == (COMMA, COMMA)
    assert list(again) == rows


def test_read_numbers_as_looks_no_further_than_the_sample():
    rows = rows_with(["5"] * NUMBER_SAMPLE_ROWS + ["12,50"])
    reading, again = read_numbers_as(iter(rows), map_columns(HEADERS, VARIANTS))
    assert (reading.number_format, reading.told) == (AUTO, None)
    assert len(list(again)) == NUMBER_SAMPLE_ROWS + 1


def test_read_numbers_as_keeps_the_users_choice_and_does_not_ask():
    reading, _ = read_numbers_as(iter(rows_with(["12,50"])), map_columns(HEADERS, VARIANTS), chosen=POINT)
    assert (reading.number_format, reading.told) == (POINT, None)


def test_only_price_and_stock_cells_tell_the_format():
    rows = [(1, ["Shirt 1,5", "Red", "1.299,00", "10", "1"])]  # a size name that looks like a number
    reading, _ = read_numbers_as(iter(rows), map_columns(HEADERS, VARIANTS))
    assert reading.told is None
