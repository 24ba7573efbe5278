"""The imports API (``/api/imports/``): start, list, follow, cancel and retry imports.

Thin doors: each view checks who asks and what was sent, then calls
:mod:`imports.services` (writes) or :mod:`imports.selectors` and
:mod:`imports.progress` (reads). Job payloads are ``selectors.job_summary``,
the one shape of a job that the command line's ``--json`` prints too; the
serializers below describe it for the OpenAPI schema.

Who sees what: a user sees their own jobs, staff see every job, and a job
someone may not see answers 404 as if it did not exist. Starting or retrying
an import needs the ``imports.add_importjob`` permission and is throttled
(``IMPORT_RATE_LIMIT``, counted in the default cache: Redis at
``RATELIMIT_STORAGE_URL`` or local memory).
"""

from __future__ import annotations

import tempfile

from django.conf import settings
from django.http import FileResponse, StreamingHttpResponse
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from imports import error_reports
from imports.engine.errors import ImportRejected
from imports.engine.kinds import KINDS
from imports.file_checks import FileRefused, check_upload_size, max_upload_bytes
from imports.models import ImportJob, ImportStatus
from imports.progress import read_progress
from imports.selectors import error_summary, job_summary, row_errors, visible_jobs
from imports.services import JobStateError, cancel_import, retry_import, start_import

#: Room for the multipart envelope around the file when judging Content-Length.
MULTIPART_SLACK_BYTES = 64 * 1024
REFUSAL_STATUS = {
    "file_too_large": status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    "unsupported_file_type": status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
}
ERROR_FORMATS = ("csv", "json", "xlsx")


# --- Access ------------------------------------------------------------------------------


class CanStartImports(BasePermission):
    message = "Starting an import needs the 'Can add import job' permission (imports.add_importjob)."

    def has_permission(self, request, view):
        return request.user.has_perm("imports.add_importjob")


class ImportStartThrottle(SimpleRateThrottle):
    """Imports started (or retried) per user, at ``IMPORT_RATE_LIMIT``, read on every request."""

    scope = "imports"

    def get_rate(self):
        return settings.IMPORT_RATE_LIMIT

    def get_cache_key(self, request, view):
        ident = request.user.pk if request.user.is_authenticated else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


def _visible_job(request, import_id: int) -> ImportJob:
    job = visible_jobs(user=request.user).filter(pk=import_id).first()
    if job is None:
        raise NotFound(f"Import #{import_id} was not found.")
    return job


def _problem(message: str, code: str, http_status: int) -> Response:
    return Response({"detail": message, "code": code}, status=http_status)


# --- Payloads (the schema of job_summary and friends) ------------------------------------


class ProblemSerializer(serializers.Serializer):
    """An error: ``detail`` and ``code`` (refused files), or DRF's field -> messages."""

    detail = serializers.CharField(required=False)
    code = serializers.CharField(required=False)


class JobSummarySerializer(serializers.Serializer):
    """A job as ``selectors.job_summary`` gives it."""

    import_id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=ImportStatus.choices)
    kind = serializers.ChoiceField(choices=sorted(KINDS))
    system = serializers.CharField()
    routing = serializers.CharField()
    source = serializers.CharField()
    dry_run = serializers.BooleanField()
    file_name = serializers.CharField()
    file_format = serializers.CharField()
    file_size = serializers.IntegerField()
    file_checksum = serializers.CharField(help_text="SHA-256 of the stored file")
    user = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    stage = serializers.CharField()
    total_rows = serializers.IntegerField(allow_null=True)
    inserted = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    superseded = serializers.IntegerField()
    failed = serializers.IntegerField()
    duration_seconds = serializers.FloatField(allow_null=True)
    success_rate = serializers.FloatField(allow_null=True)
    rows_per_second = serializers.FloatField(allow_null=True)
    batches_committed = serializers.IntegerField()
    checkpoint_row = serializers.IntegerField()
    warnings = serializers.ListField(child=serializers.CharField())
    failure_reason = serializers.CharField()

    def to_representation(self, instance):
        return job_summary(instance)


class ProgressSerializer(serializers.Serializer):
    import_id = serializers.IntegerField()
    status = serializers.CharField()
    stage = serializers.CharField()
    rows_done = serializers.IntegerField()
    rows_total = serializers.IntegerField(allow_null=True)
    percent = serializers.FloatField(allow_null=True)
    rows_per_second = serializers.FloatField(allow_null=True)
    eta_seconds = serializers.FloatField(allow_null=True)
    elapsed_seconds = serializers.FloatField()
    inserted = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    superseded = serializers.IntegerField()
    failed = serializers.IntegerField()
    source = serializers.ChoiceField(choices=["redis", "database"])
    updated_at = serializers.DateTimeField(allow_null=True)


