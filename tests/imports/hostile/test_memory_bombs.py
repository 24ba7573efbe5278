"""Memory bombs (issue 11, item 1): the issue's small hostile files, through the API and the command, in a process each.

Before (main, in a process capped at 3 GB of address space, 150 s at most): the 200 KB JSON nested
100,000 deep answered 500 after 10 s at 2,957 MB (MemoryError); 20,000 deep in a row failed the job with
a RecursionError; JSON Lines with a deep line answered 500 (RecursionError); the 1 MB workbook with one
1 GiB cell and the workbook with a 1 GiB shared strings table ran past 150 s; the 2 MB workbook with
2 GiB of whitespace answered 500 after 88 s at 2,959 MB; the 50 MB unquoted CSV cell was "a quoted field
is never closed". Now each is refused, or its row is, in a few seconds with the web process under
300 MB, by a message naming the limit; a refused file writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from catalog.models import ItemVariant
from imports.models import ImportJob
from tests.imports.hostile import bombs
from tests.imports.hostile.doors import PEAK_MB, through

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("import_env"), pytest.mark.django_db(transaction=True)]


#: name -> (writer, words of the refusal, or None when the file is imported with its bad row refused)
CASES: dict[str, tuple[Callable[[Path], Path], str | None]] = {
    "json nested 100,000 deep (200 KB)": (bombs.json_deep, "JSON values nest more than 32 levels deep"),
    "json nested 20,000 deep in a row (40 KB)": (bombs.json_deep_in_a_row, "nest more than 32 levels deep"),
    "json lines with a line nested 100,000 deep": (bombs.jsonl_deep_line, None),
    "xlsx of 1 MB with one 1 GiB cell": (
        bombs.xlsx_one_huge_cell,
        "'xl/worksheets/sheet1.xml' inflates to 1,024.0 MB; a sheet may inflate to at most 512 MB",
    ),
    "xlsx of 2 MB with 2 GiB of whitespace": (bombs.xlsx_whitespace, "a sheet may inflate to at most 512 MB"),
    "xlsx with a 1 GiB shared strings table": (
        bombs.xlsx_shared_strings,
        "'xl/sharedStrings.xml' inflates to 1,024.0 MB; the shared strings table may inflate to at most 64 MB",
    ),
    "csv with a 50 MB unquoted cell": (bombs.csv_long_cell, "a cell is longer than the field limit of 1,048,576"),
}
SUFFIXES = {"json": ".json", "jsonl": ".jsonl", "xlsx": ".xlsx", "csv": ".csv"}


@pytest.fixture(scope="module")
def bomb_files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bombs")
    files = {}
    for name, (write, _) in CASES.items():
        suffix = ".jsonl" if "json lines" in name else "." + name.split()[0]
        files[name] = write(folder / f"{name.split(' ')[0]}-{len(files)}{suffix}")
    return files


@pytest.mark.parametrize("name", CASES)
def test_a_bomb_through_the_api_costs_under_300_mb_and_never_a_500(name, bomb_files, tmp_path, on_postgresql):
    _, words = CASES[name]

    outcome = through("api", bomb_files[name], tmp_path)

    assert outcome.peak_mb < PEAK_MB, outcome
    assert outcome.tracebacks == 0, outcome.stderr[-3000:]
    if words is None:
        assert outcome.status == 201, outcome
        assert (outcome.body["status"], outcome.body["inserted"], outcome.body["failed"]) == (
            "completed_with_errors",
            2,
            1,
        )
        assert "more than 32 levels deep" in outcome.body["error_summary"]["first_rows"][0]["error"]
    else:
        assert (outcome.status, outcome.body["code"]) == (400, "unreadable_file"), outcome
        assert words in outcome.detail
        if on_postgresql:  # the subprocess writes the test database itself (on SQLite, a copy of it)
            assert not ImportJob.objects.exists()
            assert not ItemVariant.all_objects.exists()


@pytest.mark.parametrize("name", CASES)
def test_a_bomb_through_the_command_costs_under_300_mb_and_exits_as_documented(
    name, bomb_files, tmp_path, on_postgresql
):
    _, words = CASES[name]

    outcome = through("command", bomb_files[name], tmp_path)

    assert outcome.peak_mb < PEAK_MB, outcome
    assert outcome.tracebacks == 0, outcome.stderr[-3000:]
    if words is None:
        assert (outcome.status, outcome.body["status"], outcome.body["inserted"]) == (3, "completed_with_errors", 2)
    else:
        assert (outcome.status, outcome.body["code"]) == (1, "unreadable_file"), outcome
        assert words in outcome.detail
        if on_postgresql:
            assert not ImportJob.objects.exists()
            assert not ItemVariant.all_objects.exists()
