"""Read-only API for the catalog masters: items (with their variants), colors, sizes, variants.

Live rows by default (``?status=deleted`` or ``?status=all`` to see soft-deleted
ones, as in the admin); ``?name=`` filters by name (case-insensitive, part of
the name); every list is paginated. Each list costs a fixed number of queries
whatever the page size (a COUNT, the page, and for items one prefetch of the
page's variants with their colors and sizes), each served by the partial
unique indexes' ordering: ``manage.py benchmark_catalog_api`` measures them on
100,000 variants.
"""

from __future__ import annotations

from django.db.models import Prefetch
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import ValidationError

from catalog.models import Color, Item, ItemVariant, Size

STATUSES = (("active", "Active (not deleted)"), ("deleted", "Deleted (can be restored)"), ("all", "All"))


# --- Querysets: live rows unless asked otherwise --------------------------------------------


def rows_by_status(*, model, status: str):
    """``model``'s rows for a status filter value: active (default), deleted or all."""
    rows = model.all_objects.all()
    if status == "deleted":
        return rows.filter(deleted_at__isnull=False)
    if status == "all":
        return rows
    return rows.filter(deleted_at__isnull=True)


def variant_rows(*, status: str = "active"):
    return rows_by_status(model=ItemVariant, status=status).select_related("item", "color", "size")


def item_rows(*, status: str = "active"):
    """Items with their variants (live ones for live items; all of them otherwise) in one prefetch."""
    nested = rows_by_status(model=ItemVariant, status="active" if status in ("", "active") else "all")
    nested = nested.select_related("color", "size").order_by("color__color_name", "size__size_name", "variant_id")
    return rows_by_status(model=Item, status=status).prefetch_related(Prefetch("variants", queryset=nested))


# --- Filters ---------------------------------------------------------------------------------


class StatusFilterSet(filters.FilterSet):
    status = filters.ChoiceFilter(choices=STATUSES, method="by_status", empty_label=None)

    def by_status(self, queryset, name, value):
        return queryset  # applied by the view's queryset, before prefetches are set up

    @property
    def status_value(self) -> str:
        return self.data.get("status") or "active"


class ItemFilter(StatusFilterSet):
    name = filters.CharFilter(field_name="name", lookup_expr="icontains")

    class Meta:
        model = Item
        fields = ["name", "status"]


class ColorFilter(StatusFilterSet):
    name = filters.CharFilter(field_name="color_name", lookup_expr="icontains")

    class Meta:
        model = Color
        fields = ["name", "status"]


class SizeFilter(StatusFilterSet):
    name = filters.CharFilter(field_name="size_name", lookup_expr="icontains")

    class Meta:
        model = Size
        fields = ["name", "status"]


class VariantFilter(StatusFilterSet):
    name = filters.CharFilter(field_name="item__name", lookup_expr="icontains", label="Item name contains")
    color = filters.CharFilter(field_name="color__color_name", lookup_expr="iexact", label="Color name")
    size = filters.CharFilter(field_name="size__size_name", lookup_expr="iexact", label="Size name")
    item_id = filters.NumberFilter(field_name="item_id")
    sku = filters.CharFilter(field_name="sku", lookup_expr="iexact")

    class Meta:
        model = ItemVariant
        fields = ["name", "color", "size", "item_id", "sku", "status"]


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


class VariantSerializer(serializers.ModelSerializer):
    item_name = serializers.CharField(source="item.name", read_only=True)
    color_name = serializers.CharField(source="color.color_name", read_only=True)
    size_name = serializers.CharField(source="size.size_name", read_only=True)

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


class ItemVariantSerializer(serializers.ModelSerializer):
    """A variant inside its item (the item is the parent)."""

    color_name = serializers.CharField(source="color.color_name", read_only=True)
    size_name = serializers.CharField(source="size.size_name", read_only=True)

    class Meta:
        model = ItemVariant
        fields = ("variant_id", "color_id", "color_name", "size_id", "size_name", "sku", "price", "stock", "deleted_at")


class ItemSerializer(serializers.ModelSerializer):
    variants = ItemVariantSerializer(many=True, read_only=True)

    class Meta:
        model = Item
        fields = ("item_id", "name", "description", *TIMESTAMPS, "variants")


# --- Views -----------------------------------------------------------------------------------


DETAIL_SCHEMA = extend_schema(
    tags=["catalog"],
    parameters=[OpenApiParameter("status", str, enum=[value for value, _ in STATUSES], default="active")],
)


class _CatalogReadMixin:
    """Querysets by the ``status`` filter; everything else is DRF's generic list/retrieve."""

    rows = None  # a function(status=...) -> queryset

    def get_queryset(self):
        status = self.request.query_params.get("status") or "active"
        if status not in dict(STATUSES):
            raise ValidationError({"status": f"Expected one of {', '.join(dict(STATUSES))}, not {status!r}."})
        return type(self).rows(status=status)


@extend_schema(tags=["catalog"], summary="Items, each with its variants")
class ItemListApi(_CatalogReadMixin, generics.ListAPIView):
    serializer_class = ItemSerializer
    filterset_class = ItemFilter
    rows = staticmethod(item_rows)


@DETAIL_SCHEMA
class ItemDetailApi(_CatalogReadMixin, generics.RetrieveAPIView):
    """An item with its variants (``?status=all`` to reach a deleted one)."""

    serializer_class = ItemSerializer
    rows = staticmethod(item_rows)
    lookup_url_kwarg = "item_id"


@extend_schema(tags=["catalog"])
class ColorListApi(_CatalogReadMixin, generics.ListAPIView):
    serializer_class = ColorSerializer
    filterset_class = ColorFilter
    rows = staticmethod(lambda status: rows_by_status(model=Color, status=status))


@DETAIL_SCHEMA
class ColorDetailApi(_CatalogReadMixin, generics.RetrieveAPIView):
    serializer_class = ColorSerializer
    rows = staticmethod(lambda status: rows_by_status(model=Color, status=status))
    lookup_url_kwarg = "color_id"


@extend_schema(tags=["catalog"])
class SizeListApi(_CatalogReadMixin, generics.ListAPIView):
    serializer_class = SizeSerializer
    filterset_class = SizeFilter
    rows = staticmethod(lambda status: rows_by_status(model=Size, status=status))


@DETAIL_SCHEMA
class SizeDetailApi(_CatalogReadMixin, generics.RetrieveAPIView):
    serializer_class = SizeSerializer
    rows = staticmethod(lambda status: rows_by_status(model=Size, status=status))
    lookup_url_kwarg = "size_id"


@extend_schema(tags=["catalog"])
class VariantListApi(_CatalogReadMixin, generics.ListAPIView):
    serializer_class = VariantSerializer
    filterset_class = VariantFilter
    rows = staticmethod(variant_rows)


@DETAIL_SCHEMA
class VariantDetailApi(_CatalogReadMixin, generics.RetrieveAPIView):
    serializer_class = VariantSerializer
    rows = staticmethod(variant_rows)
    lookup_url_kwarg = "variant_id"
