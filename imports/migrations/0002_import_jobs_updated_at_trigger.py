"""Keep ``import_jobs.updated_at`` current on every UPDATE, on PostgreSQL.

The guide's migration created this trigger; the ORM sets ``updated_at`` too,
but the trigger also covers the raw UPDATEs that claim jobs and write
heartbeats. SQLite has no need: nothing but the ORM writes there.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION import_jobs_set_updated_at() RETURNS trigger AS $$
BEGIN
    NEW.updated_at = now();
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER import_jobs_updated_at
    BEFORE UPDATE ON import_jobs
    FOR EACH ROW EXECUTE FUNCTION import_jobs_set_updated_at();
"""

DROP = """
DROP TRIGGER IF EXISTS import_jobs_updated_at ON import_jobs;
DROP FUNCTION IF EXISTS import_jobs_set_updated_at();
"""


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("imports", "0001_initial")]

    operations = [migrations.RunPython(create_trigger, drop_trigger, elidable=False)]
