"""Characters PostgreSQL cannot store, and headers longer than a column, never fail an import (issue 11, item 2).

Before: one NUL in a CSV, JSON or JSON Lines cell failed the whole job ("Internal error (ValueError: A
string literal cannot contain NUL ...)") and the good rows were lost; a NUL in a header or in an ignored
column failed it with SQL text in the reason; so did a header over 255 characters ("value too long for
type character varying(255)") and, in JSON Lines, half a surrogate pair (the COPY to staging could not
encode it). Now the row is refused with its reason, the other rows land, and what is kept about the
problem is storable: each such character becomes U+FFFD (the text keeps its length, so the position in
the reason still points at it), and a header is cut to what its column holds.
"""

from __future__ import annotations

import csv
import io
import json

import pytest

from imports.engine import record
from imports.models import ImportJob, ImportRowError, ImportStatus
from mtc.storable import clipped, storable, storable_json
from tests.imports.engine.job_runs import VARIANT_HEADER, live_variants
from tests.imports.hostile.files import GOOD_ROWS, as_format, post_file, run_command

pytestmark = [pytest.mark.usefixtures("import_env"), pytest.mark.django_db]

FORMATS = ("csv", "json", "jsonl")
NUL_NAME = ("Sh\x00irt", "Soft", "Red", "L", "S-4", "10.00", "1")


def _good_variants() -> set[tuple]:
    return {(row[0], row[2], row[3], row[4]) for row in GOOD_ROWS}


def _landed() -> set[tuple]:
    return {(item, color, size, sku) for item, _, color, size, sku, _, _ in live_variants()}


@pytest.mark.parametrize("file_format", FORMATS)
def test_a_nul_in_a_cell_refuses_that_row_and_the_others_land_command(tmp_path, file_format):
    content = as_format(file_format, VARIANT_HEADER, [GOOD_ROWS[0], NUL_NAME, *GOOD_ROWS[1:]])

    code, job = run_command(tmp_path, content, file_format)

    assert (code, job.status) == (3, ImportStatus.COMPLETED_WITH_ERRORS)
    assert _landed() == _good_variants()
    error = ImportRowError.objects.get(job=job)
    assert error.row_number == 2
    assert error.reason == "item_name contains a control character (U+0000) at position 3"
    assert error.value == "Sh\ufffdirt"
    assert error.row_data["item_name"] == "Sh\ufffdirt"
    assert error.problems[0]["value"] == "Sh\ufffdirt"


@pytest.mark.parametrize("file_format", FORMATS)
def test_a_nul_in_a_cell_refuses_that_row_and_the_others_land_api(api, file_format):
    content = as_format(file_format, VARIANT_HEADER, [GOOD_ROWS[0], NUL_NAME, *GOOD_ROWS[1:]])

    response = post_file(api, content, file_format)

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["inserted"], body["failed"]) == ("completed_with_errors", len(GOOD_ROWS), 1)
    assert body["error_summary"]["first_rows"][0]["value"] == "Sh\ufffdirt"
    exported = api.get(f"/api/imports/{body['import_id']}/errors/?format=json")
    assert json.loads(b"".join(exported.streaming_content))[0]["item_name"] == "Sh\ufffdirt"


@pytest.mark.parametrize("file_format", FORMATS)
def test_a_nul_in_an_ignored_column_of_a_failed_row_is_kept_storable(tmp_path, file_format):
    header = (*VARIANT_HEADER, "note")
    rows = [(*GOOD_ROWS[0], "x\x00y"), ("Shirt", "Soft", "Red", "L", "S-4", "-1", "1", "a\x00b"), (*GOOD_ROWS[1], "")]

    code, job = run_command(tmp_path, as_format(file_format, header, rows), file_format)

    assert (code, job.status) == (3, ImportStatus.COMPLETED_WITH_ERRORS)
    error = ImportRowError.objects.get(job=job)
    assert (error.row_number, error.reason) == (2, "price must be 0 or more")
    assert error.row_data["note"] == "a\ufffdb"
    assert len(live_variants()) == 2


@pytest.mark.parametrize("file_format", FORMATS)
def test_a_nul_in_a_header_is_kept_as_u_fffd_and_the_import_goes_on(tmp_path, file_format):
    header = (*VARIANT_HEADER, "no\x00te")
    rows = [(*GOOD_ROWS[0], "x"), ("Shirt", "Soft", "Red", "L", "S-4", "-1", "1", "y")]

    code, job = run_command(tmp_path, as_format(file_format, header, rows), file_format)

    assert (code, job.status) == (3, ImportStatus.COMPLETED_WITH_ERRORS)
    assert job.options["headers"][-1] == "no\ufffdte"
    assert "'no\ufffdte'" in job.warnings[0]
    assert ImportRowError.objects.get(job=job).row_data["no\ufffdte"] == "y"


