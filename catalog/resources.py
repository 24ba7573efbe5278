"""The catalog as spreadsheets in the import format (django-import-export resources).

Why these exist: an export must be a file someone can edit and import back.
So each resource writes exactly the columns of its import kind
(``imports.engine.kinds``), under the same headers:

``variants``  item_name, description, color_name, size_name, sku, price, stock
``items``     name, description
``colors``    color_name
``sizes``     size_name

These resources are used for EXPORT only. Imports always go through the
project's engine (``imports.services``), never django-import-export's row by
row import.

Values are written so that the importer reads them back unchanged:

* prices as plain decimals (``49.90``), never localised (no ``49,90`` and no
  thousands separator, which the importer refuses); in XLSX as numbers;
* an empty price or stock as an empty cell (the importer reads it as "none");
* text that a spreadsheet would run as a formula (starting with ``= + - @``)
  gets a leading ``'``, as in the failed-rows report; the importer drops it
  again, so a description ``=1+1`` survives the round trip as text.

By default only live rows are exported (``rows="active"``); ``"deleted"`` and
``"all"`` export soft-deleted rows on request. Note that importing a deleted
row back creates a live one.
"""

from __future__ import annotations

from decimal import Decimal

from import_export import fields, resources, widgets

from catalog.models import Color, Item, ItemVariant, Size
from imports.error_reports import neutralize

#: Which rows an export holds, by the admin's status filter value.
ROW_CHOICES = {"active": "Active rows only", "deleted": "Deleted rows only", "all": "Active and deleted rows"}


class TextCell(widgets.Widget):
    """Text as the importer reads it back: formula-like text defused with a leading ``'``."""

    def render(self, value, obj=None, **kwargs):
        return neutralize(value)


class PriceCell(widgets.Widget):
    """A price as plain ``12.50`` (a number in XLSX), or an empty cell."""

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return ""
        value = Decimal(value)
        if kwargs.get("force_native_type"):
            return value
        return format(value, "f")


class CountCell(widgets.Widget):
    """A whole number (a number in XLSX), or an empty cell."""

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return ""
        return int(value) if kwargs.get("force_native_type") else str(int(value))


def _column(attribute: str, header: str, widget: widgets.Widget | None = None) -> fields.Field:
    return fields.Field(attribute=attribute, column_name=header, widget=widget or TextCell(), readonly=True)


class CatalogResource(resources.ModelResource):
    """Shared by the four resources: live rows unless asked otherwise, related rows in one query."""

    #: The import kind whose columns this resource writes.
    kind = ""
    related: tuple[str, ...] = ()

    def __init__(self, *, rows: str = "active", **kwargs):
        super().__init__(**kwargs)
        if rows not in ROW_CHOICES:
            raise ValueError(f"rows must be one of {', '.join(ROW_CHOICES)}, not {rows!r}")
        self.rows = rows

    def get_queryset(self):
        queryset = self._meta.model.all_objects.all()
        if self.rows == "active":
            queryset = queryset.live()
        elif self.rows == "deleted":
            queryset = queryset.deleted()
        return queryset.order_by(*self._meta.model._meta.ordering)

    def filter_export(self, queryset, **kwargs):
        return queryset.select_related(*self.related) if self.related else queryset


class VariantResource(CatalogResource):
    kind = "variants"
    related = ("item", "color", "size")

    item_name = _column("item__name", "item_name")
    description = _column("item__description", "description")
    color_name = _column("color__color_name", "color_name")
    size_name = _column("size__size_name", "size_name")
    sku = _column("sku", "sku")
    price = _column("price", "price", PriceCell())
    stock = _column("stock", "stock", CountCell())

    class Meta:
        model = ItemVariant
        name = "Item variants (import format)"
        fields = ("item_name", "description", "color_name", "size_name", "sku", "price", "stock")
        export_order = fields


class ItemResource(CatalogResource):
    kind = "items"

    name = _column("name", "name")
    description = _column("description", "description")

    class Meta:
        model = Item
        name = "Items (import format)"
        fields = ("name", "description")
        export_order = fields


class ColorResource(CatalogResource):
    kind = "colors"

    color_name = _column("color_name", "color_name")

    class Meta:
        model = Color
        name = "Colors (import format)"
        fields = ("color_name",)
        export_order = fields


class SizeResource(CatalogResource):
    kind = "sizes"

    size_name = _column("size_name", "size_name")

    class Meta:
        model = Size
        name = "Sizes (import format)"
        fields = ("size_name",)
        export_order = fields


#: The export resource of each import kind.
RESOURCES: dict[str, type[CatalogResource]] = {
    resource.kind: resource for resource in (VariantResource, ItemResource, ColorResource, SizeResource)
}
