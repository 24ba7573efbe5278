"""The import job lifecycle: start, cancel, retry, and import the file a preview checked.

Every door (admin, API, commands) goes through these functions, so a file is
checked, stored, routed and run the same way whoever asked for it, and a
refusal is the same refusal everywhere: the file checks raise
``FileRefused`` (``imports.file_checks``), a state that does not allow the
action raises :class:`JobStateError`; both carry a ``code`` (``mtc.errors``).
Running a job (locks, claims, the queue, crash recovery) is
:mod:`imports.runtime`'s job.
"""

from __future__ import annotations

import hashlib
import io
import os
from typing import BinaryIO

from django.conf import settings
from django.core.files import File
from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog.kinds import KINDS
from imports.access import check_may_manage_import
from imports.corrections import Correction, correctable, corrections_file
from imports.engine import record
from imports.engine.columns import Mapping
from imports.engine.errors import ImportRejected
from imports.engine.limits import MAX_HEADER_ROW
from imports.engine.numbers import AUTO, NUMBER_FORMATS
from imports.engine.strategies import ProgressCallback, route
from imports.file_checks import LINELESS_FORMATS, check_file, check_upload_size
from imports.mappings import remember_mapping, remembered_mapping
from imports.models import ImportJob, ImportResult, ImportSource, ImportStatus
from imports.progress import forget_progress
from imports.runtime import queue_import, run_import_now
from mtc.errors import Conflict, Refused
from mtc.storable import clipped, storable

_HASH_CHUNK = 1024 * 1024
#: The options a user declares for reading a file, carried from a dry run to the import it confirms.
READER_OPTIONS = ("sheet", "encoding", "max_rows", "number_format", "header_row", "delimiter")


class JobStateError(Conflict):
    """The job is not in a state that allows the action (e.g. retrying a completed job)."""


def start_import(
    *,
    stream: BinaryIO,
    file_name: str,
    kind: str = "",
    user=None,
    source: str = ImportSource.API,
    dry_run: bool = False,
    file_format: str = "",
    system: str = "",
    options: dict | None = None,
    mapping: Mapping | None = None,
    require_mapping: bool = True,
    background: bool | None = None,
    on_progress: ProgressCallback | None = None,
    parent_import: ImportJob | None = None,
) -> ImportJob:
    """Check a file, keep it with a new job, then run it here or queue it: every door's way in.

    The checks come first and need no job: the upload's size
    (``IMPORT_MAX_UPLOAD_MB``), its type by content, its header and its
    data rows (counted only up to ``IMPORT_BACKGROUND_THRESHOLD`` + 1, so the
    decision costs little even on a large file). A refused file raises
    ``FileRefused`` before anything is stored.

    The header is read from line ``options["header_row"]`` when given (refused
    for a JSON or JSON Lines file, which has none: ``OptionRefused``), else
    from the row that reads best as a header (a title or notes above it are
    skipped: ``imports.engine.header_rows``); the job keeps the line, so its
    run, a retry and a resume read the same rows. It is read with ``mapping`` (header -> field, or None to ignore)
    laid over the suggestion (``imports.engine.columns``); without one, with
    the mapping the user chose last time for a file of this kind with these
    headers (``imports.mappings``). The job keeps the mapping it is read
    with; a mapping given for a real import is remembered for the user. A
    mapping that leaves a required field without a column refuses the file
    (``wrong_header``, with the suggestion and the missing fields), unless
    ``require_mapping=False`` (the admin's check, which then asks for the
    mapping on its page: the check's job fails at once, naming what is
    missing).

    ``background=None`` decides by size: files with at most
    ``IMPORT_BACKGROUND_THRESHOLD`` data rows run inline (the job comes back
    finished), larger ones are queued for ``manage.py qcluster`` (the job
    comes back ``pending``). ``False`` always runs inline (the command line),
    ``True`` always queues.

    ``parent_import`` is the import whose failed rows this file corrects
    (:func:`import_corrections`); the job keeps the link.
    """
    options = options or {}
    kind = kind or KINDS.default
    check_reader_options(options)
    check_upload_size(size=_size(stream), file_name=file_name)
    threshold = settings.IMPORT_BACKGROUND_THRESHOLD
    check = check_file(
        stream=stream,
        file_name=file_name,
        kind=kind,
        file_format=file_format,
        sheet=options.get("sheet") or "",
        encoding=options.get("encoding") or "",
        mapping=mapping,
        header_row=options.get("header_row") or None,
        remembered=lambda headers: remembered_mapping(user=user, kind=kind, headers=headers),
        require_mapping=require_mapping,
        stop_after=threshold,
    )
    options = {**options, **check.reading}  # the run reads the header row and delimiter the check found
    job = create_import_job(
        stream=stream,
        file_name=file_name,
        kind=kind,
        user=user,
        source=source,
        dry_run=dry_run,
        file_format=check.file_format,
        system=system,
        options=options,
        mapping=check.mapping,
        parent_import=parent_import,
    )
    if mapping and not dry_run:
        remember_mapping(user=user, kind=kind, headers=check.headers, mapping=check.mapping)
    if background is None:
        background = check.data_rows > threshold
    if background:
        return queue_import(job=job)
    return run_import_now(job=job, on_progress=on_progress)


