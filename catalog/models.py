"""The catalog masters: items, colors, sizes and item variants.

Rows are soft-deleted (``deleted_at`` set) and unique among live rows only:
each key has a partial unique index ``... WHERE deleted_at IS NULL`` named as in
the migration guide, which is also what the importer's
``INSERT ... ON CONFLICT (...) WHERE deleted_at IS NULL`` resolves against.

``Model.objects`` returns live rows only, so forgetting a filter can never
leak a deleted row; ``Model.all_objects`` sees every row (the admin's
"deleted" filter, restores, audits).
"""

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Now, Upper
from django.utils import timezone

from catalog.keys import normalize_key

LIVE = Q(deleted_at__isnull=True)


class SoftDeleteQuerySet(models.QuerySet):
    def live(self):
        return self.filter(deleted_at__isnull=True)

    def deleted(self):
        return self.filter(deleted_at__isnull=False)


AllRowsManager = models.Manager.from_queryset(SoftDeleteQuerySet)


class LiveManager(AllRowsManager):
    def get_queryset(self):
        return super().get_queryset().filter(deleted_at__isnull=True)


class CatalogRecord(models.Model):
    # Database defaults too, so plain SQL (the guide's own checks, other tools) can insert rows.
    created_at = models.DateTimeField(default=timezone.now, db_default=Now(), editable=False)
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = LiveManager()
    all_objects = AllRowsManager()

    #: The fields that identify a live row; normalised on save.
    key_fields: tuple[str, ...] = ()
    #: Key fields holding names (normalised with :func:`normalize_key`).
    name_fields: tuple[str, ...] = ()

    class Meta:
        abstract = True
        base_manager_name = "all_objects"
        default_manager_name = "objects"

    def save(self, *args, **kwargs):
        self.normalize_names()
        super().save(*args, **kwargs)

    def clean(self):
        super().clean()
        self.normalize_names()

    @property
    def is_live(self) -> bool:
        return self.deleted_at is None

    def normalize_names(self) -> None:
        for field in self.name_fields:
            setattr(self, field, normalize_key(getattr(self, field) or ""))


class Item(CatalogRecord):
    item_id = models.BigAutoField(primary_key=True)
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="")

    key_fields = ("name",)
    name_fields = ("name",)

    class Meta(CatalogRecord.Meta):
        db_table = "item_master"
        ordering = ["name", "item_id"]
        constraints = [
            models.UniqueConstraint(fields=["name"], condition=LIVE, name="idx_item_master_name_unique"),
        ]
        indexes = [
            # The live items in the list's order, each with its upper-case name: ``?name=`` (the API,
            # ``UPPER(name) LIKE UPPER('%...%')``) walks it index-only, reading the upper-case name
            # from the entry instead of fetching the row and upper-casing its name (0007).
            models.Index(F("name"), F("item_id"), Upper("name"), condition=LIVE, name="item_master_live_name_upper"),
        ]

    def __str__(self) -> str:
        return self.name


class Color(CatalogRecord):
    color_id = models.BigAutoField(primary_key=True)
    color_name = models.CharField(max_length=100)

    key_fields = ("color_name",)
    name_fields = ("color_name",)

    class Meta(CatalogRecord.Meta):
        db_table = "color_master"
        ordering = ["color_name", "color_id"]
        constraints = [
            models.UniqueConstraint(fields=["color_name"], condition=LIVE, name="idx_color_master_color_name_unique"),
        ]

    def __str__(self) -> str:
        return self.color_name


class Size(CatalogRecord):
    size_id = models.BigAutoField(primary_key=True)
    size_name = models.CharField(max_length=50)

    key_fields = ("size_name",)
    name_fields = ("size_name",)

    class Meta(CatalogRecord.Meta):
        db_table = "size_master"
        ordering = ["size_name", "size_id"]
        constraints = [
            models.UniqueConstraint(fields=["size_name"], condition=LIVE, name="idx_size_master_size_name_unique"),
        ]

    def __str__(self) -> str:
        return self.size_name


class ItemVariant(CatalogRecord):
    """One item in one color and one size."""

    variant_id = models.BigAutoField(primary_key=True)
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="variants")
    color = models.ForeignKey(Color, on_delete=models.PROTECT, related_name="variants")
    size = models.ForeignKey(Size, on_delete=models.PROTECT, related_name="variants")
    sku = models.CharField("SKU", max_length=64, blank=True, default="")
    price = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    stock = models.IntegerField(null=True, blank=True, validators=[MinValueValidator(0)])

    key_fields = ("item", "color", "size")

    class Meta(CatalogRecord.Meta):
        db_table = "item_variant"
        ordering = ["item_id", "color_id", "size_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["item", "color", "size"],
                condition=LIVE,
                name="idx_item_variant_item_color_size_unique",
            ),
        ]
        indexes = [
            # ``?sku=`` (the API, any case: ``UPPER(sku) = UPPER(...)``) at a million variants.
            models.Index(Upper("sku"), name="item_variant_sku_upper"),
            # ``?color=`` with ``?size=`` (the API): the live variants of one color in one size, in
            # the list's order (by item, then id, the two others being fixed).
            models.Index(
                fields=["color", "size", "item", "variant_id"], condition=LIVE, name="item_variant_color_size_live"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item} / {self.color} / {self.size}"
