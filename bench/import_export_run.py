"""django-import-export importing the benchmark file, as its admin would, untuned or tuned.

``untuned``: its idiomatic setup for variants: a ModelResource whose item,
color and size are ForeignKeyWidgets looked up by name, and whose import id is
the (item, color, size) triple; unchanged rows skipped (``skip_unchanged``),
each row in its own savepoint, so each row's error is its own.

``tuned``: the same resource with every speed option its documentation offers
(the "Bulk imports" page and the performance advice of its maintainers):

* ``use_bulk = True`` and ``batch_size = 1000``: rows are saved by
  ``bulk_create`` / ``bulk_update`` a thousand at a time, with no savepoint
  per row;
* ``skip_diff = True``: no copy and comparison of each instance;
* a cached instance loader: the live variants the file names are loaded in
  one query (its own ``CachedInstanceLoader`` takes a single import id field;
  this one is the same idea keyed by the triple);
* cached foreign-key widgets: each item, color and size name is resolved from
  one query per table instead of one query per row and column.

What tuned mode loses (its "Bulk imports" caveats, and ``skip_diff``'s
documentation): a database error fails a whole batch of 1,000 rows and is not
linked to a row (it is logged, or raised with ``raise_errors``), and the
batches before it stay written (a partial import); ``skip_unchanged`` no
longer works, so every unchanged row is rewritten by ``bulk_update``; no
``save()`` and no signals. The engine keeps per-row errors, skips unchanged
rows and resumes by batch at the same time.

Neither can create missing items, colors or sizes, so they are created first
(not timed), which only flatters it.

Run as ``python -m bench.import_export_run FILE [untuned|tuned]`` with DATABASE_URL set.
"""

from __future__ import annotations

import os
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mtc.settings")
django.setup()

import tablib  # noqa: E402
from import_export import fields, instance_loaders, resources, widgets  # noqa: E402

from catalog.models import CatalogRecord, Color, Item, ItemVariant, Size  # noqa: E402


class VariantResource(resources.ModelResource):
    item = fields.Field(attribute="item", column_name="item_name", widget=widgets.ForeignKeyWidget(Item, "name"))
    color = fields.Field(
        attribute="color", column_name="color_name", widget=widgets.ForeignKeyWidget(Color, "color_name")
    )
    size = fields.Field(attribute="size", column_name="size_name", widget=widgets.ForeignKeyWidget(Size, "size_name"))

    class Meta:
        model = ItemVariant
        fields = ("item", "color", "size", "sku", "price", "stock")
        import_id_fields = ("item", "color", "size")
        skip_unchanged = True
        use_transactions = True


class CachedForeignKeyWidget(widgets.ForeignKeyWidget):
    """A ForeignKeyWidget resolving names from one query of the whole table, made on first use."""

    def __init__(self, model, field):
        super().__init__(model, field)
        self.cache: dict[str, object] | None = None

    def clean(self, value, row=None, **kwargs):
        if not value:
            return None
        if self.cache is None:
            self.cache = {getattr(instance, self.field): instance for instance in self.model.objects.all()}
        try:
            return self.cache[value]
        except KeyError:
            raise self.model.DoesNotExist(f"{self.model.__name__} {value!r} does not exist") from None


class CachedTripleInstanceLoader(instance_loaders.BaseInstanceLoader):
    """``CachedInstanceLoader`` for a three-field import id: every live variant of the file's items, in one query."""

    def __init__(self, resource, dataset=None):
        super().__init__(resource, dataset)
        fields_ = [resource.fields[name] for name in resource.get_import_id_fields()]
        names = {row["item_name"] for row in dataset.dict} if dataset is not None else set()
        self.key_fields = fields_
        self.instances = {
            (variant.item_id, variant.color_id, variant.size_id): variant
            for variant in ItemVariant.objects.filter(item__name__in=names)
        }

    def get_instance(self, row):
        item, color, size = (field.clean(row) for field in self.key_fields)
        return self.instances.get((item.pk, color.pk, size.pk))


class TunedVariantResource(VariantResource):
    item = fields.Field(attribute="item", column_name="item_name", widget=CachedForeignKeyWidget(Item, "name"))
    color = fields.Field(
        attribute="color", column_name="color_name", widget=CachedForeignKeyWidget(Color, "color_name")
    )
    size = fields.Field(attribute="size", column_name="size_name", widget=CachedForeignKeyWidget(Size, "size_name"))

    class Meta(VariantResource.Meta):
        use_bulk = True
        batch_size = 1000
        skip_diff = True
        instance_loader_class = CachedTripleInstanceLoader


RESOURCES = {"untuned": VariantResource, "tuned": TunedVariantResource}


def main(path: str, mode: str = "untuned") -> None:
    with open(path, encoding="utf-8") as source:
        dataset = tablib.Dataset().load(source.read(), format="csv")
    for model, column, field in (
        (Item, "item_name", "name"),
        (Color, "color_name", "color_name"),
        (Size, "size_name", "size_name"),
    ):
        _create_missing(model, names=dataset[column], field=field)
    started = time.perf_counter()
    result = RESOURCES[mode]().import_data(dataset, dry_run=False, raise_errors=True)
    elapsed = time.perf_counter() - started
    totals = {kind: count for kind, count in result.totals.items() if count}
    print(f"{mode}: import_data {elapsed:.1f}s for {len(dataset)} rows, totals {totals}")


def _create_missing(model: type[CatalogRecord], *, names: list[str], field: str) -> None:
    """The masters the file names that are not there yet (django-import-export needs them to exist)."""
    known = set(model.objects.values_list(field, flat=True))
    model.objects.bulk_create([model(**{field: name}) for name in dict.fromkeys(names) if name not in known])


if __name__ == "__main__":
    main(*sys.argv[1:])
