"""Where the two cores go during one contender's run: Python, PostgreSQL, waits.

Issue 16 goal 3 asks whether splitting one file over several processes can
beat the single stream on a 2-core machine that PostgreSQL shares. The answer
is in how busy the cores already are, so each run is measured from the
outside, without touching the code it measures:

* Python: CPU seconds of this process's children (``RUSAGE_CHILDREN``: the
  ``import_catalog`` and floor processes, exact) and of this process itself
  (the split of the file);
* PostgreSQL: CPU seconds of the backends connected to the benchmark's
  database, read from ``/proc/<pid>/stat`` every :data:`SAMPLE_SECONDS` (the
  pids from ``pg_stat_activity``; a backend's last fraction of a sample
  before it exits is missed);
* the machine: the busy fraction of all its cores (``/proc/stat``), other
  sessions' work included, to tell "our processes are waiting" from "the
  cores are saturated";
* what the backends were doing at each sample (``pg_stat_activity``'s
  ``wait_event_type``/``wait_event``, ``CPU`` when active and not waiting):
  lock waits between parts, WAL or commit contention show up there.
"""

from __future__ import annotations

import os
import resource
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Self

import psycopg2

SAMPLE_SECONDS = 0.2
_TICKS = os.sysconf("SC_CLK_TCK")


def _machine_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of all cores since boot."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:9]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values)
    return total - idle, total


def _process_seconds(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime


def _rusage_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


@dataclass
class CoreUsage:
    """A context manager sampling the cores while a contender runs against ``dsn``'s database."""

    dsn: str
    wall: float = 0.0
    python_children: float = 0.0
    python_self: float = 0.0
    postgres: float = 0.0
    machine_busy: float = 0.0  # fraction of all cores, other sessions included
    waits: Counter = field(default_factory=Counter)
    _backends: dict[int, tuple[float, float]] = field(default_factory=dict)  # pid: (first, last) CPU seconds
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> Self:
        self._connection = psycopg2.connect(self.dsn)
        self._connection.autocommit = True
        self._database = self.dsn.rsplit("/", 1)[1]
        self._start = (time.perf_counter(), _rusage_seconds(resource.RUSAGE_CHILDREN),
                       _rusage_seconds(resource.RUSAGE_SELF), _machine_jiffies())  # fmt: skip
        self._sampler = threading.Thread(target=self._sample_until_stopped, daemon=True)
        self._sampler.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._sampler.join()
        self._connection.close()
        started, children, own, (busy, total) = self._start
        self.wall = time.perf_counter() - started
        self.python_children = _rusage_seconds(resource.RUSAGE_CHILDREN) - children
        self.python_self = _rusage_seconds(resource.RUSAGE_SELF) - own
        busy_now, total_now = _machine_jiffies()
        self.machine_busy = (busy_now - busy) / max(total_now - total, 1)
        self.postgres = sum(last - first for first, last in self._backends.values())

    def _sample_until_stopped(self) -> None:
        with self._connection.cursor() as cursor:
            while not self._stop.wait(SAMPLE_SECONDS):
                cursor.execute(
                    "SELECT pid, state, wait_event_type, wait_event, backend_start >= now() - %s * interval '1 second'"
                    " FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                    [time.perf_counter() - self._start[0] + SAMPLE_SECONDS, self._database],
                )
                for pid, state, wait_type, wait_event, new in cursor.fetchall():
                    seconds = _process_seconds(pid)
                    if seconds is None:
                        continue
                    # A backend that started during the run counts from zero; one that was
                    # already there (another client's) from its first sample.
                    first = self._backends.get(pid, (0.0 if new else seconds, seconds))[0]
                    self._backends[pid] = (first, seconds)
                    if state == "active":
                        self.waits[f"{wait_type}:{wait_event}" if wait_type else "CPU"] += 1

    @property
    def python(self) -> float:
        return self.python_children + self.python_self

    def summary(self, *, cores: int) -> dict:
        """The figures of the run, as JSON-ready numbers: seconds, and each share of ``cores`` cores' time."""
        capacity = self.wall * cores
        return {
            "wall_s": round(self.wall, 2),
            "python_cpu_s": round(self.python, 2),
            "postgres_cpu_s": round(self.postgres, 2),
            "python_share": round(self.python / capacity, 3),
            "postgres_share": round(self.postgres / capacity, 3),
            "machine_busy_share": round(self.machine_busy, 3),
            "backend_samples": dict(self.waits.most_common(6)),
        }
