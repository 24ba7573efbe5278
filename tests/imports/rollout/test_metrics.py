"""Import metrics per system and the 4.2 alerts (imports.rollout.metrics), and the guide's section 1.2
and 4.3 SQL, verbatim, on the import_logs views. The import_metrics command: management/."""

from __future__ import annotations

import pytest
from django.db import connection

from imports.rollout.metrics import evaluate_alerts, import_metrics, improvement_percent
from tests.imports.rollout.runs import seed_run

pytestmark = pytest.mark.django_db


def test_per_system_figures_follow_the_documented_definitions(mixed_runs):
    figures = import_metrics(days=30)
    legacy, upsert = figures["systems"]["legacy"], figures["systems"]["upsert"]

    assert legacy["count"] == 3
    assert legacy["finished"] == 3
    assert legacy["avg_duration_seconds"] == 12.0  # completed runs only (10 and 14)
    assert legacy["success_rate"] == pytest.approx(100 * (100 + 98 + 0) / 300, abs=0.01)  # rows, not runs
    assert legacy["error_rate"] == pytest.approx(100 / 3, abs=0.01)
    assert legacy["errors"]["failed_imports"] == 1
    assert legacy["errors"]["failed_rows"] == 2
    assert [error["reason"] for error in legacy["errors"]["recent"]] == ["Row 7: price ..."]

    assert upsert["count"] == 4  # cancelled and running count as runs; the dry run does not
    assert upsert["by_status"]["cancelled"] == upsert["by_status"]["running"] == 1
    assert upsert["finished"] == 2
    assert upsert["avg_duration_seconds"] == 1.5
    assert upsert["success_rate"] == 95.0
    assert upsert["error_rate"] == 0.0
    assert figures["improvement_percent"] == 87.5  # (12 - 1.5) / 12


def test_the_window_and_improvement_are_the_guides():
    assert improvement_percent(legacy=12.0, upsert=1.5) == 87.5
    assert improvement_percent(legacy=None, upsert=1.5) is None
    assert improvement_percent(legacy=2.0, upsert=4.0) == -100.0
    seed_run("legacy", duration=10.0, days_ago=8)
    assert import_metrics(days=7)["systems"]["legacy"]["count"] == 0
    assert import_metrics(days=9)["systems"]["legacy"]["count"] == 1


def test_no_runs_no_figures_no_alerts():
    figures = import_metrics(days=30)
    assert figures["systems"]["upsert"]["success_rate"] is None
    assert figures["improvement_percent"] is None
    assert evaluate_alerts(figures) == []


def test_alerts_fire_on_each_threshold_per_system(settings):
    settings.IMPORT_ALERT_MAX_DURATION_SECONDS = 600
    seed_run("upsert", duration=700.0, days_ago=0.1)  # too slow
    seed_run("legacy", status="failed", success_rate=0.0, duration=1.0)
    seed_run("legacy", duration=1.0, success_rate=100.0)
    alerts = {(alert.check, alert.system): alert.message for alert in evaluate_alerts(import_metrics(days=1))}

    assert set(alerts) == {
        ("import_duration", "upsert"),
        ("import_success_rate", "legacy"),
        ("import_error_rate", "legacy"),
    }
    assert "took longer than 600 s" in alerts[("import_duration", "upsert")]
    assert "success rate 50 % is below 95 %" in alerts[("import_success_rate", "legacy")]
    assert "1 of 2 import(s) failed (50 % > 5 %)" in alerts[("import_error_rate", "legacy")]


def test_thresholds_come_from_the_settings(settings):
    seed_run("upsert", written=96)  # 96 of 100 rows without a problem written
    assert evaluate_alerts(import_metrics(days=1)) == []
    settings.IMPORT_ALERT_MIN_SUCCESS_RATE = 97
    assert [alert.check for alert in evaluate_alerts(import_metrics(days=1))] == ["import_success_rate"]


def test_the_success_rate_is_weighted_by_rows_not_averaged_over_imports():
    seed_run("upsert", rows=9, written=9)
    seed_run("upsert", rows=18, failed=9, status="completed_with_errors")

    upsert = import_metrics(days=1)["systems"]["upsert"]

    assert upsert["success_rate"] == 66.67  # 18 of 27 rows (the average of 100 % and 50 % would be 75 %)
    assert (upsert["rows_imported"], upsert["rows"]) == (18, 27)


