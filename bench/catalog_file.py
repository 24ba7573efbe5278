"""The benchmark's catalog: a variants file and the live states a run starts from.

About 10 variants per item (5 colors x 2 sizes). The states (:data:`STATES`):
empty; half (the variants of the first half of the items live, a third of
those differing from the file, so they update, the rest identical, so they
stay unchanged); and unchanged (the whole file live, identical).
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


#: The catalog a run starts from, against the file: ``empty`` (statistics taken while empty, as
#: a new catalog's are once autovacuum or a dump's restore has seen it), ``half`` (the first
#: half of the file's keys live, a third of those with another price: they update) and
#: ``unchanged`` (every key live, identical to the file); and, for the journal's size,
#: ``changed`` (every key live, each with another price: every row updates).
STATES = ("empty", "half", "unchanged", "changed")


def live_state_copy(rows: int, state: str = "half") -> dict[str, io.StringIO]:
    """COPY payloads (tab-separated) for the live rows of ``state``: items, colors, sizes, variants."""
    if state not in STATES:
        raise ValueError(f"unknown state {state!r}: one of {', '.join(STATES)}")
    live = {"empty": 0, "half": rows // 2, "unchanged": rows, "changed": rows}[state]
    per_item = len(COLORS) * len(SIZES)
    items, variants = io.StringIO(), io.StringIO()
    seen_items = set()
    for n, (item, description, color, size, sku, price, stock) in enumerate(variant_rows(live)):
        item_id = n // per_item + 1
        if item_id not in seen_items:
            seen_items.add(item_id)
            items.write(f"{item_id}\t{item}\t{description}\n")
        color_id = COLORS.index(color) + 1
        size_id = SIZES.index(size) + 1
        if (state == "half" and n % 3 == 0) or state == "changed":
            price = f"{float(price) + 1:.2f}"
        variants.write(f"{item_id}\t{color_id}\t{size_id}\t{sku}\t{price}\t{stock}\n")
    if not live:
        return {"items": io.StringIO(), "colors": io.StringIO(), "sizes": io.StringIO(), "variants": variants}
    colors = io.StringIO("".join(f"{i}\t{c}\n" for i, c in enumerate(COLORS, 1)))
    sizes = io.StringIO("".join(f"{i}\t{s}\n" for i, s in enumerate(SIZES, 1)))
    return {"items": items, "colors": colors, "sizes": sizes, "variants": variants}
