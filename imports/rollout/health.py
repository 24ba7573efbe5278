"""Is the import system healthy? The guide's section 4.2 alerts and its validation checklist.

One report (``health_report``) serves ``manage.py import_health``,
``/api/health/imports/`` and the hourly django-q2 schedule. Each check says
``ok``, ``fail`` (with what is wrong) or ``skipped`` (not applicable on this
database); the system is healthy when nothing fails:

``import_success_rate`` / ``import_duration`` / ``import_error_rate``
    the alert thresholds (``IMPORT_ALERT_*``) over the last ``window_hours``,
    per system (see ``imports.metrics`` for the definitions);
``unique_indexes``
    the four partial unique indexes the upsert needs exist and are valid
    (``pg_index.indisvalid``: a failed ``CREATE INDEX CONCURRENTLY`` leaves an
    invalid one, which enforces nothing);
``table_locks``
    no session holds or waits for a table-level lock on a master, i.e. any
    mode stronger than the ones plain reads and writes take (AccessShare,
    RowShare, RowExclusive): a ``LOCK TABLE`` (the legacy importer), DDL, a
    manual ``VACUUM FULL``. Autovacuum workers are left out: their
    ShareUpdateExclusive lock blocks no reader or writer and they give way;
``connections``
    client connections in use below 80 % of ``max_connections``, and so is
    the deployment's plan (``mtc.capacity``: one connection per web and
    worker process the settings say run, and a reserve);
``worker``
    a django-q2 worker ran the heartbeat task in the last 5 minutes. The
    heartbeat is a row in the database, written every minute by a schedule,
    because django-q2's own cluster status lives in the cache, which the
    default in-process cache does not share between processes;
``stuck_jobs``
    no job has been pending, or running without a heartbeat, for longer than
    an import may take (``IMPORT_TIMEOUT_SECONDS`` + 60 s, the worker's task
    timeout): nothing legitimate is that quiet.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from catalog.kinds import KINDS
from imports.models import ImportJob, ImportStatus, WorkerHeartbeat
from imports.rollout import metrics
from mtc import capacity
from mtc.commands import command_line

logger = logging.getLogger(__name__)

OK, FAIL, SKIPPED = "ok", "fail", "skipped"
DEFAULT_WINDOW_HOURS = 24
#: The longest window of the threshold checks (100 years; ``hours=1e9`` was an OverflowError, a 500).
MAX_WINDOW_HOURS = 876_000
MAX_CONNECTIONS_PERCENT = capacity.MAX_PERCENT
WORKER_HEARTBEAT_MAX_AGE = timedelta(minutes=5)
#: Lock modes that ordinary SELECT / SELECT FOR UPDATE / INSERT-UPDATE-DELETE take.
ROW_LEVEL_MODES = ("AccessShareLock", "RowShareLock", "RowExclusiveLock")
CHECKS = (
    *metrics.ALERT_CHECKS,
    "unique_indexes",
    "table_locks",
    "connections",
    "worker",
    "stuck_jobs",
)


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: str
    detail: str
    data: dict = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.status == FAIL


def health_report(*, window_hours: float = DEFAULT_WINDOW_HOURS, now: datetime | None = None) -> dict:
    """Every check, and whether the system is healthy (no check failed)."""
    now = now or timezone.now()
    results = [
        *_threshold_checks(now=now, window_hours=window_hours),
        _guarded("unique_indexes", _unique_indexes),
        _guarded("table_locks", _table_locks),
        _guarded("connections", _connections),
        _guarded("worker", lambda: _worker(now=now)),
        _guarded("stuck_jobs", lambda: _stuck_jobs(now=now)),
    ]
    failing = [result.name for result in results if result.failed]
    return {
        "healthy": not failing,
        "failing": failing,
        "checked_at": now.isoformat(),
        "window_hours": window_hours,
        "checks": [asdict(result) for result in results],
    }


def _guarded(name: str, check) -> CheckResult:
    """One check; a database error fails it alone (its savepoint keeps the others running)."""
    try:
        with transaction.atomic():
            return check()
    except DatabaseError as exc:
        return CheckResult(name, FAIL, f"could not be checked: {str(exc).strip().splitlines()[0]}")


# --- thresholds ------------------------------------------------------------------------


def _threshold_checks(*, now: datetime, window_hours: float) -> list[CheckResult]:
    try:
        figures = metrics.metrics_since(since=now - timedelta(hours=window_hours), until=now)
    except DatabaseError as exc:
        reason = f"could not be checked: {str(exc).strip().splitlines()[0]}"
        return [CheckResult(name, FAIL, reason) for name in metrics.ALERT_CHECKS]
    alerts = metrics.evaluate_alerts(figures)
    limits = figures["thresholds"]
    within = {
        metrics.SUCCESS_RATE: f"success rate at least {limits['min_success_rate']:g} %",
        metrics.DURATION: f"no import longer than {limits['max_duration_seconds']} s",
        metrics.ERROR_RATE: f"failed imports at most {limits['max_error_rate']:g} %",
    }
    results = []
    for name in metrics.ALERT_CHECKS:
        fired = [alert for alert in alerts if alert.check == name]
        data = {
            system: _threshold_figures(name, system_figures) for system, system_figures in figures["systems"].items()
        }
        if fired:
            results.append(CheckResult(name, FAIL, "; ".join(alert.message for alert in fired), data))
        else:
            runs = sum(system["finished"] for system in figures["systems"].values())
            results.append(
                CheckResult(name, OK, f"{within[name]} over the last {window_hours:g} h ({runs} runs)", data)
            )
    return results


def _threshold_figures(name: str, figures: dict) -> dict:
    if name == metrics.SUCCESS_RATE:
        return {
            "system_success_rate": figures["system_success_rate"],
            "success_rate": figures["success_rate"],
            "finished": figures["finished"],
            "refused": figures["refused"],
        }
    if name == metrics.DURATION:
        return {"max_duration_seconds": figures["max_duration_seconds"], "slow_imports": figures["slow_imports"]}
    return {"error_rate": figures["error_rate"], "failed_imports": figures["errors"]["failed_imports"]}


# --- database ----------------------------------------------------------------------------


def unique_index_names() -> dict[str, str]:
    """index name -> table, from the partial unique constraints of the masters imports write."""
    return {
        constraint.name: master.table
        for master in KINDS.masters()
        for constraint in master.model._meta.constraints
        if getattr(constraint, "condition", None) is not None
    }


def _unique_indexes() -> CheckResult:
    expected = unique_index_names()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE c.relname = ANY(%s) AND pg_table_is_visible(c.oid)",
                [list(expected)],
            )
            found = dict(cursor.fetchall())
        elif connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
            found = {name: True for (name,) in cursor.fetchall() if name in expected}
        else:
            return CheckResult("unique_indexes", SKIPPED, f"not checked on {connection.vendor}")
    missing = sorted(set(expected) - set(found))
    invalid = sorted(name for name, valid in found.items() if not valid)
    data = {"missing": missing, "invalid": invalid, "expected": sorted(expected)}
    if missing or invalid:
        problems = []
        if missing:
            problems.append(f"missing: {', '.join(missing)}")
        if invalid:
            problems.append(f"invalid (rebuild them): {', '.join(invalid)}")
        return CheckResult(
            "unique_indexes",
            FAIL,
            f"{'; '.join(problems)}; imports cannot upsert without them ({command_line('migrate catalog')})",
            data,
        )
    return CheckResult("unique_indexes", OK, f"all {len(expected)} present and valid", data)


def _table_locks() -> CheckResult:
    if connection.vendor != "postgresql":
        return CheckResult("table_locks", SKIPPED, f"{connection.vendor} has no table locks to inspect")
    tables = sorted(master.table for master in KINDS.masters())
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT l.pid, c.relname, l.mode, l.granted, a.application_name, "
            "EXTRACT(EPOCH FROM now() - a.xact_start), LEFT(a.query, 200) "
            "FROM pg_locks l "
            "JOIN pg_class c ON c.oid = l.relation "
            "LEFT JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'relation' "
            "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND c.relname = ANY(%s) AND pg_table_is_visible(c.oid) "
            "AND l.mode <> ALL(%s) AND l.pid <> pg_backend_pid() "
            "AND COALESCE(a.backend_type, '') <> 'autovacuum worker' "
            "ORDER BY l.pid, c.relname",
            [tables, list(ROW_LEVEL_MODES)],
        )
        rows = cursor.fetchall()
    locks = [
        {
            "pid": pid,
            "table": table,
            "mode": mode,
            "granted": granted,
            "application": application or "",
            "transaction_seconds": round(float(seconds), 1) if seconds is not None else None,
            "query": query or "",
        }
        for pid, table, mode, granted, application, seconds, query in rows
    ]
    if locks:
        held = "; ".join(
            f"pid {lock['pid']} {'holds' if lock['granted'] else 'waits for'} {lock['mode']} on {lock['table']}"
            for lock in locks
        )
        return CheckResult(
            "table_locks", FAIL, f"table-level lock(s) on the masters: {held} (see pg_locks)", {"locks": locks}
        )
    return CheckResult("table_locks", OK, f"no table-level lock on {', '.join(tables)}", {"locks": []})


def _connections() -> CheckResult:
    """In use now, and planned at most (``mtc.capacity``), both below 80 % of ``max_connections``."""
    if connection.vendor != "postgresql":
        return CheckResult("connections", SKIPPED, f"{connection.vendor} has no connection limit")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT COUNT(*) FROM pg_stat_activity WHERE backend_type = 'client backend'), "
            "current_setting('max_connections')::int"
        )
        in_use, limit = cursor.fetchone()
    plan = capacity.connection_plan()
    percent = round(100.0 * in_use / limit, 1)
    planned_percent = plan.percent_of(limit)
    data = {
        "in_use": in_use,
        "max_connections": limit,
        "percent": percent,
        "limit_percent": MAX_CONNECTIONS_PERCENT,
        "planned": plan.total,
        "planned_percent": planned_percent,
        "plan": plan.describe(),
    }
    now = f"{in_use} of {limit} connections in use ({percent:g} %)"
    planned = f"planned at most {plan.total} ({planned_percent:g} %: {plan.describe()})"
    if percent >= MAX_CONNECTIONS_PERCENT:
        return CheckResult("connections", FAIL, f"{now} >= {MAX_CONNECTIONS_PERCENT} %; {planned}", data)
    if planned_percent >= MAX_CONNECTIONS_PERCENT:
        return CheckResult(
            "connections",
            FAIL,
            f"{now}, but {planned} >= {MAX_CONNECTIONS_PERCENT} %: raise PostgreSQL's max_connections to "
            f"{plan.max_connections_needed()} or more, or run fewer processes",
            data,
        )
    return CheckResult("connections", OK, f"{now}; {planned}", data)


# --- worker and jobs -----------------------------------------------------------------------


def _worker(*, now: datetime) -> CheckResult:
    latest = WorkerHeartbeat.objects.order_by("-beat_at").first()
    if latest is None:
        return CheckResult(
            "worker",
            FAIL,
            f"no background worker has ever reported: start one ({command_line('qcluster')})",
            {"last_heartbeat": None},
        )
    age = (now - latest.beat_at).total_seconds()
    data = {"worker": latest.worker, "last_heartbeat": latest.beat_at.isoformat(), "age_seconds": round(age, 1)}
    if now - latest.beat_at > WORKER_HEARTBEAT_MAX_AGE:
        return CheckResult(
            "worker",
            FAIL,
            f"no background worker alive: last heartbeat {age:.0f}s ago from {latest.worker} "
            f"(start {command_line('qcluster')})",
            data,
        )
    return CheckResult("worker", OK, f"{latest.worker} reported {age:.0f}s ago", data)


def stuck_after() -> timedelta:
    return timedelta(seconds=settings.IMPORT_TIMEOUT_SECONDS + 60)


def _stuck_jobs(*, now: datetime) -> CheckResult:
    cutoff = now - stuck_after()
    stuck = (
        ImportJob.objects.annotate(last_sign=Coalesce("heartbeat_at", "started_at", "created_at"))
        .filter(
            Q(status=ImportStatus.PENDING, created_at__lt=cutoff) | Q(status=ImportStatus.RUNNING, last_sign__lt=cutoff)
        )
        .order_by("import_id")
    )
    jobs = [
        {"import_id": job.import_id, "status": job.status, "last_sign_of_life": job.last_sign.isoformat()}
        for job in stuck[:50]
    ]
    seconds = int(stuck_after().total_seconds())
    if jobs:
        ids = ", ".join(f"#{job['import_id']} ({job['status']})" for job in jobs)
        return CheckResult(
            "stuck_jobs",
            FAIL,
            f"job(s) with no sign of life for over {seconds}s: {ids}; is a worker running?",
            {"jobs": jobs},
        )
    return CheckResult("stuck_jobs", OK, f"no job pending or silent for over {seconds}s", {"jobs": []})


# --- the schedule ----------------------------------------------------------------------------


def scheduled_health_check() -> dict:
    """The hourly django-q2 task: run every check and log what fires."""
    report = health_report()
    for check in report["checks"]:
        if check["status"] == FAIL:
            logger.error("Import health check %s FAILED: %s", check["name"], check["detail"])
    if report["healthy"]:
        logger.info("Import health: all checks pass (%s)", ", ".join(c["name"] for c in report["checks"]))
    return report
