"""The guide's partial unique indexes, one key per master, live rows only.

Kept apart, and last, so that ``migrate catalog 0002`` drops exactly these
(the guide's rollback step 2) and ``migrate catalog`` restores them.
Non-atomic: PostgreSQL builds each index CONCURRENTLY, blocking no writer.
"""

from django.db import migrations, models

from catalog.concurrent_constraints import AddUniqueConstraintConcurrently

LIVE = models.Q(("deleted_at__isnull", True))


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("catalog", "0002_timestamp_database_defaults")]

    operations = [
        AddUniqueConstraintConcurrently(
            model_name="item",
            constraint=models.UniqueConstraint(condition=LIVE, fields=("name",), name="idx_item_master_name_unique"),
        ),
        AddUniqueConstraintConcurrently(
            model_name="color",
            constraint=models.UniqueConstraint(
                condition=LIVE, fields=("color_name",), name="idx_color_master_color_name_unique"
            ),
        ),
        AddUniqueConstraintConcurrently(
            model_name="size",
            constraint=models.UniqueConstraint(
                condition=LIVE, fields=("size_name",), name="idx_size_master_size_name_unique"
            ),
        ),
        AddUniqueConstraintConcurrently(
            model_name="itemvariant",
            constraint=models.UniqueConstraint(
                condition=LIVE,
                fields=("item", "color", "size"),
                name="idx_item_variant_item_color_size_unique",
            ),
        ),
    ]
