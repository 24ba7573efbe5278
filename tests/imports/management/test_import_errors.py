"""``manage.py import_errors``: the failed rows as CSV, JSON or XLSX, to stdout or a file, ready to import back.

The export carries the file's own headers (here aliases, in the file's order,
with a column the importer ignores) + ``row_number`` + ``error``. An XLSX
workbook never goes to a terminal; to a pipe it is a whole workbook; and a
reader that stops early (``| head``) ends the output, not the command.
"""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import select
import subprocess

import openpyxl
import pytest

from tests.imports.engine.job_runs import csv_bytes, live_variants, run_import
from tests.imports.files import variants_csv
from tests.imports.management.cli import ROOT, command_env, last_json, manage, run

pytestmark = pytest.mark.usefixtures("import_env")

HEADER = ("Size", "Item", "Color", "Price", "Notes")
ROWS = [
    ("M", "Shirt", "Red", "1", "fine"),
    ("L", "=cmd()", "Red", "-2", "a formula and a bad price"),
    ("S", "Shirt", "", "3", "no color"),
]
#: The export of ROWS: the file's columns + row_number + line_number (the header is line 1) + error;
#: cells a spreadsheet would run get a "'".
EXPORT = [
    ["Size", "Item", "Color", "Price", "Notes", "row_number", "line_number", "error"],
    ["L", "'=cmd()", "Red", "'-2", "a formula and a bad price", "2", "3", "Price must be 0 or more"],
    ["S", "Shirt", "", "3", "no color", "3", "4", "Color is required"],
]
#: The same in XLSX: the price a number cell, so no "'" (issue 15); the formula keeps it.
EXPORT_XLSX = [EXPORT[0], [*EXPORT[1][:3], "-2", *EXPORT[1][4:]], EXPORT[2]]
#: More than a pipe holds several times over, in every format: the reader goes away mid-output.
PIPE_BUFFER = 64 * 1024


@pytest.fixture
def failed_rows(db):
    job = run_import(csv_bytes(HEADER, ROWS), name="mine.csv")
    assert (job.result.inserted, job.result.failed) == (1, 2)
    return job


def read_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def read_xlsx(source) -> list[list[str]]:
    sheet = openpyxl.load_workbook(source).active
    return [["" if cell is None else str(cell) for cell in row] for row in sheet.iter_rows(values_only=True)]


# --- formats ----------------------------------------------------------------------------------


def test_csv_is_the_default_with_the_files_own_columns(failed_rows):
    code, out, err = run("import_errors", failed_rows.pk)
    assert (code, err) == (0, "")
    assert read_csv(out) == EXPORT
    assert run("import_errors", failed_rows.pk, "--format", "csv")[1] == out


def test_json_is_an_array_of_the_rows_with_every_problem(failed_rows):
    code, out, _ = run("import_errors", failed_rows.pk, "--format", "json")
    assert code == 0
    records = json.loads(out)
    assert [list(record) for record in records] == [[*HEADER, "row_number", "line_number", "error", "problems"]] * 2
    assert [(record["Item"], record["row_number"], record["line_number"], record["error"]) for record in records] == [
        ("=cmd()", 2, 3, "Price must be 0 or more"),
        ("Shirt", 3, 4, "Color is required"),
    ]
    assert records[1]["problems"] == [{"column": "Color", "value": "", "reason": "Color is required"}]


@pytest.mark.parametrize("fmt", ["csv", "json", "xlsx"])
def test_output_option_writes_the_file_and_says_so_in_one_line(failed_rows, tmp_path, fmt):
    target = tmp_path / f"failed.{fmt}"
    code, out, _ = run("import_errors", failed_rows.pk, "--format", fmt, "-o", target)
    assert (code, out) == (0, f"2 rows with problems of import #{failed_rows.pk} written to {target}\n")
    if fmt == "xlsx":
        assert read_xlsx(target) == EXPORT_XLSX
    elif fmt == "csv":
        assert read_csv(target.read_text(encoding="utf-8")) == EXPORT
    else:
        assert [record["row_number"] for record in json.loads(target.read_text(encoding="utf-8"))] == [2, 3]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_export_once_fixed_imports_back(failed_rows, tmp_path, fmt):
    exported = tmp_path / f"failed.{fmt}"
    assert run("import_errors", failed_rows.pk, "--format", fmt, "-o", exported)[0] == 0
    fixed = tmp_path / f"fixed.{fmt}"
    if fmt == "csv":
        rows = read_csv(exported.read_text(encoding="utf-8"))
        rows[1][3], rows[2][2] = "2", "Blue"  # the bad price, the missing color
        fixed.write_bytes(csv_bytes(rows[0], rows[1:]))
    else:
        workbook = openpyxl.load_workbook(exported)
        workbook.active["D2"], workbook.active["C3"] = "2", "Blue"
        workbook.save(fixed)

    code, out, _ = run("import_catalog", fixed, "--json")
    job = last_json(out)
    assert code == 0, job
    assert (job["total_rows"], job["inserted"], job["failed"]) == (2, 2, 0)
    assert "'row_number', 'line_number', 'error'" in job["warnings"][0]  # the report's own columns are ignored
    assert {(item, color, size, str(price)) for item, _, color, size, _, price, _ in live_variants()} == {
        ("Shirt", "Red", "M", "1.00"),
        ("=cmd()", "Red", "L", "2.00"),  # the "'" that kept a spreadsheet from running it is dropped
        ("Shirt", "Blue", "S", "3.00"),
    }


