"""The catalog in the Django admin: find, inspect, delete and restore master data.

Rows are never hard-deleted here: the bulk "delete selected" action and the
per-row delete button are gone, replaced by "Delete selected (can be
restored)" and "Restore selected", which call :mod:`catalog.services` and so
follow its rules (no deleting a color still used by active variants, no
restoring a row whose name is taken). Every list starts on active rows; the
"Status" filter shows deleted ones too.

The admin classes only configure Django; each master's class is small and
inherits :class:`CatalogRecordAdmin`; :class:`CatalogImportExportMixin` adds
the "Import a file" and "Export" buttons to each list.

Import and export are asymmetric on purpose. Export uses django-import-export's
admin integration (``ExportMixin``) with the resources of
:mod:`catalog.resources`, which write the import format. Import never uses
django-import-export's row-by-row import: the button leads to the import
screens of :mod:`imports.admin`, which run the project's engine (preview from
a dry run, then the job page), the same engine as the API and the commands.
"""

import copy
from typing import ClassVar

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import model_ngettext
from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Paginator
from django.core.validators import MaxLengthValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.text import Truncator
from import_export.admin import ExportMixin
from import_export.formats import base_formats
from import_export.forms import ExportForm

from catalog.counting import ListCount, list_count
from catalog.lookalikes import lookalike_problem
from catalog.models import Color, Item, ItemVariant, Size
from catalog.resources import ROW_CHOICES, resource_for
from catalog.selectors import find_live_twin
from catalog.services import CatalogChangeRefused, describe_row, restore, soft_delete

TIMESTAMPS = ("created_at", "updated_at", "deleted_at")


class StatusFilter(admin.SimpleListFilter):
    """Active / Deleted / All, starting on Active (Django's filters start on All)."""

    title = "status"
    parameter_name = "status"
    default = "active"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("deleted", "Deleted (can be restored)"), ("all", "All")]

    def current(self) -> str:
        value = self.value()
        return value if value in ("active", "deleted", "all") else self.default

    def queryset(self, request, queryset):
        return self.rows_of(queryset, self.current())

    @staticmethod
    def rows_of(queryset, status: str):
        if status == "active":
            return queryset.filter(deleted_at__isnull=True)
        if status == "deleted":
            return queryset.filter(deleted_at__isnull=False)
        return queryset

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.current() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }


