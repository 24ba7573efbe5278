"""Import jobs, their results and the rows that failed.

Table names are the migration guide's: ``import_jobs`` holds the job (and the
only ``created_at``), ``import_results`` its figures (the only
``duration_seconds`` and ``success_rate``), so the guide's section 4.3 query
``FROM import_results JOIN import_jobs USING (import_id)`` runs verbatim.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

from django.conf import settings
from django.core.files import File
from django.db import models
from django.utils import timezone

from catalog.kinds import KINDS, kind_choices


class ImportSystem(models.TextChoices):
    UPSERT = "upsert", "New (upsert, no table lock)"
    LEGACY = "legacy", "Legacy (LOCK TABLE)"


class ImportSource(models.TextChoices):
    ADMIN = "admin", "Admin"
    API = "api", "API"
    CLI = "cli", "Command line"


class ImportStatus(models.TextChoices):
    PENDING = "pending", "Waiting"
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    COMPLETED_WITH_ERRORS = "completed_with_errors", "Completed with errors"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"

    @classmethod
    def finished(cls) -> frozenset[str]:
        return frozenset({cls.COMPLETED, cls.COMPLETED_WITH_ERRORS, cls.FAILED, cls.CANCELLED})


class ImportStage(models.TextChoices):
    """Where a job is in its run; the labels are what the progress bar says."""

    WAITING = "waiting", "Waiting for the background worker"
    STARTING = "starting", "Starting"
    READING = "reading", "Reading and checking the file"
    WRITING = "writing", "Saving rows"
    RESUMING = "resuming", "Resuming after an interruption"
    REQUEUED = "requeued", "Waiting to resume"
    DONE = "done", "Finished"


class ImportFormat(models.TextChoices):
    CSV = "csv", "CSV"
    XLSX = "xlsx", "Excel (XLSX)"
    JSON = "json", "JSON"
    JSONL = "jsonl", "JSON Lines"


class ImportJob(models.Model):
    import_id = models.BigAutoField(primary_key=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True, editable=False)
    # Also maintained by a trigger on PostgreSQL, for writes that bypass the ORM.
    updated_at = models.DateTimeField(auto_now=True)

    status = models.CharField(max_length=32, choices=ImportStatus.choices, default=ImportStatus.PENDING, db_index=True)
    #: A kind of ``catalog.kinds`` (choices read from the registry when validated).
    kind = models.CharField(max_length=16, choices=kind_choices, default=KINDS.default)
    system = models.CharField(max_length=16, choices=ImportSystem.choices, default=ImportSystem.UPSERT)
    #: Why this system was chosen (the USE_NEW_IMPORT_SYSTEM decision, or an explicit choice).
    routing = models.CharField(max_length=200, blank=True, default="")
    source = models.CharField(max_length=16, choices=ImportSource.choices, default=ImportSource.CLI)
    dry_run = models.BooleanField(default=False)
    #: The dry run (the admin's preview) whose checked file this import imports; one import per dry run.
    checked_by = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="confirmed_import",
        limit_choices_to={"dry_run": True},
    )
    #: The import this job undoes (an *undo*: it replays that import's journal backwards; ``imports.undos``).
    #: An undo can be undone in turn (a redo).
    undoes = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="undos",
        db_column="undoes_import_id",
    )
    #: Whether the run journals what it writes (every upsert import and undo since undo exists).
    journal_kept = models.BooleanField(default=False)
    #: The import whose failed rows this one imports, corrected (``services.import_corrections``);
    #: its own checks and the import confirmed from them point to the same parent.
    parent_import = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="corrections",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="import_jobs",
    )

    # The file, kept with the job so it can be retried or resumed.
    file = models.FileField(upload_to="imports/%Y/%m/%d/", max_length=500, blank=True)
    file_name = models.CharField(max_length=255)
    file_format = models.CharField(max_length=8, choices=ImportFormat.choices, blank=True, default="")
    file_size = models.BigIntegerField(default=0)
    file_checksum = models.CharField(max_length=64, blank=True, default="", help_text="SHA-256")
    #: Reader options: sheet, encoding, max_rows, batch_size.
    options = models.JSONField(default=dict, blank=True)
    #: How the file's columns are read: header -> field, or null for an ignored column
    #: (``imports.engine.columns``). Empty for jobs from before column mapping: read by suggestion.
    mapping = models.JSONField(default=dict, blank=True)

    # Lifecycle.
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    worker = models.CharField(max_length=120, blank=True, default="")
    task_id = models.CharField(max_length=64, blank=True, default="")
    cancel_requested = models.BooleanField(default=False)
    failure_reason = models.TextField(blank=True, default="")
    #: Set when the job failed because the user's file was refused (``too_many_rows``,
    #: ``wrong_header``, ``rows_refused``...): their file to fix, not a failure of the
    #: system. Metrics and alerts count these apart, and such a job is not retried
    #: (the same file would be refused again).
    refused_code = models.CharField(max_length=32, blank=True, default="")
    warnings = models.JSONField(default=list, blank=True)

    # Progress and the resume checkpoint (committed with each batch).
    stage = models.CharField(max_length=32, choices=ImportStage.choices, blank=True, default="")
    total_rows = models.PositiveIntegerField(null=True, blank=True)
    rows_processed = models.PositiveIntegerField(default=0)
    #: The file row number up to which every batch is committed (resume point).
    checkpoint_row = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "import_jobs"
        ordering = ["-created_at", "-import_id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="import_jobs_user_created")]
        # Who may do what: imports/access.py (the rule every door asks).
        permissions = [("manage_all_imports", "Can cancel and retry imports started by anyone")]

    def __str__(self) -> str:
        if self.undoes_id:
            return f"Undo #{self.import_id} of import #{self.undoes_id}"
        return f"Import #{self.import_id} ({self.file_name})"

    @property
    def is_undo(self) -> bool:
        return self.undoes_id is not None

    @property
    def is_finished(self) -> bool:
        return self.status in ImportStatus.finished()

    @property
    def is_refused(self) -> bool:
        """Failed because the user's file was refused: fixing the file, not retrying, is the way on."""
        return self.status == ImportStatus.FAILED and bool(self.refused_code)

    @property
    def status_label(self) -> str:
        """The status as a screen says it: a refused file is "Refused", the user's file to fix, not "Failed"."""
        return "Refused" if self.is_refused else self.get_status_display()

    @property
    def is_retryable(self) -> bool:
        """Failed or cancelled, and not refused (the same stored file would be refused again).

        A file refused for its number of rows may be retried once the limit is
        higher than the one it was refused at (an administrator raised it).
        """
        if self.status not in (ImportStatus.FAILED, ImportStatus.CANCELLED):
            return False
        if not self.is_refused:
            return True
        options = self.options or {}
        if self.refused_code == "too_many_rows" and "refused_over_rows" in options:
            limit = int(options.get("max_rows") or settings.IMPORT_MAX_ROWS)
            return limit > int(options["refused_over_rows"])
        return False

    @property
    def header_row(self) -> int | None:
        """The line of the sheet (1 = the first) its header was read from: CSV and XLSX; None for JSON,
        and for a job from before header rows were kept."""
        options = self.options or {}
        value = options.get("header_row") or options.get("detected_header_row")
        return int(value) if value and self.file_format in ("csv", "xlsx") else None

    def line_number(self, row_number: int) -> int | None:
        """The spreadsheet's own line of data row ``row_number`` (which counts from 1 below the header).

        The header's line and every line above it (a title, notes, blank
        lines) are counted, as a spreadsheet program numbers them, so "line
        15" is found there. JSON Lines: the line of the file; JSON has no lines (None).
        """
        if self.file_format == "jsonl":
            return row_number
        header_row = self.header_row
        return row_number + header_row if header_row else None

    @contextmanager
    def open_file(self) -> Iterator[BinaryIO]:
        """The stored file as the plain binary stream under Django's File proxies.

        Read through ``TextIOWrapper``/``csv``, a proxy costs a Python call per
        line (its ``closed`` property): about 0.1 s per 100,000 rows.
        """
        with self.file.open("rb") as stored:
            stream = stored
            while isinstance(stream, File):
                stream = stream.file
            yield stream


