"""Several batches of one import written at once, committed in file order.

Why: once a file is staged, a batch's time is the database's (the merge
statements and the foreign-key checks of ~1,000 rows); Python only waits. One
connection keeps one core busy, so on a server with two cores one import used
half the machine. Here ``IMPORT_PARALLEL_BATCHES`` connections (*lanes*) write
consecutive batches side by side, lane ``k`` taking batches ``k``, ``k + n``,
``k + 2n``... of the staged file.

What keeps it exactly the single stream's import:

* **commits in file order.** A batch does its work, then waits for its
  *turn* (every earlier batch committed) before its bookkeeping statement
  (counters, checkpoint, cancel flag: ``record.batch_committed``) and its
  commit. So ``checkpoint_row`` still means "every row up to here is
  committed, none after", and a resumed or cancelled run is exact;
* **no two batches write the same row.** Staging already gave each key to one
  winning row, and each item, color and size to the batch where it is first
  needed (``staging``); a batch that uses an item first needed in an earlier
  batch starts only once that batch has committed (``Batch.needs_row``);
* **no lane waits on another while holding locks for long.** A batch runs its
  deferred foreign-key checks before it waits (``SET CONSTRAINTS ALL
  IMMEDIATE``, so the checks run side by side, not in the commit), and gives
  up its turn wait after :func:`patience`: it rolls back, releasing its
  locks, and is written again once its turn has come. (Two lanes and another
  import could otherwise wait on each other in a cycle PostgreSQL cannot see,
  one of its edges being this module's wait.)

Lanes are threads; each has its own Django connection (Django's connections
are per thread) with the run's session settings. A failure in one lane stops
the lanes of later batches (their work rolls back) and is raised by
:func:`write_in_lanes`; earlier batches still commit.

One lane (``IMPORT_PARALLEL_BATCHES=1``, SQLite, a dry run, a run inside a
caller's transaction, a file of one batch) is the plain loop: the same code,
on the caller's connection, no thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import TypeVar

from django.db import connection

#: The least time a batch waits for its turn before it rolls back and waits without its locks.
MIN_PATIENCE_SECONDS = 1.0

Batch = TypeVar("Batch")


class Abandoned(Exception):
    """A lane's batch comes after one that failed: its work is rolled back and the lane stops."""


class OutOfTurn(Exception):
    """A batch waited too long for its turn: roll it back and write it again when the turn comes."""


class Turns:
    """How many batches of the run have committed; batch ``i`` commits when it equals ``i``."""

    def __init__(self) -> None:
        self.committed = 0
        self._changed = threading.Condition()
        #: The first batch that failed and why; batches after it are abandoned.
        self.failed_at: int | None = None
        self.failure: BaseException | None = None

    def wait(self, index: int, *, committed: int, timeout: float | None = None) -> bool:
        """Wait until ``committed`` batches have committed (False after ``timeout``).

        Raises :class:`Abandoned` for batch ``index`` once an earlier batch failed.
        """
        with self._changed:
            while self.committed < committed:
                if self.failed_at is not None and self.failed_at < index:
                    raise Abandoned
                if not self._changed.wait(timeout):
                    return self.committed >= committed
        return True

    def commit(self) -> None:
        """Batch number ``committed`` has committed (and reported): the next one's turn."""
        with self._changed:
            self.committed += 1
            self._changed.notify_all()

    def fail(self, index: int, failure: BaseException) -> None:
        """Batch ``index`` failed: keep the earliest failure and wake every waiting lane."""
        with self._changed:
            if self.failed_at is None or index < self.failed_at:
                self.failed_at, self.failure = index, failure
            self._changed.notify_all()


def lanes_for(*, wanted: int, dry_run: bool) -> int:
    """How many lanes a run may use: one where more cannot help or cannot see the run's own writes."""
    if connection.vendor != "postgresql" or dry_run or connection.in_atomic_block:
        # SQLite has one writer; a dry run rolls back each batch anyway; inside a caller's
        # transaction, other connections would not see the staged rows or the job.
        return 1
    return max(1, wanted)


def patience(work_seconds: float) -> float:
    """How long a batch that took ``work_seconds`` waits for its turn while holding its locks."""
    return max(MIN_PATIENCE_SECONDS, 2 * work_seconds)


def write_in_lanes(
    batches: Sequence[Batch],
    *,
    lanes: int,
    write: Callable[[int, Batch, Turns], None],
    session: Callable[[], AbstractContextManager[object]],
) -> None:
    """Call ``write(index, batch, turns)`` for every batch, on ``lanes`` connections; raise the first failure.

    A lane beyond the number of batches would have nothing to do: there are at most as many as batches.

    ``write`` must wait for its turn (``turns.wait(index, committed=index)``)
    before committing and call ``turns.commit()`` after; ``session`` sets up a
    lane thread's own connection (the run's session settings).
    """
    turns = Turns()
    lanes = max(1, min(lanes, len(batches)))

    def run_lane(lane: int) -> None:
        for index in range(lane, len(batches), lanes):
            try:
                write(index, batches[index], turns)
            except Abandoned:
                return
            except BaseException as failure:  # any failure stops the later batches, and is raised below
                turns.fail(index, failure)
                return

    def run_thread(lane: int) -> None:
        try:
            with session():
                run_lane(lane)
        except BaseException as failure:  # the session itself failed (no connection): its first batch fails
            turns.fail(lane, failure)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run_thread, args=(lane,), name=f"import-lane-{lane}", daemon=True)
        for lane in range(1, lanes)
    ]
    for thread in threads:
        thread.start()
    run_lane(0)
    for thread in threads:
        thread.join()
    if turns.failure is not None:
        raise turns.failure
