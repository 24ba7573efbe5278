"""The index ``?name=`` on items walks at a million variants (issue 16, goal 4).

``item_master_live_name_upper``: the live items in the list's order (name,
then id), each entry also holding ``UPPER(name)``. A page of
``/api/items/?name=shirt`` is the first 50 matches in name order; PostgreSQL
finds them by walking the names in order past those that do not match (the
trigram index of 0005 finds matches, in no order: sorting 50,000 of them cost
more). From the table that walk fetched each item and upper-cased its name
(``?name=rain``: 90,000 names before its first match, 38 ms); from this index
it reads the upper-case name stored in each entry, without the table (9 ms).
``catalog.pagination`` asks for the page's ids alone, so the walk can be
index-only.

Built ``CONCURRENTLY`` (so the migration is not atomic): the items keep taking
writes while it builds. On SQLite a plain index.
"""

from django.db import migrations, models
from django.db.models.functions import Upper

from catalog.concurrent_constraints import AddIndexWithoutBlocking


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("catalog", "0006_variant_filter_indexes"),
    ]

    operations = [
        AddIndexWithoutBlocking(
            model_name="item",
            index=models.Index(
                models.F("name"),
                models.F("item_id"),
                Upper("name"),
                condition=models.Q(("deleted_at__isnull", True)),
                name="item_master_live_name_upper",
            ),
        ),
    ]