class CatalogRecordForm(forms.ModelForm):
    """Refuses a name (or variant) another active row already has, as a form error.

    A new or changed name that only looks like another active row's name,
    mixing scripts (``Red`` typed with a Cyrillic *ie* next to a Latin ``Red``),
    is refused too, in the importer's words (``catalog.lookalikes.lookalike_problem``).

    Django skips a constraint whose condition uses a field the form does not
    edit, and ``deleted_at`` is never edited: without this check the partial
    unique index would answer a taken name with a server error.

    A long text (the item's description) has at most
    ``IMPORT_MAX_DESCRIPTION_LENGTH`` characters, as an import allows.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        limit = settings.IMPORT_MAX_DESCRIPTION_LENGTH
        for name, field in self.fields.items():
            if isinstance(self._meta.model._meta.get_field(name), models.TextField):
                field.validators.append(MaxLengthValidator(limit))
                field.widget.attrs["maxlength"] = str(limit)

    def validate_unique(self):
        super().validate_unique()
        row = self.instance
        key_values = [getattr(row, row._meta.get_field(name).attname) for name in row.key_fields]
        if not row.is_live or any(value in (None, "") for value in key_values):
            return  # deleted rows may share a key; a missing value is already a field error
        twin = find_live_twin(row=row)
        if twin is None:
            self._refuse_lookalike(row)
            return
        if isinstance(row, ItemVariant):
            self.add_error(
                None,
                f"This item already has an active variant in this color and size: {describe_row(twin)}. "
                f"Edit that one instead.",
            )
        else:
            self.add_error(
                row.name_fields[0],
                f"The active {describe_row(twin)} already has this name. Choose another name, or edit that one.",
            )

    def _refuse_lookalike(self, row) -> None:
        """A new or renamed name that mixes scripts to look like another live name (``catalog.lookalikes``)."""
        if not row.name_fields:
            return
        (field,) = row.name_fields
        if row.pk is not None and getattr(row, field) == self.initial.get(field):
            return  # an unchanged name is not new: the row may keep it
        problem = lookalike_problem(row=row)
        if problem:
            self.add_error(field, problem)


class EstimatedCountPaginator(Paginator):
    """A paginator whose count is exact up to 1,000 rows and PostgreSQL's estimate past that.

    Django's counts every row of the list on every page (two ``COUNT(*)`` with
    the total): at 1,000,000 variants the list took seconds to open.
    """

    @cached_property
    def list_count(self) -> ListCount:
        return list_count(self.object_list)  # type: ignore[arg-type]  # the admin pages querysets

    @cached_property
    def count(self) -> int:
        return self.list_count.rows


class CatalogChangeList(ChangeList):
    """The admin's list, whose "(N total)" counts the rows of the status shown, not deleted ones too.

    A search among active variants said "3 results (69513 total)", the total
    counting every soft-deleted row the list never shows on Active. Both
    figures are exact up to 1,000 rows and estimated past that
    (:class:`EstimatedCountPaginator`); the list says "about" then.
    """

    def get_results(self, request):
        status = request.GET.get(StatusFilter.parameter_name)
        self.root_queryset = StatusFilter.rows_of(
            self.root_queryset, status if status in ("active", "deleted", "all") else StatusFilter.default
        )
        root_queryset, self.root_queryset = self.root_queryset, _EstimatedCount(self.root_queryset)
        try:
            super().get_results(request)
        finally:
            self.root_queryset = root_queryset
        self.count_is_exact = self.paginator.list_count.exact


class _EstimatedCount:
    """The stand-in for a list's unfiltered rows while ``ChangeList.get_results`` takes their "(N total)".

    That is its one use of them (``.count()``): counted as the paginator counts.
    """

    def __init__(self, queryset):
        self.queryset = queryset

    def count(self) -> int:
        return list_count(self.queryset).rows


class CatalogRecordAdmin(admin.ModelAdmin):
    """What every catalog master's admin shares: status filter, soft delete, restore."""

    form = CatalogRecordForm
    list_filter: ClassVar[tuple] = (StatusFilter,)
    list_per_page = 50
    paginator = EstimatedCountPaginator
    readonly_fields: ClassVar[tuple[str, ...]] = TIMESTAMPS
    actions = ("soft_delete_selected", "restore_selected")

    class Media:
        css = {"all": ("catalog/admin.css",)}

    def get_changelist(self, request, **kwargs):
        return CatalogChangeList

    def get_readonly_fields(self, request, obj=None):
        # A row being added has no timestamps yet: showing them printed the
        # database default's Python repr and a made-up "created at".
        fields = super().get_readonly_fields(request, obj)
        return fields if obj is not None else tuple(name for name in fields if name not in TIMESTAMPS)

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        return fields if obj is not None else [name for name in fields if name not in (*TIMESTAMPS, "variants_link")]

    def get_queryset(self, request):
        # Deleted rows too: the status filter decides what the list shows.
        queryset = self.model.all_objects.get_queryset()
        ordering = self.get_ordering(request)
        return queryset.order_by(*ordering) if ordering else queryset

    def get_search_results(self, request, queryset, search_term):
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if request.resolver_match and request.resolver_match.url_name == "autocomplete":
            # Choosing the item, color or size of a variant: active ones only.
            queryset = queryset.filter(deleted_at__isnull=True)
        return queryset, may_have_duplicates

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        # A deleted row is shown read-only: restore it first to edit it.
        if obj is not None and not obj.is_live:
            return False
        return super().has_change_permission(request, obj)

    @admin.display(boolean=True, description="active", ordering="deleted_at")
    def is_active(self, obj):
        return obj.is_live

    @admin.display(description="last changed", ordering="updated_at")
    def last_changed(self, obj):
        # Short enough for one line in a list at laptop width.
        return date_format(timezone.localtime(obj.updated_at), "Y-m-d H:i")

    @admin.action(description="Delete selected %(verbose_name_plural)s (can be restored)", permissions=["change"])
    def soft_delete_selected(self, request, queryset):
        self._apply(request, queryset, soft_delete, verb="deleted", hint=" Restore them from Status: Deleted.")

    @admin.action(description="Restore selected %(verbose_name_plural)s", permissions=["change"])
    def restore_selected(self, request, queryset):
        self._apply(request, queryset, restore, verb="restored")

    def _apply(self, request, queryset, service, *, verb: str, hint: str = "") -> None:
        try:
            count = service(rows=queryset)
        except CatalogChangeRefused as refused:
            for problem in ["Nothing was changed.", *refused.shown_problems()]:
                self.message_user(request, problem, messages.ERROR)
            return
        if count == 0:
            self.message_user(request, f"Nothing to do: the selected rows were already {verb}.", messages.WARNING)
            return
        self.message_user(request, f"{count} {model_ngettext(self.opts, count)} {verb}.{hint}", messages.SUCCESS)


class CatalogExportForm(ExportForm):
    """django-import-export's export form, plus which rows: active by default, deleted ones on request."""

    FORMAT_LABELS = {"csv": "CSV (opens in any spreadsheet program)", "xlsx": "Excel workbook (.xlsx)"}

    rows = forms.ChoiceField(
        label="Rows",
        choices=list(ROW_CHOICES.items()),
        initial="active",
        widget=forms.RadioSelect,
        help_text="The list's search and other filters apply too.",
    )

    def __init__(self, formats, resources, **kwargs):
        super().__init__(formats, resources, **kwargs)
        self.fields["format"].label = "File type"
        self.fields["format"].choices = [
            (value, self.FORMAT_LABELS.get(str(title).lower(), title))
            for value, title in self.fields["format"].choices
            if value != ""  # django-import-export's empty "---" choice: CSV is the default instead
        ]
        self.fields["format"].initial = "0"


