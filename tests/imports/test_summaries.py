"""A job's summary (``imports.summaries``) is the API's job, byte for byte, without DRF.

The commands print :func:`job_summary`; the API renders it through
``JobSerializer``, whose declared fields describe each key for the schema.
Here jobs in every shape (finished with failed rows and a mapping, queued,
with no result row, failed, an undo, a dry run, under another time zone)
are rendered both by the summary and field by field by DRF (the serializer's
own fields, as DRF renders them without the summary), and the JSON must be
the same bytes, keys in the same order.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest
from django.utils import timezone
from rest_framework import serializers

from imports.models import ImportJob, ImportResult
from imports.runtime import run_import_now
from imports.serializers import JobDetailSerializer, JobSerializer
from imports.services import create_import_job
from imports.summaries import JOB_KEYS, job_summary
from imports.undos import undo_import
from tests.imports.engine.job_runs import VARIANT_HEADER, csv_bytes, run_import
from tests.imports.files import variants_csv
from tests.imports.management.cli import ROOT

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("import_env")]


def by_drf_fields(job: ImportJob) -> dict:
    """The job as DRF renders ``JobSerializer``'s declared fields, one by one (the summary left out)."""
    return serializers.ModelSerializer.to_representation(JobSerializer(), job)


def loaded(job: ImportJob) -> ImportJob:
    return ImportJob.objects.select_related("result", "user").get(pk=job.pk)


def assert_same_bytes(job: ImportJob) -> None:
    job = loaded(job)
    assert json.dumps(job_summary(job)) == json.dumps(by_drf_fields(job))
    assert json.dumps(JobSerializer(job).data) == json.dumps(job_summary(job))
    assert tuple(job_summary(job)) == JOB_KEYS


def test_a_finished_import_with_failed_rows_a_mapping_and_a_user(importer):
    header = (*VARIANT_HEADER[:-1], "Stock count", "Notes")
    rows = [(f"Shirt {n}", "", "Red", "M", f"S-{n}", "-1" if n % 3 == 0 else "9.50", "4", "note") for n in range(1, 7)]
    job = create_import_job(
        stream=io.BytesIO(b"Spring prices,,,,,,,\n" + csv_bytes(header, rows)),
        file_name="supplier.csv",
        user=importer,
        system="upsert",
        options={"header_row": 2},
        mapping={"Stock count": "stock", "Notes": None},
    )
    job = run_import_now(job=job)
    job = loaded(job)
    assert (job.user, job.result.failed, job.header_row) == (importer, 2, 2)
    assert_same_bytes(job)


def test_a_queued_job_and_a_job_without_a_result_row():
    job = create_import_job(stream=io.BytesIO(variants_csv(2)), file_name="queued.csv", system="upsert")
    assert_same_bytes(job)
    ImportResult.objects.filter(job=job).delete()  # as a job made before results were
    assert not hasattr(loaded(job), "result")
    assert job_summary(loaded(job))["inserted"] is None
    assert_same_bytes(job)


def test_a_failed_import_a_dry_run_and_an_undo():
    failed = run_import(csv_bytes(VARIANT_HEADER, []), name="empty.csv")
    dry_run = run_import(variants_csv(3), dry_run=True)
    imported = run_import(variants_csv(3))
    undo = undo_import(job=imported, background=False)
    assert (failed.status, dry_run.dry_run, loaded(undo).undoes_id) == ("failed", True, imported.pk)
    assert job_summary(loaded(imported))["undo_until"] is not None
    for job in (failed, dry_run, imported, undo):
        assert_same_bytes(job)


def test_times_in_another_time_zone_are_written_as_drf_writes_them():
    job = run_import(variants_csv(2))
    with timezone.override("America/Sao_Paulo"):
        assert job_summary(loaded(job))["created_at"].endswith("-03:00")
        assert_same_bytes(job)


def test_the_detail_adds_its_keys_after_the_summary_in_their_declared_order():
    job = loaded(run_import(variants_csv(2)))
    data = JobDetailSerializer(job).data
    assert tuple(data) == JobDetailSerializer.Meta.fields
    assert {key: data[key] for key in JOB_KEYS} == job_summary(job)
    assert (data["cancel_requested"], data["progress"]["import_id"]) == (False, job.pk)


#: What a command would load to print a job through DRF (the apps themselves load only their AppConfigs).
DRF_SERIALIZING = (
    "imports.serializers",
    "rest_framework.serializers",
    "rest_framework.fields",
    "drf_spectacular.utils",
)


def test_the_import_command_loads_no_rest_framework_serializers():
    """``manage.py import_catalog`` runs and prints a job without DRF's serializers (60 ms of its start-up)."""
    script = (
        "import sys, django; django.setup();"
        "from django.core.management import load_command_class; load_command_class('imports', 'import_catalog');"
        f"print(' '.join(m for m in {DRF_SERIALIZING!r} if m in sys.modules))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    loaded_modules = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True, env=env
    ).stdout.split()
    assert loaded_modules == []
