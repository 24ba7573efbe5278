"""Read-only API for the catalog masters: items (with their variants), colors, sizes, variants.

Live rows by default (``?status=deleted`` or ``?status=all`` to see soft-deleted
ones, as in the admin); ``?name=`` filters by name (case-insensitive, part of
the name; a trigram index serves it), ``?sku=`` by SKU (any case; an index on
its upper case); every list is paginated (``catalog.pagination``: page numbers
for the first 10,000 rows, cursors at any depth, a count exact up to 1,000 and
estimated past it). Each list costs a fixed number of queries whatever the page
size (a bounded COUNT, the estimate past it, the page, and for items one
query for the page's variants with their colors' and sizes' names, read as
plain rows: ``selectors.with_variants``), each served by an index:
``manage.py benchmark_catalog_api`` measures them at 1,000,000 variants.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any, ClassVar

from django import forms
from django.conf import settings
from django.db.models import QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import ValidationError

from catalog.models import Color, Item, ItemVariant, Size
from catalog.pagination import CatalogPages, ItemPages
from catalog.selectors import (
    LISTED_VARIANT_COLUMNS,
    STATUSES,
    item_rows,
    name_search_plan,
    rows_by_status,
    variant_rows,
    with_variants,
)
from mtc.storable import clipped

#: The most variants of an item a list of items shows (``variant_count`` says how many there are).
LISTED_VARIANTS = 100

# --- Filters ---------------------------------------------------------------------------------


class ItemFilter(filters.FilterSet):
    name = filters.CharFilter(field_name="name", lookup_expr="icontains")

    class Meta:
        model = Item
        fields = ["name"]


class ColorFilter(filters.FilterSet):
    name = filters.CharFilter(field_name="color_name", lookup_expr="icontains")

    class Meta:
        model = Color
        fields = ["name"]


class SizeFilter(filters.FilterSet):
    name = filters.CharFilter(field_name="size_name", lookup_expr="icontains")

    class Meta:
        model = Size
        fields = ["name"]


class IdFilter(filters.NumberFilter):
    """A row id: a whole number a database column can hold (anything else is a 400, never a 500)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        super().__init__(*args, min_value=1, max_value=2**63 - 1, **kwargs)


class VariantFilter(filters.FilterSet):
    name = filters.CharFilter(field_name="item__name", lookup_expr="icontains", label="Item name contains")
    color = filters.CharFilter(field_name="color__color_name", lookup_expr="iexact", label="Color name")
    size = filters.CharFilter(field_name="size__size_name", lookup_expr="iexact", label="Size name")
    item_id = IdFilter(field_name="item_id")
    sku = filters.CharFilter(field_name="sku", lookup_expr="iexact")

    class Meta:
        model = ItemVariant
        fields = ["name", "color", "size", "item_id", "sku"]


# --- Serializers -----------------------------------------------------------------------------

TIMESTAMPS = ("created_at", "updated_at", "deleted_at")


class ColorSerializer(serializers.ModelSerializer):
    class Meta:
        model = Color
        fields = ("color_id", "color_name", *TIMESTAMPS)


class SizeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Size
        fields = ("size_id", "size_name", *TIMESTAMPS)


class RowSerializer(serializers.ModelSerializer):
    # A read-only shape written out by hand: each field's value by the field's name, formatted
    # only where JSON differs from the value. (A comment, not a docstring: drf-spectacular would
    # make a docstring every subclass's description in the schema.)
    #
    # Lists of variants are the API's bulk (a page of items holds up to 50 times LISTED_VARIANTS
    # of them, a page of variants up to 500), and DRF's walk of each field of each row (its
    # attribute lookups, checks and copies) was half of their time. A row is a dict
    # (``selectors.with_variants``) or a model instance whose related names are annotations
    # (``selectors.variant_rows``). The declared fields still give the schema; decimals and times
    # keep their own fields' format.

    @cached_property
    def _formats(self) -> dict[str, Callable[[Any], Any] | None]:
        """Each field by name, with its own representation where JSON differs from the value (a decimal, a time)."""
        formatted = (serializers.DecimalField, serializers.DateTimeField)
        return {
            name: field.to_representation if isinstance(field, formatted) else None
            for name, field in self.fields.items()
        }

    def to_representation(self, instance) -> dict[str, Any]:
        values = instance if isinstance(instance, dict) else vars(instance)  # a model's columns and annotations
        shown = {}
        for name, format in self._formats.items():
            value = values[name]
            shown[name] = value if format is None or value is None else format(value)
        return shown


class VariantSerializer(RowSerializer):
    item_name = serializers.CharField(read_only=True)
    color_name = serializers.CharField(read_only=True)
    size_name = serializers.CharField(read_only=True)

    class Meta:
        model = ItemVariant
        fields = (
            "variant_id",
            "item_id",
            "item_name",
            "color_id",
            "color_name",
            "size_id",
            "size_name",
            "sku",
            "price",
            "stock",
            *TIMESTAMPS,
        )


class ItemVariantSerializer(RowSerializer):
    """A variant inside its item (the item is the parent)."""

    color_name = serializers.CharField(read_only=True)
    size_name = serializers.CharField(read_only=True)

    class Meta:
        model = ItemVariant
        fields = LISTED_VARIANT_COLUMNS  # what with_variants reads is what is written out


class ItemSerializer(serializers.ModelSerializer):
    variants = ItemVariantSerializer(many=True, read_only=True, source="listed_variants")

    class Meta:
        model = Item
        fields: tuple[str, ...] = ("item_id", "name", "description", *TIMESTAMPS, "variants")


