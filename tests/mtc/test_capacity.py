"""mtc/capacity.py: the connections a deployment needs, one per process, against max_connections."""

from __future__ import annotations

from mtc import capacity
from mtc.capacity import ConnectionPlan


def test_the_plan_counts_one_connection_per_web_and_worker_process_and_a_reserve():
    plan = ConnectionPlan(web_machines=2, web_processes=4, worker_machines=3, queue_workers=2)

    assert plan.web == 8
    assert plan.workers == 3 * (2 + capacity.CLUSTER_PROCESSES)
    assert plan.total == 8 + 18 + capacity.RESERVED
    assert plan.describe() == "2 web machine(s) x 4 + 3 worker machine(s) x (2 x 1 + 4) + 5 reserved = 31"


def test_a_worker_running_an_import_counts_each_batch_written_at_once():
    plan = ConnectionPlan(web_machines=1, web_processes=2, worker_machines=2, queue_workers=3, import_connections=2)

    assert plan.workers == 2 * (3 * 2 + capacity.CLUSTER_PROCESSES)
    assert plan.describe() == "1 web machine(s) x 2 + 2 worker machine(s) x (3 x 2 + 4) + 5 reserved = 27"


def test_the_plan_fits_below_80_percent_and_says_what_max_connections_would_do():
    plan = ConnectionPlan(web_machines=2, web_processes=4, worker_machines=3, queue_workers=2)  # 31

    assert plan.fits(100)
    assert plan.percent_of(40) == 77.5
    assert not plan.fits(38)
    needed = plan.max_connections_needed()
    assert plan.fits(needed)
    assert not plan.fits(needed - 1)


def test_the_plan_of_this_deployment_reads_the_settings(settings):
    settings.WEB_MACHINES, settings.WEB_CONCURRENCY, settings.WORKER_MACHINES = 3, 5, 2
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "workers": 4}
    settings.IMPORT_PARALLEL_BATCHES = 3

    assert capacity.connection_plan() == ConnectionPlan(
        web_machines=3, web_processes=5, worker_machines=2, queue_workers=4, import_connections=3
    )
