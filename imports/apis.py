"""The imports API (``/api/imports/``): start, list, follow, cancel, retry and undo imports.

Thin doors: each view checks who asks and what was sent, then calls
:mod:`imports.services` (writes) or :mod:`imports.selectors` (reads), and
answers with :mod:`imports.serializers`, the one public shape of a job (the
commands' ``--json`` prints the same). Refusals are the services' own
exceptions, turned into ``{"detail", "code"}`` answers in one place, the
project's exception handler (``mtc.api_errors``); no view catches them.

Who sees and does what is :mod:`imports.access`, the rule the admin asks
too: a user sees their own jobs (everyone's with the view permission), a job
someone may not see answers 404 as if it did not exist, and cancelling or
retrying someone else's import needs ``imports.manage_all_imports`` (403
otherwise). Starting or retrying an import needs ``imports.add_importjob`` and is throttled
(``IMPORT_RATE_LIMIT``, counted in the default cache, shared by every process: Redis at
``RATELIMIT_STORAGE_URL`` or a database table).
"""

from __future__ import annotations

import tempfile

from django import forms
from django.conf import settings
from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from catalog.kinds import KINDS, kind_choices
from imports import error_reports, import_templates
from imports.access import may_start_imports, visible_jobs
from imports.corrections import Correction, check_corrections, correctable, editable_rows, sheet_of
from imports.engine.limits import MAX_HEADER_ROW
from imports.engine.numbers import AUTO, NUMBER_FORMATS
from imports.file_checks import check_upload_size, max_upload_bytes
from imports.models import ImportJob, ImportSource, ImportStatus
from imports.selectors import row_errors
from imports.serializers import (
    ERROR_FORMATS,
    LINE_NUMBER_HELP,
    ROW_NUMBER_HELP,
    ROW_PROBLEM,
    JobDetailSerializer,
    JobSerializer,
    KindField,
    MappingField,
    QueuedSerializer,
)
from imports.services import cancel_import, import_corrections, retry_import, start_import
from imports.undos import undo_import
from mtc.openapi import problem
from mtc.pagination import Pages

#: Room for the multipart envelope around the file when judging Content-Length.
MULTIPART_SLACK_BYTES = 64 * 1024


# --- Access ------------------------------------------------------------------------------


class CanStartImports(BasePermission):
    message = (
        "Starting, cancelling or retrying an import needs the 'Can add import job' permission (imports.add_importjob)."
    )

    def has_permission(self, request, view):
        return may_start_imports(user=request.user)


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


def _finished_or_queued(request, job: ImportJob, *, finished: int) -> Response:
    """A job that ran here (``finished``: 200 or 201, the job) or was queued (202, where to follow it)."""
    if job.status == ImportStatus.PENDING:
        return Response(QueuedSerializer(job, context={"request": request}).data, status=status.HTTP_202_ACCEPTED)
    job = visible_jobs(user=request.user).get(pk=job.pk)
    return Response(JobDetailSerializer(job, context={"request": request}).data, status=finished)


# --- Views ---------------------------------------------------------------------------------


class NoBlankChoicesForm(forms.Form):
    """A filter form that refuses ``?status=`` (empty): the schema's enum has no empty value.

    django-filter reads an empty choice as "no filter"; the API documents each
    choice parameter as an enum, so an empty one is a 400 like any other value
    outside it (issue 11). Leave the parameter out to list everything.
    """

    def clean(self):
        cleaned = super().clean()
        for name, field in self.fields.items():
            if isinstance(field, forms.ChoiceField) and name in self.data and self.data.get(name) == "":
                choices = ", ".join(str(value) for value, _ in field.choices if value != "")
                self.add_error(name, f"Expected one of {choices}; leave {name} out to list every import.")
        return cleaned


class ImportJobFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=ImportStatus.choices)
    kind = filters.ChoiceFilter(choices=kind_choices)

    class Meta:
        model = ImportJob
        fields = ["status", "kind"]
        form = NoBlankChoicesForm


PROBLEMS = {
    400: problem("The file or a field was refused (specific message)"),
    401: problem("Not authenticated"),
    403: problem("Not authenticated, or missing permission"),
    404: problem("No such import, or not yours"),
}


