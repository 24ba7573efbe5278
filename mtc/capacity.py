"""How many PostgreSQL connections the deployment needs, against ``max_connections``.

With persistent connections (``DB_CONN_MAX_AGE`` > 0) every process that has
touched the database keeps one connection open, so the need is a count of
processes, known from the settings:

* each web machine runs ``WEB_CONCURRENCY`` gunicorn workers (sync: one
  request, one connection at a time), times ``WEB_MACHINES``;
* each worker machine runs one ``qcluster``: ``QUEUE_WORKERS`` workers, each
  with ``IMPORT_PARALLEL_BATCHES`` connections while it runs an import (its
  own, with the job lock, and one a batch written beside it) plus the
  cluster's own processes that use the database (:data:`CLUSTER_PROCESSES`:
  the main process with its sweeper, the sentinel with the scheduler, the
  monitor that saves results, the pusher),
  times ``WORKER_MACHINES``;
* :data:`RESERVED` for what runs beside them: management commands, a
  migration, a ``psql`` session, the backup.

The health check (``imports.rollout.health``, the guide's "connections below
80 %") reads this plan as well as the connections in use, so a deployment
sized past 80 % of ``max_connections`` is reported before the day it is busy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from django.conf import settings

#: A cluster's processes besides its workers that hold a connection: the main process (its sweeper),
#: django-q2's sentinel (scheduler), monitor and pusher.
CLUSTER_PROCESSES = 4
#: Connections left for commands, migrations, psql and pg_dump.
RESERVED = 5
#: The guide's limit (section 4.2): connections stay below this share of max_connections.
MAX_PERCENT = 80


@dataclass(frozen=True)
class ConnectionPlan:
    """The connections the processes of a deployment hold at most, one per process."""

    web_machines: int
    web_processes: int  # per web machine
    worker_machines: int
    queue_workers: int  # per worker machine
    import_connections: int = 1  # per queue worker running an import (IMPORT_PARALLEL_BATCHES)

    @property
    def web(self) -> int:
        return self.web_machines * self.web_processes

    @property
    def workers(self) -> int:
        return self.worker_machines * (self.queue_workers * self.import_connections + CLUSTER_PROCESSES)

    @property
    def total(self) -> int:
        return self.web + self.workers + RESERVED

    def percent_of(self, max_connections: int) -> float:
        return round(100.0 * self.total / max_connections, 1)

    def fits(self, max_connections: int) -> bool:
        return self.percent_of(max_connections) < MAX_PERCENT

    def describe(self) -> str:
        return (
            f"{self.web_machines} web machine(s) x {self.web_processes} + {self.worker_machines} worker machine(s) "
            f"x ({self.queue_workers} x {self.import_connections} + {CLUSTER_PROCESSES}) + {RESERVED} reserved "
            f"= {self.total}"
        )

    def max_connections_needed(self) -> int:
        """The smallest ``max_connections`` under which this plan stays below :data:`MAX_PERCENT`."""
        return self.total * 100 // MAX_PERCENT + 1


def connection_plan() -> ConnectionPlan:
    """The plan of this deployment, from its settings."""
    queue_workers = cast(int, settings.Q_CLUSTER["workers"])
    return ConnectionPlan(
        web_machines=settings.WEB_MACHINES,
        web_processes=settings.WEB_CONCURRENCY,
        worker_machines=settings.WORKER_MACHINES,
        queue_workers=queue_workers,
        import_connections=settings.IMPORT_PARALLEL_BATCHES,
    )
