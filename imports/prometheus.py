"""The import system's Prometheus figures, read from the database at each scrape of ``/metrics``.

Imports run in the background workers, possibly on other machines, and every
job's figures are committed with it: so any web process answers the same
numbers, with no state of its own (``mtc.metrics`` serves them; the imports
app registers :class:`ImportCollector` in ``ImportsConfig.ready``). Dry runs
(previews) are left out, as in the rollout metrics.

==================================================  =====================================================
``mtc_import_duration_seconds`` (histogram)         finished imports' durations, by system and kind
``mtc_import_rows_total`` (counter)                 rows of finished imports by outcome, system and kind
``mtc_import_jobs`` (gauge)                         imports by status
``mtc_queue_depth`` (gauge)                         tasks waiting in the worker's queue (the broker)
``mtc_import_oldest_pending_age_seconds`` (gauge)   age of the oldest import waiting for a worker, 0 if none
``mtc_worker_heartbeat_age_seconds`` (gauge)        seconds since each worker cluster's last heartbeat
==================================================  =====================================================

``deploy/prometheus-rules.yml`` holds the guide's alerts on these.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any, cast

from django.db.models import Count, Min, Q, Sum
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

from imports.models import ImportJob, ImportResult, ImportStatus, WorkerHeartbeat

logger = logging.getLogger(__name__)

#: Duration buckets, in seconds, up to twice the guide's 10-minute alert.
DURATION_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1200)
OUTCOMES = ("inserted", "updated", "unchanged", "superseded", "failed")
FINISHED = (ImportStatus.COMPLETED, ImportStatus.COMPLETED_WITH_ERRORS, ImportStatus.FAILED)


class ImportCollector:
    """A prometheus_client collector: :meth:`collect` runs a handful of aggregate queries."""

    def collect(self) -> Iterator[Metric]:
        yield from _durations_and_rows()
        yield _jobs_by_status()
        yield from _queue()
        yield _heartbeats()


def _durations_and_rows() -> Iterator[Metric]:
    results = ImportResult.objects.filter(job__dry_run=False, job__status__in=FINISHED)
    measured = Q(duration_seconds__isnull=False)
    buckets = {f"le_{i}": Count("pk", filter=Q(duration_seconds__lte=b)) for i, b in enumerate(DURATION_BUCKETS)}
    rows = (
        results.values("job__system", "job__kind")
        .order_by("job__system", "job__kind")
        .annotate(
            measured=Count("pk", filter=measured),
            seconds=Sum("duration_seconds", filter=measured),
            **buckets,
            **{outcome: Sum(outcome) for outcome in OUTCOMES},
        )
    )
    durations = HistogramMetricFamily(
        "mtc_import_duration_seconds", "Durations of finished imports, by system and kind.", labels=["system", "kind"]
    )
    outcomes = CounterMetricFamily(
        "mtc_import_rows",
        "Rows of finished imports, by outcome, system and kind.",
        labels=["system", "kind", "outcome"],
    )
    for row in cast(Iterable[dict[str, Any]], rows):
        labels = [row["job__system"], row["job__kind"]]
        counts = [(str(float(b)), row[f"le_{i}"]) for i, b in enumerate(DURATION_BUCKETS)]
        durations.add_metric(labels, [*counts, ("+Inf", row["measured"])], row["seconds"] or 0.0)
        for outcome in OUTCOMES:
            outcomes.add_metric([*labels, outcome], row[outcome] or 0)
    yield durations
    yield outcomes


def _jobs_by_status() -> Metric:
    counts = dict(ImportJob.objects.filter(dry_run=False).order_by().values_list("status").annotate(jobs=Count("pk")))
    family = GaugeMetricFamily("mtc_import_jobs", "Imports by status.", labels=["status"])
    for status in ImportStatus.values:
        family.add_metric([status], counts.get(status, 0))
    return family


def _queue() -> Iterator[Metric]:
    oldest = ImportJob.objects.filter(dry_run=False, status=ImportStatus.PENDING).aggregate(at=Min("created_at"))["at"]
    age = (timezone.now() - oldest).total_seconds() if oldest else 0.0
    yield GaugeMetricFamily(
        "mtc_import_oldest_pending_age_seconds", "Age of the oldest import waiting for a worker (0: none).", value=age
    )
    try:
        from django_q.brokers import get_broker

        depth = get_broker().queue_size()
    except Exception:  # the broker down is what the other figures then show; the scrape still answers
        logger.warning("Could not read the queue's depth from the broker", exc_info=True)
        return
    yield GaugeMetricFamily("mtc_queue_depth", "Tasks waiting in the background worker's queue.", value=depth or 0)


def _heartbeats() -> Metric:
    now = timezone.now()
    family = GaugeMetricFamily(
        "mtc_worker_heartbeat_age_seconds", "Seconds since each worker cluster's last heartbeat.", labels=["worker"]
    )
    for worker, beat_at in WorkerHeartbeat.objects.order_by("worker").values_list("worker", "beat_at"):
        family.add_metric([worker], (now - beat_at).total_seconds())
    return family