class ImportResult(models.Model):
    """The figures of one job: what happened to every data row, and how fast."""

    job = models.OneToOneField(
        ImportJob,
        primary_key=True,
        on_delete=models.CASCADE,
        db_column="import_id",
        related_name="result",
    )
    duration_seconds = models.FloatField(null=True, blank=True)
    success_rate = models.FloatField(null=True, blank=True)
    total_rows = models.PositiveIntegerField(default=0)
    inserted = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    superseded = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    #: Rows soft-deleted (by an undo: the rows the undone import had added).
    deleted = models.PositiveIntegerField(default=0)
    batches_committed = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "import_results"

    def __str__(self) -> str:
        return f"Result of import #{self.job_id}"

    @property
    def rows_per_second(self) -> float | None:
        if not self.duration_seconds:
            return None
        return self.total_rows / self.duration_seconds


class ImportRowError(models.Model):
    """One failed data row: where, why, and the row as it was in the file."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, db_column="import_id", related_name="row_errors")
    #: 1 = the first data row after the header (``ImportJob.line_number`` gives the spreadsheet's own line).
    row_number = models.PositiveIntegerField()
    column = models.CharField(max_length=255, blank=True, default="")
    value = models.TextField(blank=True, default="")
    reason = models.TextField()
    #: Every problem of the row: [{"column", "value", "reason"}, ...].
    problems = models.JSONField(default=list)
    #: The row as read, header -> cell, so failed rows export as the file's own columns.
    row_data = models.JSONField(default=dict)

    class Meta:
        db_table = "import_row_errors"
        ordering = ["job", "row_number"]
        indexes = [models.Index(fields=["job", "row_number"], name="import_row_errors_job_row")]

    def __str__(self) -> str:
        return f"Row {self.row_number}: {self.reason}"


class ImportJournal(models.Model):
    """What one write statement of an import changed in one master: the undo's raw material.

    Written in the same transaction as the batch it journals (``imports.engine.upsert``),
    so a committed batch always has its journal and a rolled-back one never does.
    Compact by design: ids, and for an update only the columns that changed, with the
    values they had before (as text, restored as the column's type).
    """

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, db_column="import_id", related_name="journal")
    #: The master table written (``item_variant``; ``catalog.kinds.Master.table``).
    master = models.CharField(max_length=63)
    #: The ``updated_at`` the statement gave every row it wrote: a row still carrying it is unchanged since.
    written_at = models.DateTimeField()
    #: Ids of the rows the statement added (or, for an undo, brought back).
    inserted = models.JSONField(default=list)
    #: ``[[id, {column: value before, ...}], ...]`` for the rows it changed, only the changed columns.
    updated = models.JSONField(default=list)
    #: Ids of the rows it soft-deleted (an undo removing what an import added).
    deleted = models.JSONField(default=list)

    class Meta:
        db_table = "import_journal"
        ordering = ["job", "id"]

    def __str__(self) -> str:
        return f"Journal {self.pk} of import #{self.job_id} ({self.master})"

    @property
    def size(self) -> int:
        return len(self.inserted) + len(self.updated) + len(self.deleted)


class JobNotice(models.Model):
    """A background job's end, told to the user who started it: an admin message, an email, a webhook.

    One per end of a job (a retried job ends again, and is told again); the
    worker writes it (``imports.notifications.job_ended``), the user's next
    admin page shows it once (``seen_at``), and the webhook's deliveries are
    counted here so a retry sends the very same body.
    """

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, db_column="import_id", related_name="notices")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="import_notices"
    )
    #: The end this notice tells (the job's ``finished_at`` then).
    finished_at = models.DateTimeField()
    status = models.CharField(max_length=32, choices=ImportStatus.choices)
    #: What the user is told, in plain words (the admin message and the email's first line).
    message = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    #: When the admin showed it to the user (None: not yet).
    seen_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    #: The webhook's body: the job's summary as the API shows it (empty when no webhook is set).
    payload = models.JSONField(default=dict, blank=True)
    webhook_attempts = models.PositiveIntegerField(default=0)
    webhook_delivered_at = models.DateTimeField(null=True, blank=True)
    webhook_error = models.TextField(blank=True, default="")

    class Meta:
        db_table = "import_job_notices"
        constraints = [models.UniqueConstraint(fields=["job", "finished_at"], name="import_job_notice_once")]
        indexes = [
            models.Index(fields=["user"], condition=models.Q(seen_at__isnull=True), name="import_notices_unseen")
        ]

    def __str__(self) -> str:
        return f"Notice of import #{self.job_id}: {self.status}"


class RememberedMapping(models.Model):
    """A user's column mapping for one kind and one set of headers, offered again for the next such file.

    Next month's file from the same supplier has the same header row: it is
    mapped as the user mapped it last time, in one click (or none, through the
    API and the command line).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="import_mappings")
    kind = models.CharField(max_length=16)
    #: SHA-256 of the file's headers, folded and sorted (``imports.mappings.headers_key``).
    headers_key = models.CharField(max_length=64)
    mapping = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "import_remembered_mappings"
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "headers_key"], name="import_remembered_mapping_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} / {self.kind} / {self.headers_key[:8]}"


class WorkerHeartbeat(models.Model):
    """A background worker's proof of life, written every minute by a django-q2 schedule.

    django-q2 keeps its cluster status in the cache, which with the default
    in-process cache no other process can read; a row in the database can be
    read by the health check from anywhere, whatever the broker and cache.
    """

    #: ``host:cluster`` of the worker that ran the heartbeat task.
    worker = models.CharField(max_length=200, unique=True)
    beat_at = models.DateTimeField()

    class Meta:
        db_table = "import_worker_heartbeats"

    def __str__(self) -> str:
        return f"{self.worker} at {self.beat_at:%Y-%m-%d %H:%M:%S}"
