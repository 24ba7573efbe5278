"""What the admin's import metrics page draws, on top of :mod:`imports.metrics`.

``imports.metrics`` holds the definitions (a run, success rate, error rate,
average duration, improvement %, the alert thresholds) shared by the command,
the API and the health check; this module only arranges them for a page:
the runs per day of the window for the charts, the alerts as a table of
check x system, and the latest failed imports with what a reader needs to
open them. Reading only.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django.db.models import Avg, Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from imports.models import ImportJob, ImportStatus, ImportSystem
from imports.rollout import metrics

#: The windows the page offers, in days.
WINDOWS = (7, 30, 90)
DEFAULT_WINDOW = 30
#: The alert window: the one the hourly health check uses.
ALERT_WINDOW_HOURS = 24
SYSTEM_LABELS: dict[str, str] = {ImportSystem.UPSERT: "New importer", ImportSystem.LEGACY: "Legacy importer"}


def daily_runs(*, days: int, now=None) -> dict:
    """Per day of the last ``days`` days (today included) and per system: runs, failed runs, average duration.

    Days without a run are there with zeros (and no average), so a chart's
    axis is the calendar. Averages cover the runs that completed, as in
    ``imports.metrics``. One query.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    first = today - timedelta(days=days - 1)
    since = timezone.make_aware(datetime.combine(first, time.min))
    rows = (
        metrics.runs(since=since, until=now)
        .annotate(day=TruncDate("created_at"))
        .order_by()
        .values("day", "system")
        .annotate(
            runs=Count("pk"),
            failed=Count("pk", filter=Q(status=ImportStatus.FAILED) & ~metrics.REFUSED),
            avg_duration=Avg("result__duration_seconds", filter=Q(status__in=metrics.COMPLETED)),
        )
    )
    calendar = [first + timedelta(days=n) for n in range(days)]
    position = {day: index for index, day in enumerate(calendar)}
    series: dict[str, dict[str, Any]] = {
        system: {
            "label": SYSTEM_LABELS[system],
            "runs": [0] * days,
            "failed": [0] * days,
            "avg_duration": [None] * days,
        }
        for system in ImportSystem.values
    }
    for row in rows:
        index = position.get(row["day"])
        if index is None or row["system"] not in series:
            continue
        figures = series[row["system"]]
        figures["runs"][index] = row["runs"]
        figures["failed"][index] = row["failed"]
        if row["avg_duration"] is not None:
            figures["avg_duration"][index] = round(row["avg_duration"], 2)
    return {"days": [day.isoformat() for day in calendar], "systems": series}


def alert_table(*, now=None) -> dict:
    """The three alert checks (guide 4.2) per system over the last 24 h, with values and thresholds.

    Whether a check fires is :func:`imports.metrics.evaluate_alerts`' answer,
    the one the health check and its hourly schedule give.
    """
    now = now or timezone.now()
    figures = metrics.metrics_since(since=now - timedelta(hours=ALERT_WINDOW_HOURS), until=now)
    fired = {(alert.check, alert.system): alert.message for alert in metrics.evaluate_alerts(figures)}
    limits = figures["thresholds"]
    checks = [
        (
            metrics.SUCCESS_RATE,
            "Rows written",
            f"alert below {limits['min_success_rate']:g} %",
            "system_success_rate",
            "%",
        ),
        (
            metrics.DURATION,
            "Longest import",
            f"alert above {limits['max_duration_seconds'] / 60:g} min",
            "max_duration_seconds",
            "s",
        ),
        (metrics.ERROR_RATE, "Failed imports", f"alert above {limits['max_error_rate']:g} %", "error_rate", "%"),
    ]
    rows = []
    for check, label, rule, key, unit in checks:
        cells = []
        for system in ImportSystem.values:
            value = figures["systems"][system][key]
            message = fired.get((check, system), "")
            cells.append(
                {
                    "system": system,
                    "value": value,
                    "unit": unit,
                    "state": "alert" if message else ("no_data" if value is None else "ok"),
                    "message": message,
                }
            )
        rows.append({"check": check, "label": label, "rule": rule, "how": metrics.ALERT_RULES[check], "cells": cells})
    return {
        "window_hours": ALERT_WINDOW_HOURS,
        "rows": rows,
        "firing": len(fired),
        "systems": [(system, SYSTEM_LABELS[system]) for system in ImportSystem.values],
    }


def recent_failures(*, since, limit: int = 10) -> list[ImportJob]:
    """The latest failed imports of the window (no dry runs, no refused files), newest first, with their user."""
    return list(
        metrics.runs(since=since)
        .filter(status=ImportStatus.FAILED)
        .exclude(metrics.REFUSED)
        .select_related("user", "result")
        .order_by("-created_at", "-import_id")[:limit]
    )