@extend_schema(tags=["imports"])
class ImportListCreateApi(generics.ListAPIView):
    """``GET``: your imports (staff: everyone's), newest first. ``POST``: import a file."""

    serializer_class = JobSerializer
    filterset_class = ImportJobFilter
    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField(
            allow_empty_file=True,  # refused by check_file, with the same message as every door
            help_text="CSV, XLSX, JSON or JSON Lines; the type is told by content",
        )
        kind = KindField(default=KINDS.default)
        dry_run = serializers.BooleanField(default=False, help_text="validate and count, write nothing")
        mapping = MappingField(required=False)
        number_format = serializers.ChoiceField(
            choices=NUMBER_FORMATS,
            default=AUTO,
            help_text=(
                "How prices and stocks are written: point (1,299.50), comma (1.299,50), or auto (told by the "
                "file's values; a value that reads two ways, such as 1.000, is a row problem)"
            ),
        )
        header_row = serializers.IntegerField(
            required=False,
            min_value=1,
            max_value=MAX_HEADER_ROW,
            help_text=(
                "CSV and XLSX: the line of the sheet that holds the column names, counted as a spreadsheet "
                "program counts its lines (1 = the first). Default: the row that reads best as a header "
                "(a title, notes or blank lines above it are skipped); the job's `header_row` says which was used. "
                "Refused for a JSON or JSON Lines file (400 `invalid`, `errors.header_row`): it has no header row"
            ),
        )

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
            413: problem("Larger than IMPORT_MAX_UPLOAD_MB"),
            415: problem("Not a CSV, XLSX, JSON or JSON Lines file"),
            429: problem("Too many imports started; see Retry-After"),
        },
    )
    def post(self, request):
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > max_upload_bytes() + MULTIPART_SLACK_BYTES:
            check_upload_size(size=declared)  # refuses before the body is read
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["file"]
        job = start_import(
            stream=upload,
            file_name=upload.name,
            kind=serializer.validated_data["kind"],
            user=request.user,
            source=ImportSource.API,
            dry_run=serializer.validated_data["dry_run"],
            mapping=serializer.validated_data.get("mapping"),
            options={
                "number_format": serializer.validated_data["number_format"],
                "header_row": serializer.validated_data.get("header_row"),
            },
        )
        return _finished_or_queued(request, job, finished=status.HTTP_201_CREATED)

    @extend_schema(summary="List imports", responses={200: JobSerializer(many=True), **PROBLEMS})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["imports"])
class ImportDetailApi(APIView):
    @extend_schema(
        summary="An import: status, progress, counts, timings, warnings and failed rows at a glance",
        responses={200: JobDetailSerializer, **PROBLEMS},
    )
    def get(self, request, import_id: int):
        job = _visible_job(request, import_id)
        return Response(JobDetailSerializer(job, context={"request": request}).data)


#: ``errors/?format=json``: an array of rows, the file's own columns plus these three keys.
FAILED_ROWS_JSON = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "row_number": {"type": "integer", "description": ROW_NUMBER_HELP},
            "line_number": {"type": "integer", "nullable": True, "description": LINE_NUMBER_HELP},
            "error": {"type": "string"},
            "problems": {"type": "array", "items": {"type": "object", "additionalProperties": True}},
        },
        "required": ["row_number", "line_number", "error", "problems"],
        "additionalProperties": {"description": "the row's cell under that column, as the file had it"},
    },
}


@extend_schema(tags=["imports"])
class ImportErrorsApi(APIView):
    """The failed rows as a file to fix and import again (the file's columns + row_number + line_number + error)."""

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
            (200, "application/json"): FAILED_ROWS_JSON,
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
    def get_permissions(self):
        return [IsAuthenticated(), CanStartImports()]

    @extend_schema(
        summary="Cancel an import",
        description=(
            "A waiting import is cancelled at once; a running one stops at its next batch boundary, keeping "
            "(and reporting) the batches already committed. 409 when it has already finished; 403 for "
            "someone else's import without imports.manage_all_imports."
        ),
        request=None,
        responses={200: JobDetailSerializer, 409: problem("Already finished (code not_cancellable)"), **PROBLEMS},
    )
    def post(self, request, import_id: int):
        job = cancel_import(job=_visible_job(request, import_id), user=request.user)
        return Response(JobDetailSerializer(job, context={"request": request}).data)


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
            "import that is not failed or cancelled, or whose stored file is gone or changed; 403 for "
            "someone else's import without imports.manage_all_imports."
        ),
        request=None,
        responses={
            200: JobDetailSerializer,
            202: QueuedSerializer,
            409: problem("Not failed or cancelled, or its stored file is gone or changed"),
            429: problem("Too many imports started; see Retry-After"),
            **PROBLEMS,
        },
    )
    def post(self, request, import_id: int):
        job = retry_import(job=_visible_job(request, import_id), user=request.user)
        return _finished_or_queued(request, job, finished=status.HTTP_200_OK)


