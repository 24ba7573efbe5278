"""The admin's import screens: choose a file, preview it, confirm, follow the job.

Thin doors, like the API's views: each parses the request, calls
:mod:`imports.services` (start a dry run, import the checked file, cancel,
retry) or a selector (the job's figures, progress, failed rows, a sample
of changes), and renders a page that extends the admin's own templates.
:class:`imports.admin.ImportJobAdmin` mounts them under
``/admin/imports/importjob/`` inside ``admin_site.admin_view`` (staff only).

The flow: **Import a file** (file and kind) -> a dry run of the file (inline,
or in the background for a large file) -> **Preview** (what would be added,
updated, left unchanged, superseded or refused; the first problems; a
sample of changes) -> **Import** -> the **job page** (live progress, then
the summary, the failed rows and their download). The dry run and the real
import are the same engine on the same stored file, so the preview's
figures are what the import does (unless someone changes the catalog in
between).

An import's page also offers to **undo** it: a preview of the undo (a dry
run: rows to remove, values to restore, rows changed since by someone else),
then the undo itself, a job with a page of its own, which can be undone in
turn (a redo).

Permissions: every page needs the view permission on import jobs; starting,
confirming, cancelling, retrying and undoing need "Can add import job"
(``imports.add_importjob``), and cancelling, retrying or undoing someone else's
import "Can cancel and retry imports started by anyone": :mod:`imports.access`,
the rule the API asks too. A refused cancel, retry or undo is a 403, as in the API.
"""

from __future__ import annotations

import tempfile
from typing import Any, Protocol

from django.contrib import messages
from django.contrib.admin import AdminSite
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponseRedirect, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View

from catalog.kinds import KINDS
from imports import error_reports
from imports.access import may_manage_import, visible_jobs
from imports.corrections import correctable, corrected_rows
from imports.engine.numbers import AUTO
from imports.forms import ColumnMappingForm, CorrectionsForm, ImportFileForm
from imports.models import ImportJob, ImportSource, ImportStatus, ImportSystem
from imports.previews import file_columns, numbers_read, sample_changes
from imports.progress import read_progress
from imports.selectors import (
    confirmed_import,
    corrected_by,
    error_summary,
    latest_undo,
    row_errors,
    undo_until,
    undone_by,
)
from imports.serializers import JobSerializer
from imports.services import (
    cancel_import,
    check_again,
    import_checked_file,
    import_corrections,
    retry_import,
    start_import,
)
from imports.undos import cannot_undo, undo_import
from mtc.errors import DomainError, NotAllowed

ERRORS_PER_PAGE = 50
PREVIEW_ERRORS = 10
FINISHED_OK = (ImportStatus.COMPLETED, ImportStatus.COMPLETED_WITH_ERRORS)


def job_url(job: ImportJob) -> str:
    """The page of a job: the preview for a dry run, the job page otherwise (an undo's preview too)."""
    if job.dry_run and not job.is_undo:
        return reverse("admin:imports_importjob_preview", args=[job.pk])
    return reverse("admin:imports_importjob_change", args=[job.pk])


def api_links(job: ImportJob) -> dict[str, str]:
    """The API URLs a page uses: progress polling, failed-rows downloads, corrections (session auth)."""
    errors = reverse("imports:errors", args=[job.pk])
    return {
        "detail": reverse("imports:detail", args=[job.pk]),
        "errors_csv": f"{errors}?format=csv",
        "errors_xlsx": f"{errors}?format=xlsx",
        "corrections": reverse("imports:corrections", args=[job.pk]),
        "corrections_check": reverse("imports:corrections_check", args=[job.pk]),
    }


class MountingAdmin(Protocol):
    """What a page needs of the ImportJobAdmin that mounts it (``imports.admin``)."""

    admin_site: AdminSite

    def has_view_permission(self, request, obj=None) -> bool: ...

    def has_run_permission(self, request) -> bool: ...


class AdminPage(View):
    """An admin page of the import screens (``model_admin`` is the ImportJobAdmin that mounts it)."""

    model_admin: MountingAdmin = None  # type: ignore[assignment]  # given by as_view(model_admin=...)
    template_name = ""
    title = ""

    def page(self, request, **context) -> TemplateResponse:
        return TemplateResponse(
            request,
            self.template_name,
            {
                **self.model_admin.admin_site.each_context(request),
                "opts": ImportJob._meta,
                "title": context.pop("title", self.title),
                "has_run_permission": self.model_admin.has_run_permission(request),
                **context,
            },
        )

    def visible_job(self, request, import_id: int) -> ImportJob:
        if not self.model_admin.has_view_permission(request):
            raise PermissionDenied
        job = visible_jobs(user=request.user).filter(pk=import_id).first()
        if job is None:
            raise Http404(f"Import #{import_id} was not found.")
        return job

    def require_run_permission(self, request) -> None:
        if not self.model_admin.has_run_permission(request):
            raise PermissionDenied


