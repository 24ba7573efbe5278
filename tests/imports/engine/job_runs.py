"""Running real import jobs from tests: write a file, import it, read the outcome."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from catalog.models import Color, Item, ItemVariant, Size
from imports.models import ImportJob
from imports.runtime import run_import_now
from imports.services import create_import_job

VARIANT_HEADER = ("item_name", "description", "color_name", "size_name", "sku", "price", "stock")


def csv_bytes(header, rows) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode()


def run_import(
    content: bytes, *, kind: str = "variants", name: str = "file.csv", dry_run: bool = False, **options
) -> ImportJob:
    """Import ``content`` with the upsert engine and return the finished job (with its result)."""
    job = create_import_job(
        stream=io.BytesIO(content),
        file_name=name,
        kind=kind,
        dry_run=dry_run,
        system="upsert",
        options=options,
    )
    job = run_import_now(job=job)
    return ImportJob.objects.select_related("result").get(pk=job.pk)


def counts(job: ImportJob) -> dict[str, int]:
    result = job.result
    return {
        name: getattr(result, name)
        for name in ("total_rows", "inserted", "updated", "unchanged", "superseded", "failed")
    }


def live_variants() -> set[tuple]:
    """Every live variant as (item, description, color, size, sku, price, stock)."""
    return {
        (v.item.name, v.item.description, v.color.color_name, v.size.size_name, v.sku, v.price, v.stock)
        for v in ItemVariant.objects.select_related("item", "color", "size")
    }


def make_variant(item="Shirt", color="Red", size="M", *, sku="", price=None, stock=None, description=""):
    """A live variant, creating its live item, color and size when missing."""
    item_row = Item.objects.filter(name=item).first() or Item.objects.create(name=item, description=description)
    color_row = Color.objects.filter(color_name=color).first() or Color.objects.create(color_name=color)
    size_row = Size.objects.filter(size_name=size).first() or Size.objects.create(size_name=size)
    return ItemVariant.objects.create(
        item=item_row,
        color=color_row,
        size=size_row,
        sku=sku,
        price=Decimal(price) if price is not None else None,
        stock=stock,
    )