@extend_schema(tags=["imports"])
class ImportUndoApi(APIView):
    def get_permissions(self):
        return [IsAuthenticated(), CanStartImports()]

    def get_throttles(self):
        return [ImportStartThrottle()]

    class UndoInputSerializer(serializers.Serializer):
        dry_run = serializers.BooleanField(
            default=False, help_text="Preview: count what the undo would do and list the conflicts; change nothing"
        )
        force = serializers.BooleanField(
            default=False, help_text="Also restore rows someone changed after the import (otherwise kept as conflicts)"
        )

    @extend_schema(
        summary="Undo an import (or redo one by undoing its undo)",
        description=(
            "Starts an undo job in the background (202; follow its url): the rows the import added are "
            "removed, the values it replaced are restored, and the items, colors and sizes it created go when "
            "nothing uses them. A row changed after the import is kept and listed among the undo's failed "
            "rows with both values, unless force. The undo is itself an import job (progress, cancel, retry) "
            "and can be undone in turn. 409 with code not_finished, cannot_undo (a check, the old importer, "
            "its record of changes is gone, or it changed nothing) or already_undone (with undone_by)."
        ),
        request=UndoInputSerializer,
        responses={
            202: QueuedSerializer,
            409: problem("Cannot be undone now (codes not_finished, cannot_undo, already_undone)"),
            429: problem("Too many imports started; see Retry-After"),
            **PROBLEMS,
        },
    )
    def post(self, request, import_id: int):
        data = self.UndoInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = undo_import(
            job=_visible_job(request, import_id),
            user=request.user,
            source=ImportSource.API,
            dry_run=data.validated_data["dry_run"],
            force=data.validated_data["force"],
            background=True,
        )
        return _finished_or_queued(request, job, finished=status.HTTP_200_OK)


