"""What PostgreSQL's catalogs say about the catalog tables' unique indexes."""

from django.db import connection

UNIQUE_INDEXES = {
    "idx_item_master_name_unique": "item_master",
    "idx_color_master_color_name_unique": "color_master",
    "idx_size_master_size_name_unique": "size_master",
    "idx_item_variant_item_color_size_unique": "item_variant",
}


def index_names() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE indexname = ANY(%s)", [list(UNIQUE_INDEXES)])
        return {row[0] for row in cursor.fetchall()}


def invalid_indexes() -> list[str]:
    """Indexes PostgreSQL marks INVALID (a failed CREATE INDEX CONCURRENTLY leaves one)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE NOT i.indisvalid"
        )
        return [row[0] for row in cursor.fetchall()]


def empty_catalog_tables() -> None:
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE item_variant, item_master, color_master, size_master RESTART IDENTITY")