# --- usage errors -------------------------------------------------------------------------------


def test_an_unknown_import_exits_2(db):
    code, out, err = run("import_errors", 424242)
    assert (code, out) == (2, "")
    assert "import 424242 does not exist" in err


@pytest.mark.parametrize(
    ("argv", "words"),
    [(["{id}", "--format", "pdf"], "invalid choice: 'pdf'"), (["last"], "invalid int value: 'last'")],
)
def test_bad_arguments_exit_2(failed_rows, argv, words):
    code, out, err = run("import_errors", *(arg.format(id=failed_rows.pk) for arg in argv))
    assert (code, out) == (2, "")
    assert words in err


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_output_file_that_cannot_be_written_exits_2(failed_rows, tmp_path, fmt):
    target = tmp_path / "no-such-directory" / f"failed.{fmt}"
    code, _, err = run("import_errors", failed_rows.pk, "--format", fmt, "-o", target)
    assert code == 2
    assert f"-o {target}: cannot write it (No such file or directory)" in err
    assert "Traceback" not in err


# --- real processes: a terminal, a pipe, a reader that goes away ------------------------------


def on_a_terminal(argv: list[str], env: dict) -> tuple[int, bytes, str]:
    """Run ``argv`` with its stdout on a pseudo-terminal: (exit code, what reached the terminal, stderr)."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=terminal, stderr=subprocess.PIPE)
    os.close(terminal)
    shown = b""
    while True:
        ready, _, _ = select.select([controller], [], [], 120)  # guards against a hang only
        if not ready:
            process.kill()
            pytest.fail("the command neither wrote nor exited")
        try:
            chunk = os.read(controller, PIPE_BUFFER)
        except OSError:  # EIO: no process holds the terminal any more
            break
        if not chunk:
            break
        shown += chunk
    os.close(controller)
    err = process.stderr.read().decode()
    return process.wait(timeout=120), shown, err


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_xlsx_to_a_terminal_exits_2_asking_for_an_output_file(failed_rows, tmp_path):
    env = command_env(tmp_path)
    code, shown, err = on_a_terminal(manage("import_errors", failed_rows.pk, "--format", "xlsx"), env)
    assert (code, shown) == (2, b"")
    assert "an XLSX workbook is binary: write it to a file with -o FILE" in err

    target = tmp_path / "failed.xlsx"
    code, shown, _ = on_a_terminal(manage("import_errors", failed_rows.pk, "--format", "xlsx", "-o", target), env)
    assert (code, shown) == (0, f"2 rows with problems of import #{failed_rows.pk} written to {target}\r\n".encode())
    assert read_xlsx(target) == EXPORT_XLSX


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_xlsx_to_a_pipe_is_a_whole_workbook(failed_rows, tmp_path):
    process = subprocess.run(
        manage("import_errors", failed_rows.pk, "--format", "xlsx"),
        cwd=ROOT,
        env=command_env(tmp_path),
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert (process.returncode, process.stderr) == (0, b"")
    assert read_xlsx(io.BytesIO(process.stdout)) == EXPORT_XLSX


@pytest.fixture
def thousands_of_failed_rows(transactional_db):
    job = run_import(variants_csv(10_000, bad_every=1))
    assert job.result.failed == 10_000
    return job


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("fmt", ["csv", "json", "xlsx"])
def test_a_reader_that_stops_after_100_bytes_ends_the_output_quietly(thousands_of_failed_rows, tmp_path, fmt):
    job = thousands_of_failed_rows
    whole = tmp_path / f"whole.{fmt}"
    assert run("import_errors", job.pk, "--format", fmt, "-o", whole)[0] == 0
    assert whole.stat().st_size > 4 * PIPE_BUFFER  # so most of it is written after `head` has gone

    head = '"$@" | head -c 100 > /dev/null; exit "${PIPESTATUS[0]}"'  # the command's own exit code
    process = subprocess.run(
        ["bash", "-c", head, "bash", *manage("import_errors", job.pk, "--format", fmt)],
        cwd=ROOT,
        env=command_env(tmp_path),
        stderr=subprocess.PIPE,
        timeout=120,
        check=False,
    )
    assert process.returncode == 0, process.stderr.decode()
    assert process.stderr == b""  # no BrokenPipeError, no traceback, not a word