def test_the_failed_rows_export_carries_the_storable_header(api):
    header = (*VARIANT_HEADER, "no\x00te")
    content = as_format("csv", header, [("Shirt", "Soft", "Red", "L", "S-4", "-1", "1", "y")])
    job_id = post_file(api, content, "csv").json()["import_id"]

    exported = api.get(f"/api/imports/{job_id}/errors/?format=csv")

    first = next(csv.reader(io.StringIO(b"".join(exported.streaming_content).decode())))
    assert first == [*VARIANT_HEADER, "no\ufffdte", "row_number", "line_number", "error"]


def test_a_header_over_255_characters_on_a_failed_cell_is_cut_to_the_column(tmp_path):
    long_price = "P" * 300
    header = (*VARIANT_HEADER[:5], long_price, "stock")
    rows = [GOOD_ROWS[0], ("Shirt", "Soft", "Red", "L", "S-4", "-1", "1")]

    code, job = run_command(tmp_path, as_format("csv", header, rows), "csv", "--map", f"{long_price}=price")

    assert (code, job.status) == (3, ImportStatus.COMPLETED_WITH_ERRORS)
    error = ImportRowError.objects.get(job=job)
    assert error.column == "P" * 254 + "\u2026"
    assert error.reason == f"{long_price} must be 0 or more"
    assert error.row_data[long_price] == "-1"
    assert len(live_variants()) == 1


def test_half_a_surrogate_pair_in_json_lines_refuses_that_row(tmp_path):
    lines = [json.dumps(dict(zip(VARIANT_HEADER, row, strict=True))) for row in GOOD_ROWS]
    lines.insert(1, json.dumps(dict(zip(VARIANT_HEADER, NUL_NAME, strict=True))).replace("\\u0000", "\\ud800"))

    code, job = run_command(tmp_path, ("\n".join(lines) + "\n").encode(), "jsonl")

    assert (code, job.status) == (3, ImportStatus.COMPLETED_WITH_ERRORS)
    error = ImportRowError.objects.get(job=job)
    assert error.reason == (
        "item_name contains half of a surrogate pair (U+D800), which is not a character, at position 3"
    )
    assert error.value == "Sh\ufffdirt"
    assert _landed() == _good_variants()


@pytest.mark.postgresql
def test_the_legacy_importer_refuses_a_nul_with_its_reason_not_an_internal_error(tmp_path):
    content = as_format("csv", VARIANT_HEADER, [GOOD_ROWS[0], NUL_NAME])

    code, job = run_command(tmp_path, content, "csv", "--system", "legacy")

    assert (code, job.status) == (1, ImportStatus.FAILED)
    assert job.failure_reason.startswith("Row 2: item_name contains a control character (U+0000) at position 3;")
    assert ImportRowError.objects.get(job=job).value == "Sh\ufffdirt"


def test_everything_kept_about_a_problem_is_made_storable_and_bounded():
    job = ImportJob(pk=1)
    problems = [{"column": "c\x00" * 200, "value": "v\x00" * 6000, "reason": "r\ud800", "extra": ["\x00"]}]

    error = record.row_error(job, 7, problems, {"h\x00": "x" * 20_000, "n": None})

    assert error.column == clipped("c\ufffd" * 200, 255)
    assert len(error.column) == 255
    assert len(error.value) == record.STORED_CELL_CHARS
    assert error.value.endswith("\u2026")
    assert error.reason == "r\ufffd"
    assert error.problems[0]["extra"] == ["\ufffd"]
    assert set(error.row_data) == {"h\ufffd", "n"}
    assert error.row_data["n"] == ""
    assert len(error.row_data["h\ufffd"]) == record.STORED_CELL_CHARS


def test_storable_replaces_only_what_postgresql_cannot_store():
    assert storable("tab\tand é 😀") == "tab\tand é 😀"
    assert storable("a\x00b\ud83dc") == "a\ufffdb\ufffdc"
    assert storable_json({"k\x00": ["\ud800", 1, None]}) == {"k\ufffd": ["\ufffd", 1, None]}
    assert clipped("abcdef", 4) == "abc\u2026"
    assert clipped("abc\u2026", 4) == "abc\u2026"
