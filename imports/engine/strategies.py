"""How a job's rows get written: the strategies, the ladder every run climbs, and which one a job gets.

The engine writes with one strategy, the upsert (``run.UpsertRun``). The
migration's rollout kit (``imports.rollout``) plugs in a second one, the
legacy ``LOCK TABLE`` importer, and a router that picks one per user; once
the migration is over, removing that package leaves the upsert alone. So the
engine knows strategies only through this module:

* :class:`Strategy`: one run of one job. Whatever the strategy, the run
  climbs the same ladder (:meth:`Strategy.execute`): its ``write`` step,
  then an end state. A file refused before anything was written fails the
  job untouched; a stop between batches (cancel, timeout) keeps what the
  strategy committed; rows that refuse an all-or-nothing strategy fail the
  job with those rows' errors; a database error fails it saying what was
  kept. Stop checks and progress reports are shared too;
* :func:`register` / :func:`strategy_for`: the strategies by system name;
* :func:`set_router` / :func:`route`: which system a new job runs on. With
  no router, every job gets the upsert.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import ClassVar, NamedTuple

from django.conf import settings
from django.db import DatabaseError

from catalog.kinds import KINDS
from imports.engine import record
from imports.engine.errors import ConnectionLost, ImportRejected, ImportStopped, RowsRefused, is_connection_lost
from imports.models import ImportJob, ImportStage, ImportSystem
from imports.progress import Progress

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[Progress], None]


class Strategy:
    """One run of a claimed job with one way of writing; subclasses implement :meth:`write`."""

    #: The ``ImportJob.system`` value this strategy serves.
    system: ClassVar[str]

    def __init__(self, job: ImportJob, on_progress: ProgressCallback | None = None):
        self.job = job
        self.kind = KINDS.get(job.kind)
        self.on_progress = on_progress
        self.started = time.monotonic()
        self.timeout = settings.IMPORT_TIMEOUT_SECONDS
        self.max_rows = int((job.options or {}).get("max_rows") or settings.IMPORT_MAX_ROWS)

    # --- the ladder -------------------------------------------------------------

    def execute(self) -> ImportJob:
        """Run the job to its end state and return it."""
        job = self.job
        try:
            self.write()
        except ImportRejected as exc:
            logger.info("Import %s rejected: %s", job.import_id, exc)
            return record.failed(job, str(exc), refused_code=exc.code if exc.users_file else "")
        except RowsRefused as exc:
            logger.info("Import %s refused at row %s", job.import_id, exc.errors[0].row_number)
            record.rows_refused(job, exc.errors)
            return record.failed(job, exc.reason, refused_code="rows_refused")
        except ImportStopped as exc:
            logger.info("Import %s stopped: %s", job.import_id, exc.reason)
            return record.stopped(job, exc)
        except DatabaseError as exc:
            if is_connection_lost(exc):
                # Not the job's fault: the committed batches and the checkpoint are safe; resumed by the runtime.
                raise ConnectionLost(f"Import {job.import_id} lost its database connection: {exc}") from exc
            logger.exception("Import %s failed on a database error", job.import_id)
            return record.failed(job, f"Database error; {self.kept()}: {exc}")
        finally:
            self.clean_up()
        self.report(ImportStage.DONE)
        return record.completed(job)

    def write(self) -> None:
        """Read, check and write the job's file (raising to leave the ladder early)."""
        raise NotImplementedError

    def clean_up(self) -> None:
        """Drop what the run made for itself (temporary tables); errors here must not mask the outcome."""

    def kept(self) -> str:
        """What a run stopped now keeps, in words ("rows up to 4,000 are committed and kept")."""
        raise NotImplementedError

    # --- shared steps -----------------------------------------------------------

    def count_row(self, total: int) -> None:
        """Refuse the file once it has more data rows than the run accepts."""
        if total > self.max_rows:
            # The limit it was refused at: once an administrator raises it, a retry may succeed.
            options = {**(self.job.options or {}), "refused_over_rows": self.max_rows}
            ImportJob.objects.filter(pk=self.job.pk).update(options=options)
            # In a catalog manager's words; the setting's name is in the README and .env.example.
            raise ImportRejected(
                f"{self.job.file_name} has more than {self.max_rows:,} row{'' if self.max_rows == 1 else 's'}, "
                "the most one import accepts; "
                f"split the file or ask an administrator to raise the limit. Nothing was imported.",
                code="too_many_rows",
            )

    def check_stop(self, *, cancel_requested: bool | None = None) -> None:
        """Stop here when the run is out of time or its cancel was asked for.

        ``cancel_requested``: the job's flag as the caller has just read it (a batch's
        own bookkeeping returns it, ``record.batch_committed``); None reads it here.
        """
        elapsed = time.monotonic() - self.started
        if elapsed > self.timeout:
            raise ImportStopped(
                f"Timed out after {elapsed:.0f}s (IMPORT_TIMEOUT_SECONDS={self.timeout}); {self.kept()}."
            )
        if cancel_requested is None:
            cancel_requested = ImportJob.objects.filter(pk=self.job.pk, cancel_requested=True).exists()
        if cancel_requested:
            raise ImportStopped(f"Cancelled; {self.kept()}.", cancelled=True)

    def report(self, stage: str, **figures) -> None:
        """Hand a :class:`Progress` to the caller's callback (rows and counts from ``figures``)."""
        if self.on_progress is None:
            return
        self.on_progress(
            Progress(
                import_id=self.job.import_id,
                stage=stage,
                elapsed_seconds=round(time.monotonic() - self.started, 3),
                **{"rows_total": self.job.total_rows, **self.progress_figures(), **figures},
            )
        )

    def progress_figures(self) -> dict:
        """``rows_done`` and the counts so far, for :meth:`report`."""
        raise NotImplementedError


# --- which strategy a job runs on ------------------------------------------------------------

_strategies: dict[str, type[Strategy]] = {}


def register(strategy: type[Strategy]) -> None:
    """Make ``strategy`` the one that runs jobs of ``strategy.system``."""
    _strategies[strategy.system] = strategy


def unregister(system: str) -> None:
    _strategies.pop(system, None)


def systems() -> list[str]:
    """The systems a job may run on here (the upsert first)."""
    return sorted((str(system) for system in _strategies), key=lambda system: system != ImportSystem.UPSERT)


def strategy_for(system: str) -> type[Strategy] | None:
    return _strategies.get(system)


class Routing(NamedTuple):
    """The system a job runs on, and why (stored on the job as ``system`` and ``routing``)."""

    system: str
    reason: str


Router = Callable[..., Routing]
_router: Router | None = None


def set_router(router: Router | None) -> None:
    """Let ``router(user=...)`` choose the system of each new job (None: always the upsert)."""
    global _router  # the one plug-in point, set once at start-up
    _router = router


def route(*, user=None, explicit: str = "") -> Routing:
    """The system a new job runs on: ``explicit`` when given, else the router's choice, else the upsert."""
    if explicit:
        if explicit not in _strategies:
            raise ValueError(f"Unknown import system {explicit!r}: expected {' or '.join(systems())}.")
        return Routing(explicit, "chosen explicitly")
    if _router is None:
        return Routing(ImportSystem.UPSERT, "")
    return _router(user=user)
