"""``manage.py import_health``: exit 0 healthy / 1 unhealthy (each failing check named), ``--json``, usage errors."""

from __future__ import annotations

import pytest

from imports.rollout import health
from tests.imports.management.cli import last_json, run

pytestmark = pytest.mark.django_db


@pytest.mark.usefixtures("healthy")
def test_a_healthy_system_exits_0_and_says_so():
    code, out, err = run("import_health")
    assert (code, err) == (0, "")
    *checks, verdict = out.splitlines()
    assert len(checks) == len(health.CHECKS)
    assert {line[:6] for line in checks} <= {"[ok  ]", "[skip]"}  # skipped: what SQLite has not
    assert verdict == "healthy"


def test_a_failing_check_exits_1_and_is_named_on_stderr():
    # No background worker has ever reported: the worker check fails, nothing else.
    code, out, err = run("import_health")
    assert code == 1
    assert out.splitlines()[-1] == "UNHEALTHY: worker"
    assert "[FAIL] worker: no background worker has ever reported" in out
    assert err.splitlines() == [
        "import_health: worker failed: no background worker has ever reported: "
        "start one (.venv/bin/python manage.py qcluster)"
    ]


@pytest.mark.parametrize(
    ("worker", "code", "failing"), [(True, 0, []), (False, 1, ["worker"])], ids=["healthy", "no worker"]
)
def test_json_last_line_is_the_report_and_the_exit_code_is_the_same(request, worker, code, failing):
    if worker:
        request.getfixturevalue("healthy")
    exit_code, out, _ = run("import_health", "--json", "--hours", "48")
    report = last_json(out)
    assert exit_code == code
    assert set(report) == {"healthy", "failing", "checked_at", "window_hours", "checks"}
    assert (report["healthy"], report["failing"], report["window_hours"]) == (not failing, failing, 48)
    assert [check["name"] for check in report["checks"]] == list(health.CHECKS)
    assert all(set(check) == {"name", "status", "detail", "data"} for check in report["checks"])


@pytest.mark.parametrize(
    ("hours", "words"),
    [
        ("0", "--hours must be more than 0"),
        ("-2", "--hours must be more than 0"),
        ("day", "invalid float value"),
        ("1e9", "at most 876000"),  # was an OverflowError traceback (issue 11)
        ("nan", "--hours must be more than 0"),
    ],
)
def test_a_window_that_is_not_a_positive_number_exits_2(hours, words):
    code, out, err = run("import_health", "--hours", hours)
    assert (code, out) == (2, "")
    assert words in err