class ErrorSummarySerializer(serializers.Serializer):
    failed_rows = serializers.IntegerField()
    top_reasons = inline_serializer(
        "TopReason", {"reason": serializers.CharField(), "rows": serializers.IntegerField()}, many=True
    )
    first_rows = inline_serializer(
        "FailedRow",
        {
            "row_number": serializers.IntegerField(),
            "column": serializers.CharField(),
            "value": serializers.CharField(),
            "error": serializers.CharField(),
        },
        many=True,
    )


class JobDetailSerializer(JobSummarySerializer):
    cancel_requested = serializers.BooleanField()
    attempts = serializers.IntegerField()
    progress = ProgressSerializer()
    error_summary = ErrorSummarySerializer()
    links = inline_serializer(
        "ImportLinks",
        {
            "self": serializers.URLField(),
            "errors_csv": serializers.URLField(),
            "errors_json": serializers.URLField(),
            "errors_xlsx": serializers.URLField(),
            "cancel": serializers.URLField(),
            "retry": serializers.URLField(),
        },
    )


class QueuedSerializer(serializers.Serializer):
    import_id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=ImportStatus.choices)
    url = serializers.URLField()


def _detail(request, job: ImportJob) -> dict:
    url = reverse("imports:detail", args=[job.pk], request=request)
    errors = reverse("imports:errors", args=[job.pk], request=request)
    return {
        **job_summary(job),
        "cancel_requested": job.cancel_requested,
        "attempts": job.attempts,
        "progress": read_progress(job=job),
        "error_summary": error_summary(job=job),
        "links": {
            "self": url,
            **{f"errors_{fmt}": f"{errors}?format={fmt}" for fmt in ERROR_FORMATS},
            "cancel": reverse("imports:cancel", args=[job.pk], request=request),
            "retry": reverse("imports:retry", args=[job.pk], request=request),
        },
    }


def _queued(request, job: ImportJob) -> dict:
    return {
        "import_id": job.pk,
        "status": job.status,
        "url": reverse("imports:detail", args=[job.pk], request=request),
    }


def _reloaded(job: ImportJob) -> ImportJob:
    return ImportJob.objects.select_related("result", "user").get(pk=job.pk)


# --- Views ---------------------------------------------------------------------------------


class ImportJobFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=ImportStatus.choices)
    kind = filters.ChoiceFilter(choices=[(name, name) for name in sorted(KINDS)])

    class Meta:
        model = ImportJob
        fields = ["status", "kind"]


PROBLEMS = {
    400: OpenApiResponse(ProblemSerializer, description="The file or a field was refused (specific message)"),
    401: OpenApiResponse(ProblemSerializer, description="Not authenticated"),
    403: OpenApiResponse(ProblemSerializer, description="Not authenticated, or missing permission"),
    404: OpenApiResponse(ProblemSerializer, description="No such import, or not yours"),
}


@extend_schema(tags=["imports"])
class ImportListCreateApi(generics.ListAPIView):
    """``GET``: your imports (staff: everyone's), newest first. ``POST``: import a file."""

    serializer_class = JobSummarySerializer
    filterset_class = ImportJobFilter
    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField(
            allow_empty_file=True,  # refused by check_file, with the same message as every door
            help_text="CSV, XLSX, JSON or JSON Lines; the type is told by content",
        )
        kind = serializers.ChoiceField(choices=sorted(KINDS), default="variants")
        dry_run = serializers.BooleanField(default=False, help_text="validate and count, write nothing")

    def get_queryset(self):
        return visible_jobs(user=self.request.user)

    def get_permissions(self):
        if self.request.method == "POST":
            return [IsAuthenticated(), CanStartImports()]
        return [IsAuthenticated()]

    def get_throttles(self):
        return [ImportStartThrottle()] if self.request.method == "POST" else []

    @extend_schema(
        summary="Import a file",
        description=(
            "Files with at most IMPORT_BACKGROUND_THRESHOLD data rows run in the request (201, the finished "
            "job); larger ones are queued for the background worker (202: follow `url`). Refusals: 400 "
            "(empty file, wrong header, unreadable), 413 (over IMPORT_MAX_UPLOAD_MB), 415 (not CSV, XLSX, "
            "JSON or JSON Lines by content), 429 (IMPORT_RATE_LIMIT, with Retry-After)."
        ),
        request={"multipart/form-data": InputSerializer},
        responses={
            201: JobDetailSerializer,
            202: QueuedSerializer,
            **PROBLEMS,
            413: OpenApiResponse(ProblemSerializer, description="Larger than IMPORT_MAX_UPLOAD_MB"),
            415: OpenApiResponse(ProblemSerializer, description="Not a CSV, XLSX, JSON or JSON Lines file"),
            429: OpenApiResponse(ProblemSerializer, description="Too many imports started; see Retry-After"),
        },
    )
    def post(self, request):
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        try:
            if declared > max_upload_bytes() + MULTIPART_SLACK_BYTES:
                check_upload_size(size=declared)  # refuses before the body is read
            serializer = self.InputSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            upload = serializer.validated_data["file"]
            check_upload_size(size=upload.size, file_name=upload.name)
            job = start_import(
                stream=upload,
                file_name=upload.name,
                kind=serializer.validated_data["kind"],
                user=request.user,
                source="api",
                dry_run=serializer.validated_data["dry_run"],
            )
        except FileRefused as exc:
            return _problem(str(exc), exc.code, REFUSAL_STATUS.get(exc.code, status.HTTP_400_BAD_REQUEST))
        except ImportRejected as exc:
            return _problem(str(exc), "invalid_file", status.HTTP_400_BAD_REQUEST)
        if job.status == ImportStatus.PENDING:
            return Response(_queued(request, job), status=status.HTTP_202_ACCEPTED)
        return Response(_detail(request, _reloaded(job)), status=status.HTTP_201_CREATED)

    @extend_schema(summary="List imports", responses={200: JobSummarySerializer(many=True), **PROBLEMS})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["imports"])
