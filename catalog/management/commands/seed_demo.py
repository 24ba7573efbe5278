"""``manage.py seed_demo``: a realistic demo catalog, and a sample file to import."""

import argparse
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from catalog.demo import seed_demo_catalog, write_sample_import_csv

DEFAULT_OUTPUT = Path("var") / "demo" / "sample_variants.csv"


def at_least_one(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return int(text)


class Command(BaseCommand):
    help = (
        "Fill the catalog with a demo apparel shop: N items (e.g. 'Oxford Shirt 0001'), ten colors, "
        "sizes XS to XXL, about ten variants per item with SKUs, prices and stock. Safe to run again: "
        "rows that exist are kept, nothing is duplicated. Also writes a sample variants CSV for the "
        "importer, with a few deliberately bad rows."
    )

    def add_arguments(self, parser):
        parser.add_argument("--items", type=at_least_one, default=50, help="how many items (default 50)")
        parser.add_argument(
            "--output",
            type=Path,
            default=None,
            help=f"where to write the sample CSV (default {DEFAULT_OUTPUT}, under the project)",
        )

    def handle(self, *args, items, output=None, **options):
        report = seed_demo_catalog(items=items)
        path = (output or Path(settings.BASE_DIR) / DEFAULT_OUTPUT).resolve()
        rows = write_sample_import_csv(path=path, items=items)
        self.stdout.write(
            f"Items: {report.items_created} created, {report.items_existing} already there. "
            f"Colors: {report.colors_created} created. Sizes: {report.sizes_created} created. "
            f"Variants: {report.variants_created} created, {report.variants_existing} already there."
        )
        self.stdout.write(f"Sample import file ({rows} rows, 3 of them deliberately invalid): {path}")
