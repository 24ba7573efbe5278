"""``manage.py import_status``: status and bar, ``--follow``, ``--json``, and exit codes like ``import_catalog``."""

from __future__ import annotations

import pytest

from imports import runtime, services
from imports.management.commands import import_status
from imports.models import ImportJob, ImportStatus
from imports.serializers import PROGRESS
from tests.imports.files import stream, variants_csv
from tests.imports.management.cli import JOB_DETAIL_KEYS, last_json, run

pytestmark = [pytest.mark.usefixtures("import_env"), pytest.mark.django_db]


def _job(content: bytes, **options) -> ImportJob:
    return services.create_import_job(
        stream=stream(content), file_name="v.csv", kind="variants", system="upsert", options=options
    )


@pytest.fixture
def no_waiting(monkeypatch):
    """A finished job is reported at once: any wait fails the test (instead of hanging it)."""

    def sleep(seconds):
        raise AssertionError(f"import_status waited {seconds}s for a job that had finished")

    monkeypatch.setattr(import_status.time, "sleep", sleep)


def test_a_finished_import_shows_status_and_a_full_bar():
    job = runtime.run_import_now(job=_job(variants_csv(20)))
    code, out, _ = run("import_status", job.pk)
    assert code == 0
    first, bar = out.splitlines()[:2]
    assert first == f"Import #{job.pk} of v.csv (variants): completed"
    assert bar.strip().startswith("[" + "#" * 30 + "]")
    assert "100.0%" in bar
    assert "20/20 rows" in bar


def test_a_refused_file_says_refused_and_why_with_no_empty_bar():
    """Issue 15: a refused job showed "failed" and a bar of "?% 0/? rows"; no row was ever read."""
    job = runtime.run_import_now(job=_job(variants_csv(6), max_rows=5))
    assert job.is_refused
    code, out, _ = run("import_status", job.pk)
    assert code == 1
    assert out.splitlines() == [
        f"Import #{job.pk} of v.csv (variants): refused",
        "  v.csv has more than 5 rows, the most one import accepts; split the file or ask an administrator "
        "to raise the limit. Nothing was imported.",
    ]


FINISHED = {
    ImportStatus.COMPLETED: (lambda: runtime.run_import_now(job=_job(variants_csv(6))), 0),
    ImportStatus.COMPLETED_WITH_ERRORS: (lambda: runtime.run_import_now(job=_job(variants_csv(6, bad_every=3))), 3),
    ImportStatus.FAILED: (lambda: runtime.run_import_now(job=_job(b"item_name,color_name\nShirt,Red\n")), 1),
    ImportStatus.CANCELLED: (lambda: services.cancel_import(job=_job(variants_csv(6))), 1),
}


@pytest.mark.usefixtures("no_waiting")
@pytest.mark.parametrize("follow", [[], ["--follow"]], ids=["once", "follow"])
@pytest.mark.parametrize(("status", "finish", "code"), [(s, *v) for s, v in FINISHED.items()], ids=FINISHED)
def test_a_finished_import_exits_like_import_catalog(status, finish, code, follow):
    job = finish()
    assert job.status == status
    assert run("import_status", job.pk, *follow)[0] == code
    assert run("import_status", job.pk, *follow, "--json")[0] == code


@pytest.mark.parametrize("status", [ImportStatus.PENDING, ImportStatus.RUNNING])
def test_an_import_still_waiting_or_running_exits_0_without_follow(status):
    job = _job(variants_csv(5))
    ImportJob.objects.filter(pk=job.pk).update(status=status)
    code, out, _ = run("import_status", job.pk)
    assert code == 0
    assert out.splitlines()[0] == f"Import #{job.pk} of v.csv (variants): {status}"


def test_json_is_the_apis_job_with_its_progress():
    job = _job(variants_csv(5))
    code, out, _ = run("import_status", job.pk, "--json")
    assert code == 0
    data = last_json(out)
    assert set(data) == JOB_DETAIL_KEYS
    assert set(data["progress"]) == set(PROGRESS.fields)
    assert set(data["error_summary"]) == {"failed_rows", "top_reasons", "first_rows"}
    assert set(data["links"]) == {
        "self",
        "errors_csv",
        "errors_json",
        "errors_xlsx",
        "cancel",
        "retry",
        "undo",
        "corrections",
    }
    assert (data["import_id"], data["status"], data["progress"]["stage"]) == (job.pk, "pending", "waiting")


def test_follow_redraws_until_the_import_finishes(monkeypatch):
    job = _job(variants_csv(30))
    looks = []

    def worker_runs_meanwhile(seconds):
        looks.append(seconds)
        runtime.execute_import(import_id=job.pk)

    monkeypatch.setattr(import_status.time, "sleep", worker_runs_meanwhile)
    code, out, _ = run("import_status", job.pk, "--follow", "--interval", "0.2")
    assert code == 0
    assert looks == [0.2]
    lines = out.splitlines()
    assert "0/? rows waiting" in lines[0]
    assert "30/30 rows done" in lines[1]
    assert lines[2] == f"Import #{job.pk} of v.csv (variants): completed"


def test_follow_with_json_prints_only_the_finished_job(monkeypatch):
    job = _job(variants_csv(6, bad_every=3))
    monkeypatch.setattr(import_status.time, "sleep", lambda seconds: runtime.execute_import(import_id=job.pk))
    code, out, _ = run("import_status", job.pk, "--follow", "--json")
    assert code == 3
    assert len(out.splitlines()) == 1
    assert (last_json(out)["status"], last_json(out)["failed"]) == (ImportStatus.COMPLETED_WITH_ERRORS, 2)


USAGE_ERRORS = {
    "unknown import": (["424242"], "import 424242 does not exist"),
    "not an import id": (["latest"], "invalid int value: 'latest'"),
    "--interval 0": (["{id}", "--follow", "--interval", "0"], "--interval must be more than 0"),
    "--interval negative": (["{id}", "--interval", "-1"], "--interval must be more than 0"),
}


@pytest.mark.parametrize(("argv", "words"), USAGE_ERRORS.values(), ids=USAGE_ERRORS)
def test_usage_errors_exit_2(argv, words):
    job = _job(variants_csv(3))
    code, out, err = run("import_status", *(arg.format(id=job.pk) for arg in argv))
    assert (code, out) == (2, "")
    assert words in err
