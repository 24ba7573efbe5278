"""Issue 11 through the engine: invisible characters and full-width forms match the live name, and a new name that
mixes scripts to look like another name is a row error naming both, while the other rows land. Runs on PostgreSQL
and again on SQLite.

``\\u0435`` is the Cyrillic small letter ie, which looks exactly like the Latin ``e``.
"""

from __future__ import annotations

import json

import pytest

from catalog.models import Color, Item, ItemVariant, Size
from imports.models import ImportRowError, ImportStatus
from tests.imports.engine.job_runs import VARIANT_HEADER, counts, csv_bytes, make_variant, run_import
from tests.imports.files import stream
from tests.imports.management.cli import last_json, run

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("import_env")]

CYRILLIC_RED = "R\u0435d"
RUSSIAN_RED = "\u041a\u0440\u0430\u0441\u043d\u044b\u0439"
RED_REASON = (
    "color_name 'R\u0435d' looks like the existing color 'Red' but mixes Latin and Cyrillic letters "
    "(a Cyrillic '\u0435' at position 2); use 'Red' or type the name again"
)


def colors() -> set[str]:
    return set(Color.objects.values_list("color_name", flat=True))


def errors(job) -> list[tuple[int, str]]:
    return [(e.row_number, e.reason) for e in ImportRowError.objects.filter(job=job).order_by("row_number")]


def test_a_mixed_script_lookalike_of_a_live_color_is_refused_and_the_other_rows_land():
    for color in ("Red", "Blue", "Green", "Black", "White"):
        make_variant(color=color)
    rows = [
        ("Shirt", "", CYRILLIC_RED, "M", "A", "1", "1"),
        ("Shirt", "", "Navy", "M", "B", "2", "2"),
        ("Shirt", "", RUSSIAN_RED, "L", "C", "3", "3"),
    ]

    job = run_import(csv_bytes(VARIANT_HEADER, rows))

    assert job.status == ImportStatus.COMPLETED_WITH_ERRORS
    assert counts(job) == {"total_rows": 3, "inserted": 2, "updated": 0, "unchanged": 0, "superseded": 0, "failed": 1}
    assert errors(job) == [(1, RED_REASON)]
    assert colors() == {"Red", "Blue", "Green", "Black", "White", "Navy", RUSSIAN_RED}  # no sixth red
    error = ImportRowError.objects.get(job=job)
    assert (error.column, error.value) == ("color_name", CYRILLIC_RED)
    assert error.row_data == {
        "item_name": "Shirt", "description": "", "color_name": CYRILLIC_RED, "size_name": "M", "sku": "A",
        "price": error.row_data["price"], "stock": "1",
    }  # fmt: skip
    assert error.row_data["price"] in ("1.00", "1", "1.0")


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("Widget\u200b", id="zero-width-space"),
        pytest.param("\u202eWidget", id="right-to-left-override"),
        pytest.param("\uff37\uff49\uff44\uff47\uff45\uff54", id="full-width"),
        pytest.param("\u2066Wid\u00adget\u2069", id="isolate-and-soft-hyphen"),
    ],
)
def test_invisible_and_full_width_spellings_are_the_live_item(name):
    Item.objects.create(name="Widget", description="old")

    job = run_import(csv_bytes(("name", "description"), [(name, "new")]), kind="items")

    assert counts(job)["updated"] == 1
    assert list(Item.objects.values_list("name", "description")) == [("Widget", "new")]


def test_the_issue_file_gives_one_widget():
    rows = [
        ("Widget\u200b", "a"),
        ("\u202eWidget", "b"),
        ("\uff37\uff49\uff44\uff47\uff45\uff54", "c"),
        ("Widget", "d"),
    ]

    job = run_import(csv_bytes(("name", "description"), rows), kind="items")

    assert (counts(job)["inserted"], counts(job)["superseded"]) == (1, 3)
    assert list(Item.objects.values_list("name", "description")) == [("Widget", "d")]


def test_a_whole_script_name_imports_even_when_it_looks_like_a_live_latin_one():
    Color.objects.create(color_name="Cop")
    cyrillic_cop = "\u0421\u043e\u0440"

    job = run_import(csv_bytes(("color_name",), [(cyrillic_cop,), (RUSSIAN_RED,)]), kind="colors")

    assert (job.status, counts(job)["inserted"]) == (ImportStatus.COMPLETED, 2)
    assert colors() == {"Cop", cyrillic_cop, RUSSIAN_RED}


def test_a_lookalike_already_live_is_not_new_and_imports_as_itself():
    Color.objects.create(color_name="Red")
    Color.objects.create(color_name=CYRILLIC_RED)  # from before the rule

    job = run_import(csv_bytes(("color_name",), [(CYRILLIC_RED,), ("Red",)]), kind="colors")

    assert (job.status, counts(job)["unchanged"]) == (ImportStatus.COMPLETED, 2)