@transaction.atomic
def create_import_job(
    *,
    stream: BinaryIO,
    file_name: str,
    kind: str = "",
    user=None,
    source: str = ImportSource.CLI,
    dry_run: bool = False,
    file_format: str = "",
    system: str = "",
    options: dict | None = None,
    mapping: Mapping | None = None,
    checked_by: ImportJob | None = None,
    parent_import: ImportJob | None = None,
) -> ImportJob:
    """Store the file with a new ``pending`` job, routed to a system (no checks: see :func:`start_import`).

    Except one: a real import of corrected rows (``parent_import``) is born
    here whichever way it came (:func:`import_corrections`,
    :func:`import_checked_file`), so here, under the first import's row lock,
    it is refused once that import was undone or its rows corrected by
    another (``imports.corrections.correctable``): two at once make one.
    """
    if parent_import is not None and not dry_run:
        correctable(ImportJob.objects.select_for_update().get(pk=parent_import.pk))
    kind = KINDS.get(kind or KINDS.default).name
    routing = route(user=user, explicit=system)
    checksum, size = _checksum(stream)
    job = ImportJob.objects.create(
        kind=kind,
        system=routing.system,
        routing=routing.reason,
        source=source,
        dry_run=dry_run,
        checked_by=checked_by,
        parent_import=parent_import,
        user=user if getattr(user, "pk", None) else None,
        file_name=clipped(storable(os.path.basename(file_name)), 255),
        file_format=file_format,
        file_size=size,
        file_checksum=checksum,
        options={key: value for key, value in (options or {}).items() if value not in (None, "")},
        mapping=mapping or {},
    )
    job.file.save(os.path.basename(file_name), File(stream), save=True)
    ImportResult.objects.create(job=job)
    return job


def check_reader_options(options: dict) -> None:
    """Refuse a reader option no reader knows the value of (the doors offer only good ones; this is the rule)."""
    header_row = options.get("header_row")
    if header_row is not None and (
        isinstance(header_row, bool) or not isinstance(header_row, int) or not 1 <= header_row <= MAX_HEADER_ROW
    ):
        raise Refused(
            f"The header row must be a line from 1 to {MAX_HEADER_ROW:,}; {header_row!r} is not.",
            code="invalid_header_row",
        )
    number_format = options.get("number_format") or AUTO
    if number_format not in NUMBER_FORMATS:
        raise Refused(
            f"Unknown number format {number_format!r}: use one of {', '.join(NUMBER_FORMATS)}.",
            code="invalid_number_format",
        )


# --- Importing the corrected failed rows of an import ------------------------------------------