class ImportStartView(AdminPage):
    """Choose a file and what it holds; a valid file is checked by a dry run, then previewed."""

    template_name = "admin/imports/start.html"
    title = "Import a file"

    def get(self, request):
        self.require_run_permission(request)
        kind = request.GET.get("kind")
        form = ImportFileForm(initial={"kind": kind} if kind in KINDS else None)
        return self._page(request, form)

    def post(self, request):
        self.require_run_permission(request)
        form = ImportFileForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                job = start_import(
                    stream=upload,
                    file_name=upload.name,
                    kind=form.cleaned_data["kind"],
                    user=request.user,
                    source=ImportSource.ADMIN,
                    dry_run=True,
                    options={"sheet": form.cleaned_data["sheet"]},
                    require_mapping=False,  # the check page asks for the columns it cannot place
                )
            except DomainError as refused:  # the file is refused before any job exists
                form.add_error("file", str(refused))
            else:
                return HttpResponseRedirect(job_url(job))
        return self._page(request, form)

    def _page(self, request, form):
        return self.page(
            request, form=form, columns_by_kind=ImportFileForm.columns_by_kind(), back_url=self.back_url(request)
        )

    @staticmethod
    def back_url(request) -> str:
        """Where Cancel goes: the admin list the user came from (``?back=``, a catalog list), else the import jobs.

        Only a path of this site's admin is followed, never another host.
        """
        back = request.GET.get("back", "")
        admin_root = reverse("admin:index")
        if back.startswith(admin_root) and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
            return back
        return reverse("admin:imports_importjob_changelist")


class ImportPreviewView(AdminPage):
    """What importing the file would do (its dry run), and the button that imports it."""

    template_name = "admin/imports/preview.html"

    def get(self, request, import_id: int):
        job = self.visible_job(request, import_id)
        if not job.dry_run or job.is_undo:
            return HttpResponseRedirect(job_url(job))
        summary = JobSerializer(job).data
        context: dict[str, Any] = {"job": job, "summary": summary, "api": api_links(job)}
        if not job.is_finished:
            context["progress"] = read_progress(job=job)
        else:
            imported_as = confirmed_import(dry_run_job=job)
            checked = job.status in FINISHED_OK
            stale = stale_correction(job) if imported_as is None else None
            # A stale check of corrected rows offers nothing to do: no mapping to change, no changes to preview.
            mapping_form = self.mapping_form(job) if stale is None else None
            context.update(
                errors=error_summary(job=job, rows=PREVIEW_ERRORS),
                sample=sample_changes(job=job) if checked and imported_as is None and stale is None else None,
                imported_as=imported_as,
                # Once imported, the check's "would" figures are stale: the page shows what the import did.
                imported_summary=JobSerializer(imported_as).data if imported_as else None,
                can_confirm=checked
                and imported_as is None
                and stale is None
                and self.model_admin.has_run_permission(request),
                stale_correction=stale,
                would_write=summary["inserted"] + summary["updated"],
                legacy=job.system == ImportSystem.LEGACY,
                mapping_form=mapping_form,
                numbers_read=numbers_read(job=job),
                needs_mapping=bool(mapping_form and not checked and mapping_form.problems()),
            )
        return self.page(request, title=f"Check before importing: {job.file_name}", **context)

    @staticmethod
    def mapping_form(job: ImportJob, data=None) -> ColumnMappingForm | None:
        """The file's columns with the fields they are read as, and the line of their names.

        None when the file cannot be read and has no lines to choose from (a
        sheet whose chosen header line is empty still offers another line).
        """
        columns = file_columns(job=job)
        if not columns and job.header_row is None:
            return None
        return ColumnMappingForm(
            data,
            kind=KINDS.get(job.kind),
            columns=columns,
            number_format=job.options.get("number_format") or AUTO,
            header_row=job.header_row,
        )

    def post(self, request, import_id: int):
        self.require_run_permission(request)
        dry_run_job = self.visible_job(request, import_id)
        try:
            job = import_checked_file(dry_run_job=dry_run_job, user=request.user)
        except DomainError as refused:
            messages.error(request, str(refused))
            return HttpResponseRedirect(job_url(dry_run_job))
        return HttpResponseRedirect(job_url(job))


