"""``manage.py compare_importers``: usage errors and refused files exit 2, the ``--json`` last line.

Agreement (exit 0) and disagreement (exit 1) are the comparison's own
behaviour: tests/imports/rollout/test_comparison.py runs them through this command.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog.models import Item
from imports.models import ImportJob
from tests.imports.engine.job_runs import VARIANT_HEADER, csv_bytes
from tests.imports.management.cli import last_json, run

pytestmark = pytest.mark.django_db

ROWS = [("Shirt", "Cotton", "Red", "M", "S-1", "10.00", "5"), ("Hat", "", "Blue", "L", "", "", "")]
PICTURE = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


@pytest.fixture
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def write(tmp_path, content: bytes, name: str = "compare.csv") -> str:
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


USAGE_ERRORS = {
    "no such file": (["{missing}"], "no such file"),
    "a directory": (["{dir}"], "not a file"),
    "--max-rows 0": (["{file}", "--max-rows", "0"], "--max-rows must be at least 1"),
    "--kind not a choice": (["{file}", "--kind", "planets"], "invalid choice: 'planets'"),
    "--format not a choice": (["{file}", "--format", "pdf"], "invalid choice: 'pdf'"),
    "--encoding unknown": (["{file}", "--encoding", "klingon"], "--encoding klingon: unknown encoding"),
}


@pytest.mark.parametrize(("argv", "words"), USAGE_ERRORS.values(), ids=USAGE_ERRORS)
def test_usage_errors_exit_2(tmp_path, media, argv, words):
    places = {
        "missing": tmp_path / "missing.csv",
        "dir": tmp_path,
        "file": write(tmp_path, csv_bytes(VARIANT_HEADER, ROWS)),
    }
    code, out, err = run("compare_importers", *(arg.format(**places) for arg in argv))
    assert (code, out) == (2, "")
    assert words in err
    assert not Item.all_objects.exists()


REFUSED = {
    "empty": (b"", "compare.csv is empty."),
    "header only": (b"item_name,color_name,size_name\n", "compare.csv has a header but no data rows."),
    "wrong header": (b"sku,weight\nA-1,3\n", "Missing required column(s) item_name, color_name"),
    "a picture renamed .csv": (PICTURE, "is not a spreadsheet this importer reads"),
}


@pytest.mark.postgresql
@pytest.mark.parametrize(("content", "refusal"), REFUSED.values(), ids=REFUSED)
def test_a_file_neither_importer_would_take_exits_2_with_the_refusal(tmp_path, media, content, refusal):
    code, out, err = run("compare_importers", write(tmp_path, content), "--json")
    assert (code, out) == (2, "")
    assert err.startswith("compare_importers: error: ")
    assert refusal in err
    assert not ImportJob.objects.exists()
    assert not [path for path in media.rglob("*") if path.is_file()]


RUN_KEYS = {
    "status",
    "total_rows",
    "inserted",
    "updated",
    "unchanged",
    "superseded",
    "failed",
    "processed",
    "duration_seconds",
    "rows_per_second",
    "failure_reason",
    "rows_written",
    "row_errors",
}


@pytest.mark.postgresql
def test_json_last_line_is_the_comparison(tmp_path, media):
    code, out, _ = run("compare_importers", write(tmp_path, csv_bytes(VARIANT_HEADER, ROWS)), "--json")
    assert code == 0
    report = last_json(out)
    assert set(report) == {
        "file_name",
        "kind",
        "agree",
        "differences",
        "rows_differing",
        "row_differences",
        "improvement_percent",
        "notes",
        "runs",
    }
    assert (report["file_name"], report["kind"], report["agree"]) == ("compare.csv", "variants", True)
    assert set(report["runs"]) == {"legacy", "upsert"}
    for system in ("legacy", "upsert"):
        assert set(report["runs"][system]) == RUN_KEYS
        assert report["runs"][system]["processed"] == 2
        assert report["runs"][system]["rows_written"] == {"variants": 2, "items": 2, "colors": 2, "sizes": 2}


@pytest.mark.sqlite
def test_on_sqlite_it_cannot_run_and_exits_2_saying_why(tmp_path, media):
    code, out, err = run("compare_importers", write(tmp_path, csv_bytes(VARIANT_HEADER, ROWS)), "--json")
    assert (code, out) == (2, "")
    assert "compare_importers needs PostgreSQL: the legacy importer uses LOCK TABLE (sqlite here)." in err
    assert not ImportJob.objects.exists()
