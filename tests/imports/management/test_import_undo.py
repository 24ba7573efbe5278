"""``manage.py import_undo``: undo, preview, redo, refusals, ``--json`` and exit codes like ``import_catalog``."""

from __future__ import annotations

import pytest

from catalog.models import ItemVariant
from imports import runtime, services
from imports.models import ImportJob
from tests.imports.files import stream, variants_csv
from tests.imports.management.cli import JOB_KEYS, last_json, run

pytestmark = [pytest.mark.usefixtures("import_env"), pytest.mark.django_db]


def _imported(rows: int = 3) -> ImportJob:
    job = services.create_import_job(stream=stream(variants_csv(rows)), file_name="v.csv", system="upsert")
    return runtime.run_import_now(job=job)


def test_undo_exits_0_and_prints_what_it_did():
    job = _imported()
    code, out, _ = run("import_undo", job.pk)
    assert code == 0
    undo = ImportJob.objects.get(undoes=job)
    assert out.splitlines()[0] == f"Undo #{undo.pk} of import #{job.pk}: completed"
    assert f"removed {undo.result.deleted}, restored 0" in out
    assert undo.result.deleted > 3
    assert ItemVariant.objects.count() == 0


def test_dry_run_changes_nothing_and_json_is_the_jobs_shape():
    job = _imported()
    code, out, _ = run("import_undo", job.pk, "--dry-run", "--json")
    assert code == 0
    body = last_json(out)
    assert set(body) == JOB_KEYS
    assert (body["dry_run"], body["undoes_import_id"]) == (True, job.pk)
    assert body["deleted"] == body["total_rows"] > 3
    assert ItemVariant.objects.count() == 3


def test_conflicts_exit_3_and_force_restores_them():
    job = _imported()
    variant = ItemVariant.objects.first()
    variant.stock = 1234
    variant.save()
    code, out, _ = run("import_undo", job.pk, "--dry-run")
    assert code == 3
    assert "changed since (kept) 1" in out
    code, _, _ = run("import_undo", job.pk, "--force")
    assert code == 0
    assert ItemVariant.objects.count() == 0


def test_refusals_exit_1_with_the_reason_and_code():
    job = _imported()
    assert run("import_undo", job.pk)[0] == 0
    code, out, err = run("import_undo", job.pk, "--json")
    assert code == 1
    assert "already been undone" in err
    assert last_json(out)["code"] == "already_undone"


def test_an_unknown_import_is_a_usage_error():
    code, _, err = run("import_undo", 999999)
    assert code == 2
    assert "does not exist" in err


def test_undo_of_the_undo_brings_the_rows_back():
    job = _imported()
    run("import_undo", job.pk)
    undo = ImportJob.objects.get(undoes=job)
    code, _, _ = run("import_undo", undo.pk)
    assert code == 0
    assert ItemVariant.objects.count() == 3
