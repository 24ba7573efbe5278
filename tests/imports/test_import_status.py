"""``import_status`` (status, bar, --follow, --json, exit codes) and ``import_catalog --background``."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django_q.models import OrmQ

from imports import runtime, services
from imports.management.commands import import_status
from imports.models import ImportJob, ImportStatus
from tests.imports.files import stream, variants_csv

pytestmark = pytest.mark.usefixtures("import_env")


def _job(content: bytes, **options) -> ImportJob:
    return services.create_import_job(
        stream=stream(content), file_name="v.csv", kind="variants", system="upsert", options=options
    )


def run(*args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(*args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    return code, out.getvalue(), err.getvalue()


def test_a_finished_import_shows_status_and_a_full_bar(db):
    job = runtime.run_import_now(job=_job(variants_csv(20)))
    code, out, _ = run("import_status", str(job.pk))
    assert code == 0
    first, bar = out.splitlines()[:2]
    assert first == f"Import #{job.pk} of v.csv (variants): completed"
    assert bar.strip().startswith("[" + "#" * 30 + "]")
    assert "100.0%" in bar
    assert "20/20 rows" in bar


@pytest.mark.parametrize(
    ("content", "status", "code"),
    [
        (variants_csv(6, bad_every=3), ImportStatus.COMPLETED_WITH_ERRORS, 3),
        (b"item_name,color_name\nShirt,Red\n", ImportStatus.FAILED, 1),
    ],
)
def test_exit_codes_follow_import_catalog(db, content, status, code):
    job = runtime.run_import_now(job=_job(content))
    assert job.status == status
    assert run("import_status", str(job.pk))[0] == code


def test_a_waiting_import_exits_0_and_json_carries_progress(db):
    job = _job(variants_csv(5))
    code, out, _ = run("import_status", str(job.pk), "--json")
    assert code == 0
    data = json.loads(out.splitlines()[-1])
    assert (data["import_id"], data["status"], data["progress"]["stage"]) == (job.pk, "pending", "waiting")


def test_follow_redraws_until_the_import_finishes(db, monkeypatch):
    job = _job(variants_csv(30))
    looks = []

    def worker_runs_meanwhile(seconds):
        looks.append(seconds)
        runtime.execute_import(import_id=job.pk)

    monkeypatch.setattr(import_status.time, "sleep", worker_runs_meanwhile)
    code, out, _ = run("import_status", str(job.pk), "--follow", "--interval", "0.2")
    assert code == 0
    assert looks == [0.2]
    lines = out.splitlines()
    assert "0/? rows waiting" in lines[0]
    assert "30/30 rows done" in lines[1]
    assert lines[2] == f"Import #{job.pk} of v.csv (variants): completed"


def test_unknown_import_is_a_usage_error(db):
    code, _, err = run("import_status", "424242")
    assert code == 2
    assert "import 424242 does not exist" in err


def test_import_catalog_background_queues_any_file_and_prints_its_id(db, tmp_path):
    path = tmp_path / "small.csv"
    path.write_bytes(variants_csv(3))
    code, out, _ = run("import_catalog", str(path), "--background", "--system", "upsert")
    assert code == 0
    job = ImportJob.objects.get()
    assert out.strip() == str(job.pk)
    assert job.status == ImportStatus.PENDING
    assert OrmQ.objects.get().task["args"] == (job.pk,)

    code, out, _ = run("import_catalog", str(path), "--background", "--json", "--system", "upsert")
    data = json.loads(out.splitlines()[-1])
    assert (code, data["status"], data["file_name"]) == (0, "pending", "small.csv")
    assert OrmQ.objects.count() == 2