class ImportDetailApi(APIView):
    @extend_schema(
        summary="An import: status, progress, counts, timings, warnings and failed rows at a glance",
        responses={200: JobDetailSerializer, **PROBLEMS},
    )
    def get(self, request, import_id: int):
        return Response(_detail(request, _visible_job(request, import_id)))


@extend_schema(tags=["imports"])
class ImportErrorsApi(APIView):
    """The failed rows as a file to fix and import again (the file's columns + row_number + error)."""

    renderer_classes = [JSONRenderer]

    def perform_content_negotiation(self, request, force=False):
        # ``format`` is this endpoint's own parameter (the report's format), not
        # DRF's renderer override, which would answer 404 for csv and xlsx.
        return JSONRenderer(), JSONRenderer.media_type

    @extend_schema(
        summary="Failed rows, streamed as CSV, JSON or XLSX",
        parameters=[
            OpenApiParameter("format", OpenApiTypes.STR, enum=list(ERROR_FORMATS), default="csv"),
        ],
        responses={
            (200, "text/csv"): OpenApiTypes.STR,
            (200, "application/json"): OpenApiTypes.STR,
            (200, error_reports.CONTENT_TYPES["xlsx"]): OpenApiTypes.BINARY,
            **PROBLEMS,
        },
    )
    def get(self, request, import_id: int):
        job = _visible_job(request, import_id)
        fmt = request.query_params.get("format", "csv")
        if fmt not in ERROR_FORMATS:
            raise ValidationError({"format": f"Expected one of {', '.join(ERROR_FORMATS)}, not {fmt!r}."})
        errors = row_errors(job=job).iterator(chunk_size=2000)
        filename = f"import-{job.pk}-failed-rows.{fmt}"
        if fmt == "xlsx":
            spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 - FileResponse closes it
            error_reports.write_xlsx(job, errors, spool)
            spool.seek(0)
            return FileResponse(
                spool, as_attachment=True, filename=filename, content_type=error_reports.CONTENT_TYPES["xlsx"]
            )
        chunks = error_reports.iter_csv(job, errors) if fmt == "csv" else error_reports.iter_json(job, errors)
        response = StreamingHttpResponse(chunks, content_type=error_reports.CONTENT_TYPES[fmt])
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


@extend_schema(tags=["imports"])
class ImportCancelApi(APIView):
    @extend_schema(
        summary="Cancel an import",
        description=(
            "A waiting import is cancelled at once; a running one stops at its next batch boundary, keeping "
            "(and reporting) the batches already committed. 409 when it has already finished."
        ),
        request=None,
        responses={200: JobDetailSerializer, 409: ProblemSerializer, **PROBLEMS},
    )
    def post(self, request, import_id: int):
        job = _visible_job(request, import_id)
        try:
            job = cancel_import(job=job)
        except JobStateError as exc:
            return _problem(str(exc), "not_cancellable", status.HTTP_409_CONFLICT)
        return Response(_detail(request, _reloaded(job)))


@extend_schema(tags=["imports"])
class ImportRetryApi(APIView):
    def get_permissions(self):
        return [IsAuthenticated(), CanStartImports()]

    def get_throttles(self):
        return [ImportStartThrottle()]

    @extend_schema(
        summary="Retry a failed or cancelled import from its stored file",
        description=(
            "Committed batches stay; the run resumes after the last one. Runs in the request (200, the "
            "finished job) or in the background (202) by the same size rule as a new import. 409 for an "
            "import that is not failed or cancelled, or whose stored file is gone or changed."
        ),
        request=None,
        responses={
            200: JobDetailSerializer,
            202: QueuedSerializer,
            409: ProblemSerializer,
            429: ProblemSerializer,
            **PROBLEMS,
        },
    )
    def post(self, request, import_id: int):
        job = _visible_job(request, import_id)
        try:
            job = retry_import(job=job)
        except JobStateError as exc:
            return _problem(str(exc), "not_retryable", status.HTTP_409_CONFLICT)
        if job.status == ImportStatus.PENDING:
            return Response(_queued(request, job), status=status.HTTP_202_ACCEPTED)
        return Response(_detail(request, _reloaded(job)))
