"""imports/stored_files.py: uploads reach a worker on another machine through shared storage, and old ones go.

"Another machine" is a worker process with a ``MEDIA_ROOT`` of its own: it runs
the job's task (``imports.tasks.run_import``, what ``qcluster`` runs) on the
test database. With the S3 backend (moto's server mode, a local S3-compatible
server) it reads the upload from the bucket and the job completes; with local
storage it cannot, and the job fails with a message naming the missing shared
storage, never a traceback.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import boto3
import pytest
from django.core.files.storage import default_storage
from django.db import connection
from django.utils import timezone

from catalog.models import ItemVariant
from imports import services, stored_files, tasks
from imports.models import ImportJob, ImportStatus
from imports.services import JobStateError
from tests.imports.files import stream, variants_csv

ROOT = Path(__file__).resolve().parents[2]
MOTO_PORT = 18110
BUCKET = "mtc-test-imports"
S3_ENV = {
    "STORAGE_BACKEND": "s3",
    "S3_BUCKET": BUCKET,
    "S3_ENDPOINT_URL": f"http://127.0.0.1:{MOTO_PORT}",
    "S3_REGION": "us-east-1",
    "S3_ACCESS_KEY_ID": "testing",
    "S3_SECRET_ACCESS_KEY": "testing",
}


def s3_storage_settings() -> dict:
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": BUCKET,
            "endpoint_url": S3_ENV["S3_ENDPOINT_URL"],
            "region_name": "us-east-1",
            "access_key": "testing",
            "secret_key": "testing",
            "default_acl": None,
            "file_overwrite": False,
        },
    }


@pytest.fixture(scope="module")
def moto_server(tmp_path_factory):
    """moto's S3 server on 127.0.0.1:MOTO_PORT, with an empty bucket."""
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(MOTO_PORT)],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", MOTO_PORT), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail(f"moto_server did not start:\n{log.read_text()}")
                time.sleep(0.1)
        client = boto3.client(
            "s3",
            endpoint_url=S3_ENV["S3_ENDPOINT_URL"],
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        client.create_bucket(Bucket=BUCKET)
        yield client
    finally:
        process.terminate()
        process.wait(timeout=10)


def database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def run_on_another_machine(job: ImportJob, media_root: Path, **env: str) -> subprocess.CompletedProcess:
    """The job's task in a worker process with its own MEDIA_ROOT (and whatever storage ``env`` says)."""
    code = f"import django; django.setup(); from imports import tasks; print(tasks.run_import({job.pk}))"
    environment = {
        **{key: value for key, value in os.environ.items() if key not in S3_ENV},
        "DATABASE_URL": database_url(),
        "MEDIA_ROOT": str(media_root),
        **env,
    }
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60, check=False
    )


def files_under(path: Path) -> list[Path]:
    return [p for p in path.rglob("*") if p.is_file()]


@pytest.mark.postgresql
@pytest.mark.usefixtures("import_env")
def test_with_the_shared_s3_backend_a_worker_with_another_media_root_runs_the_job(
    transactional_db, settings, tmp_path, moto_server
):
    settings.STORAGES = {**settings.STORAGES, "default": s3_storage_settings()}
    web_media, worker_media = Path(settings.MEDIA_ROOT), tmp_path / "worker-media"
    job = services.create_import_job(stream=stream(variants_csv(40)), file_name="v.csv", kind="variants")
    stored = moto_server.list_objects_v2(Bucket=BUCKET)["Contents"]
    assert [entry["Key"] for entry in stored] == [job.file.name]

    result = run_on_another_machine(job, worker_media, **S3_ENV)

    assert result.returncode == 0, result.stderr
    job.refresh_from_db()
    assert job.status == ImportStatus.COMPLETED, job.failure_reason
    assert ItemVariant.objects.count() == 40
    assert files_under(web_media) == []
    assert files_under(worker_media) == []


@pytest.mark.postgresql
@pytest.mark.usefixtures("import_env")
def test_with_local_storage_on_two_machines_the_job_fails_naming_the_missing_shared_storage(
    transactional_db, settings, tmp_path
):
    job = services.create_import_job(stream=stream(variants_csv(40)), file_name="v.csv", kind="variants")
    worker_media = tmp_path / "worker-media"

    result = run_on_another_machine(job, worker_media)

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED
    assert job.failure_reason.startswith(
        f"The uploaded file {job.file.name} is not in this worker's file storage "
        f"(the local directory {worker_media} on {socket.gethostname()})"
    )
    assert "set STORAGE_BACKEND=s3 and the S3_* settings on every machine" in job.failure_reason
    assert ItemVariant.objects.count() == 0


@pytest.mark.usefixtures("import_env")
def test_the_worker_on_the_web_machine_runs_the_job_with_local_storage(db):
    job = services.create_import_job(stream=stream(variants_csv(10)), file_name="v.csv", kind="variants")
    assert stored_files.missing_file_reason(job) == ""

    tasks.run_import(job.pk)

    job.refresh_from_db()
    assert job.status == ImportStatus.COMPLETED


@pytest.mark.usefixtures("import_env")
def test_files_of_imports_that_ended_past_the_retention_are_deleted_and_the_jobs_kept(db, settings):
    settings.IMPORT_FILE_RETENTION_DAYS = 30
    now = timezone.now()
    jobs = {
        name: services.create_import_job(stream=stream(variants_csv(5)), file_name=f"{name}.csv", kind="variants")
        for name in ("old", "recent", "pending")
    }
    ImportJob.objects.filter(pk=jobs["old"].pk).update(status=ImportStatus.FAILED, finished_at=now - timedelta(days=31))
    ImportJob.objects.filter(pk=jobs["recent"].pk).update(
        status=ImportStatus.COMPLETED, finished_at=now - timedelta(days=29)
    )
    names = {name: job.file.name for name, job in jobs.items()}

    assert tasks.prune_import_files() == 1
    assert stored_files.prune_files() == 0  # nothing left to do

    assert not default_storage.exists(names["old"])
    assert default_storage.exists(names["recent"])
    assert default_storage.exists(names["pending"])
    old = ImportJob.objects.get(pk=jobs["old"].pk)
    assert (old.file.name, old.file_name, old.status) == ("", "old.csv", ImportStatus.FAILED)
    with pytest.raises(JobStateError, match="its stored file is missing"):
        services.retry_import(job=old, user=None)
