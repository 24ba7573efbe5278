"""The catalog as spreadsheets in the import format (django-import-export resources).

Why these exist: an export must be a file someone can edit and import back.
So the resource of each kind (``catalog.kinds``) writes exactly that kind's
columns, under the same headers, and is built from the registry rather than
written by hand: a column added to a master appears in its exports too.

``variants``  item_name, description, color_name, size_name, sku, price, stock
``items``     name, description
``colors``    color_name
``sizes``     size_name

These resources are used for EXPORT only. Imports always go through the
project's engine (``imports.services``), never django-import-export's row by
row import.

Values are written so that the importer reads them back unchanged:

* decimals (prices) as plain ``49.90``, never localised (no ``49,90`` and no
  thousands separator, which the importer refuses); in XLSX as numbers;
* an empty price or stock as an empty cell (the importer reads it as "none");
* text that a spreadsheet would run as a formula (starting with ``= + - @``)
  is guarded (``mtc.cell_guard``: a leading ``'``), as in the failed-rows
  report; the importer drops it again, so a description ``=1+1`` survives the
  round trip as text.

By default only live rows are exported (``rows="active"``); ``"deleted"`` and
``"all"`` export soft-deleted rows on request. Note that importing a deleted
row back creates a live one.
"""

from __future__ import annotations

from decimal import Decimal

from import_export import fields, resources, widgets

from catalog.kinds import KINDS, Column, Kind
from mtc.cell_guard import guard_cell

#: Which rows an export holds, by the admin's status filter value.
ROW_CHOICES = {"active": "Active rows only", "deleted": "Deleted rows only", "all": "Active and deleted rows"}


class TextCell(widgets.Widget):
    """Text as the importer reads it back: formula-like text guarded with a leading ``'``."""

    def render(self, value, obj=None, **kwargs):
        return guard_cell(value)


class DecimalCell(widgets.Widget):
    """A decimal as plain ``12.50`` (a number in XLSX), or an empty cell."""

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


#: The cell writer of each column type.
CELLS: dict[str, type[widgets.Widget]] = {"decimal": DecimalCell, "count": CountCell}


class CatalogResource(resources.ModelResource):
    """Shared by the kinds' resources: live rows unless asked otherwise, parents in one query."""

    #: The kind whose columns this resource writes.
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


def _field(column: Column) -> fields.Field:
    widget = CELLS.get(column.type, TextCell)()
    return fields.Field(attribute=column.path, column_name=column.name, widget=widget, readonly=True)


def _resource(kind: Kind) -> type[CatalogResource]:
    names = kind.column_names
    meta = type(
        "Meta",
        (),
        {"model": kind.master.model, "name": f"{kind.label} (import format)", "fields": names, "export_order": names},
    )
    attributes = {
        "__module__": __name__,
        "kind": kind.name,
        "related": tuple(parent.relation for parent in kind.parents),
        "Meta": meta,
        **{column.name: _field(column) for column in kind.columns},
    }
    return type(f"{kind.master.model.__name__}Resource", (CatalogResource,), attributes)


_built: dict[str, tuple[Kind, type[CatalogResource]]] = {}


def resource_for(kind: str) -> type[CatalogResource]:
    """The export resource of ``kind`` (built again when the kind is derived again)."""
    derived = KINDS.get(kind)
    built = _built.get(kind)
    if built is None or built[0] is not derived:
        built = _built[kind] = (derived, _resource(derived))
    return built[1]