def import_corrections(
    *,
    job: ImportJob,
    corrections: list[Correction],
    user=None,
    source: str = ImportSource.API,
    dry_run: bool = False,
    background: bool | None = None,
) -> ImportJob:
    """Import some failed rows of ``job`` again, with their cells corrected: a new import, linked to ``job``.

    The corrected rows become a file (``imports.corrections.corrections_file``:
    the file's own headers, the job's number format) that enters through
    :func:`start_import` like any upload, with the job's column mapping, so it
    is checked, stored, routed, previewed (``dry_run``, the admin's way), run
    inline or queued, and reported exactly as a file the user uploaded. The
    new job's ``parent_import`` is ``job`` (and stays so through the check and
    the import confirmed from it). Refuses a job that cannot be corrected
    (``not_correctable``), no rows, and rows or columns the job does not have.
    """
    content, file_name, options = corrections_file(job=job, corrections=corrections)
    stream = io.BytesIO(content)
    stream.name = file_name
    return start_import(
        stream=stream,
        file_name=file_name,
        kind=job.kind,
        user=user,
        source=source,
        dry_run=dry_run,
        options=options,
        mapping=job.mapping or None,
        background=background,
        parent_import=job,
    )


# --- Cancel and retry --------------------------------------------------------------------


def cancel_import(*, job: ImportJob, user=None) -> ImportJob:
    """Cancel a job: at once when it is pending, at the next batch boundary when running.

    A running job reads the request with each batch's bookkeeping, the batch's
    last statement (``engine.record.batch_committed``): it stops after the
    batch running when asked, or after the next one when asked in the instant
    between two batches.

    A running job keeps its committed batches and reports them once it stops
    (status ``cancelled``). Raises ``JobStateError`` for a finished job.
    ``user`` is who asks: every door with a person passes it, and it must
    hold the right to manage this job (:mod:`imports.access`, else
    ``NotAllowed``); None is the system itself (the worker, a command run by
    the operator, a test).
    """
    if user is not None:
        check_may_manage_import(user=user, job=job, action="cancel")
    now = timezone.now()
    if ImportJob.objects.filter(pk=job.pk, status=ImportStatus.PENDING).update(
        status=ImportStatus.CANCELLED, cancel_requested=True, updated_at=now
    ):
        job.refresh_from_db()
        return record.cancelled(job, "Cancelled before it started; nothing was imported.")
    if ImportJob.objects.filter(pk=job.pk, status=ImportStatus.RUNNING).update(cancel_requested=True, updated_at=now):
        job.refresh_from_db()
        return job
    job.refresh_from_db()
    raise JobStateError(
        f"Import #{job.pk} has already finished ({job.status}); there is nothing to cancel.", code="not_cancellable"
    )


def retry_import(*, job: ImportJob, user=None, background: bool | None = None) -> ImportJob:
    """Run a failed or cancelled job again from its stored file.

    Batches committed before the failure stay committed and counted: the run
    resumes after ``checkpoint_row`` (a job that failed before writing starts
    from the top), so a job retried after a timeout or a lost worker ends with
    the figures of one clean run. Runs inline or in the background by the
    same size rule as :func:`start_import`. Raises ``JobStateError`` for any
    other status, or when the stored file is missing or no longer matches
    its checksum; ``NotAllowed`` when ``user`` may not manage the job (as
    :func:`cancel_import`).
    """
    if user is not None:
        check_may_manage_import(user=user, job=job, action="retry")
    if not job.is_retryable:
        raise _not_retryable(job)
    if not job.is_undo:  # an undo reads the journal of the import it undoes, not a file
        _verify_stored_file(job)
    updated = ImportJob.objects.filter(pk=job.pk, status__in=(ImportStatus.FAILED, ImportStatus.CANCELLED)).update(
        refused_code="",
        status=ImportStatus.PENDING,
        cancel_requested=False,
        failure_reason="",
        finished_at=None,
        stage="",
        attempts=0,
        task_id="",
        worker="",
        updated_at=timezone.now(),
    )
    if not updated:
        job.refresh_from_db()
        raise _not_retryable(job)
    forget_progress(import_id=job.pk)
    job.refresh_from_db()
    if background is None:
        background = (job.total_rows or _count_stored_rows(job)) > settings.IMPORT_BACKGROUND_THRESHOLD
    if background:
        return queue_import(job=job)
    return run_import_now(job=job)


