"""``manage.py import_catalog``: exit codes, the ``--json`` last line, refusals, dry runs, background, pipes."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from django_q.models import OrmQ

from catalog.models import Color, Item, ItemVariant, Size
from imports import services
from imports.management.commands import import_catalog
from imports.models import ImportJob, ImportStatus
from tests.imports.engine.job_runs import VARIANT_HEADER, csv_bytes, live_variants, make_variant
from tests.imports.files import variants_csv
from tests.imports.management.cli import JOB_KEYS, ROOT, command_env, last_json, manage, run

pytestmark = pytest.mark.usefixtures("import_env")

PICTURE = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def write(tmp_path, content: bytes, name: str = "variants.csv") -> str:
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


def stored_files(settings) -> list[Path]:
    return [path for path in Path(settings.MEDIA_ROOT).rglob("*") if path.is_file()]


# --- exit codes and --json ----------------------------------------------------------------------

OUTCOMES = {
    "no failed row": (variants_csv(6), [], 0, ImportStatus.COMPLETED),
    "failed rows": (variants_csv(6, bad_every=3), [], 3, ImportStatus.COMPLETED_WITH_ERRORS),
    "job failed: more rows than --max-rows": (variants_csv(6), ["--max-rows", "5"], 1, ImportStatus.FAILED),
}
#: The summary's word for a job failed because the user's file was refused (issue 15).
SAID = {ImportStatus.FAILED: "refused"}


@pytest.mark.django_db
@pytest.mark.parametrize(("content", "argv", "code", "status"), OUTCOMES.values(), ids=OUTCOMES)
def test_the_exit_code_and_the_json_job_follow_the_outcome(tmp_path, content, argv, code, status):
    path = write(tmp_path, content)

    text_code, out, _ = run("import_catalog", path, *argv)
    json_code, json_out, _ = run("import_catalog", path, *argv, "--json")

    text_job, json_job = ImportJob.objects.order_by("pk")
    assert (text_code, text_job.status) == (code, status)
    assert (
        out.splitlines()[0] == f"Import #{text_job.pk} of variants.csv (variants, upsert): {SAID.get(status, status)}"
    )
    assert (json_code, json_job.status) == (code, status)
    job = last_json(json_out)
    assert set(job) == JOB_KEYS
    assert (job["import_id"], job["status"], job["source"], job["dry_run"]) == (json_job.pk, status, "cli", False)


REFUSED = {
    "empty": (b"", "empty_file", "variants.csv is empty"),
    "header only": (b"item_name,color_name,size_name\n", "no_data_rows", "has a header but no data rows"),
    "wrong header": (b"sku,weight\nA-1,3\n", "wrong_header", "Missing required column"),
    "a picture renamed .csv": (PICTURE, "unsupported_file_type", "not a spreadsheet"),
}


@pytest.mark.django_db
@pytest.mark.parametrize(("content", "refusal", "words"), REFUSED.values(), ids=REFUSED)
def test_a_refused_file_exits_1_with_its_code_and_never_becomes_a_job(tmp_path, settings, content, refusal, words):
    path = write(tmp_path, content)

    code, out, err = run("import_catalog", path)
    assert (code, out) == (1, "")
    assert err.startswith("import_catalog: ")
    assert words in err

    code, out, err = run("import_catalog", path, "--json")
    assert code == 1
    body = last_json(out)
    assert (body.pop("detail"), body.pop("code")) == (err.splitlines()[0].removeprefix("import_catalog: "), refusal)
    if refusal == "wrong_header":  # what a script needs to map the columns itself
        assert body == {
            "missing": ["item_name", "color_name", "size_name"],
            "suggestion": {"sku": "sku", "weight": None},
            "fields": ["item_name", "description", "color_name", "size_name", "sku", "price", "stock"],
        }
    else:
        assert body == {}
    assert not ImportJob.objects.exists()
    assert not stored_files(settings)
    assert not Item.all_objects.exists()


USAGE_ERRORS = {
    "no such file": (["{missing}"], "no such file"),
    "a directory": (["{dir}"], "not a file"),
    "--max-rows 0": (["{file}", "--max-rows", "0"], "--max-rows must be at least 1"),
    "--max-rows not a number": (["{file}", "--max-rows", "many"], "invalid int value: 'many'"),
    "--user unknown": (["{file}", "--user", "nobody"], "--user nobody: no such user"),
    "--kind not a choice": (["{file}", "--kind", "planets"], "invalid choice: 'planets'"),
    "--format not a choice": (["{file}", "--format", "pdf"], "invalid choice: 'pdf'"),
    "--system not a choice": (["{file}", "--system", "newest"], "invalid choice: 'newest'"),
    "--encoding unknown": (["{file}", "--encoding", "klingon"], "--encoding klingon: unknown encoding"),
    "--encoding not for text": (["{file}", "--encoding", "zlib"], "--encoding zlib: not a text encoding"),
    "--number-format not a choice": (["{file}", "--number-format", "roman"], "invalid choice: 'roman'"),
    "--decimal-comma with --number-format": (
        ["{file}", "--decimal-comma", "--number-format", "point"],
        "not allowed with argument --decimal-comma",
    ),
}


@pytest.mark.django_db
@pytest.mark.parametrize(("argv", "words"), USAGE_ERRORS.values(), ids=USAGE_ERRORS)
def test_usage_errors_exit_2_and_start_nothing(tmp_path, argv, words):
    places = {"missing": tmp_path / "missing.csv", "dir": tmp_path, "file": write(tmp_path, variants_csv(3))}
    code, out, err = run("import_catalog", *(arg.format(**places) for arg in argv))
    assert (code, out) == (2, "")
    assert words in err
    assert not ImportJob.objects.exists()
    assert not ItemVariant.objects.exists()


# --- what the summary says ---------------------------------------------------------------------


# --- --map -----------------------------------------------------------------------------------------

SUPPLIER = csv_bytes(("Artikel", "Tint", "Größe", "Notes"), [("Shirt", "Red", "M", "x")])


@pytest.mark.django_db
def test_an_unmapped_required_column_exits_1_with_the_suggestion_as_map_options_to_paste(tmp_path):
    path = write(tmp_path, SUPPLIER)

    code, out, err = run("import_catalog", path)

    assert (code, out) == (1, "")
    lines = err.splitlines()
    assert lines[0].startswith("import_catalog: Missing required column(s) color_name")
    assert (
        lines[2] == "  --map=Artikel=item_name --map=Tint= '--map=Größe=size_name' --map=Notes="
    )  # quoted for a shell
    assert lines[3] == "No column suggested for: color_name (add --map='HEADER=FIELD' for each)."
    assert not ImportJob.objects.exists()


@pytest.mark.django_db
def test_map_options_read_the_columns_and_an_empty_field_ignores_one(tmp_path):
    path = write(tmp_path, SUPPLIER)

    code, out, _ = run("import_catalog", path, "--map", "Tint=color_name", "--map", "Notes=", "--json")

    assert code == 0
    job = last_json(out)
    assert job["mapping"] == {"Artikel": "item_name", "Tint": "color_name", "Größe": "size_name", "Notes": None}
    assert job["warnings"] == ["Ignored column(s) not used by a variants import: 'Notes'."]
    assert ItemVariant.objects.get().color.color_name == "Red"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("option", "words"),
    [
        pytest.param("Tint", "--map 'Tint': expected HEADER=FIELD", id="no-equals"),
        pytest.param("=color_name", "--map '=color_name': expected HEADER=FIELD", id="no-header"),
    ],
)
def test_a_map_option_without_a_header_is_a_usage_error(tmp_path, option, words):
    code, _, err = run("import_catalog", write(tmp_path, SUPPLIER), "--map", option)
    assert code == 2
    assert words in err


@pytest.mark.django_db
def test_a_map_option_the_file_cannot_use_exits_1_naming_it(tmp_path):
    code, _, err = run("import_catalog", write(tmp_path, SUPPLIER), "--map", "Hue=color_name")
    assert code == 1
    assert "The mapping names column(s) 'Hue' the file does not have" in err


# --- --decimal-comma / --number-format ----------------------------------------------------------

TWO_WAY = csv_bytes(("item_name", "color_name", "size_name", "stock"), [("Shirt", "Red", "M", "1.000")])


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("argv", "number_format", "stock"),
    [
        pytest.param(["--decimal-comma"], "comma", 1000, id="decimal-comma"),
        pytest.param(["--number-format", "comma"], "comma", 1000, id="number-format-comma"),
        pytest.param(["--number-format", "point"], "point", 1, id="number-format-point"),
    ],
)
def test_the_number_format_options_choose_how_numbers_are_read(tmp_path, argv, number_format, stock):
    code, out, _ = run("import_catalog", write(tmp_path, TWO_WAY), *argv, "--json")
    assert code == 0
    assert last_json(out)["number_format"] == number_format
    assert ItemVariant.objects.get().stock == stock


@pytest.mark.django_db
def test_without_a_number_format_a_two_way_number_is_a_failed_row_that_says_so(tmp_path):
    code, _, _ = run("import_catalog", write(tmp_path, TWO_WAY))
    assert code == 3
    job = ImportJob.objects.get()
    assert job.row_errors.get().reason.startswith("stock could be 1 or 1000")


@pytest.mark.django_db
def test_the_summary_names_the_failed_rows_command_only_when_rows_failed(tmp_path):
    _, out, _ = run("import_catalog", write(tmp_path, variants_csv(6, bad_every=3)))
    job = ImportJob.objects.get()
    assert "  rows 6: inserted 4, updated 0, unchanged 0, superseded 0, failed 2" in out.splitlines()
    # the command as the README writes it, to paste in the project's directory (issue 15)
    assert out.splitlines()[-1] == f"  failed rows: .venv/bin/python manage.py import_errors {job.pk} --format csv"

    _, out, _ = run("import_catalog", write(tmp_path, variants_csv(6)))
    assert "import_errors" not in out


@pytest.mark.django_db
def test_a_refused_run_says_so_once_with_no_line_of_zero_counts(tmp_path, caplog):
    """Issue 15: the refusal is the command's own line, not also an INFO log line; no row was read, no counts."""
    caplog.set_level("INFO")
    code, out, err = run("import_catalog", write(tmp_path, variants_csv(6)), "--max-rows", "5")
    job = ImportJob.objects.get()
    assert code == 1
    assert out.splitlines() == [
        f"Import #{job.pk} of {job.file_name} (variants, upsert): refused",
        "  variants.csv has more than 5 rows, the most one import accepts; split the file or ask an administrator "
        "to raise the limit. Nothing was imported.",
    ]
    assert err == ""
    assert [r.getMessage() for r in caplog.records if r.name.startswith("imports")] == []


