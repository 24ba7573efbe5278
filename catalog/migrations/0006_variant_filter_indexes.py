"""Indexes for the rest of the catalog API's filters at a million variants (issue 16, goal 4).

* ``?color=`` with ``?size=`` on variants: the live variants of one color in
  one size, in the list's order (``item_variant_color_size_live``). With a
  name too (``?name=chino&color=navy&size=m``, which matches nothing), the
  count joins the 20,000 navy M variants to the 10,000 chino items instead of
  walking the million variants in order looking for a match (340 ms p50).
* ``?name=`` on colors and sizes and ``?color=``, ``?size=`` on variants
  (``UPPER(name) LIKE`` and ``UPPER(name) =``): trigram GIN indexes on the
  upper-case name, as ``item_master`` has (0005); PostgreSQL only.

Every index is built ``CONCURRENTLY`` (so the migration is not atomic): a
catalog of a million variants keeps taking writes while they build.
"""

from django.db import migrations, models

from catalog.concurrent_constraints import AddIndexWithoutBlocking

#: The trigram index on each small master's upper-case name: (index, table, column).
NAME_TRIGRAM_INDEXES = (
    ("color_master_color_name_upper_trgm", "color_master", "color_name"),
    ("size_master_size_name_upper_trgm", "size_master", "size_name"),
)


def create_name_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for index, table, column in NAME_TRIGRAM_INDEXES:
            schema_editor.execute(
                f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {index} ON {table} USING gin (UPPER({column}::text) gin_trgm_ops)"
            )


def drop_name_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for index, _, _ in NAME_TRIGRAM_INDEXES:
            schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {index}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("catalog", "0005_catalog_read_indexes"),
    ]

    operations = [
        AddIndexWithoutBlocking(
            model_name="itemvariant",
            index=models.Index(
                condition=models.Q(("deleted_at__isnull", True)),
                fields=["color", "size", "item", "variant_id"],
                name="item_variant_color_size_live",
            ),
        ),
        migrations.RunPython(create_name_trigram_indexes, drop_name_trigram_indexes),
    ]
