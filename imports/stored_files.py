"""The uploaded files of imports, in Django's file storage: where they are, and pruning old ones.

Every read and write of an import's file goes through ``ImportJob.file`` (its
storage: ``STORAGES["default"]``), never a path on disk, so the storage can be
the local ``MEDIA_ROOT`` (one machine) or an S3-compatible bucket shared by
every machine (``STORAGE_BACKEND=s3``; README "Deploying and scaling out").

With local storage on two machines the web server stores a file that a worker
on another machine cannot see; :func:`missing_file_reason` is the sentence the
job fails with then, naming the missing shared storage rather than a traceback.
"""

from __future__ import annotations

import logging
import socket
from datetime import timedelta

from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage
from django.utils import timezone

from imports.models import ImportJob

logger = logging.getLogger(__name__)


def describe(storage: Storage) -> str:
    """Where a storage keeps files, in words an operator recognises."""
    if isinstance(storage, FileSystemStorage):
        return f"the local directory {storage.location} on {socket.gethostname()}"
    bucket = getattr(storage, "bucket_name", "")
    return f"the shared bucket {bucket}" if bucket else f"the {type(storage).__name__} storage"


def missing_file_reason(job: ImportJob) -> str:
    """Why a job's stored file cannot be read here, or "" when it can (or the job has no file)."""
    if not job.file.name:
        return ""
    storage = job.file.storage
    if storage.exists(job.file.name):
        return ""
    where = describe(storage)
    if isinstance(storage, FileSystemStorage):
        return (
            f"The uploaded file {job.file.name} is not in this worker's file storage ({where}): it was stored "
            f"on the disk of the machine that received it. Workers on other machines need shared file storage: "
            f"set STORAGE_BACKEND=s3 and the S3_* settings on every machine (README: Deploying and scaling out), "
            f"or run the worker on the web machine. Retry the import once that is done."
        )
    return f"The uploaded file {job.file.name} is missing from {where}: upload the file again."


def prune_files(*, now=None) -> int:
    """Delete the stored files of imports that ended more than ``IMPORT_FILE_RETENTION_DAYS`` ago.

    The job keeps its record, figures, failed rows and original file name; only
    the upload goes (a retry then says the file is missing). Returns files deleted.
    """
    cutoff = (now or timezone.now()) - timedelta(days=settings.IMPORT_FILE_RETENTION_DAYS)
    old = ImportJob.objects.filter(finished_at__lt=cutoff).exclude(file="").order_by("import_id")
    deleted = 0
    for job in old.iterator(chunk_size=500):
        name = job.file.name or ""
        try:
            job.file.storage.delete(name)  # a file already gone is no error (Storage.delete)
        except Exception:  # one unreachable file must not stop the rest; the next run tries again
            logger.warning("Could not delete the stored file %s of import %s", name, job.pk, exc_info=True)
            continue
        ImportJob.objects.filter(pk=job.pk, file=name).update(file="")
        deleted += 1
    if deleted:
        logger.info("Deleted the stored files of %s import(s) that ended before %s", deleted, cutoff.date())
    return deleted
