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
from django.utils.html import format_html

from imports import admin_views
from imports.models import ImportJob, ImportSystem
from imports.services import cancel_import, retry_import
from imports.templatetags.import_admin import seconds_in_words
from mtc.errors import DomainError

SYSTEM_SHORT = {ImportSystem.UPSERT: "New", ImportSystem.LEGACY: "Legacy"}


class TitledFilter(admin.ChoicesFieldListFilter):
    """A choices filter under a title a non-engineer reads ("importer", not "system")."""

    TITLES = {"kind": "what was imported", "system": "importer"}

    def __init__(self, field, request, params, model, model_admin, field_path):
        super().__init__(field, request, params, model, model_admin, field_path)
        self.title = self.TITLES.get(field_path, self.title)


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
    # The figures first: on a laptop next to the admin's two sidebars the last columns scroll.
    list_display = (
        "number",
        "file_shown",
        "status_badge",
        "rows",
        "success_rate",
        "duration",
        "importer",
        "kind",
        "user",
        "created_at",
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
        """May start, confirm, cancel and retry imports (the API's rule too)."""
        return request.user.has_perm("imports.add_importjob")

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
        return format_html(
            '<span class="import-status import-status--{}">{}</span>', job.status, job.get_status_display()
        )

    @admin.display(description="importer", ordering="system")
    def importer(self, job):
        return SYSTEM_SHORT.get(job.system, job.system)

    @admin.display(description="file", ordering="file_name")
    def file_shown(self, job):
        if job.dry_run:
            return format_html('{} <span class="import-tag">check only</span>', job.file_name)
        return job.file_name

    @admin.display(description="rows", ordering="result__total_rows")
    def rows(self, job):
        result = getattr(job, "result", None)
        return f"{result.total_rows:,}" if result and result.total_rows else "-"

    @admin.display(description="duration", ordering="result__duration_seconds")
    def duration(self, job):
        result = getattr(job, "result", None)
        return seconds_in_words(result.duration_seconds if result else None)

    @admin.display(description="success rate", ordering="result__success_rate")
    def success_rate(self, job):
        result = getattr(job, "result", None)
        if result is None or result.success_rate is None:
            return "-"
        return f"{result.success_rate:g} %"

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
                service(job=job)
            except DomainError as exc:
                refused.append(str(exc))
            else:
                succeeded.append(f"#{job.pk}")
        if succeeded:
            self.message_user(request, f"Import(s) {', '.join(succeeded)} {done}.", messages.SUCCESS)
        for reason in refused:
            self.message_user(request, reason, messages.WARNING)