def test_a_soft_deleted_twin_is_no_live_name_to_look_like():
    gone = Color.objects.create(color_name="Red")
    Color.all_objects.filter(pk=gone.pk).update(deleted_at=gone.created_at)

    job = run_import(csv_bytes(("color_name",), [(CYRILLIC_RED,)]), kind="colors")

    assert (job.status, colors()) == (ImportStatus.COMPLETED, {CYRILLIC_RED})


@pytest.mark.parametrize("order", ["lookalike-first", "lookalike-last"])
def test_two_new_names_in_one_file_the_single_script_one_lands_the_mixed_one_is_refused(order):
    rows = [("Red",), (CYRILLIC_RED,), (CYRILLIC_RED,)]
    if order == "lookalike-first":
        rows.reverse()

    job = run_import(csv_bytes(("Color",), rows), kind="colors")

    assert (counts(job)["inserted"], counts(job)["failed"]) == (1, 2)
    refused = [number for number, _ in errors(job)]
    assert refused == ([1, 2] if order == "lookalike-first" else [2, 3])
    assert {reason for _, reason in errors(job)} == {
        "Color 'R\u0435d' looks like the color 'Red' that this file also creates but mixes Latin and Cyrillic "
        "letters (a Cyrillic '\u0435' at position 2); use 'Red' or type the name again"
    }
    assert colors() == {"Red"}


def test_two_mixed_script_names_that_only_look_like_each_other_both_land():
    komi_red = "R\u0435\u0501"  # Cyrillic ie and Cyrillic komi de

    job = run_import(csv_bytes(("color_name",), [(CYRILLIC_RED,), (komi_red,)]), kind="colors")

    assert (job.status, colors()) == (ImportStatus.COMPLETED, {CYRILLIC_RED, komi_red})


def test_every_lookalike_of_a_row_is_reported_and_its_masters_are_not_created():
    make_variant(item="Shirt", color="Red", size="M")
    rows = [("Sh\u0456rt", "", CYRILLIC_RED, "M", "", "", ""), ("Shirt", "", "Red", "\u041c", "", "", "")]

    job = run_import(csv_bytes(VARIANT_HEADER, rows))

    assert (counts(job)["failed"], counts(job)["inserted"]) == (1, 1)  # a whole-script Cyrillic size is fine
    error = ImportRowError.objects.get(job=job)
    assert [problem["column"] for problem in error.problems] == ["item_name", "color_name"]
    assert error.reason.startswith("item_name 'Sh\u0456rt' looks like the existing item 'Shirt' but mixes")
    assert error.reason.endswith(RED_REASON)
    assert set(Item.objects.values_list("name", flat=True)) == {"Shirt"}
    assert set(Size.objects.values_list("size_name", flat=True)) == {"M", "\u041c"}


def test_a_dry_run_reports_the_same_refusal_and_writes_nothing():
    Color.objects.create(color_name="Red")
    content = csv_bytes(("color_name",), [(CYRILLIC_RED,), ("Navy",)])

    dry = run_import(content, kind="colors", dry_run=True)
    real = run_import(content, kind="colors")

    assert counts(dry) == counts(real)
    assert errors(dry) == errors(real) == [(1, RED_REASON)]
    assert colors() == {"Red", "Navy"}


def test_a_refused_row_in_a_later_batch_keeps_the_checkpoint_exact():
    Color.objects.create(color_name="Red")
    rows = [(f"Color {i}",) for i in range(1, 6)] + [(CYRILLIC_RED,)] + [(f"Color {i}",) for i in range(7, 9)]

    job = run_import(csv_bytes(("color_name",), rows), kind="colors", batch_size=3)

    assert (counts(job)["inserted"], counts(job)["failed"], job.checkpoint_row) == (7, 1, 8)
    assert errors(job) == [(6, RED_REASON)]


def test_import_catalog_reports_the_refused_row(tmp_path):
    Color.objects.create(color_name="Red")
    path = tmp_path / "colors.csv"
    path.write_bytes(csv_bytes(("color_name",), [(CYRILLIC_RED,), ("Navy",), (RUSSIAN_RED,)]))

    code, out, _ = run("import_catalog", path, "--kind", "colors", "--json")

    job = last_json(out)
    assert (code, job["status"], job["inserted"], job["failed"]) == (3, ImportStatus.COMPLETED_WITH_ERRORS, 2, 1)
    code, out, _ = run("import_errors", job["import_id"], "--format", "json")
    assert [(row["row_number"], row["error"]) for row in json.loads(out)] == [(1, RED_REASON)]
    assert colors() == {"Red", "Navy", RUSSIAN_RED}


def test_the_api_reports_the_refused_row(api):
    Color.objects.create(color_name="Red")
    content = csv_bytes(("color_name",), [(CYRILLIC_RED,), ("Navy",)])

    response = api.post("/api/imports/", {"file": stream(content, "colors.csv"), "kind": "colors"}, format="multipart")

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["inserted"], body["failed"]) == (1, 1)
    first = [(row["row_number"], row["column"], row["error"]) for row in body["error_summary"]["first_rows"]]
    assert first == [(1, "color_name", RED_REASON)]
    assert ItemVariant.objects.count() == 0
    assert colors() == {"Red", "Navy"}
