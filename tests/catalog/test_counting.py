"""How many rows a catalog list has: exact (with the rows' ids) up to a bound, PostgreSQL's estimate past it."""

from __future__ import annotations

from django.db import connection

from catalog.counting import list_count
from catalog.models import Color


def test_a_short_list_is_counted_exactly_with_its_ids(make_color):
    colors = [make_color(f"Color {n}") for n in range(4)]

    count = list_count(Color.objects.filter(color_name__in=["Color 1", "Color 3"]), exact_up_to=3)

    assert (count.rows, count.exact) == (2, True)
    assert sorted(count.ids) == [colors[1].pk, colors[3].pk]
    assert list_count(Color.objects.filter(color_name="none")) == (0, True, [])


def test_past_the_bound_the_count_is_estimated_without_ids(make_color):
    for n in range(5):
        make_color(f"Color {n}")

    count = list_count(Color.objects.all(), exact_up_to=3)

    assert count.ids is None
    if connection.vendor == "postgresql":
        assert (count.exact, count.rows >= 4) == (False, True)  # never below what was seen
    else:
        assert (count.rows, count.exact) == (5, True)  # SQLite counts
