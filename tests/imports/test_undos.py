"""Undo as a job among others, on PostgreSQL for real: two undos at once, and a worker killed mid-undo.

* Two undos of different imports that touch the same rows, run at the same
  time on two connections: both end (no deadlock, no lost update) and the
  catalog is exactly the state before both imports, whichever went first.
* An undo run by the background worker, SIGKILLed mid-way and resumed by the
  next worker: the catalog ends exactly as before the import, and the undo's
  figures are those of one clean run.
* An undo that was cancelled before it changed anything leaves the import
  standing (it can be undone, and its failed rows corrected); an undone
  undo (a redo) makes it stand again.
"""

from __future__ import annotations

import os
import signal
import threading

import pytest
from django.db import connection

from catalog.models import ItemVariant
from imports import runtime, services
from imports.models import ImportJob, ImportJournal, ImportStatus
from imports.selectors import undone_by
from imports.undos import cannot_undo, undo_import
from tests.imports.engine.job_runs import VARIANT_HEADER, csv_bytes
from tests.imports.engine.test_undo import catalog_state
from tests.imports.files import stream, variant_row, variants_csv
from tests.imports.test_crash_resume import qcluster, wait_for

pytestmark = [pytest.mark.postgresql, pytest.mark.usefixtures("import_env")]

EMPTY = {"items": set(), "colors": set(), "sizes": set(), "variants": set()}


def _import(content: bytes, batch_size: int) -> ImportJob:
    job = services.create_import_job(
        stream=stream(content), file_name="f.csv", system="upsert", options={"batch_size": batch_size}
    )
    return ImportJob.objects.select_related("result").get(pk=runtime.run_import_now(job=job).pk)


def test_two_undos_of_imports_touching_the_same_rows_run_at_once_and_end_exact(transactional_db):
    rows = [(f"Item {n:04}", "", f"Color {n % 7}", f"Size {n % 5}", f"S-{n}", "1.00", "1") for n in range(600)]
    added = _import(csv_bytes(VARIANT_HEADER, rows), batch_size=50)
    repriced = _import(csv_bytes(VARIANT_HEADER, [(*row[:5], "2.00", row[6]) for row in reversed(rows)]), 50)
    assert (added.result.inserted, repriced.result.updated) == (600, 600)

    start = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def run(name: str, job: ImportJob) -> None:
        try:
            start.wait()
            outcomes[name] = undo_import(job=job, force=True, background=False).status
        except Exception as exc:  # reported by the assertion below
            outcomes[name] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(name, job)) for name, job in (("a", added), ("b", repriced))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    finished_ok = {ImportStatus.COMPLETED, ImportStatus.COMPLETED_WITH_ERRORS}
    assert all(outcomes.get(name) in finished_ok for name in "ab"), outcomes
    # Forced, the undo of the first import removes its rows whatever the second did to them,
    # and then the items, colors and sizes nothing uses any more: the catalog before both.
    assert catalog_state() == EMPTY


def test_an_undo_cancelled_before_it_changed_anything_does_not_count_as_undone(db):
    job = _import(variants_csv(4), batch_size=50)
    queued = services.cancel_import(job=undo_import(job=job, background=True))
    assert (queued.status, queued.rows_processed) == (ImportStatus.CANCELLED, 0)
    assert cannot_undo(job=job) is None
    assert undone_by(job=job) is None  # nor for the rule the corrections ask (imports.corrections.correctable)
    undo = undo_import(job=job, background=False)
    assert ItemVariant.objects.count() == 0
    assert undone_by(job=job) == undo
    assert cannot_undo(job=job).code == "already_undone"
    redo = undo_import(job=undo, background=False)  # its changes back: the import stands again
    assert (ItemVariant.objects.count(), undone_by(job=job), undone_by(job=undo)) == (4, None, redo)


@pytest.mark.slow
def test_a_worker_killed_mid_undo_is_resumed_and_the_catalog_ends_as_before_the_import(transactional_db, tmp_path):
    before_rows = 5_000
    seed = _import(variants_csv(before_rows), batch_size=1000)
    before = catalog_state()
    # Half of it changes, and as many rows again are new.
    rows = [variant_row(i, price="5.55") if i % 2 == 0 else variant_row(i) for i in range(1, 2 * before_rows + 1)]
    job = _import(csv_bytes(VARIANT_HEADER, rows), batch_size=50)
    assert job.result.inserted
    assert job.result.updated
    parts = ImportJournal.objects.filter(job=job).count()
    log = tmp_path / "qcluster.log"

    with qcluster(log) as first:
        undo = undo_import(job=job, background=True)
        wait_for(lambda: ImportJob.objects.filter(pk=undo.pk, checkpoint_row__gte=20).exists(), "parts undone", log)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()

    crashed = ImportJob.objects.get(pk=undo.pk)
    assert crashed.status == ImportStatus.RUNNING, "killed before it could finish"
    assert 0 < crashed.checkpoint_row < parts
    wait_for(lambda: runtime.find_orphaned_jobs(), "the dead worker's session to end", log)

    with qcluster(log):
        wait_for(lambda: ImportJob.objects.get(pk=undo.pk).is_finished, "the undo to resume and finish", log)

    resumed = ImportJob.objects.select_related("result").get(pk=undo.pk)
    assert resumed.status == ImportStatus.COMPLETED, resumed.failure_reason
    assert resumed.attempts == 2
    assert resumed.checkpoint_row == parts
    assert catalog_state() == before
    assert resumed.result.updated + resumed.result.deleted + resumed.result.unchanged == resumed.result.total_rows
    assert ItemVariant.objects.count() == seed.result.inserted
