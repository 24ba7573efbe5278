"""What ``imports.engine.record`` writes about a batch, on PostgreSQL and on SQLite."""

from __future__ import annotations

import io

import pytest
from django.db import transaction

from imports.engine import record
from imports.engine.staging import Batch
from imports.engine.upsert import WriteCounts
from imports.models import ImportJob, ImportResult
from imports.services import create_import_job
from tests.imports.engine.job_runs import VARIANT_HEADER, csv_bytes

pytestmark = pytest.mark.django_db


def _job() -> ImportJob:
    content = csv_bytes(VARIANT_HEADER, [("Shirt", "", "Red", "M", "", "", "")])
    job = create_import_job(stream=io.BytesIO(content), file_name="f.csv", system="upsert")
    ImportResult.objects.get_or_create(job=job)
    return job


def _commit(job: ImportJob, first_row: int, last_row: int) -> bool:
    batch = Batch(first_row=first_row, last_row=last_row, to_write=7, superseded=2, invalid=1)
    with transaction.atomic():
        return record.batch_committed(job, batch, WriteCounts(inserted=4, updated=2, unchanged=1), [])


def test_a_batch_adds_its_figures_and_moves_the_checkpoint():
    job = _job()
    _commit(job, 1, 10)
    _commit(job, 11, 20)

    job.refresh_from_db()
    result = ImportResult.objects.get(job=job)
    assert (job.checkpoint_row, job.rows_processed) == (20, 20)
    assert (result.inserted, result.updated, result.unchanged, result.superseded, result.failed) == (8, 4, 2, 4, 0)
    assert result.batches_committed == 2


def test_a_batch_returns_the_cancel_flag_as_its_bookkeeping_reads_it():
    job = _job()
    assert _commit(job, 1, 10) is False
    ImportJob.objects.filter(pk=job.pk).update(cancel_requested=True)
    assert _commit(job, 11, 20) is True
