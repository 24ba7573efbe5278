"""Live progress of an import: rows done / total, stage, rate and ETA.

The engine reports a :class:`Progress` after every batch (and while reading);
a :class:`ProgressTracker` keeps the latest one where any process can read it:
Redis at ``RATELIMIT_STORAGE_URL`` (expiring after ``REDIS_PROGRESS_EXPIRY``
seconds, the guide's progress tracker) when configured, else the job row
itself, which the engine updates with each committed batch anyway.

Why not the Django cache as the fallback: without Redis it is per-process
memory, and the worker that runs a job is never the process that asks about
it. The job row is shared by all, and already holds the committed figures.

When Redis is configured but fails, the job row is the fallback too: a
failure is noted on ``mtc.outages.REDIS_OUTAGE`` (one WARNING per process
per minute, whatever the number of batches), Redis is left alone for a few
seconds, and an import never stops for it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from django.conf import settings
from django.utils import timezone

from imports.models import ImportJob, ImportResult, ImportStatus
from mtc.outages import REDIS_OUTAGE, REDIS_TIMEOUT_SECONDS

COUNT_NAMES = ("inserted", "updated", "unchanged", "superseded", "failed", "deleted")


@dataclass(frozen=True)
class Progress:
    import_id: int
    stage: str
    rows_done: int
    rows_total: int | None
    elapsed_seconds: float
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    superseded: int = 0
    failed: int = 0
    #: Rows removed (an undo taking back the rows an import added).
    deleted: int = 0
    #: Rows done before this run started (a resumed job): not part of this run's rate.
    rows_resumed: int = 0

    @property
    def percent(self) -> float | None:
        if not self.rows_total:
            return None
        return round(min(100.0, 100.0 * self.rows_done / self.rows_total), 1)

    @property
    def rows_per_second(self) -> float | None:
        done_now = self.rows_done - self.rows_resumed
        if self.elapsed_seconds <= 0 or done_now <= 0:
            return None
        return round(done_now / self.elapsed_seconds, 1)

    @property
    def eta_seconds(self) -> float | None:
        rate = self.rows_per_second
        if not rate or not self.rows_total:
            return None
        return round(max(0.0, (self.rows_total - self.rows_done) / rate), 1)

    def as_dict(self) -> dict:
        return {
            **asdict(self),
            "percent": self.percent,
            "rows_per_second": self.rows_per_second,
            "eta_seconds": self.eta_seconds,
        }


def render_bar(progress: Progress, *, width: int = 30) -> str:
    """One terminal line: bar, percent, rows, rate and ETA."""
    percent = progress.percent
    filled = int(width * (percent or 0) / 100)
    bar = "#" * filled + "." * (width - filled)
    total = f"{progress.rows_total:,}" if progress.rows_total else "?"
    parts = [
        f"[{bar}]",
        f"{percent:5.1f}%" if percent is not None else "   ?%",
        f"{progress.rows_done:,}/{total} rows",
        progress.stage,
    ]
    if progress.rows_per_second:
        parts.append(f"{progress.rows_per_second:,.0f} rows/s")
    if progress.eta_seconds is not None and progress.stage != "done":
        parts.append(f"ETA {progress.eta_seconds:.0f}s")
    return " ".join(parts)


# --- The tracker: where the latest Progress of each job is kept ---------------------

_KEY = "mtc:imports:progress:{database}:{import_id}"
_clients: dict[str, object] = {}


def _key(import_id: int) -> str:
    # The database's name is in the key: two sites (or test runs) may share one Redis.
    return _KEY.format(database=settings.DATABASES["default"]["NAME"], import_id=import_id)


def _redis():
    """The Redis client for ``RATELIMIT_STORAGE_URL``; None when it is unset or has just failed."""
    url = settings.RATELIMIT_STORAGE_URL
    if not url or REDIS_OUTAGE.skip():
        return None
    client = _clients.get(url)
    if client is None:
        import redis

        client = redis.Redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS
        )
        _clients[url] = client
    return client


def publish_progress(progress: Progress) -> bool:
    """Keep ``progress`` as the job's latest, in Redis; False when only the job row has it.

    A Redis failure never stops an import: the job row, which the engine
    updates with every committed batch, is the fallback every reader uses.
    """
    client = _redis()
    if client is None:
        return False
    from redis.exceptions import RedisError  # loaded with the client: imports stay light without Redis

    payload = {**progress.as_dict(), "updated_at": timezone.now().isoformat()}
    try:
        client.set(
            _key(progress.import_id),
            json.dumps(payload),
            ex=settings.REDIS_PROGRESS_EXPIRY,
        )
    except RedisError as error:
        REDIS_OUTAGE.failed(error)
        return False
    REDIS_OUTAGE.recovered()
    return True


def _from_redis(import_id: int) -> tuple[Progress, str] | None:
    client = _redis()
    if client is None:
        return None
    from redis.exceptions import RedisError

    try:
        raw = client.get(_key(import_id))
    except RedisError as error:
        REDIS_OUTAGE.failed(error)
        return None
    REDIS_OUTAGE.recovered()
    if not raw:
        return None
    data = json.loads(raw)
    fields = {name: data[name] for name in Progress.__dataclass_fields__ if name in data}
    return Progress(**fields), data.get("updated_at", "")


def progress_from_job(job: ImportJob) -> Progress:
    """The job row's own view of its progress (committed batches only)."""
    try:
        result = job.result
    except ImportResult.DoesNotExist:
        result = ImportResult(job=job)
    counts = {name: getattr(result, name) for name in COUNT_NAMES}
    rows_done = job.rows_processed
    if job.status in (ImportStatus.COMPLETED, ImportStatus.COMPLETED_WITH_ERRORS) and job.total_rows:
        rows_done = job.total_rows
    end = job.finished_at or timezone.now()
    elapsed = (end - job.started_at).total_seconds() if job.started_at else 0.0
    return Progress(
        import_id=job.import_id,
        stage=job.stage or ("waiting" if job.status == ImportStatus.PENDING else ""),
        rows_done=rows_done,
        rows_total=job.total_rows,
        elapsed_seconds=round(max(0.0, elapsed), 3),
        **counts,
    )


def read_progress(*, job: ImportJob) -> dict:
    """The latest progress of ``job`` as plain data, wherever it is kept.

    A running job's latest report comes from Redis when there is one (it is
    also updated while the file is being read, before any batch); otherwise,
    and always once the job has finished, from the job row. The result says
    which (``source``) and when the figures were taken (``updated_at``).
    """
    if not job.is_finished:
        found = _from_redis(job.import_id)
        if found is not None:
            progress, updated_at = found
            return {**progress.as_dict(), "status": job.status, "source": "redis", "updated_at": updated_at}
    progress = progress_from_job(job)
    updated = job.finished_at or job.heartbeat_at or job.updated_at
    return {
        **progress.as_dict(),
        "status": job.status,
        "source": "database",
        "updated_at": updated.isoformat() if updated else None,
    }


def forget_progress(*, import_id: int) -> None:
    """Drop a job's Redis entry (a retried job starts a new run)."""
    client = _redis()
    if client is None:
        return
    from redis.exceptions import RedisError

    try:
        client.delete(_key(import_id))
    except RedisError as error:
        REDIS_OUTAGE.failed(error)
