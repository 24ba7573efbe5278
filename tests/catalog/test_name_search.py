"""``?name=`` on items and variants: part of the item's name in any case, in the list's order, whatever the term.

A term's length decides how PostgreSQL is told to find the names
(``selectors.name_search_plan``: trigrams from three letters or digits in a
row, a walk of ``item_master_live_name_upper`` below that), and a page is
found by its ids before its rows are read (``pagination._read``). Neither
may change what a list answers: these tests ask with short and long terms,
on every page, on PostgreSQL and SQLite.
"""

from __future__ import annotations

import importlib

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from catalog import pagination
from catalog.models import Item, ItemVariant
from catalog.selectors import item_rows, name_search_plan, trigram_searchable, variant_rows
from tests.catalog.pg_introspection import invalid_indexes

NAMES = (
    "Oxford Shirt 0001",
    "oxford shirt 0002",
    "Polo Shirt 0003",
    "Chino Trousers 0004",
    "Rain Jacket 0005",
    "Crème Brûlée Tee",
    "CRÈME Vest",
    "Q Sweater",
    "Zip Hoodie",
)


@pytest.fixture
def items(make_item, make_color, make_size, make_variant):
    """The live items of NAMES, two variants each, and a deleted "Oxford Shirt 0009" with a deleted variant."""
    colors = [make_color("Navy"), make_color("Red")]
    size = make_size("M")
    rows = {}
    for name in NAMES:
        item = make_item(name)
        for color in colors:
            make_variant(item, color, size)
        rows[name] = item
    gone = make_item("Oxford Shirt 0009", deleted_at=timezone.now())
    make_variant(gone, colors[0], size, deleted_at=timezone.now())
    return rows


def matching(term: str, *, status_live: bool = True) -> list[str]:
    """The names containing ``term`` in any case (Python's own case folding of these names), in list order."""
    rows = Item.objects if status_live else Item.all_objects
    names = rows.order_by("name", "item_id").values_list("name", flat=True)
    return [name for name in names if term.upper() in name.upper()]


def every_page(api, url: str, params: dict, key: str) -> list:
    body = api.get(url, params).json()
    found = [row[key] for row in body["results"]]
    while body["next"]:
        response = api.get(body["next"])
        assert response.status_code == 200, response.content
        body = response.json()
        found += [row[key] for row in body["results"]]
    return found


#: Terms whose case differs outside ASCII: SQLite's LIKE folds ASCII letters only (Django's ``icontains`` there).
BEYOND_ASCII = [pytest.param(term, marks=pytest.mark.postgresql) for term in ("crème", "CRÈ", "è")]


@pytest.mark.parametrize("term", ["shirt", "SHIRT", "oxford shirt 000", "s", "sh", "q", "0", "none", *BEYOND_ASCII])
def test_items_by_name_contain_the_term_in_any_case_in_name_order(api, items, term):
    response = api.get("/api/items/", {"name": term})

    assert response.status_code == 200, response.content
    assert [row["name"] for row in response.json()["results"]] == matching(term)
    assert response.json()["count"] == len(matching(term))


@pytest.mark.parametrize("term", ["shirt", "sh", "q", "0", *BEYOND_ASCII[:1]])
def test_variants_by_name_are_those_of_the_matching_items_in_list_order(api, items, term):
    response = api.get("/api/variants/", {"name": term})

    wanted = ItemVariant.objects.filter(item__name__in=matching(term)).order_by("item_id", "color_id", "size_id")
    assert response.status_code == 200, response.content
    assert [row["variant_id"] for row in response.json()["results"]] == list(wanted.values_list("pk", flat=True))


@pytest.mark.parametrize("term", ["shirt", "s", "er"])
def test_paging_a_name_search_by_number_and_cursor_visits_every_match_once_in_order(api, items, term, monkeypatch):
    monkeypatch.setattr(pagination, "NUMBERED_ROWS", 2)  # the third page on is reached by cursor

    assert every_page(api, "/api/items/", {"name": term, "page_size": 1}, "name") == matching(term)
    assert every_page(api, "/api/items/", {"name": term, "page_size": 1, "status": "all"}, "name") == matching(
        term, status_live=False
    )


def test_a_page_read_by_its_ids_is_the_rows_a_slice_reads_with_their_annotations(items):
    """``_read`` finds a page's ids first: the rows, their order and their annotated values are a slice's."""
    lists = [
        item_rows(text=5).filter(name__icontains="s").order_by("name", "item_id"),
        variant_rows().order_by("-item_id", "-color_id", "-size_id", "-variant_id"),
        variant_rows(status="all").filter(item__name__icontains="o").order_by("item_id", "color_id", "size_id"),
    ]
    for rows in lists:
        for start, stop in ((0, 3), (2, 7), (5, 100), (100, 103)):
            read = pagination._read(rows, start, stop)
            sliced = list(rows[start:stop])
            assert [vars(row) | {"_state": None} for row in read] == [vars(row) | {"_state": None} for row in sliced]


@pytest.mark.parametrize(
    ("term", "served"),
    [("q", False), ("xs", False), ("a b", False), ("a-b-c", False), ("__x", False), ("shi", True), ("é1x", True)],
)
def test_a_term_needs_three_letters_or_digits_in_a_row_for_the_trigram_indexes(term, served):
    assert trigram_searchable(term) is served


def planner_settings() -> tuple[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SHOW enable_seqscan")
        (seqscan,) = cursor.fetchone()
        cursor.execute("SHOW enable_bitmapscan")
        (bitmapscan,) = cursor.fetchone()
    return seqscan, bitmapscan


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_a_name_search_reads_by_index_and_only_its_own_statements_are_told_so():
    with name_search_plan("shirt", of_live_items=True):
        assert planner_settings() == ("off", "on")  # the trigram index serves it
    with name_search_plan("sh", of_live_items=True):
        assert planner_settings() == ("off", "off")  # no trigram: the live names' index walk
    with name_search_plan("shirt", of_live_items=False):
        assert planner_settings() == ("off", "on")
    with name_search_plan("sh", of_live_items=False):
        assert planner_settings() == ("on", "on")  # no index walk for every item's name: left as it is
    with name_search_plan(None, of_live_items=True), name_search_plan("", of_live_items=True):
        assert planner_settings() == ("on", "on")
    assert planner_settings() == ("on", "on")  # SET LOCAL: gone with the search's transaction


@pytest.mark.postgresql
def test_inside_a_transaction_the_settings_are_put_back_when_the_search_is_done(db):
    """The test's own transaction encloses the search's: SET LOCAL alone would last until it ends."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_bitmapscan = off")  # the enclosing transaction's own choice
    with name_search_plan("sh", of_live_items=True):
        assert planner_settings() == ("off", "off")
    assert planner_settings() == ("on", "off")


#: catalog 0007's index: its definition's telling part.
NAME_INDEX = ("item_master_live_name_upper", "btree (name, item_id, upper((name)::text)) WHERE (deleted_at IS NULL)")


def name_index() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [NAME_INDEX[0]])
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_the_name_index_is_built_concurrently_and_migrating_back_drops_it():
    migration = importlib.import_module("catalog.migrations.0007_item_name_search_index").Migration
    assert migration.atomic is False  # CREATE INDEX CONCURRENTLY: the items keep taking writes
    assert [NAME_INDEX[1] in definition for definition in name_index()] == [True]
    try:
        call_command("migrate", "catalog", "0006_variant_filter_indexes", verbosity=0)
        assert name_index() == []
    finally:
        call_command("migrate", verbosity=0)

    assert len(name_index()) == 1
    assert invalid_indexes() == []
