"""Import files for the door tests: deterministic variants files of any size."""

from __future__ import annotations

import io

from tests.imports.engine.job_runs import VARIANT_HEADER, csv_bytes

COLORS = ("Red", "Blue", "Green", "Black", "White")
SIZES = ("S", "M", "L", "XL")


def variant_row(i: int, *, price: str | None = None) -> tuple:
    """Row ``i``: a key of its own (item i // 20, one of 5 colors, one of 4 sizes)."""
    return (
        f"Item {i // 20:05d}",
        f"Description of item {i // 20}",
        COLORS[(i % 20) // 4],
        SIZES[i % 4],
        f"SKU-{i:06d}",
        price if price is not None else f"{10 + i % 90}.{i % 100:02d}",
        str(i % 500),
    )


def variants_csv(rows: int, *, bad_every: int = 0, repeat_every: int = 0) -> bytes:
    """``rows`` data rows; every ``bad_every``-th has a negative price (fails), every
    ``repeat_every``-th repeats the key of an earlier row with a new price (supersedes it)."""
    lines = []
    for i in range(1, rows + 1):
        if bad_every and i % bad_every == 0:
            lines.append(variant_row(i, price="-1"))
        elif repeat_every and i % repeat_every == 0:
            lines.append(variant_row(i - repeat_every // 2, price=f"{i % 50}.99"))
        else:
            lines.append(variant_row(i))
    return csv_bytes(VARIANT_HEADER, lines)


def stream(content: bytes, name: str = "variants.csv") -> io.BytesIO:
    buffer = io.BytesIO(content)
    buffer.name = name
    return buffer
