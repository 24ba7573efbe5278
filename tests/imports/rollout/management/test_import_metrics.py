"""``manage.py import_metrics``: the table, the ``--json`` last line (the API's JSON), exit codes."""

from __future__ import annotations

import json

import pytest

from imports.rollout.metrics import import_metrics
from tests.imports.management.cli import last_json, run

pytestmark = pytest.mark.django_db

SYSTEM_KEYS = {
    "count",
    "by_status",
    "finished",
    "avg_duration_seconds",
    "max_duration_seconds",
    "success_rate",
    "error_rate",
    "rows",
    "rows_imported",
    "failed_rows",
    "refused",
    "system_success_rate",
    "rows_per_second",
    "slow_imports",
    "errors",
}


def test_the_table_shows_both_systems_and_the_improvement(mixed_runs):
    code, out, _ = run("import_metrics", "--days", "30")
    assert code == 0
    assert out.startswith("Imports over the last 30 days (")
    assert "Performance improvement: 87.5%" in out
    assert "avg duration (s)  1.5     12" in out
    assert "legacy import #" in out
    assert "failed: Row 7: price ..." in out


def test_json_last_line_is_the_apis_json(mixed_runs):
    code, out, _ = run("import_metrics", "--days", "30", "--json")
    assert code == 0
    printed = last_json(out)
    assert set(printed) == {
        "window_days",
        "since",
        "until",
        "routing",
        "systems",
        "improvement_percent",
        "thresholds",
    }
    assert set(printed["systems"]) == {"legacy", "upsert"}
    for figures in printed["systems"].values():
        assert set(figures) == SYSTEM_KEYS
        assert set(figures["errors"]) == {"failed_imports", "failed_rows", "recent"}
    assert set(printed["thresholds"]) == {"min_success_rate", "max_duration_seconds", "max_error_rate"}

    expected = import_metrics(days=30)
    for document in (printed, expected):
        document.pop("until")
        document.pop("since")
    assert printed == json.loads(json.dumps(expected))


def test_no_imports_is_no_figures_and_exits_0():
    code, out, _ = run("import_metrics", "--days", "7")
    assert code == 0
    assert "Performance improvement: n/a (needs completed imports on both systems)" in out


@pytest.mark.parametrize(
    ("days", "words"),
    [
        ("0", "--days must be more than 0"),
        ("-1", "--days must be more than 0"),
        ("week", "invalid float value"),
        ("1e6", "at most 36500"),  # was an OverflowError traceback (issue 11)
        ("nan", "--days must be more than 0"),
        ("inf", "at most 36500"),
    ],
)
def test_a_window_that_is_not_a_positive_number_exits_2(days, words):
    code, out, err = run("import_metrics", "--days", days)
    assert (code, out) == (2, "")
    assert words in err
