"""Pages of the catalog lists (``catalog.pagination``): numbers near the start, cursors deeper, a bounded count."""

from __future__ import annotations

import base64
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog import counting, pagination
from catalog.models import Color, ItemVariant


@pytest.fixture
def variants(make_item, make_color, make_size, make_variant):
    """5 items x 3 colors x 2 sizes = 30 live variants, and a deleted twin of the first one."""
    colors = [make_color(name) for name in ("Navy", "Red", "Teal")]
    sizes = [make_size(name) for name in ("S", "M")]
    rows = []
    for n in range(5):
        item = make_item(f"Item {n}")
        rows += [
            make_variant(item, color, size, sku=f"SKU-{n}-{color.pk}-{size.pk}") for color in colors for size in sizes
        ]
    first = rows[0]
    make_variant(first.item, first.color, first.size, sku="old", deleted_at=timezone.now())
    return rows


def walk(api, url, params, link="next", key="variant_id"):
    """Every page from ``url`` on, following ``link``: [(ids, page body), ...]."""
    pages = []
    body = api.get(url, params).json()
    while True:
        pages.append(([row[key] for row in body["results"]], body))
        if not body[link]:
            return pages
        response = api.get(body[link])
        assert response.status_code == 200, response.content
        body = response.json()


def test_following_next_links_past_the_numbered_rows_visits_every_row_once_in_order(api, variants, monkeypatch):
    monkeypatch.setattr(pagination, "NUMBERED_ROWS", 8)
    pages = walk(api, "/api/variants/", {"page_size": 4})
    ids = [pk for page, _ in pages for pk in page]
    expected = list(
        ItemVariant.objects.order_by("item_id", "color_id", "size_id", "variant_id").values_list("pk", flat=True)
    )
    assert ids == expected
    links = [body["next"] for _, body in pages[:-1]]
    assert "page=2" in links[0]
    assert "cursor=" in links[1]  # page 3 would start past the 8 numbered rows
    assert "page=" not in links[1]
    assert all("cursor=" in link for link in links[1:])


def test_previous_links_walk_back_over_the_same_pages(api, variants, monkeypatch):
    monkeypatch.setattr(pagination, "NUMBERED_ROWS", 8)
    forward = walk(api, "/api/variants/", {"page_size": 4, "status": "all"})
    last_url = forward[-2][1]["next"]
    backward = walk(api, last_url, {}, link="previous")
    assert [ids for ids, _ in backward] == [ids for ids, _ in reversed(forward)]
    assert sum(len(ids) for ids, _ in forward) == 31  # status=all: the deleted twin too, once


def test_a_page_number_past_the_numbered_rows_is_a_400_saying_to_follow_the_links(api, variants, monkeypatch):
    monkeypatch.setattr(pagination, "NUMBERED_ROWS", 8)
    assert api.get("/api/variants/", {"page_size": 4, "page": 2}).status_code == 200
    response = api.get("/api/variants/", {"page_size": 4, "page": 3})
    assert response.status_code == 400
    assert "Follow the next links" in str(response.json())


def encoded(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "x",
        encoded({"x": [1, 1, 1, 1]}),
        encoded({}),
        encoded({"n": [1]}),
        encoded({"n": ["1", 1, 1, 1]}),
        encoded({"n": [True, 1, 1, 1]}),
        encoded({"n": [1, 1, 1, 2**63]}),
        encoded([1, 1, 1, 1]),
    ],
    ids=["not base64", "wrong key", "empty", "too short", "text for a number", "a boolean", "past bigint", "a list"],
)
def test_a_cursor_that_is_not_a_position_of_the_list_is_a_400(api, variants, cursor):
    response = api.get("/api/variants/", {"cursor": cursor})
    assert response.status_code == 400, response.content
    assert "cursor" in response.json()["errors"]


def test_a_text_cursor_value_nul_is_a_400_not_a_500(api, variants):
    assert api.get("/api/items/", {"cursor": encoded({"n": ["a\u0000b", 1]})}).status_code == 400
    assert api.get("/api/items/", {"cursor": encoded({"n": ["Item 1", 1]})}).status_code == 200