@extend_schema(tags=["imports"])
class ImportTemplateApi(APIView):
    """A file to fill in: every column of a kind under our names, one example row (XLSX: and a sheet on each)."""

    renderer_classes = [JSONRenderer]

    def perform_content_negotiation(self, request, force=False):
        # ``format`` is this endpoint's own parameter (the file's format), as for the failed rows.
        return JSONRenderer(), JSONRenderer.media_type

    class FilterSerializer(serializers.Serializer):
        kind = KindField(default=KINDS.default)
        format = serializers.ChoiceField(choices=import_templates.FORMATS, default="csv")

    @extend_schema(
        summary="Download the template of a kind, as CSV or XLSX",
        parameters=[FilterSerializer],
        responses={
            (200, "text/csv"): OpenApiTypes.STR,
            (200, import_templates.CONTENT_TYPES["xlsx"]): OpenApiTypes.BINARY,
            **PROBLEMS,
        },
    )
    def get(self, request):
        query = self.FilterSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        content, name, content_type = import_templates.template(
            kind=query.validated_data["kind"], file_format=query.validated_data["format"]
        )
        response = HttpResponse(content, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


# --- Corrections: fix failed rows and import them again -------------------------------------


class CorrectionSerializer(serializers.Serializer):
    """One failed row to import again, with the cells it changes."""

    row_number = serializers.IntegerField(min_value=1, help_text="The failed row's number in the first file")
    values = serializers.DictField(
        child=serializers.CharField(allow_blank=True, allow_null=True, trim_whitespace=False),
        default=dict,
        help_text="Column (the file's header, or the field it is read as) -> the corrected cell; others stay",
    )


def _corrections(request) -> list[Correction]:
    """The request body, a JSON array of corrections (refused with the one 400 shape otherwise)."""
    if not isinstance(request.data, list):
        raise ValidationError(
            {"non_field_errors": ['Expected a JSON array: [{"row_number": 3, "values": {"Price": "12.50"}}, ...].']}
        )
    serializer = CorrectionSerializer(data=request.data, many=True)
    serializer.is_valid(raise_exception=True)
    return [Correction(row_number=c["row_number"], values=c["values"]) for c in serializer.validated_data]


EDITABLE_ROWS = inline_serializer(
    "EditableRows",
    {
        "count": serializers.IntegerField(),
        "next": serializers.CharField(allow_null=True),
        "previous": serializers.CharField(allow_null=True),
        "columns": serializers.ListField(child=serializers.CharField(), help_text="The file's headers, in order"),
        "fields": serializers.DictField(
            child=serializers.CharField(allow_null=True), help_text="header -> the field it is read as, or null"
        ),
        "results": inline_serializer(
            "EditableRow",
            {
                "row_number": serializers.IntegerField(help_text=ROW_NUMBER_HELP),
                "line_number": serializers.IntegerField(allow_null=True, help_text=LINE_NUMBER_HELP),
                "values": serializers.DictField(child=serializers.CharField()),
                "problems": ROW_PROBLEM,
            },
            many=True,
        ),
    },
)
CHECKED_ROWS = inline_serializer(
    "CheckedRows",
    {
        "rows": inline_serializer(
            "CheckedRow",
            {
                "row_number": serializers.IntegerField(),
                "ok": serializers.BooleanField(help_text="true: the row would import"),
                "values": serializers.DictField(child=serializers.CharField()),
                "problems": ROW_PROBLEM,
                "corrected": serializers.ListField(
                    child=serializers.CharField(), help_text="The headers of the cells changed"
                ),
            },
            many=True,
        )
    },
)
NOT_CORRECTABLE = problem(
    "Its failed rows cannot be corrected: `not_correctable` (an undo, a check only, still running, or a legacy "
    "import), "
    "`undone` (the import was undone; `undone_by`), `already_corrected` (its corrected rows were imported "
    "again; `corrected_by`, the import whose failed rows to correct instead)"
)


@extend_schema(tags=["imports"])
class ImportCorrectionsApi(APIView):
    """``GET``: the failed rows to correct, paged. ``POST``: import corrected rows as a new import."""

    def get_permissions(self):
        if self.request.method == "POST":
            return [IsAuthenticated(), CanStartImports()]
        return [IsAuthenticated()]

    def get_throttles(self):
        return [ImportStartThrottle()] if self.request.method == "POST" else []

    @extend_schema(
        summary="The failed rows of an import, to correct: the file's own columns, each row's problems",
        parameters=[
            OpenApiParameter("page", OpenApiTypes.INT, description="page number, from 1"),
            OpenApiParameter("page_size", OpenApiTypes.INT, description=f"rows a page, 1 to {Pages.max_page_size}"),
        ],
        responses={200: EDITABLE_ROWS, 409: NOT_CORRECTABLE, **PROBLEMS},
    )
    def get(self, request, import_id: int):
        job = _visible_job(request, import_id)
        correctable(job)  # rows already corrected, or of an undone import, are no longer offered (errors/ has them)
        sheet = sheet_of(job=job)
        pages = Pages()
        errors: list = pages.paginate_queryset(editable_rows(job=job), request, view=self) or []
        results = [
            {
                "row_number": error.row_number,
                "line_number": job.line_number(error.row_number),
                "values": {h: str((error.row_data or {}).get(h, "")) for h in sheet.headers},
                "problems": error.problems or [{"column": error.column, "value": error.value, "reason": error.reason}],
            }
            for error in errors
        ]
        response = pages.get_paginated_response(results)
        response.data = {**response.data, "columns": sheet.headers, "fields": sheet.fields()}
        return response

    @extend_schema(
        summary="Import corrected failed rows: a new import, linked to this one (parent_import_id)",
        description=(
            'Body: `[{"row_number": 3, "values": {"Price": "12.50"}}, ...]`: failed rows of this import, each '
            "with the cells it changes (by the file's header or the field it is read as). The rows become a "
            "file that is imported like an upload (same checks, mapping and number format as this import): "
            "201 with the finished import, or 202 when queued. `?dry_run=true` checks them without writing. "
            "400 `no_corrections`, `not_a_failed_row`, `duplicate_row`, `unknown_column`; 409 `not_correctable`, "
            "`undone`, `already_corrected` (an import's failed rows are corrected once: then correct the failed "
            "rows of the import `corrected_by` names)."
        ),
        parameters=[OpenApiParameter("dry_run", OpenApiTypes.BOOL, default=False)],
        request=CorrectionSerializer(many=True),
        responses={
            201: JobDetailSerializer,
            202: QueuedSerializer,
            409: NOT_CORRECTABLE,
            429: problem("Too many imports started; see Retry-After"),
            **PROBLEMS,
        },
    )
    def post(self, request, import_id: int):
        job = _visible_job(request, import_id)
        dry_run = serializers.BooleanField().to_internal_value(request.query_params.get("dry_run", "false"))
        new_job = import_corrections(
            job=job, corrections=_corrections(request), user=request.user, source=ImportSource.API, dry_run=dry_run
        )
        return _finished_or_queued(request, new_job, finished=status.HTTP_201_CREATED)


@extend_schema(tags=["imports"])
class ImportCorrectionsCheckApi(APIView):
    """Check corrected failed rows with the import's own rules, without importing anything."""

    @extend_schema(
        summary="Check corrected failed rows (the same rules as an import); nothing is written",
        description=(
            "Same body as POST .../corrections/. Each row comes back with its cells (corrections laid over "
            "the failed row) and what is still wrong with it; `ok` rows would import."
        ),
        request=CorrectionSerializer(many=True),
        responses={200: CHECKED_ROWS, 409: NOT_CORRECTABLE, **PROBLEMS},
    )
    def post(self, request, import_id: int):
        job = _visible_job(request, import_id)
        correctable(job)
        rows = check_corrections(job=job, corrections=_corrections(request))
        return Response(
            {
                "rows": [
                    {
                        "row_number": row.row_number,
                        "ok": row.ok,
                        "values": row.values,
                        "problems": row.problems,
                        "corrected": row.corrected,
                    }
                    for row in rows
                ]
            }
        )