def _not_retryable(job: ImportJob) -> JobStateError:
    if job.is_refused:
        return JobStateError(
            f"Import #{job.pk} was refused ({job.failure_reason}); the same file would be refused again: "
            f"fix the file and import it again.",
            code="not_retryable",
        )
    return JobStateError(
        f"Import #{job.pk} is {job.status}; only failed or cancelled imports can be retried.", code="not_retryable"
    )


# --- Importing the file a dry run checked (the admin's preview, then confirm) ---------------


def import_checked_file(*, dry_run_job: ImportJob, user=None, background: bool | None = None) -> ImportJob:
    """Import for real the file a finished dry run checked, and return the new job.

    The admin previews a file with a dry run, then the user confirms: the
    confirmed import must be the very file that was previewed, not a second
    upload. So the new job gets a copy of the dry run's stored file (checked
    against its checksum first), its kind, format and reader options, and
    points back to it (``checked_by``); each job keeps its own file, so
    either can be retried or deleted on its own. The new job is routed like
    any other (``create_import_job``).

    Confirming twice (a double click, a resent form) starts one import: the
    second call returns the job the first one started (``checked_by`` is
    unique). Runs inline or in the background by the same size rule as
    :func:`start_import`. Raises ``JobStateError`` unless the dry run
    completed (with or without failed rows), or when its stored file is
    missing or changed. A check of corrected rows is refused as a new
    correction would be (``imports.corrections.correctable``: ``undone``,
    ``already_corrected``) once its first import was undone or corrected since.
    """
    if not dry_run_job.dry_run:
        raise JobStateError(
            f"Import #{dry_run_job.pk} is not a dry run; it has no checked file to import.", code="not_a_check"
        )
    if dry_run_job.status not in (ImportStatus.COMPLETED, ImportStatus.COMPLETED_WITH_ERRORS):
        raise JobStateError(
            f"The check of import #{dry_run_job.pk} is {dry_run_job.get_status_display().lower()}; "
            f"only a file whose check completed can be imported.",
            code="check_not_completed",
        )
    _verify_stored_file(dry_run_job)
    try:
        with transaction.atomic():
            # Serialises two confirmations of the same dry run (PostgreSQL; SQLite has one writer anyway).
            ImportJob.objects.select_for_update().filter(pk=dry_run_job.pk).first()
            existing = ImportJob.objects.filter(checked_by=dry_run_job).first()
            if existing is not None:
                return existing
            job = _copy(dry_run_job, user=user, dry_run=False, checked_by=dry_run_job)
    except IntegrityError:  # a concurrent confirmation won the unique checked_by
        return ImportJob.objects.get(checked_by=dry_run_job)
    remember_mapping(
        user=user, kind=job.kind, headers=(dry_run_job.options or {}).get("headers", []), mapping=job.mapping
    )
    if background is None:
        background = (dry_run_job.total_rows or 0) > settings.IMPORT_BACKGROUND_THRESHOLD
    if background:
        return queue_import(job=job)
    return run_import_now(job=job)


