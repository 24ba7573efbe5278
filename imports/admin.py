"""Import jobs in the Django admin: the list, the job page, and the import screens' URLs.

The list shows every job at a glance (status badge, kind, importer, user,
rows, duration, success rate) with filters and search, in a fixed number of
queries however many jobs there are (the result and the user come joined).
Jobs are records, not documents to edit: there is no add, change or delete
form here. A job's page is the live job page of :mod:`imports.admin_views`
(progress, summary, failed rows, retry and cancel), and new jobs are made by
the "Import a file" screens mounted below, which run the project's engine.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from imports import admin_views
from imports.access import may_see_imports, may_start_imports, visible_jobs
from imports.models import ImportJob
from imports.services import cancel_import, retry_import
from imports.templatetags.import_admin import IMPORTER_WORDS, percent, seconds_in_words
from mtc.errors import DomainError


class TitledFilter(admin.ChoicesFieldListFilter):
    """A choices filter under a title a non-engineer reads ("importer", not "system")."""

    TITLES = {"kind": "what was imported", "system": "importer"}
    #: Choice labels in a catalog manager's words (the importers' technical names stay on the job's details).
    LABELS = {"system": {system: words.capitalize() for system, words in IMPORTER_WORDS.items()}}

    def __init__(self, field, request, params, model, model_admin, field_path):
        super().__init__(field, request, params, model, model_admin, field_path)
        self.title = self.TITLES.get(field_path, self.title)
        choices = dict(self.field.flatchoices)
        self.words = {choices[value]: label for value, label in self.LABELS.get(field_path, {}).items()}

    def choices(self, changelist):
        for choice in super().choices(changelist):
            yield {**choice, "display": self.words.get(choice["display"], choice["display"])}


class RunTypeFilter(admin.SimpleListFilter):
    """Imports vs checks only (the dry runs behind the admin's preview)."""

    title = "type"
    parameter_name = "type"

    def lookups(self, request, model_admin):
        return [("import", "Imports"), ("check", "Checks only (nothing saved)")]

    def queryset(self, request, queryset):
        if self.value() == "import":
            return queryset.filter(dry_run=False)
        if self.value() == "check":
            return queryset.filter(dry_run=True)
        return queryset


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    # Seven columns fit a 1366 px laptop next to the admin's two sidebars without
    # scrolling sideways: the kind rides with the file, the user with the date,
    # and the importer (a rollout detail) is a filter and on the job's page.
    list_display = (
        "number",
        "file_shown",
        "status_badge",
        "rows",
        "duration",
        "started",
    )
    list_display_links = ("number", "file_shown")
    list_filter = ("status", RunTypeFilter, ("kind", TitledFilter), ("system", TitledFilter), "created_at")
    list_select_related = ("result", "user")
    search_fields = ("file_name", "user__username")
    search_help_text = "Search by file name, user name or import number (#12)."
    list_per_page = 50
    actions = ("retry_selected", "cancel_selected")
    change_list_template = "admin/imports/importjob/change_list.html"
    #: Pages other apps hang under ``/admin/imports/importjob/``: ``(route, view class, URL name)``.
    #: The rollout kit adds its metrics page here (``imports/rollout/admin.py``).
    extra_pages: list[tuple[str, type[admin_views.AdminPage], str]] = []

    class Media:
        css = {"all": ("imports/admin.css",)}

    # --- no forms: jobs are records -------------------------------------------------

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_run_permission(self, request) -> bool:
        """May start and confirm imports, and cancel and retry their own (``imports.access``, the API's rule too)."""
        return may_start_imports(user=request.user)

    def has_view_permission(self, request, obj=None):
        """The list and job pages: whoever may see some jobs (their own, or all; ``imports.access``)."""
        return may_see_imports(user=request.user)

    def get_queryset(self, request):
        # The jobs this person may see, as the API lists them (imports.access).
        return visible_jobs(user=request.user)

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip().lstrip("#")
        if term.isdigit():
            return queryset.filter(pk=int(term)), False
        return super().get_search_results(request, queryset, search_term)

    # --- pages ------------------------------------------------------------------------

    def get_urls(self):
        def page(view, **kwargs):
            return self.admin_site.admin_view(view.as_view(model_admin=self, **kwargs))

        custom = [
            path("start/", page(admin_views.ImportStartView), name="imports_importjob_start"),
            *(path(route, page(view), name=name) for route, view, name in self.extra_pages),
            path("<int:import_id>/preview/", page(admin_views.ImportPreviewView), name="imports_importjob_preview"),
            path(
                "<int:import_id>/check-again/", page(admin_views.CheckAgainView), name="imports_importjob_check_again"
            ),
            path("<int:import_id>/cancel/", page(admin_views.CancelImportView), name="imports_importjob_cancel"),
            path("<int:import_id>/retry/", page(admin_views.RetryImportView), name="imports_importjob_retry"),
            path("<int:import_id>/undo/", page(admin_views.UndoImportView), name="imports_importjob_undo"),
            path(
                "<int:import_id>/corrections/import/",
                page(admin_views.CorrectionsImportView),
                name="imports_importjob_corrections_import",
            ),
            path(
                "<int:import_id>/corrections/download/",
                page(admin_views.CorrectionsDownloadView),
                name="imports_importjob_corrections_download",
            ),
        ]
        return custom + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if not str(object_id).isdigit():
            return HttpResponseRedirect(reverse("admin:imports_importjob_changelist"))
        return admin_views.ImportJobPageView.as_view(model_admin=self)(request, import_id=int(object_id))

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            "title": "Import jobs",
            **(extra_context or {}),
            "has_run_permission": self.has_run_permission(request),
        }
        return super().changelist_view(request, extra_context)

    # --- columns -------------------------------------------------------------------

    @admin.display(description="import", ordering="import_id")
    def number(self, job):
        return f"#{job.import_id}"

    @admin.display(description="status", ordering="status")
    def status_badge(self, job):
        return format_html('<span class="import-status import-status--{}">{}</span>', job.status, job.status_label)

    @admin.display(description="file", ordering="file_name")
    def file_shown(self, job):
        tag = mark_safe(' <span class="import-tag">check only</span>') if job.dry_run else ""  # a constant
        return format_html('{}{}<br><span class="import-kind">{}</span>', job.file_name, tag, job.get_kind_display())

    @admin.display(description="started", ordering="created_at")
    def started(self, job):
        when = date_format(timezone.localtime(job.created_at), "Y-m-d H:i")
        return format_html('{}<br><span class="import-kind">{}</span>', when, job.user or "no user")

    @admin.display(description="rows", ordering="result__total_rows")
    def rows(self, job):
        """The rows and, under them, the share imported without a problem (one column: the list fits 1366 px)."""
        result = getattr(job, "result", None)
        if not (result and result.total_rows):
            return "-"
        if result.success_rate is None:
            return f"{result.total_rows:,}"
        return format_html(
            '{}<br><span class="import-kind" title="rows without a problem">{} ok</span>',
            f"{result.total_rows:,}",
            percent(result.success_rate),
        )

    @admin.display(description="duration", ordering="result__duration_seconds")
    def duration(self, job):
        result = getattr(job, "result", None)
        return seconds_in_words(result.duration_seconds if result else None)

    # --- actions ----------------------------------------------------------------------

    @admin.action(description="Retry selected failed or cancelled imports", permissions=["run"])
    def retry_selected(self, request, queryset):
        self._each(request, queryset, retry_import, done="started again")

    @admin.action(description="Cancel selected waiting or running imports", permissions=["run"])
    def cancel_selected(self, request, queryset):
        self._each(request, queryset, cancel_import, done="cancelled (a running one stops after its current batch)")

    def _each(self, request, queryset, service, *, done: str) -> None:
        succeeded, refused = [], []
        for job in queryset.order_by("import_id"):
            try:
                service(job=job, user=request.user)  # someone else's job: refused, named below
            except DomainError as exc:
                refused.append(str(exc))
            else:
                succeeded.append(f"#{job.pk}")
        if succeeded:
            self.message_user(request, f"Import(s) {', '.join(succeeded)} {done}.", messages.SUCCESS)
        for reason in refused:
            self.message_user(request, reason, messages.WARNING)