@pytest.mark.django_db
def test_an_import_cancelled_while_it_runs_exits_1(tmp_path, monkeypatch, settings):
    settings.IMPORT_BATCH_SIZE = 10

    def cancel_after_the_first_batch(progress):
        if progress.stage == "writing" and progress.rows_done == 10:
            services.cancel_import(job=ImportJob.objects.get())

    def start_import(**options):  # someone cancels the job (API, admin) while the command runs it
        return services.start_import(**{**options, "on_progress": cancel_after_the_first_batch})

    monkeypatch.setattr(import_catalog, "start_import", start_import)
    code, out, _ = run("import_catalog", write(tmp_path, variants_csv(30)), "--json")
    assert code == 1
    # Asked for between batches 1 and 2, the cancel is read by batch 2's bookkeeping: 20 rows kept.
    assert (last_json(out)["status"], last_json(out)["inserted"]) == (ImportStatus.CANCELLED, 20)


# --- --dry-run ----------------------------------------------------------------------------------

ROWS = [
    ("Shirt", "Cotton", "Red", "M", "S-1", "12.00", "5"),  # updates the stored variant
    ("Pants", "", "Red", "M", "P-1", "30.00", "2"),  # as stored: unchanged
    ("Hat", "Wool", "Blue", "L", "H-1", "5.00", "1"),  # superseded by the next row
    ("Hat", "Felt", "Blue", "L", "H-2", "6.00", "1"),  # new item, color, size, variant
    ("Broken", "", "Red", "M", "", "-1", ""),  # fails
]
FIGURES = ("total_rows", "inserted", "updated", "unchanged", "superseded", "failed")