class ClippedText(serializers.CharField):
    """A long text as a list shows it: at most ``IMPORT_MAX_DESCRIPTION_LENGTH`` characters, cut ending in ``…``."""

    def to_representation(self, value):
        return clipped(super().to_representation(value), settings.IMPORT_MAX_DESCRIPTION_LENGTH)


class ItemListSerializer(ItemSerializer):
    """An item in a list: its description cut to the limit, and at most :data:`LISTED_VARIANTS` of its variants.

    A list's page is bounded whatever the rows hold (a description stored
    before the limit, an item with a million variants); ``variant_count``
    says how many there are, and the item's own endpoint has everything.
    """

    description = ClippedText(
        source="description_head",
        help_text="At most IMPORT_MAX_DESCRIPTION_LENGTH characters, cut ending in '…' (the item's endpoint has all).",
    )
    variant_count = serializers.IntegerField(
        read_only=True, help_text=f"How many variants the item has; the list shows the first {LISTED_VARIANTS}."
    )

    class Meta(ItemSerializer.Meta):
        fields = (*ItemSerializer.Meta.fields, "variant_count")


# --- Views -----------------------------------------------------------------------------------


#: ``?status=``: which rows, active (the default), deleted or all; applied by the view's queryset.
STATUS = OpenApiParameter(
    "status", str, enum=[value for value, _ in STATUSES], default="active", description="Which rows: by soft delete"
)
DETAIL_SCHEMA = extend_schema(tags=["catalog"], parameters=[STATUS])


class _CatalogReadMixin(generics.GenericAPIView):
    """Querysets by the ``status`` filter; everything else is DRF's generic list/retrieve."""

    #: The selector giving the rows for a ``status`` value.
    rows: ClassVar[Callable[..., QuerySet]]

    @property
    def status(self) -> str:
        # Absent means active; an empty ``status=`` is outside the documented enum and refused (issue 11).
        status = self.request.query_params.get("status", "active")
        if status not in dict(STATUSES):
            raise ValidationError({"status": f"Expected one of {', '.join(dict(STATUSES))}, not {status!r}."})
        return status

    def get_queryset(self):
        return type(self).rows(status=self.status)


class _ItemNameSearchMixin(_CatalogReadMixin):
    # A list filterable by its items' names (``?name=``): counted and paged under
    # ``selectors.name_search_plan``. (A comment, not a docstring: drf-spectacular would make a
    # docstring the description of the views in the schema.)

    #: Whether ``?name=`` reads live items only (the items' list with ``status`` active).
    of_live_items: ClassVar[bool] = False

    def paginate_queryset(self, queryset):
        live = self.of_live_items and self.status == "active"
        with name_search_plan(self.request.query_params.get("name"), of_live_items=live):
            return super().paginate_queryset(queryset)


@extend_schema(
    tags=["catalog"],
    summary=f"Items, each with its first {LISTED_VARIANTS} variants (a page's size is bounded)",
    parameters=[STATUS],
)
class ItemListApi(_ItemNameSearchMixin, generics.ListAPIView):
    serializer_class = ItemListSerializer
    pagination_class = ItemPages
    filterset_class = ItemFilter
    of_live_items = True
    rows = staticmethod(lambda status: item_rows(status=status, text=settings.IMPORT_MAX_DESCRIPTION_LENGTH + 1))

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        return with_variants(page, status=self.status, first=LISTED_VARIANTS)


@DETAIL_SCHEMA
class ItemDetailApi(_CatalogReadMixin, generics.RetrieveAPIView):
    """An item with its variants (``?status=all`` to reach a deleted one)."""

    serializer_class = ItemSerializer
    rows = staticmethod(item_rows)
    lookup_url_kwarg = "item_id"

    def get_object(self):
        (item,) = with_variants([super().get_object()], status=self.status)
        return item


@extend_schema(tags=["catalog"], parameters=[STATUS])
class ColorListApi(_CatalogReadMixin, generics.ListAPIView):
    serializer_class = ColorSerializer
    pagination_class = CatalogPages
    filterset_class = ColorFilter
    rows = staticmethod(lambda status: rows_by_status(model=Color, status=status))


@DETAIL_SCHEMA
class ColorDetailApi(_CatalogReadMixin, generics.RetrieveAPIView):
    serializer_class = ColorSerializer
    rows = staticmethod(lambda status: rows_by_status(model=Color, status=status))
    lookup_url_kwarg = "color_id"


@extend_schema(tags=["catalog"], parameters=[STATUS])
class SizeListApi(_CatalogReadMixin, generics.ListAPIView):
    serializer_class = SizeSerializer
    pagination_class = CatalogPages
    filterset_class = SizeFilter
    rows = staticmethod(lambda status: rows_by_status(model=Size, status=status))


@DETAIL_SCHEMA
class SizeDetailApi(_CatalogReadMixin, generics.RetrieveAPIView):
    serializer_class = SizeSerializer
    rows = staticmethod(lambda status: rows_by_status(model=Size, status=status))
    lookup_url_kwarg = "size_id"


@extend_schema(tags=["catalog"], parameters=[STATUS])
class VariantListApi(_ItemNameSearchMixin, generics.ListAPIView):
    serializer_class = VariantSerializer
    pagination_class = CatalogPages
    filterset_class = VariantFilter
    rows = staticmethod(variant_rows)


@DETAIL_SCHEMA
class VariantDetailApi(_CatalogReadMixin, generics.RetrieveAPIView):
    serializer_class = VariantSerializer
    rows = staticmethod(variant_rows)
    lookup_url_kwarg = "variant_id"