class CheckAgainView(AdminPage):
    """The check page's mapping form: check the same file again, its columns read as chosen."""

    template_name = "admin/imports/preview.html"

    def post(self, request, import_id: int):
        self.require_run_permission(request)
        dry_run_job = self.visible_job(request, import_id)
        form = ImportPreviewView.mapping_form(dry_run_job, request.POST)
        if form is None or not form.is_valid():
            if form is not None:
                for error in form.non_field_errors():
                    messages.error(request, str(error))
            return HttpResponseRedirect(job_url(dry_run_job))
        try:
            job = check_again(
                dry_run_job=dry_run_job, mapping=form.mapping(), options=form.reader_options(), user=request.user
            )
        except DomainError as refused:
            messages.error(request, str(refused))
            return HttpResponseRedirect(job_url(dry_run_job))
        return HttpResponseRedirect(job_url(job))


class ImportJobPageView(AdminPage):
    """One import: live progress while it runs, then its summary and failed rows (the job admin's page)."""

    template_name = "admin/imports/job.html"

    def get(self, request, import_id: int):
        job = self.visible_job(request, import_id)
        errors = Paginator(
            row_errors(job=job).only("row_number", "column", "value", "reason", "problems"), ERRORS_PER_PAGE
        ).get_page(request.GET.get("page"))
        return self.page(
            request,
            title=str(job) if job.is_undo else f"Import #{job.pk}: {job.file_name}",
            job=job,
            summary=JobSerializer(job).data,
            progress=read_progress(job=job),
            errors=errors,
            api=api_links(job),
            checked_by=job.checked_by_id,
            columns_read=columns_read(job),
            numbers_read=numbers_read(job=job),
            can_cancel=not job.is_finished and may_manage_import(user=request.user, job=job),
            can_retry=job.is_retryable and may_manage_import(user=request.user, job=job),
            undo=undo_panel(job, user=request.user),
            can_correct=bool(errors.paginator.count) and correctable_here(job, self.model_admin, request),
            corrections=job.corrections.select_related("result").order_by("import_id"),
            # Why the failed rows are no longer offered for correction, said instead of the editable table.
            corrected_by=corrected_by(job=job),
            undone_by=undone_by(job=job),
        )


def undo_panel(job: ImportJob, *, user) -> dict[str, Any]:
    """What the job page says about undoing: who undid it, until when it can be (by ``user``), or why it cannot."""
    undo = job.undos.filter(dry_run=False).order_by("-import_id").first()
    refusal = cannot_undo(job=job) if job.is_finished else None
    return {
        "undone_by": undo,
        # The undo of that undo (a redo): the job's changes are back.
        "redone_by": latest_undo(job=undo) if undo is not None else None,
        "until": undo_until(job=job),
        "refusal": refusal if refusal is not None and refusal.code != "already_undone" else None,
        "can_undo": job.is_finished and refusal is None and may_manage_import(user=user, job=job),
    }


def stale_correction(check: ImportJob) -> DomainError | None:
    """Why a check of corrected rows can no longer be imported (its first import corrected since, or undone)."""
    if check.parent_import is None:
        return None
    try:
        correctable(check.parent_import)
    except DomainError as refused:
        return refused
    return None


def correctable_here(job: ImportJob, model_admin: MountingAdmin, request) -> bool:
    """Whether the job page offers the editable table (``imports.corrections.correctable``, and the permission)."""
    try:
        correctable(job)
    except DomainError:
        return False
    return model_admin.has_run_permission(request)


def columns_read(job: ImportJob) -> list[tuple[str, str]]:
    """``(header, what it was read as)`` for each column of the job's file, from its mapping."""
    kind = KINDS.get(job.kind)
    labels = {column.name: column.label for column in kind.columns}
    mapping = job.mapping or {}
    # In the file's order: the mapping is a JSON object, whose keys PostgreSQL's jsonb keeps in an order of its own.
    order = {header: index for index, header in enumerate((job.options or {}).get("headers", []))}
    headers = sorted(mapping, key=lambda header: order.get(header, len(order)))
    return [
        (header, labels.get(mapping[header], mapping[header]) if mapping[header] else "ignored") for header in headers
    ]