class CatalogImportExportMixin(ExportMixin):
    """The "Import a file" and "Export" buttons of a catalog list.

    Export: CSV or XLSX in the import format (:mod:`catalog.resources`), of
    the rows the list shows (its search and filters), active rows unless the
    form asks for deleted ones. Import: a link to the import screen with this
    list's kind preselected (``import_kind``); the import itself runs on the
    project's engine, never through django-import-export.
    """

    #: The kind of this list (``catalog.kinds``): what its Import and Export buttons use.
    import_kind = ""
    import_export_change_list_template = "admin/catalog/change_list_import_export.html"
    export_template_name = "admin/catalog/export.html"
    export_form_class = CatalogExportForm
    export_formats = (base_formats.CSV, base_formats.XLSX)

    def get_resource_classes(self, request):
        return [resource_for(self.import_kind)]

    def has_export_permission(self, request):
        return self.has_view_permission(request)

    def export_rows(self, request) -> str:
        """``active`` / ``deleted`` / ``all``: the form's choice, else the list's status filter."""
        for value in (request.POST.get("rows"), request.GET.get(StatusFilter.parameter_name)):
            if value in ROW_CHOICES:
                return value
        return StatusFilter.default

    def get_export_queryset(self, request):
        # The list's own queryset (search, filters), with the status filter set to the rows asked for.
        listed = copy.copy(request)
        listed.GET = request.GET.copy()
        listed.GET[StatusFilter.parameter_name] = self.export_rows(request)
        return super().get_export_queryset(listed)

    def init_request_context_data(self, request, form):
        if not form.is_bound:
            form.initial["rows"] = self.export_rows(request)
        context = super().init_request_context_data(request, form)
        context["title"] = f"Export {self.opts.verbose_name_plural}"
        context["import_kind"] = self.import_kind
        return context

    def get_export_filename(self, request, queryset, file_format):
        rows = self.export_rows(request)
        suffix = "" if rows == "active" else f"-{rows}"
        day = timezone.localdate().isoformat()
        return f"catalog-{self.import_kind}{suffix}-{day}.{file_format.get_extension()}"

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "has_import_permission": request.user.has_perm("imports.add_importjob"),
            # "back": the import form's Cancel returns to this list, filters and page as they were (issue 15).
            "import_url": f"{reverse('admin:imports_importjob_start')}?"
            + urlencode({"kind": self.import_kind, "back": request.get_full_path()}),
        }
        return super().changelist_view(request, extra_context)


class LiveVariantInline(admin.TabularInline):
    """An item's active variants, read-only: variants are edited on their own page."""

    model = ItemVariant
    fields = ("color", "size", "sku", "price", "stock", "updated_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = "active variants"

    def get_queryset(self, request):
        # The default manager already hides deleted variants. The item too: each
        # row's title is the variant's name, which starts with its item's.
        return super().get_queryset(request).select_related("item", "color", "size")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Item)
class ItemAdmin(CatalogImportExportMixin, CatalogRecordAdmin):
    import_kind = "items"
    list_display: tuple[str, ...] = ("name", "short_description", "is_active", "last_changed")
    search_fields = ("name", "description")
    readonly_fields: ClassVar[tuple[str, ...]] = ("variants_link", *TIMESTAMPS)
    inlines = (LiveVariantInline,)

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else ()  # a new item has no variants to list yet

    @admin.display(description="description")
    def short_description(self, obj):
        return Truncator(obj.description).chars(80)

    @admin.display(description="variants")
    def variants_link(self, obj):
        if obj.pk is None:
            return "-"
        url = reverse("admin:catalog_itemvariant_changelist")
        count = obj.variants.count()
        return format_html(
            '<a href="{}?item__exact={}">{} active variant(s) in the variant list</a>', url, obj.pk, count
        )


@admin.register(Color)
class ColorAdmin(CatalogImportExportMixin, CatalogRecordAdmin):
    import_kind = "colors"
    list_display: tuple[str, ...] = ("color_name", "is_active", "last_changed")
    search_fields = ("color_name",)


@admin.register(Size)
class SizeAdmin(CatalogImportExportMixin, CatalogRecordAdmin):
    import_kind = "sizes"
    list_display: tuple[str, ...] = ("size_name", "is_active", "last_changed")
    search_fields = ("size_name",)


@admin.register(ItemVariant)
class ItemVariantAdmin(CatalogImportExportMixin, CatalogRecordAdmin):
    import_kind = "variants"
    list_display: tuple[str, ...] = ("item", "color", "size", "sku_code", "price", "stock", "is_active", "last_changed")
    list_select_related = ("item", "color", "size")
    list_filter: ClassVar[tuple] = (StatusFilter, "color", "size")
    search_fields = ("sku", "item__name", "color__color_name", "size__size_name")
    autocomplete_fields = ("item", "color", "size")

    @admin.display(description="SKU", ordering="sku")
    def sku_code(self, obj):
        return obj.sku
