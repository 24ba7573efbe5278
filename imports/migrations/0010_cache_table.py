"""The database cache's table (``settings.CACHE_TABLE``): API throttling counts shared by every process.

Without Redis (and while a configured Redis fails) the import rate limit is
counted here, so it holds across web processes and servers (issue 11). The
table is Django's own (``manage.py createcachetable``), created by migrate so
no deployment step can be forgotten; creating it again is a no-op.
"""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("imports", "0009_quiet_minute_schedules")]

    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop, elidable=True)]
