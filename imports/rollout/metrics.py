"""Import metrics per system, and the alerts they raise.

The guide's section 3.3 dashboard (count, average duration, success rate and
errors per system, and the improvement of the new over the old) and its
section 4.2 alert thresholds, computed from the job records so they work on
any database; the PostgreSQL views ``import_logs`` / ``import_logs_old`` are
for the guide's own SQL.

Definitions (the same in the command, the API and the health check):

* a *run* is a job that is not a dry run, created in the window; ``count``
  counts every run whatever its status;
* a *refused* run failed because the user's file was refused (too many rows,
  a header without a required column, the legacy importer's bad row:
  ``ImportJob.refused_code``). It is the user's file to fix, not a failure
  of the system: ``refused`` counts them, and no rate or alert below counts
  them. *Finished* runs are the completed, completed-with-errors and failed
  runs that were not refused (cancelled runs were stopped on purpose);
* ``success_rate`` is weighted by rows: rows imported / rows read, over the
  finished runs (18 of 27 rows is 66.67 %, however the rows are spread over
  the runs); rows with problems in the file count against it;
* ``system_success_rate``, what the success-rate alert watches: of the rows
  without a problem of their own, the share the importer wrote (rows lost
  because an import failed count against it, rows with problems in the file
  do not: the demo file's deliberately bad rows fire no alert);
* ``error_rate`` is the share of finished runs that failed outright (refused
  files left out);
* ``avg_duration_seconds`` averages the runs that completed (with or without
  failed rows), the guide's 1.2 ``AVG(duration_seconds) ... WHERE status =
  'completed'`` with partial successes included;
* ``improvement_percent`` = (legacy average - upsert average) / legacy
  average x 100, the guide's ``compare_systems``. It compares whatever files
  each system got; ``compare_importers`` compares them on the same file.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Avg, Count, F, Max, Q, Sum
from django.utils import timezone

from imports.models import ImportJob, ImportStatus, ImportSystem
from imports.rollout.routing import rollout_flag

COMPLETED = (ImportStatus.COMPLETED, ImportStatus.COMPLETED_WITH_ERRORS)
RATED = (*COMPLETED, ImportStatus.FAILED)
RECENT_ERRORS = 5


def runs(*, since: datetime, until: datetime | None = None):
    """The runs metrics are made of: no dry runs, created in [since, until]."""
    jobs = ImportJob.objects.filter(dry_run=False, created_at__gte=since)
    if until is not None:
        jobs = jobs.filter(created_at__lte=until)
    return jobs


#: A run whose file was refused (see the module's docstring).
REFUSED = Q(status=ImportStatus.FAILED) & ~Q(refused_code="")
WRITTEN = F("result__inserted") + F("result__updated") + F("result__unchanged") + F("result__superseded")


def system_metrics(*, system: str, since: datetime, until: datetime | None = None) -> dict:
    every = runs(since=since, until=until).filter(system=system)
    by_status = dict(every.order_by().values_list("status").annotate(n=Count("pk")))
    refused = every.filter(REFUSED).count()
    jobs = every.exclude(REFUSED)
    rated = jobs.filter(status__in=RATED).aggregate(
        finished=Count("pk"),
        rows=Sum("result__total_rows"),
        failed_rows=Sum("result__failed"),
        written=Sum(WRITTEN),
        max_duration=Max("result__duration_seconds"),
    )
    completed = jobs.filter(status__in=COMPLETED).aggregate(
        avg_duration=Avg("result__duration_seconds"),
        rows=Sum("result__total_rows"),
        seconds=Sum("result__duration_seconds"),
    )
    failed_imports = by_status.get(ImportStatus.FAILED, 0) - refused
    finished = rated["finished"]
    rows, failed_rows, written = rated["rows"] or 0, rated["failed_rows"] or 0, rated["written"] or 0
    recent = jobs.filter(status=ImportStatus.FAILED).order_by("-created_at", "-import_id")[:RECENT_ERRORS]
    slow = jobs.filter(result__duration_seconds__gt=settings.IMPORT_ALERT_MAX_DURATION_SECONDS).order_by("import_id")
    return {
        "count": sum(by_status.values()),
        "by_status": {status: by_status.get(status, 0) for status in ImportStatus.values},
        "finished": finished,
        "avg_duration_seconds": _round(completed["avg_duration"], 3),
        "max_duration_seconds": _round(rated["max_duration"], 3),
        "refused": refused,
        "success_rate": _round(100.0 * written / rows, 2) if rows else None,
        "system_success_rate": _round(100.0 * written / (rows - failed_rows), 2) if rows > failed_rows else None,
        "error_rate": _round(100.0 * failed_imports / finished, 2) if finished else None,
        "rows": rows,
        "rows_imported": written,
        "failed_rows": failed_rows,
        "rows_per_second": _round(completed["rows"] / completed["seconds"], 1) if completed["seconds"] else None,
        "slow_imports": list(slow.values_list("import_id", flat=True)[:20]),
        "errors": {
            "failed_imports": failed_imports,
            "failed_rows": failed_rows,
            "recent": [
                {"import_id": job.import_id, "created_at": job.created_at.isoformat(), "reason": job.failure_reason}
                for job in recent
            ],
        },
    }


#: The longest window a caller may ask for. Far more than any import history, and far
#: from the dates Python can hold (``days=1e6`` was an OverflowError, a 500; issue 11).
MAX_WINDOW_DAYS = 36_500


def import_metrics(*, days: float = 30, now: datetime | None = None) -> dict:
    """Metrics per system over the last ``days`` days (the command's and the API's JSON)."""
    return metrics_since(since=(now or timezone.now()) - timedelta(days=days), until=now, window_days=days)


def metrics_since(*, since: datetime, until: datetime | None = None, window_days: float | None = None) -> dict:
    systems = {system: system_metrics(system=system, since=since, until=until) for system in ImportSystem.values}
    return {
        "window_days": window_days,
        "since": since.isoformat(),
        "until": (until or timezone.now()).isoformat(),
        "routing": f"USE_NEW_IMPORT_SYSTEM={rollout_flag()}",
        "systems": systems,
        "improvement_percent": improvement_percent(
            legacy=systems[ImportSystem.LEGACY]["avg_duration_seconds"],
            upsert=systems[ImportSystem.UPSERT]["avg_duration_seconds"],
        ),
        "thresholds": thresholds(),
    }


def improvement_percent(*, legacy: float | None, upsert: float | None) -> float | None:
    """The guide's ``(old_avg - new_avg) / old_avg * 100``; None without both."""
    if not legacy or upsert is None:
        return None
    return round((legacy - upsert) / legacy * 100, 1)


