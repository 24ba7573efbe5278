"""The benchmark's catalog: a variants file and the "half already live" state.

About 10 variants per item (5 colors x 2 sizes). The live state holds the
variants of the first half of the items; a third of those differ from the
file (so they update), the rest are identical (so they stay unchanged).
"""

from __future__ import annotations

import csv
import io

COLORS = ("Black", "White", "Navy", "Red", "Green")
SIZES = ("S", "M")
HEADER = ("item_name", "description", "color_name", "size_name", "sku", "price", "stock")


def variant_rows(rows: int):
    per_item = len(COLORS) * len(SIZES)
    for n in range(rows):
        item, rest = divmod(n, per_item)
        color, size = COLORS[rest // len(SIZES)], SIZES[rest % len(SIZES)]
        yield (
            f"Item {item:07d}",
            f"Description of item {item}",
            color,
            size,
            f"SKU-{item}-{color[:2].upper()}-{size}",
            f"{(n * 7919) % 100000 / 100:.2f}",
            (n * 31) % 500,
        )


def write_file(path: str, rows: int) -> None:
    with open(path, "w", newline="", encoding="utf-8") as target:
        writer = csv.writer(target)
        writer.writerow(HEADER)
        writer.writerows(variant_rows(rows))


def live_state_copy(rows: int) -> dict[str, io.StringIO]:
    """COPY payloads (tab-separated) for the live half: items, colors, sizes, variants."""
    half = rows // 2
    per_item = len(COLORS) * len(SIZES)
    items, variants = io.StringIO(), io.StringIO()
    seen_items = set()
    for n, (item, description, color, size, sku, price, stock) in enumerate(variant_rows(half)):
        item_id = n // per_item + 1
        if item_id not in seen_items:
            seen_items.add(item_id)
            items.write(f"{item_id}\t{item}\t{description}\n")
        color_id = COLORS.index(color) + 1
        size_id = SIZES.index(size) + 1
        if n % 3 == 0:
            price = f"{float(price) + 1:.2f}"
        variants.write(f"{item_id}\t{color_id}\t{size_id}\t{sku}\t{price}\t{stock}\n")
    colors = io.StringIO("".join(f"{i}\t{c}\n" for i, c in enumerate(COLORS, 1)))
    sizes = io.StringIO("".join(f"{i}\t{s}\n" for i, s in enumerate(SIZES, 1)))
    return {"items": items, "colors": colors, "sizes": sizes, "variants": variants}
