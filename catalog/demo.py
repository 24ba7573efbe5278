"""A realistic demo catalog and a sample import file, for trying the system out.

An apparel shop: items such as "Oxford Shirt 0001" (ten product lines, taken
in turn), ten colors, sizes XS to XXL, ten variants per item (two colors in
five sizes) with SKUs, prices and stock. Everything is derived from the
item's number, so two runs produce the same catalog and the second creates
nothing: rows are matched on their live keys, never duplicated.

The sample CSV is in the importer's variants format. Most rows update demo
variants (new prices and stock) or add a new item in a new color; three rows
are deliberately wrong (a negative price, a missing size, an SKU longer than
the column) so that the importer's error report has something to show.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import Decimal
from itertools import islice
from pathlib import Path

from django.db import transaction

from catalog.models import Color, Item, ItemVariant, Size

CSV_COLUMNS = ("item_name", "description", "color_name", "size_name", "sku", "price", "stock")


@dataclass(frozen=True)
class ProductLine:
    name: str
    code: str
    description: str
    price: Decimal


PRODUCT_LINES = (
    ProductLine(
        "Oxford Shirt",
        "OXF",
        "Button-down shirt in a soft, breathable cotton oxford weave. Regular fit with a chest pocket.",
        Decimal("39.90"),
    ),
    ProductLine(
        "Chino Trousers",
        "CHI",
        "Mid-rise chinos in stretch cotton twill with a tapered leg and slanted front pockets.",
        Decimal("49.90"),
    ),
    ProductLine(
        "Crew Neck T-Shirt",
        "TEE",
        "Everyday T-shirt in 180 g/m² combed cotton jersey with a ribbed neckline.",
        Decimal("14.90"),
    ),
    ProductLine(
        "Hooded Sweatshirt",
        "HOO",
        "Brushed-back fleece hoodie with a lined hood, kangaroo pocket and ribbed cuffs.",
        Decimal("44.90"),
    ),
    ProductLine(
        "Denim Jacket",
        "DNJ",
        "Classic trucker jacket in 12 oz rigid denim with button-flap chest pockets.",
        Decimal("79.90"),
    ),
    ProductLine(
        "Merino Sweater",
        "MER",
        "Fine-gauge crew neck sweater knitted from extra-fine merino wool.",
        Decimal("69.90"),
    ),
    ProductLine(
        "Polo Shirt",
        "POL",
        "Cotton piqué polo with a two-button placket and a ribbed collar.",
        Decimal("29.90"),
    ),
    ProductLine(
        "Rain Jacket",
        "RAI",
        "Lightweight waterproof shell with taped seams and a packable hood.",
        Decimal("89.90"),
    ),
    ProductLine(
        "Linen Shirt",
        "LIN",
        "Relaxed-fit shirt in washed European linen, made for warm days.",
        Decimal("44.90"),
    ),
    ProductLine(
        "Cargo Shorts",
        "CRG",
        "Cotton ripstop shorts with bellows cargo pockets and a 9-inch inseam.",
        Decimal("34.90"),
    ),
)

COLORS = (
    ("Navy", "NVY"),
    ("Black", "BLK"),
    ("White", "WHT"),
    ("Heather Grey", "HGR"),
    ("Olive", "OLV"),
    ("Burgundy", "BUR"),
    ("Sand", "SND"),
    ("Sky Blue", "SKY"),
    ("Charcoal", "CHR"),
    ("Forest Green", "FGR"),
)
SIZES = ("XS", "S", "M", "L", "XL", "XXL")
LARGE_SIZE_SURCHARGE = Decimal("2.00")

#: How many names or keys one ``IN (...)`` lookup carries (SQLite's parameter limit).
LOOKUP_CHUNK = 500


@dataclass(frozen=True)
class DemoVariant:
    item_name: str
    description: str
    color_name: str
    size_name: str
    sku: str
    price: Decimal
    stock: int


@dataclass(frozen=True)
class SeedReport:
    items_created: int
    items_existing: int
    colors_created: int
    sizes_created: int
    variants_created: int
    variants_existing: int


def demo_variants(number: int) -> list[DemoVariant]:
    """The ten variants of demo item ``number`` (1-based): two colors, five sizes."""
    line = PRODUCT_LINES[(number - 1) % len(PRODUCT_LINES)]
    item_name = f"{line.name} {number:04d}"
    colors = [COLORS[number % len(COLORS)], COLORS[(number + 3) % len(COLORS)]]
    sizes = SIZES[:5] if number % 2 == 0 else SIZES[1:]
    price_step = Decimal(number % 5)
    variants = []
    for color_index, (color_name, color_code) in enumerate(colors):
        for size in sizes:
            surcharge = LARGE_SIZE_SURCHARGE if size in ("XL", "XXL") else Decimal("0.00")
            variants.append(
                DemoVariant(
                    item_name=item_name,
                    description=line.description,
                    color_name=color_name,
                    size_name=size,
                    sku=f"{line.code}-{number:04d}-{color_code}-{size}",
                    price=line.price + price_step + surcharge,
                    stock=(number * 37 + color_index * 11 + SIZES.index(size) * 7) % 120,
                )
            )
    return variants


@transaction.atomic
def seed_demo_catalog(*, items: int) -> SeedReport:
    """Create the first ``items`` demo items with their colors, sizes and variants; skip what exists."""
    wanted = [variant for number in range(1, items + 1) for variant in demo_variants(number)]
    colors, colors_created = _ensure_named(Color, "color_name", [name for name, _ in COLORS])
    sizes, sizes_created = _ensure_named(Size, "size_name", list(SIZES))
    item_fields = {variant.item_name: {"description": variant.description} for variant in wanted}
    item_ids, items_created = _ensure_named(Item, "name", list(item_fields), fields_for=item_fields)

    keys = {(item_ids[v.item_name], colors[v.color_name], sizes[v.size_name]): v for v in wanted}
    existing = _existing_variant_keys(list(set(item_ids.values())))
    new = [
        ItemVariant(item_id=item, color_id=color, size_id=size, sku=v.sku, price=v.price, stock=v.stock)
        for (item, color, size), v in keys.items()
        if (item, color, size) not in existing
    ]
    ItemVariant.objects.bulk_create(new, batch_size=1000)
    return SeedReport(
        items_created=items_created,
        items_existing=len(item_ids) - items_created,
        colors_created=colors_created,
        sizes_created=sizes_created,
        variants_created=len(new),
        variants_existing=len(keys) - len(new),
    )


def _ensure_named(model, field: str, names: list[str], *, fields_for=None) -> tuple[dict[str, int], int]:
    """Ids of the live rows with these names, creating the missing ones; and how many were created."""
    fields_for = fields_for or {}
    ids = _live_ids_by_name(model, field, names)
    missing = [name for name in names if name not in ids]
    new_rows = [model(**{field: name}, **fields_for.get(name, {})) for name in missing]
    model.objects.bulk_create(new_rows, batch_size=1000)
    if missing:
        ids.update(_live_ids_by_name(model, field, missing))
    return ids, len(missing)


def _live_ids_by_name(model, field: str, names: list[str]) -> dict[str, int]:
    ids: dict[str, int] = {}
    for chunk in _chunks(names):
        ids.update(model.objects.filter(**{f"{field}__in": chunk}).values_list(field, "pk"))
    return ids


def _existing_variant_keys(item_ids: list[int]) -> set[tuple[int, int, int]]:
    keys: set[tuple[int, int, int]] = set()
    for chunk in _chunks(item_ids):
        keys.update(ItemVariant.objects.filter(item_id__in=chunk).values_list("item_id", "color_id", "size_id"))
    return keys


def _chunks(values: list) -> list[list]:
    iterator = iter(values)
    return list(iter(lambda: list(islice(iterator, LOOKUP_CHUNK)), []))


def sample_import_rows(*, items: int) -> list[dict[str, str]]:
    """Rows for the sample CSV: updates to demo variants, a new item, and three bad rows."""
    rows = []
    for number in range(1, min(items, 5) + 1):
        for variant in demo_variants(number)[:2]:
            rows.append(_csv_row(variant, price=variant.price + Decimal("5.00"), stock=variant.stock + 25))
    new_item = "Quilted Vest 0001"
    new_description = "Lightly padded vest with a stand-up collar and snap front, for layering."
    for color_name, size in (("Mustard", "S"), ("Mustard", "M"), ("Mustard", "L"), ("Navy", "M")):
        code = "MUS" if color_name == "Mustard" else "NVY"
        rows.append(
            {
                "item_name": new_item,
                "description": new_description,
                "color_name": color_name,
                "size_name": size,
                "sku": f"QVE-0001-{code}-{size}",
                "price": "59.90",
                "stock": "30",
            }
        )
    first = demo_variants(1)
    rows.append(_csv_row(first[2], price=Decimal("-5.00"), stock=first[2].stock))  # bad: negative price
    rows.append({**_csv_row(first[3], price=first[3].price, stock=first[3].stock), "size_name": ""})  # bad: no size
    too_long_sku = first[4].sku + "-SPRING-SUMMER-COLLECTION-LIMITED-EDITION-RESTOCK"  # bad: > 64 characters
    rows.append({**_csv_row(first[4], price=first[4].price, stock=first[4].stock), "sku": too_long_sku})
    return rows


def _csv_row(variant: DemoVariant, *, price: Decimal, stock: int) -> dict[str, str]:
    return {
        "item_name": variant.item_name,
        "description": variant.description,
        "color_name": variant.color_name,
        "size_name": variant.size_name,
        "sku": variant.sku,
        "price": str(price),
        "stock": str(stock),
    }


def write_sample_import_csv(*, path: Path, items: int) -> int:
    """Write the sample variants CSV to ``path`` (parents created); returns the number of rows."""
    rows = sample_import_rows(items=items)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)