def check_again(
    *,
    dry_run_job: ImportJob,
    mapping: Mapping,
    options: dict | None = None,
    user=None,
    background: bool | None = None,
) -> ImportJob:
    """Check the same stored file again with another column mapping or number format: a new dry run, returned.

    The admin's check page lets the user correct the mapping and check again
    until the figures, problems and changes are what they expect. The file
    is not uploaded again: the new dry run gets a copy of this one's stored
    file (checked against its checksum) and its reader options with
    ``options`` laid over them (``number_format``), and ``mapping`` laid over
    the suggestion. Runs inline or in the background by the same size rule
    as :func:`start_import`.
    """
    check_reader_options(options or {})
    if not dry_run_job.dry_run:
        raise JobStateError(
            f"Import #{dry_run_job.pk} is not a dry run; only a check can be checked again.", code="not_a_check"
        )
    if not dry_run_job.is_finished:
        raise JobStateError(f"The check of import #{dry_run_job.pk} is still running.", code="check_not_completed")
    _verify_stored_file(dry_run_job)
    header_row = (options or {}).get("header_row")
    if header_row is not None and header_row != (dry_run_job.options or {}).get("header_row"):
        # Another line holds the column names: the columns are new, read by their own suggestion.
        mapping = {**mapping}
    else:
        mapping = {**(dry_run_job.mapping or {}), **mapping}
    job = _copy(dry_run_job, user=user, dry_run=True, mapping=mapping, options=options)
    if background is None:
        background = (dry_run_job.total_rows or 0) > settings.IMPORT_BACKGROUND_THRESHOLD
    if background:
        return queue_import(job=job)
    return run_import_now(job=job)


def _copy(
    job: ImportJob,
    *,
    user,
    dry_run: bool,
    mapping: Mapping | None = None,
    options: dict | None = None,
    checked_by=None,
) -> ImportJob:
    """A new pending job for ``job``'s stored file: same kind, format, mapping, parent and reader options.

    ``options`` are laid over the reader options.
    """
    options = {key: value for key, value in {**(job.options or {}), **(options or {})}.items() if key in READER_OPTIONS}
    with job.open_file() as stream:
        return create_import_job(
            stream=stream,
            file_name=job.file_name,
            kind=job.kind,
            user=user,
            source=job.source,
            dry_run=dry_run,
            file_format=job.file_format,
            options=options,
            mapping=job.mapping if mapping is None else mapping,
            checked_by=checked_by,
            parent_import=job.parent_import,
        )


# --- the stored file ------------------------------------------------------------------------------


def _size(stream: BinaryIO) -> int:
    size = getattr(stream, "size", None)
    if size is None:
        position = stream.tell()
        size = stream.seek(0, os.SEEK_END)
        stream.seek(position)
    return size


def _checksum(stream: BinaryIO) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    stream.seek(0)
    while chunk := stream.read(_HASH_CHUNK):
        digest.update(chunk)
        size += len(chunk)
    stream.seek(0)
    return digest.hexdigest(), size


def _verify_stored_file(job: ImportJob) -> None:
    if not job.file.name or not job.file.storage.exists(job.file.name):
        raise JobStateError(
            f"Import #{job.pk}: its stored file is missing, so it cannot be run again.", code="file_missing"
        )
    with job.open_file() as stream:
        checksum, _ = _checksum(stream)
    if job.file_checksum and checksum != job.file_checksum:
        raise JobStateError(
            f"Import #{job.pk}: its stored file no longer matches its checksum; upload it again.", code="file_changed"
        )


def _count_stored_rows(job: ImportJob) -> int:
    """Data rows of the stored file, up to one past the threshold (0 if it cannot be read)."""
    if job.is_undo:
        return 0  # an undo that never started: its journal is small enough to run here
    options = job.options or {}
    try:
        with job.open_file() as stream:
            return check_file(
                stream=stream,
                file_name=job.file_name,
                kind=job.kind,
                file_format=job.file_format,
                sheet=options.get("sheet") or "",
                encoding=options.get("encoding") or "",
                mapping=job.mapping or None,
                # A JSON job kept the header row it was given before one was refused for it (it was ignored).
                header_row=None if job.file_format in LINELESS_FORMATS else options.get("header_row") or None,
                require_mapping=False,
                stop_after=settings.IMPORT_BACKGROUND_THRESHOLD,
            ).data_rows
    except ImportRejected:
        return 0  # the run itself fails at once with the reader's message