def thresholds() -> dict:
    return {
        "min_success_rate": settings.IMPORT_ALERT_MIN_SUCCESS_RATE,
        "max_duration_seconds": settings.IMPORT_ALERT_MAX_DURATION_SECONDS,
        "max_error_rate": settings.IMPORT_ALERT_MAX_ERROR_RATE,
    }


# --- Alerts (the guide, section 4.2) -------------------------------------------------

SUCCESS_RATE, DURATION, ERROR_RATE = "import_success_rate", "import_duration", "import_error_rate"
ALERT_CHECKS = (SUCCESS_RATE, DURATION, ERROR_RATE)
#: How each alert is computed, in words (the metrics page shows them next to the checks).
ALERT_RULES = {
    SUCCESS_RATE: (
        "Of the rows without a problem of their own, the share the importer wrote. Rows lost because an "
        "import failed count against it; rows with problems in the file and refused files do not."
    ),
    DURATION: "The longest import that finished, from its start to its end.",
    ERROR_RATE: (
        "Imports that failed outright (database error, timeout, lost worker) among the imports that finished; "
        "refused files (too many rows, a missing column) are the user's to fix and are left out."
    ),
}


@dataclass(frozen=True)
class Alert:
    check: str
    system: str
    message: str

    def as_dict(self) -> dict:
        return asdict(self)


def evaluate_alerts(metrics: dict) -> list[Alert]:
    """The thresholds a set of metrics crosses, one alert per check and system."""
    limits = metrics["thresholds"]
    alerts = []
    for system, figures in metrics["systems"].items():
        rate = figures["system_success_rate"]
        if rate is not None and rate < limits["min_success_rate"]:
            alerts.append(
                Alert(
                    SUCCESS_RATE,
                    system,
                    f"{system}: success rate {rate:g} % is below {limits['min_success_rate']:g} % "
                    f"(rows written of the rows without a problem, over {figures['finished']} import(s)): "
                    f"investigate immediately",
                )
            )
        if figures["slow_imports"]:
            ids = ", ".join(f"#{pk}" for pk in figures["slow_imports"])
            alerts.append(
                Alert(
                    DURATION,
                    system,
                    f"{system}: import(s) {ids} took longer than {limits['max_duration_seconds']} s "
                    f"(longest {figures['max_duration_seconds']:g} s): check database performance",
                )
            )
        error_rate = figures["error_rate"]
        if error_rate is not None and error_rate > limits["max_error_rate"]:
            alerts.append(
                Alert(
                    ERROR_RATE,
                    system,
                    f"{system}: {figures['errors']['failed_imports']} of {figures['finished']} import(s) failed "
                    f"({error_rate:g} % > {limits['max_error_rate']:g} %): review the errors",
                )
            )
    return alerts


def _round(value, digits: int):
    return None if value is None else round(float(value), digits)
