"""``manage.py qcluster`` stops cleanly when its whole process group gets SIGTERM, as systemd sends it.

Before (issue 11): the sentinel died inside ``stop_event.wait()``, the main
process waited for it forever in ``stop_event.set()`` (45 s and more, a zombie
child). The bound below is the issue's requirement (10 s), not a speed claim:
an idle cluster stops in about 1.5 s, a busy one after the 5 s grace.

The busy case holds the import job's row lock from the test's connection, so
the worker's next checkpoint write waits on it: the import is still running
when the grace ends, however fast the machine (it once finished 45,000 rows
inside the grace and the test failed for want of a busy worker).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
from django.db import transaction

from imports import runtime, services
from imports.management.commands.qcluster import STOP_GRACE_SECONDS, descendants
from imports.models import ImportJob, ImportStatus
from tests.imports.files import stream, variants_csv
from tests.imports.test_crash_resume import BATCH, qcluster, wait_for

pytestmark = [pytest.mark.postgresql, pytest.mark.slow, pytest.mark.usefixtures("import_env")]

#: systemd's stop must not have to SIGKILL: the issue's bound for a group SIGTERM.
STOP_BOUND_SECONDS = 10
ROWS = 20_000  # many batches after the fifth: the lock below is taken long before the last


def stop_group(process: subprocess.Popen) -> int:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        return process.wait(timeout=STOP_BOUND_SECONDS)
    except subprocess.TimeoutExpired:
        pytest.fail(f"qcluster still running {STOP_BOUND_SECONDS} s after a group SIGTERM: {descendants(process.pid)}")


def test_an_idle_cluster_stops_on_a_group_sigterm_leaving_no_process(transactional_db, tmp_path):
    log = tmp_path / "qcluster.log"
    with qcluster(log) as process:
        # django-q's own INFO lines ("... running.") are off in the console (issue 15): wait for its
        # processes (sentinel, pusher, monitor, workers) instead.
        wait_for(lambda: len(descendants(process.pid)) >= 4, "the cluster to start", log)
        time.sleep(1)  # let the sentinel finish starting its workers
        children = descendants(process.pid)
        assert len(children) >= 4  # sentinel, pusher, monitor, workers

        assert stop_group(process) == 0, log.read_text()[-3000:]

    assert "Background worker stopped." in log.read_text()
    assert all(not os.path.exists(f"/proc/{pid}") for pid in children), "a process of the cluster is left"


def test_a_busy_cluster_stops_after_the_grace_and_its_import_resumes_in_the_next(transactional_db, tmp_path):
    job = services.create_import_job(
        stream=stream(variants_csv(ROWS)), file_name="busy.csv", kind="variants", system="upsert", source="api"
    )
    log = tmp_path / "qcluster.log"
    with qcluster(log) as process:
        runtime.queue_import(job=job)
        wait_for(lambda: ImportJob.objects.filter(pk=job.pk, checkpoint_row__gte=5 * BATCH).exists(), "batches", log)
        with transaction.atomic():
            # The worker's next batch waits for this lock when it records its checkpoint: busy.
            ImportJob.objects.select_for_update().get(pk=job.pk)
            assert stop_group(process) == 0, log.read_text()[-3000:]
    text = log.read_text()
    assert f"still busy after {STOP_GRACE_SECONDS} s" in text
    assert "Background worker stopped." in text
    stopped = ImportJob.objects.get(pk=job.pk)
    assert stopped.status == ImportStatus.RUNNING  # left for the next worker, not failed

    with qcluster(log):
        wait_for(lambda: ImportJob.objects.get(pk=job.pk).is_finished, "the import to resume", log, every=0.1)
    resumed = ImportJob.objects.select_related("result").get(pk=job.pk)
    assert resumed.status == ImportStatus.COMPLETED
    assert resumed.result.inserted == ROWS
    assert resumed.attempts == 2