def catalog() -> tuple:
    return (
        live_variants(),
        set(Item.all_objects.values_list("pk", "name", "description", "updated_at", "deleted_at")),
        set(Color.all_objects.values_list("pk", "color_name")),
        set(Size.all_objects.values_list("pk", "size_name")),
    )


@pytest.mark.django_db
def test_a_dry_run_writes_nothing_and_reports_what_the_real_run_then_does(tmp_path):
    make_variant("Shirt", "Red", "M", sku="S-1", price="10.00", stock=5, description="Cotton")
    make_variant("Pants", "Red", "M", sku="P-1", price="30.00", stock=2)
    path = write(tmp_path, csv_bytes(VARIANT_HEADER, ROWS))
    before = catalog()

    code, out, _ = run("import_catalog", path, "--dry-run", "--json")
    dry = last_json(out)
    assert (code, dry["dry_run"], dry["status"]) == (3, True, ImportStatus.COMPLETED_WITH_ERRORS)
    assert {name: dry[name] for name in FIGURES} == {
        "total_rows": 5,
        "inserted": 1,
        "updated": 1,
        "unchanged": 1,
        "superseded": 1,
        "failed": 1,
    }
    assert catalog() == before

    code, out, _ = run("import_catalog", path, "--json")
    real = last_json(out)
    assert (code, real["dry_run"]) == (3, False)
    assert {name: real[name] for name in FIGURES} == {name: dry[name] for name in FIGURES}
    assert catalog() != before
    assert ("Hat", "Felt", "Blue", "L", "H-2") in {variant[:5] for variant in live_variants()}