def test_a_page_and_a_cursor_together_are_a_400(api, variants):
    response = api.get("/api/variants/", {"cursor": encoded({"n": [1, 1, 1, 1]}), "page": 2})
    assert response.status_code == 400
    assert api.get("/api/variants/", {"cursor": encoded({"n": [1, 1, 1, 1]})}).status_code == 200


def test_counts_are_exact_up_to_the_bound_then_estimated(api, variants, monkeypatch):
    body = api.get("/api/variants/").json()
    assert (body["count"], body["count_is_exact"]) == (30, True)
    monkeypatch.setattr(pagination, "list_count", lambda queryset: counting.list_count(queryset, exact_up_to=10))
    body = api.get("/api/variants/").json()
    if connection.vendor == "postgresql":
        assert body["count_is_exact"] is False
        assert body["count"] >= 11  # never below what was seen
    else:
        assert (body["count"], body["count_is_exact"]) == (30, True)  # SQLite counts


def test_cursors_work_on_every_list(api, variants, make_item, monkeypatch):
    monkeypatch.setattr(pagination, "NUMBERED_ROWS", 2)
    for url, key in (("/api/items/", "item_id"), ("/api/colors/", "color_id"), ("/api/sizes/", "size_id")):
        pages = walk(api, url, {"page_size": 2}, key=key)
        seen = [row[key] for _, body in pages for row in body["results"]]
        assert len(seen) == len(set(seen)) == pages[0][1]["count"], url
    names = [
        row["color_name"]
        for _, body in walk(api, "/api/colors/", {"page_size": 1}, key="color_id")
        for row in body["results"]
    ]
    assert names == sorted(Color.objects.values_list("color_name", flat=True))


@pytest.mark.postgresql
def test_the_filters_have_their_indexes(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE indexname IN ("
            "'item_master_name_upper_trgm', 'color_master_color_name_upper_trgm', 'size_master_size_name_upper_trgm', "
            "'item_variant_sku_upper', 'item_variant_color_size_live')"
        )
        indexes = dict(cursor.fetchall())
    assert "gin (upper((name)::text) gin_trgm_ops)" in indexes["item_master_name_upper_trgm"]
    assert "gin (upper((color_name)::text) gin_trgm_ops)" in indexes["color_master_color_name_upper_trgm"]
    assert "gin (upper((size_name)::text) gin_trgm_ops)" in indexes["size_master_size_name_upper_trgm"]
    assert "upper((sku)::text)" in indexes["item_variant_sku_upper"]
    assert (
        "(color_id, size_id, item_id, variant_id) WHERE (deleted_at IS NULL)" in indexes["item_variant_color_size_live"]
    )


def test_a_list_nothing_matches_is_answered_without_reading_a_page(api, variants):
    """Its count found no id, so no page is read (at a million variants the read walked them all)."""
    with CaptureQueriesContext(connection) as queries:
        body = api.get("/api/variants/", {"name": "Item 1", "color": "Navy", "size": "XXL"}).json()
    # The ids, and no page (around them, on PostgreSQL, the name search's planner settings and
    # their transaction: ``selectors.name_search_plan``).
    variant_reads = [query["sql"] for query in queries if '"item_variant"' in query["sql"]]
    assert len(variant_reads) == 1
    assert variant_reads[0].startswith('SELECT "item_variant"."variant_id" AS "pk" FROM')
    assert (body["count"], body["count_is_exact"], body["results"], body["next"]) == (0, True, [], None)


def test_a_short_list_is_read_by_its_ids_in_the_lists_order(api, variants, monkeypatch):
    """A list within the exact count is read by the ids the count found: the same pages, in order."""
    navy_m = sorted(
        (v for v in variants if (v.color.color_name, v.size.size_name) == ("Navy", "M")),
        key=lambda v: (v.item_id, v.color_id, v.size_id, v.pk),
    )
    monkeypatch.setattr(pagination, "NUMBERED_ROWS", 2)
    pages = walk(api, "/api/variants/", {"color": "navy", "size": "m", "page_size": 2})
    assert [ids for ids, _ in pages] == [[v.pk for v in navy_m[:2]], [v.pk for v in navy_m[2:4]], [navy_m[4].pk]]
    assert pages[0][1]["count"] == 5
