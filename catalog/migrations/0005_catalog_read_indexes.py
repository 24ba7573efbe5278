"""Indexes for the catalog API's filters at a million variants (issue 16, goal 4).

* ``?sku=`` matches any case (``UPPER(sku) = UPPER(...)``): a btree on ``UPPER(sku)``;
* ``?name=`` of items and variants matches part of the item's name in any case
  (``UPPER(name) LIKE UPPER('%...%')``): a trigram GIN index on ``UPPER(name)``,
  which needs the ``pg_trgm`` extension (trusted since PostgreSQL 13: the
  database's owner may create it). PostgreSQL only: SQLite catalogs are small.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations, models
from django.db.models.functions import Upper

TRIGRAM_INDEX = "item_master_name_upper_trgm"


def create_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {TRIGRAM_INDEX} ON item_master USING gin (UPPER(name::text) gin_trgm_ops)"
        )


def drop_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {TRIGRAM_INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0004_sku_label"),
    ]

    operations = [
        TrigramExtension(),
        migrations.RunPython(create_trigram_index, drop_trigram_index),
        migrations.AddIndex(
            model_name="itemvariant",
            index=models.Index(Upper("sku"), name="item_variant_sku_upper"),
        ),
    ]
