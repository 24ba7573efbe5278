"""The parallel experiment (``bench/parallel.py``) leaves exactly the catalog a single stream leaves.

Real ``manage.py import_catalog`` processes on the test database, from the
same starting catalog (``bench.reset``: half the keys live, a third of those
with another price): the whole file in one process, then the file split by
item key into parts run at once. The file carries what could tell the two
apart: later rows of a key superseding earlier ones (in another batch), an
item whose description changes in its last row, a failed row for a live key
and a failed row naming an item nothing else names.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from django.db import connection

from bench.catalog_file import HEADER, variant_rows
from bench.parallel import MASTERS, end_state, part_of, run_parallel, run_together, split_file
from bench.runs import engine_command, reset
from tests.imports.management.cli import command_env

pytestmark = [pytest.mark.postgresql, pytest.mark.slow]

ROWS = 3_000
PARTS = 3
#: Rows after the generated ones: each changes the end state only if "last valid row wins" holds.
LATER_ROWS = [
    ("Item 0000001", "Description of item 1", "Black", "S", "SKU-1-BL-S", "1.11", "7"),  # supersedes row 10
    ("Item 0000002", "Item 2, rewritten", "Navy", "M", "SKU-2-NA-M", "2.22", "8"),  # new description, new price
    ("Item 0000100", "Description of item 100", "Red", "S", "SKU-100-RE-S", "not a price", "9"),  # fails: live key kept
    ("Item 0000290", "Description of item 290", "White", "M", "SKU-290-WH-M", "29.90", "1"),  # a new item's last row
]
#: A row that fails and is the only one naming its item: a single stream creates no such item.
LONE_FAILED_ROW = ("Item 9999999", "Never written", "Black", "S", "SKU-X", "-1", "1")


def _write_file(path: Path, later_rows: list[tuple]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as target:
        writer = csv.writer(target)
        writer.writerow(HEADER)
        writer.writerows(variant_rows(ROWS))
        writer.writerows(later_rows)
    return path


def _catalog() -> dict[str, list[tuple]]:
    with connection.cursor() as cursor:
        return end_state(cursor)


def _single_stream(path: Path, *, env: dict[str, str]) -> tuple[dict, dict]:
    reset(env["DATABASE_URL"], ROWS, "half")
    (job,) = run_together([engine_command(path, ROWS + 10)], env=env)
    return _catalog(), job


@pytest.fixture
def env(transactional_db, settings, tmp_path) -> dict[str, str]:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return command_env(tmp_path)


COUNTS = ("total_rows", "inserted", "updated", "unchanged", "superseded", "failed")


@pytest.mark.parametrize("masters", MASTERS)
def test_parts_run_at_once_leave_the_catalog_and_the_figures_of_a_single_stream(env, tmp_path, masters):
    path = _write_file(tmp_path / "variants.csv", LATER_ROWS)
    single, single_job = _single_stream(path, env=env)
    assert all(single_job[count] for count in ("inserted", "updated", "unchanged", "superseded", "failed"))
    assert ("Item 0000002", "Item 2, rewritten", True) in single["items"]

    reset(env["DATABASE_URL"], ROWS, "half")
    run = run_parallel(path, parts=PARTS, rows=ROWS + 10, env=env, directory=tmp_path / "parts", masters=masters)

    assert len(run.jobs) == PARTS
    assert _catalog() == single
    assert run.counts == {count: single_job[count] for count in COUNTS}


def test_parts_writing_their_own_masters_create_no_item_from_a_failed_row(env, tmp_path):
    path = _write_file(tmp_path / "variants.csv", [*LATER_ROWS, LONE_FAILED_ROW])
    single, _ = _single_stream(path, env=env)
    assert "Item 9999999" not in {name for name, *_ in single["items"]}

    reset(env["DATABASE_URL"], ROWS, "half")
    run_parallel(path, parts=PARTS, rows=ROWS + 10, env=env, directory=tmp_path / "parts", masters="in_parts")

    assert _catalog() == single


def test_the_split_keeps_every_row_of_an_item_in_one_part_in_file_order(tmp_path):
    path = _write_file(tmp_path / "variants.csv", LATER_ROWS)

    split = split_file(path, parts=PARTS, directory=tmp_path / "parts")

    written = []
    for n, part in enumerate(split.parts):
        with part.open(newline="", encoding="utf-8") as data:
            header, *rows = list(csv.reader(data))
        assert tuple(header) == HEADER
        assert rows, "a part with no rows: the hash does not spread the items"
        assert {part_of(row[0], parts=PARTS) for row in rows} == {n}
        written.append([tuple(row) for row in rows])
    every_row = [tuple(str(cell) for cell in row) for row in [*variant_rows(ROWS), *LATER_ROWS]]
    for rows in written:  # file order kept inside each part: the last row of a key stays last
        in_part = set(rows)
        assert rows == [row for row in every_row if row in in_part]
    assert sorted(row for rows in written for row in rows) == sorted(every_row)
    with split.masters["items"].open(newline="", encoding="utf-8") as data:
        items = dict(list(csv.reader(data))[1:])
    assert items["Item 0000002"] == "Item 2, rewritten"


def test_an_item_key_goes_to_one_part_however_it_is_spelled():
    assert part_of("Item\u200b  0000002 ", parts=PARTS) == part_of("Item 0000002", parts=PARTS)