class CancelImportView(AdminPage):
    def post(self, request, import_id: int):
        self.require_run_permission(request)
        job = self.visible_job(request, import_id)
        try:
            job = cancel_import(job=job, user=request.user)
        except NotAllowed as refused:
            raise PermissionDenied(str(refused)) from None
        except DomainError as refused:
            messages.warning(request, str(refused))
        else:
            if job.status == ImportStatus.CANCELLED:
                messages.success(request, f"Import #{job.pk} was cancelled before it started; nothing was imported.")
            else:
                messages.success(
                    request,
                    f"Import #{job.pk} stops after the batch of rows it is saving now; rows saved until then are kept.",
                )
        return HttpResponseRedirect(job_url(job))


class UndoImportView(AdminPage):
    """Undo an import: without ``confirm`` a preview (a dry-run undo and its page), with it the undo itself."""

    def post(self, request, import_id: int):
        self.require_run_permission(request)
        job = self.visible_job(request, import_id)
        confirmed = bool(request.POST.get("confirm"))
        try:
            undo = undo_import(
                job=job,
                user=request.user,
                source=ImportSource.ADMIN,
                dry_run=not confirmed,
                force=bool(request.POST.get("force")),
            )
        except NotAllowed as refused:
            raise PermissionDenied(str(refused)) from None
        except DomainError as refused:
            messages.error(request, str(refused))
            return HttpResponseRedirect(job_url(job))
        if confirmed and undo.status in FINISHED_OK:  # a small undo runs at once
            messages.success(request, f"Import #{job.pk} was undone (undo #{undo.pk}).")
        elif confirmed and undo.is_finished:
            messages.error(request, f"Undo #{undo.pk} of import #{job.pk} did not finish: see why below.")
        elif confirmed:
            messages.success(request, f"Import #{job.pk} is being undone (undo #{undo.pk}).")
        return HttpResponseRedirect(job_url(undo))


class RetryImportView(AdminPage):
    def post(self, request, import_id: int):
        self.require_run_permission(request)
        job = self.visible_job(request, import_id)
        try:
            job = retry_import(job=job, user=request.user)
        except NotAllowed as refused:
            raise PermissionDenied(str(refused)) from None
        except DomainError as refused:
            messages.error(request, str(refused))
        else:
            if job.status == ImportStatus.PENDING:
                messages.success(request, f"Import #{job.pk} is queued again; it resumes after the rows already saved.")
            else:
                messages.success(request, f"Import #{job.pk} ran again: {job.get_status_display().lower()}.")
        return HttpResponseRedirect(job_url(job))


class CorrectionsImportView(AdminPage):
    """ "Import the corrected rows": a check of them (the normal path: check, then import), linked to the job."""

    def post(self, request, import_id: int):
        self.require_run_permission(request)
        job = self.visible_job(request, import_id)
        form = CorrectionsForm(request.POST)
        if not form.is_valid():
            messages.error(request, "The corrected rows could not be read; reload the page and try again.")
            return HttpResponseRedirect(job_url(job) + "#problems")
        try:
            check = import_corrections(
                job=job,
                corrections=form.cleaned_data["corrections"],
                user=request.user,
                source=ImportSource.ADMIN,
                dry_run=True,
            )
        except DomainError as refused:
            messages.error(request, str(refused))
            return HttpResponseRedirect(job_url(job) + "#problems")
        return HttpResponseRedirect(job_url(check))


class CorrectionsDownloadView(AdminPage):
    """Every failed row with the page's corrections laid over it, as CSV or Excel (nothing is imported)."""

    def post(self, request, import_id: int):
        job = self.visible_job(request, import_id)
        form = CorrectionsForm(request.POST)
        fmt = request.GET.get("format", "csv")
        if not form.is_valid() or fmt not in ("csv", "xlsx"):
            messages.error(request, "The corrected rows could not be read; reload the page and try again.")
            return HttpResponseRedirect(job_url(job) + "#problems")
        try:
            headers, rows = corrected_rows(job=job, corrections=form.cleaned_data["corrections"])
        except DomainError as refused:
            messages.error(request, str(refused))
            return HttpResponseRedirect(job_url(job) + "#problems")
        filename = f"import-{job.pk}-corrected-rows.{fmt}"
        if fmt == "xlsx":
            spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 - FileResponse closes it
            error_reports.write_corrected_xlsx(job, headers, rows, spool)
            spool.seek(0)
            return FileResponse(
                spool, as_attachment=True, filename=filename, content_type=error_reports.CONTENT_TYPES["xlsx"]
            )
        response = StreamingHttpResponse(
            error_reports.iter_corrected_csv(job, headers, rows), content_type=error_reports.CONTENT_TYPES["csv"]
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
