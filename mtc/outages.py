"""When Redis (``RATELIMIT_STORAGE_URL``) stops answering: fall back, say so once a minute, never fail.

Redis serves two things here, both with a fallback that works without it:

* **API throttling** (the default cache, ``mtc.cache.RedisCacheWithFallback``):
  while Redis fails, the counts are kept in the ``fallback`` cache (the same
  store as when no Redis is configured), so ``POST /api/imports/`` and
  ``/retry/`` still answer, throttled, instead of a 500;
* **import progress** (``imports.progress``): while Redis fails, readers get
  the job row's figures, which the engine commits with every batch anyway.

A Redis outage is one :data:`REDIS_OUTAGE` per process: the first failure
logs one WARNING (no traceback: the cause is one line), later failures in
the same minute log nothing, so a worker writing progress after every batch
does not fill the log (issue 11: 241 tracebacks for one import). After a
failure Redis is left alone for :attr:`Outage.retry_seconds` (a host that
drops packets would otherwise cost the connect timeout on every call), then
tried again; the first success logs that it answers again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)


#: Seconds a Redis client waits to connect or for an answer before the fallback takes over.
REDIS_TIMEOUT_SECONDS = 2


class Outage:
    """Whether a service is failing in this process, and the rule for saying so: one WARNING per minute."""

    def __init__(
        self,
        name: str,
        *,
        fallback: str,
        warn_every_seconds: float = 60.0,
        retry_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.name = name
        #: What is used instead while it fails, in the WARNING's words.
        self.fallback = fallback
        self.warn_every_seconds = warn_every_seconds
        self.retry_seconds = retry_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._failed_at: float | None = None
        self._warned_at: float | None = None

    @property
    def ongoing(self) -> bool:
        return self._failed_at is not None

    def skip(self) -> bool:
        """True while the service failed less than ``retry_seconds`` ago: use the fallback without trying."""
        failed_at = self._failed_at
        return failed_at is not None and self._clock() - failed_at < self.retry_seconds

    def failed(self, error: BaseException) -> None:
        """Note a failure; log a WARNING naming what falls back to what, unless one was logged this minute."""
        with self._lock:
            now = self._clock()
            self._failed_at = now
            if self._warned_at is not None and now - self._warned_at < self.warn_every_seconds:
                return
            self._warned_at = now
        logger.warning(
            "%s is unavailable (%s: %s); %s. Retried every %g s; this warning is repeated at most once a minute.",
            self.name,
            type(error).__name__,
            error,
            self.fallback,
            self.retry_seconds,
        )

    def recovered(self) -> None:
        """Note a success; after an outage, say that the service answers again."""
        if self._failed_at is None:
            return
        with self._lock:
            was_failing, self._failed_at = self._failed_at is not None, None
        if was_failing:
            logger.info("%s answers again; the fallback is no longer used.", self.name)

    def reset(self) -> None:
        """Forget the outage and the last warning (tests start from a quiet process)."""
        with self._lock:
            self._failed_at = self._warned_at = None


#: The process's view of ``RATELIMIT_STORAGE_URL``: shared by the throttle's cache and the progress tracker.
REDIS_OUTAGE = Outage(
    "Redis (RATELIMIT_STORAGE_URL)",
    fallback="API throttling counts in the fallback cache and import progress is read from the job rows",
)