def test_refused_files_and_bad_rows_in_a_file_are_the_users_to_fix_and_fire_no_alert():
    seed_run("upsert", status="failed", refused_code="too_many_rows", rows=0, reason="more than 50,000 rows")
    seed_run("upsert", status="failed", refused_code="wrong_header", rows=0)
    seed_run("upsert", rows=17, failed=3, status="completed_with_errors")  # the demo file's 3 bad rows

    figures = import_metrics(days=1)
    upsert = figures["systems"]["upsert"]

    assert (upsert["count"], upsert["refused"], upsert["finished"]) == (3, 2, 1)
    assert (upsert["errors"]["failed_imports"], upsert["error_rate"]) == (0, 0.0)
    assert upsert["system_success_rate"] == 100.0
    assert upsert["success_rate"] == pytest.approx(100 * 14 / 17, abs=0.01)
    assert evaluate_alerts(figures) == []


def test_a_failure_of_the_system_still_fires_both_alerts():
    seed_run("upsert", rows=100, written=100)
    seed_run("upsert", status="failed", rows=100, written=40, reason="Database error; rows up to 40 are kept")

    alerts = {alert.check for alert in evaluate_alerts(import_metrics(days=1))}

    assert alerts == {"import_success_rate", "import_error_rate"}


# --- The guide's SQL, verbatim (PostgreSQL views) -----------------------------------------------

GUIDE_1_2 = [
    "SELECT COUNT(*) FROM import_logs WHERE created_at > NOW() - INTERVAL '30 days';",
    "SELECT AVG(duration_seconds) FROM import_logs WHERE status = 'completed';",
    """SELECT EXTRACT(HOUR FROM created_at) as hour, COUNT(*) 
FROM import_logs 
GROUP BY hour 
ORDER BY count DESC;""",  # noqa: W291 - the guide's trailing spaces, kept
]

GUIDE_4_3_OLD = """-- Old system performance (from logs)
SELECT 
    AVG(duration_seconds) as avg_duration,
    AVG(success_rate) as avg_success_rate,
    COUNT(*) as total_imports
FROM import_logs_old
WHERE created_at > NOW() - INTERVAL '30 days';"""  # noqa: W291

GUIDE_4_3_NEW = """-- New system performance
SELECT 
    AVG(duration_seconds) as avg_duration,
    AVG(success_rate) as avg_success_rate,
    COUNT(*) as total_imports
FROM import_results
JOIN import_jobs USING (import_id)
WHERE created_at > NOW() - INTERVAL '7 days';"""  # noqa: W291


def fetch(sql: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


@pytest.mark.postgresql
def test_the_guides_phase_1_2_queries_run_verbatim_on_import_logs(mixed_runs):
    count, average, peaks = (fetch(sql) for sql in GUIDE_1_2)
    assert count == [(7,)]  # 30 days, no dry run
    assert float(average[0][0]) == pytest.approx((10.0 + 1.0 + 99.0) / 3)  # every completed run, any age
    assert sum(n for _, n in peaks) == 8  # every run ever, no dry run


@pytest.mark.postgresql
def test_the_guides_phase_4_3_queries_run_verbatim(mixed_runs):
    [(old_duration, old_success, old_total)] = fetch(GUIDE_4_3_OLD)
    assert old_total == 3  # legacy runs of the last 30 days
    assert old_duration == pytest.approx((10 + 14 + 0.5) / 3)
    assert old_success == pytest.approx((100 + 98 + 0) / 3)
    [(_, _, new_total)] = fetch(GUIDE_4_3_NEW)
    assert new_total == 8  # the guide's query reads the tables: every job of 7 days, dry runs included


@pytest.mark.postgresql
def test_import_logs_has_the_columns_the_guide_reads():
    columns = {
        row[0]
        for row in fetch(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'import_logs_old' "
            "ORDER BY ordinal_position"
        )
    }
    assert {"created_at", "status", "duration_seconds", "success_rate", "system", "import_id"} <= columns