@pytest.mark.django_db
def test_a_dry_run_summary_says_it_is_one(tmp_path):
    code, out, _ = run("import_catalog", write(tmp_path, variants_csv(4)), "--dry-run")
    assert code == 0
    assert out.startswith(f"Dry run #{ImportJob.objects.get().pk} of variants.csv")
    assert not ItemVariant.objects.exists()


# --- --background -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_background_queues_any_file_prints_only_its_id_and_exits_0(tmp_path):
    path = write(tmp_path, variants_csv(3, bad_every=2))  # failed rows, once it runs
    code, out, _ = run("import_catalog", path, "--background", "--system", "upsert")
    job = ImportJob.objects.get()
    assert (code, out) == (0, f"{job.pk}\n")
    assert job.status == ImportStatus.PENDING
    assert OrmQ.objects.get().task["args"] == (job.pk,)
    assert not ItemVariant.objects.exists()

    code, out, _ = run("import_catalog", path, "--background", "--json", "--system", "upsert")
    data = last_json(out)
    assert set(data) == JOB_KEYS
    assert (code, data["status"], data["file_name"]) == (0, ImportStatus.PENDING, "variants.csv")
    assert OrmQ.objects.count() == 2


# --- pipes: a real process whose reader has gone -----------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("argv", [["--json"], []], ids=["json", "text"])
def test_a_reader_gone_before_the_summary_leaves_the_exit_code_and_stderr_alone(tmp_path, argv):
    path = write(tmp_path, variants_csv(20, bad_every=2))
    process = subprocess.Popen(
        manage("import_catalog", path, "--system", "upsert", *argv),
        cwd=ROOT,
        env=command_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    process.stdout.close()  # nobody reads stdout: its first write meets a closed pipe
    err = process.stderr.read().decode()
    process.wait(timeout=120)
    assert process.returncode == 3, err
    assert "Traceback" not in err
    assert "BrokenPipeError" not in err


# --- header rows and line numbers (issue 12) ----------------------------------------------------


def test_a_title_above_the_header_is_skipped_and_failed_rows_are_named_by_their_line(tmp_path):
    path = write(tmp_path, "Frühjahr 2026\n\nArtikel;Farbe;Größe;Preis\nHemd;Rot;M;12,50\nHut;Blau;L;-1\n".encode())
    code, out, _ = run("import_catalog", path)
    assert code == 3, out
    assert "  column names read from line 3 (the lines above it skipped)" in out
    assert "  line 5 (row 2): Preis must be 0 or more" in out
    assert "failed rows: .venv/bin/python manage.py import_errors" in out


def test_header_row_names_the_line_of_the_column_names(tmp_path):
    path = write(tmp_path, "Artikel,Farbe,Größe\nitem_name,color_name,size_name\nShirt,Red,M\n".encode())
    code, out, _ = run("import_catalog", path, "--header-row", "2", "--json")
    assert code == 0, out
    assert (last_json(out)["header_row"], last_json(out)["inserted"]) == (2, 1)


def test_a_header_row_for_a_json_file_is_a_usage_error_saying_why(tmp_path):
    path = write(tmp_path, b'[{"item_name": "Shirt", "color_name": "Red", "size_name": "M"}]', "v.json")
    code, out, err = run("import_catalog", path, "--header-row", "2", "--json")
    assert code == 2, out
    assert err.strip() == (
        "import_catalog: error: --header-row: v.json is a JSON file, which has no header row: each record names "
        "its own fields, so there is no line of column names to choose. Leave the header row out."
    )
    assert not ImportJob.objects.exists()
    assert run("import_catalog", path)[0] == 0  # without it, the same file imports


@pytest.mark.parametrize("value", ["0", "1001"])
def test_a_header_row_out_of_range_is_a_usage_error(tmp_path, value):
    code, _, err = run("import_catalog", write(tmp_path, variants_csv(1)), "--header-row", value)
    assert (code, err.strip()) == (2, "import_catalog: error: --header-row must be a line from 1 to 1,000")
    assert not ImportJob.objects.exists()
