"""The public shape of an import job, described for the API and its schema.

The keys and values of a job are :mod:`imports.summaries`' (the commands
print them without importing DRF); these serializers render a job with it
and describe each key for the OpenAPI schema, so the schema says exactly
what is written:

* :class:`JobSerializer`: the job: status, routing, file, counts, timings,
  warnings, failure reason (lists, ``import_catalog --json``);
* :class:`JobDetailSerializer`: the job with its live progress, its failed
  rows at a glance and its links (the API's job, ``import_status --json``);
* :class:`QueuedSerializer`: a job handed to the background worker (202).

Links are absolute when a request is in the context, else paths.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field, inline_serializer
from rest_framework import serializers
from rest_framework.reverse import reverse

from catalog.kinds import KINDS
from imports.engine.numbers import NUMBER_FORMATS
from imports.models import ImportFormat, ImportJob, ImportStage, ImportStatus
from imports.progress import read_progress
from imports.selectors import error_summary
from imports.summaries import COUNT_FIELDS, JOB_KEYS, job_summary

#: The formats of the failed-rows download.
ERROR_FORMATS = ("csv", "json", "xlsx")


class KindField(serializers.ChoiceField):
    """A kind of ``catalog.kinds``, read from the registry each time a serializer is made."""

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "What the file holds: " + ", ".join(KINDS.names()))
        super().__init__(choices=KINDS.choices(), **kwargs)


class MappingField(serializers.JSONField):
    """A column mapping: a JSON object, file header -> field name, or null (or "") to ignore the column.

    In a multipart upload it is a JSON string (``mapping={"Colour": "color_name", "Notes": null}``).
    Headers it does not name keep their suggested field.
    """

    default_error_messages = {
        "not_a_mapping": (
            # DRF formats its messages: braces doubled.
            "Expected a JSON object of file header -> field name or null, "
            'e.g. {{"Colour": "color_name", "Notes": null}}.'
        )
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("binary", True)
        kwargs.setdefault("help_text", self.__doc__.splitlines()[0] if self.__doc__ else "")
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not isinstance(value, dict) or not all(
            isinstance(header, str) and (field is None or isinstance(field, str)) for header, field in value.items()
        ):
            self.fail("not_a_mapping")
        return {header: field or None for header, field in value.items()}


class JobSerializer(serializers.ModelSerializer):
    """An import job as every door shows it: :func:`imports.summaries.job_summary`, each key described here."""

    kind = KindField()
    user: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    file_checksum = serializers.CharField(help_text="SHA-256 of the stored file")
    checked_by: serializers.PrimaryKeyRelatedField = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, help_text="The dry run (preview) whose checked file this import imported"
    )
    parent_import_id = serializers.IntegerField(
        read_only=True,
        allow_null=True,
        help_text="The import whose failed rows this one imports, corrected (POST /api/imports/{id}/corrections/)",
    )
    total_rows = serializers.SerializerMethodField()
    inserted = serializers.IntegerField(source="result.inserted")
    updated = serializers.IntegerField(source="result.updated")
    unchanged = serializers.IntegerField(source="result.unchanged")
    superseded = serializers.IntegerField(source="result.superseded")
    failed = serializers.IntegerField(source="result.failed")
    deleted = serializers.IntegerField(
        source="result.deleted", help_text="Rows removed: by an undo, the rows the undone import had added"
    )
    undoes_import_id: serializers.PrimaryKeyRelatedField = serializers.PrimaryKeyRelatedField(
        source="undoes",
        read_only=True,
        allow_null=True,
        help_text="For an undo: the import it undoes (an undo of an undo brings that import's changes back)",
    )
    undo_until = serializers.SerializerMethodField()
    duration_seconds = serializers.FloatField(source="result.duration_seconds", allow_null=True)
    success_rate = serializers.FloatField(source="result.success_rate", allow_null=True)
    rows_per_second = serializers.SerializerMethodField()
    batches_committed = serializers.IntegerField(source="result.batches_committed")
    warnings = serializers.ListField(child=serializers.CharField())
    mapping = serializers.DictField(
        child=serializers.CharField(allow_null=True),
        help_text="How the file's columns were read: file header -> field, or null for an ignored column",
    )
    number_format = serializers.SerializerMethodField()
    header_row = serializers.SerializerMethodField()
    # Declared so the schema's enums include "": a waiting job has no stage yet, and a job whose
    # file was never read (a refused or old one) no format (issue 11: the schema must match).
    file_format = serializers.ChoiceField(choices=ImportFormat.choices, allow_blank=True, read_only=True)
    stage = serializers.ChoiceField(choices=ImportStage.choices, allow_blank=True, read_only=True)

    class Meta:
        model = ImportJob
        fields: tuple[str, ...] = JOB_KEYS
        read_only_fields = fields

    def to_representation(self, job: ImportJob) -> dict:
        """The job's summary, then the fields a subclass adds (rendered by those fields).

        The summary's keys are :func:`~imports.summaries.job_summary`'s, not the
        fields': the fields above describe them (types, enums, help) for the schema.
        """
        data = job_summary(job)
        for name in self.Meta.fields[len(JOB_KEYS) :]:
            field = self.fields[name]
            value = field.get_attribute(job)
            data[name] = None if value is None else field.to_representation(value)
        return data

    # The values of the method fields are the summary's; these describe them for the schema.

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_total_rows(self, job: ImportJob) -> int | None:
        """Data rows of the file: the result's count, or the job's while the result has none yet."""
        return job_summary(job)["total_rows"]

    @extend_schema_field(
        serializers.ChoiceField(
            choices=NUMBER_FORMATS,
            help_text=(
                "How number text is read: point (1,299.50) or comma (1.299,50), as chosen or as the file's "
                "values showed; auto when neither (each value by itself, two-way values refused)"
            ),
        )
    )
    def get_number_format(self, job: ImportJob) -> str:
        return job_summary(job)["number_format"]

    @extend_schema_field(
        serializers.IntegerField(
            allow_null=True,
            help_text=(
                "CSV and XLSX: the line of the sheet (1 = the first, as a spreadsheet program counts) the column "
                "names were read from; lines above it (a title, notes) were skipped. Null for JSON"
            ),
        )
    )
    def get_header_row(self, job: ImportJob) -> int | None:
        return job_summary(job)["header_row"]

    @extend_schema_field(
        serializers.DateTimeField(
            allow_null=True, help_text="Until when this import can be undone (its record of changes is kept)"
        )
    )
    def get_undo_until(self, job: ImportJob) -> str | None:
        return job_summary(job)["undo_until"]

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_rows_per_second(self, job: ImportJob) -> float | None:
        return job_summary(job)["rows_per_second"]


#: Live progress (``imports.progress.read_progress``), described for the schema. (A mapping,
#: not a class body: a field named ``source`` would shadow ``Field.source``.)
PROGRESS = inline_serializer(
    "ImportProgress",
    {
        "import_id": serializers.IntegerField(),
        "status": serializers.ChoiceField(choices=ImportStatus.choices),
        "stage": serializers.CharField(),
        "rows_done": serializers.IntegerField(),
        "rows_total": serializers.IntegerField(allow_null=True),
        "percent": serializers.FloatField(allow_null=True),
        "rows_per_second": serializers.FloatField(allow_null=True),
        "eta_seconds": serializers.FloatField(allow_null=True),
        "elapsed_seconds": serializers.FloatField(),
        **{name: serializers.IntegerField() for name in COUNT_FIELDS},
        "rows_resumed": serializers.IntegerField(help_text="rows committed before this run started (a resumed job)"),
        "source": serializers.ChoiceField(choices=["redis", "database"]),
        "updated_at": serializers.DateTimeField(allow_null=True),
    },
)


#: What the two numberings of a failed row mean (every API field, file and screen says which it uses).
ROW_NUMBER_HELP = "Data row number: 1 = the first row below the header (blank rows counted)"
LINE_NUMBER_HELP = (
    "The spreadsheet's own line: the header's line and every line above it (a title, notes) counted, as "
    "a spreadsheet program numbers them. JSON Lines: the file's line; null for JSON (no lines)"
)


#: Every problem of a failed row: the column (the file's header), the cell's value, why.
ROW_PROBLEM = inline_serializer(
    "RowProblem",
    {"column": serializers.CharField(), "value": serializers.CharField(), "reason": serializers.CharField()},
    many=True,
)


class ErrorSummarySerializer(serializers.Serializer):
    """Failed rows at a glance (``imports.selectors.error_summary``)."""

    failed_rows = serializers.IntegerField()
    top_reasons = inline_serializer(
        "TopReason", {"reason": serializers.CharField(), "rows": serializers.IntegerField()}, many=True
    )
    first_rows = inline_serializer(
        "FailedRow",
        {
            "row_number": serializers.IntegerField(help_text=ROW_NUMBER_HELP),
            "line_number": serializers.IntegerField(allow_null=True, help_text=LINE_NUMBER_HELP),
            "column": serializers.CharField(help_text="the first problem's column"),
            "value": serializers.CharField(help_text="the first problem's value"),
            "error": serializers.CharField(help_text="every problem's reason, joined by '; '"),
            "problems": ROW_PROBLEM,
        },
        many=True,
    )


LINKS = inline_serializer(
    "ImportLinks",
    {
        "self": serializers.CharField(),
        **{f"errors_{fmt}": serializers.CharField() for fmt in ERROR_FORMATS},
        "cancel": serializers.CharField(),
        "retry": serializers.CharField(),
        "undo": serializers.CharField(),
        "corrections": serializers.CharField(),
    },
)


class JobDetailSerializer(JobSerializer):
    """The job with its progress, failed rows at a glance and links."""

    progress = serializers.SerializerMethodField()
    error_summary = serializers.SerializerMethodField()
    links = serializers.SerializerMethodField()

    class Meta(JobSerializer.Meta):
        fields = (*JobSerializer.Meta.fields, "cancel_requested", "attempts", "progress", "error_summary", "links")
        read_only_fields = fields

    @extend_schema_field(PROGRESS)
    def get_progress(self, job: ImportJob) -> dict:
        return read_progress(job=job)

    @extend_schema_field(ErrorSummarySerializer)
    def get_error_summary(self, job: ImportJob) -> dict:
        return error_summary(job=job)

    @extend_schema_field(LINKS)
    def get_links(self, job: ImportJob) -> dict:
        return job_links(job, request=self.context.get("request"))


class QueuedSerializer(serializers.Serializer):
    """A job handed to the background worker: follow ``url``."""

    import_id = serializers.IntegerField(source="pk")
    status = serializers.ChoiceField(choices=ImportStatus.choices)
    url = serializers.SerializerMethodField()

    @extend_schema_field(serializers.CharField())
    def get_url(self, job: ImportJob) -> str:
        return reverse("imports:detail", args=[job.pk], request=self.context.get("request"))


def job_links(job: ImportJob, *, request=None) -> dict[str, str]:
    """The API's URLs of a job: itself, its failed rows in each format, cancel, retry, undo, corrections."""
    errors = reverse("imports:errors", args=[job.pk], request=request)
    return {
        "self": reverse("imports:detail", args=[job.pk], request=request),
        **{f"errors_{fmt}": f"{errors}?format={fmt}" for fmt in ERROR_FORMATS},
        "cancel": reverse("imports:cancel", args=[job.pk], request=request),
        "retry": reverse("imports:retry", args=[job.pk], request=request),
        "undo": reverse("imports:undo", args=[job.pk], request=request),
        "corrections": reverse("imports:corrections", args=[job.pk], request=request),
    }
