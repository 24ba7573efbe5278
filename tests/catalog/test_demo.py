"""The demo catalog: realistic, idempotent, and built in a bounded number of queries."""

import csv
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.demo import (
    CSV_COLUMNS,
    demo_variants,
    sample_import_rows,
    seed_demo_catalog,
    write_sample_import_csv,
)
from catalog.models import Item, ItemVariant
from catalog.services import soft_delete


def test_demo_variants_are_ten_per_item_with_unique_skus_that_fit():
    variants = [variant for number in range(1, 101) for variant in demo_variants(number)]

    assert len(variants) == 1000
    assert len({v.sku for v in variants}) == 1000
    assert max(len(v.sku) for v in variants) <= ItemVariant._meta.get_field("sku").max_length
    first = demo_variants(1)[0]
    assert first.item_name == "Oxford Shirt 0001"
    assert first.sku == "OXF-0001-BLK-S"
    assert all(v.price > 0 and v.stock >= 0 for v in variants)
    assert {v.item_name for v in demo_variants(11)} == {"Oxford Shirt 0011"}


@pytest.mark.django_db
def test_seeding_twice_creates_nothing_the_second_time():
    first = seed_demo_catalog(items=20)
    second = seed_demo_catalog(items=20)

    assert (first.items_created, first.colors_created, first.sizes_created, first.variants_created) == (
        20,
        10,
        6,
        200,
    )
    assert (second.items_created, second.colors_created, second.sizes_created, second.variants_created) == (
        0,
        0,
        0,
        0,
    )
    assert second.items_existing == 20
    assert second.variants_existing == 200
    assert Item.all_objects.count() == 20
    assert ItemVariant.all_objects.count() == 200
    shirt = Item.objects.get(name="Oxford Shirt 0001")
    assert shirt.description.startswith("Button-down shirt")
    assert shirt.variants.count() == 10


@pytest.mark.django_db
def test_growing_the_demo_adds_only_the_new_items():
    seed_demo_catalog(items=5)

    report = seed_demo_catalog(items=8)

    assert (report.items_created, report.items_existing, report.variants_created) == (3, 5, 30)


@pytest.mark.django_db
def test_deleted_demo_rows_are_not_brought_back_but_replaced_by_live_ones():
    seed_demo_catalog(items=1)
    soft_delete(rows=ItemVariant.objects.all())
    soft_delete(rows=Item.objects.all())

    report = seed_demo_catalog(items=1)

    assert (report.items_created, report.variants_created) == (1, 10)
    assert Item.all_objects.filter(name="Oxford Shirt 0001").count() == 2


@pytest.mark.django_db
def test_a_thousand_items_take_a_bounded_number_of_queries():
    with CaptureQueriesContext(connection) as captured:
        report = seed_demo_catalog(items=1000)

    assert report.variants_created == 10_000
    assert ItemVariant.objects.count() == 10_000
    # One insert per row would be 11,000 queries; batches are ~15 on PostgreSQL, ~110 on SQLite.
    assert len(captured) < 200


def test_sample_csv_has_the_importer_columns_and_three_bad_rows(tmp_path):
    path = tmp_path / "nested" / "sample.csv"

    count = write_sample_import_csv(path=path, items=50)

    with path.open(newline="", encoding="utf-8") as file:
        reader = csv.DictReader(file)
        rows = list(reader)
    assert (
        tuple(reader.fieldnames)
        == CSV_COLUMNS
        == (
            "item_name",
            "description",
            "color_name",
            "size_name",
            "sku",
            "price",
            "stock",
        )
    )
    assert len(rows) == count == len(sample_import_rows(items=50))
    sku_limit = ItemVariant._meta.get_field("sku").max_length
    bad = [row for row in rows if Decimal(row["price"]) < 0 or not row["size_name"] or len(row["sku"]) > sku_limit]
    assert len(bad) == 3
    assert [Decimal(r["price"]) < 0 for r in bad] == [True, False, False]
    assert [r["size_name"] == "" for r in bad] == [False, True, False]
    assert [len(r["sku"]) > sku_limit for r in bad] == [False, False, True]
    assert any(row["item_name"] == "Quilted Vest 0001" and row["color_name"] == "Mustard" for row in rows)
