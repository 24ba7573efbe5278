"""``manage.py qcluster``: django-q2's background worker, stopping cleanly when its process group gets SIGTERM.

systemd (and docker, and a terminal's Ctrl-C) signal the whole process group:
the cluster's main process, its sentinel and every worker at once. django-q2
stops in order only when the main process alone is signalled; with the whole
group, the sentinel dies inside ``stop_event.wait()`` and the main process
waits forever in ``stop_event.set()`` for it to wake (issue 11: 45 s and more,
a zombie child, until systemd's SIGKILL).

So here SIGTERM (and SIGINT) are blocked in every process the cluster forks:
only the main process receives them, and it stops the cluster in django-q2's
order (no new task, idle workers leave, the monitor saves the last results).
A worker still running an import after :data:`STOP_GRACE_SECONDS` is killed:
its import resumes from its last committed batch in the next worker (the
crash-safety rules of ``imports.runtime``), so the cluster is gone within
:data:`STOP_GRACE_SECONDS` plus a moment, well inside systemd's timeout.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import close_old_connections
from django_q.cluster import Cluster
from django_q.management.commands import qcluster

from imports.runtime import recover_orphaned_jobs

logger = logging.getLogger(__name__)

#: Seconds a stopping cluster waits for its workers to finish their task before killing them.
STOP_GRACE_SECONDS = 5
#: The signals that stop the cluster; blocked in every process it forks.
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


def descendants(pid: int) -> list[int]:
    """The processes under ``pid`` (children first), read from /proc; empty where there is no /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, queue = [], list(children.get(pid, []))
    while queue:
        child = queue.pop(0)
        found.append(child)
        queue.extend(children.get(child, []))
    return found


class GroupSafeCluster(Cluster):
    """A django-q2 cluster whose main process alone handles the stop signals, with a deadline."""

    def start(self) -> int:
        # Forked processes inherit the blocked mask (django-q2's own SIG_DFL does not unblock it).
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            return super().start()
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)

    def stop(self) -> bool:
        stop_event: Any = getattr(self, "stop_event", None)  # untyped in django-q2
        if self.sentinel is None or not self.sentinel.is_alive() or stop_event is None:
            return False
        logger.info("Background worker stopping (its imports have %s s to finish a task).", STOP_GRACE_SECONDS)
        stop_event.set()
        self.sentinel.join(STOP_GRACE_SECONDS)
        if self.sentinel.is_alive():
            stuck = descendants(os.getpid())
            logger.warning(
                "Background worker: processes %s still busy after %s s, stopped now; a running import "
                "resumes from its last committed batch in the next worker.",
                stuck,
                STOP_GRACE_SECONDS,
            )
            for pid in reversed(stuck):  # workers before the sentinel that would restart them
                with contextlib.suppress(ProcessLookupError):  # gone meanwhile
                    os.kill(pid, signal.SIGKILL)
            self.sentinel.join()
        logger.info("Background worker stopped.")
        self.start_event = None
        self.stop_event = None
        return True


def start_sweeper() -> threading.Thread:
    """Look for imports whose worker died every ``IMPORT_SWEEP_SECONDS``, in a thread of the main process.

    The every-minute schedule runs the same sweep, but django-q2's scheduler
    only looks at schedules every 30 s: a job whose machine died would wait up
    to 90 s for another cluster. A dead worker's job lock is free at once
    (PostgreSQL drops its session), so each cluster's main process, idle
    otherwise, checks every few seconds; the sweep's conditional UPDATEs let
    several clusters sweep at once and queue each job once.
    """

    def sweep_forever() -> None:
        while True:
            time.sleep(settings.IMPORT_SWEEP_SECONDS)
            try:
                close_old_connections()
                recover_orphaned_jobs()
            except Exception:  # the database away for a moment: the next sweep tries again
                logger.warning("Could not look for orphaned imports", exc_info=True)

    thread = threading.Thread(target=sweep_forever, name="orphaned-imports-sweeper", daemon=True)
    thread.start()
    return thread


class Command(qcluster.Command):
    help = "Starts the background worker (django-q2); SIGTERM to it or its whole process group stops it cleanly."

    def handle(self, *args, **options):
        # django-q2's own handle(), with the group-safe cluster.
        settings.SECRET_KEY  # noqa: B018 - refuses to start without a key (mtc.config)
        if options.get("cluster_name"):
            os.environ["Q_CLUSTER_NAME"] = options["cluster_name"]
        cluster = GroupSafeCluster()
        cluster.start()
        if options.get("run_once", False):
            cluster.stop()
            return
        start_sweeper()
