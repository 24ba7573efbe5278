"""Writing side of imports: create jobs, claim them, run them.

Every door (admin, API, commands) goes through these functions, so a job is
created, routed, stored and run the same way whoever asked for it.
"""

from __future__ import annotations

import hashlib
import os
import socket
from typing import BinaryIO

from django.core.files import File
from django.db import transaction
from django.utils import timezone

from imports.engine.kinds import get_kind
from imports.engine.run import ProgressCallback, run_job
from imports.models import ImportJob, ImportResult, ImportStatus
from imports.routing import choose_system

_HASH_CHUNK = 1024 * 1024


def _checksum(stream: BinaryIO) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    stream.seek(0)
    while chunk := stream.read(_HASH_CHUNK):
        digest.update(chunk)
        size += len(chunk)
    stream.seek(0)
    return digest.hexdigest(), size


@transaction.atomic
def create_import_job(
    *,
    stream: BinaryIO,
    file_name: str,
    kind: str = "variants",
    user=None,
    source: str = "cli",
    dry_run: bool = False,
    file_format: str = "",
    system: str = "",
    options: dict | None = None,
) -> ImportJob:
    """Store the file with a new ``pending`` job, routed to a system."""
    get_kind(kind)
    routing = choose_system(user=user, explicit=system)
    checksum, size = _checksum(stream)
    job = ImportJob.objects.create(
        kind=kind,
        system=routing.system,
        routing=routing.reason,
        source=source,
        dry_run=dry_run,
        user=user if getattr(user, "pk", None) else None,
        file_name=os.path.basename(file_name)[:255],
        file_format=file_format,
        file_size=size,
        file_checksum=checksum,
        options={key: value for key, value in (options or {}).items() if value not in (None, "")},
    )
    job.file.save(os.path.basename(file_name), File(stream), save=True)
    ImportResult.objects.create(job=job)
    return job


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def claim_job(*, job_id: int, worker: str = "") -> ImportJob | None:
    """Atomically move a pending job to running; None when someone else has it."""
    now = timezone.now()
    claimed = ImportJob.objects.filter(pk=job_id, status=ImportStatus.PENDING).update(
        status=ImportStatus.RUNNING,
        started_at=now,
        heartbeat_at=now,
        worker=worker or worker_name(),
        stage="starting",
        updated_at=now,
    )
    if not claimed:
        return None
    job = ImportJob.objects.get(pk=job_id)
    ImportJob.objects.filter(pk=job_id).update(attempts=job.attempts + 1)
    job.attempts += 1
    return job


def run_import_now(*, job: ImportJob, on_progress: ProgressCallback | None = None) -> ImportJob:
    """Claim a pending job and run it in this process (the inline door)."""
    claimed = claim_job(job_id=job.pk)
    if claimed is None:
        raise RuntimeError(f"Import #{job.pk} is not pending (status {job.status}); it cannot be started here.")
    return run_job(claimed, on_progress=on_progress)
