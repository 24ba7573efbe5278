"""django-import-export importing the benchmark file, as its admin would.

Its idiomatic setup for variants: a ModelResource whose item, color and size
are ForeignKeyWidgets looked up by name, and whose import id is the
(item, color, size) triple. It cannot create missing items, colors or sizes,
so they are created first (not timed), which only flatters it.

Run as ``python -m bench.import_export_run FILE`` with DATABASE_URL set.
"""

from __future__ import annotations

import os
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mtc.settings")
django.setup()

import tablib  # noqa: E402
from import_export import fields, resources, widgets  # noqa: E402

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


def main(path: str) -> None:
    with open(path, encoding="utf-8") as source:
        dataset = tablib.Dataset().load(source.read(), format="csv")
    for model, column, field in (
        (Item, "item_name", "name"),
        (Color, "color_name", "color_name"),
        (Size, "size_name", "size_name"),
    ):
        _create_missing(model, names=dataset[column], field=field)
    started = time.perf_counter()
    result = VariantResource().import_data(dataset, dry_run=False, raise_errors=True)
    elapsed = time.perf_counter() - started
    totals = dict(result.totals)
    print(f"import_data {elapsed:.1f}s for {len(dataset)} rows, totals {totals}")


if __name__ == "__main__":
    main(sys.argv[1])


def _create_missing(model: type[CatalogRecord], *, names: list[str], field: str) -> None:
    """The masters the file names that are not there yet (django-import-export needs them to exist)."""
    known = set(model.objects.values_list(field, flat=True))
    model.objects.bulk_create([model(**{field: name}) for name in dict.fromkeys(names) if name not in known])
