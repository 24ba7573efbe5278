"""The floor: PostgreSQL's own bulk path on the same tables, as one process.

COPY the file into a TEMP staging table (PostgreSQL parses the CSV), then one
set-based upsert per table through the same partial unique indexes, all in
one transaction. No validation, no per-row errors, no batching: the fastest
this load can be, which the engine is measured against.

Run as ``python -m bench.floor DSN FILE``.
"""

from __future__ import annotations

import sys

import psycopg2

MERGE = """
INSERT INTO item_master (name, description, created_at, updated_at)
SELECT DISTINCT ON (item_name) item_name, description, now(), now() FROM stg ORDER BY item_name
ON CONFLICT (name) WHERE deleted_at IS NULL DO UPDATE SET description = EXCLUDED.description
WHERE item_master.description IS DISTINCT FROM EXCLUDED.description;

INSERT INTO color_master (color_name, created_at, updated_at)
SELECT DISTINCT color_name, now(), now() FROM stg ORDER BY 1
ON CONFLICT (color_name) WHERE deleted_at IS NULL DO NOTHING;

INSERT INTO size_master (size_name, created_at, updated_at)
SELECT DISTINCT size_name, now(), now() FROM stg ORDER BY 1
ON CONFLICT (size_name) WHERE deleted_at IS NULL DO NOTHING;

INSERT INTO item_variant (item_id, color_id, size_id, sku, price, stock, created_at, updated_at)
SELECT i.item_id, c.color_id, z.size_id, s.sku, s.price, s.stock, now(), now()
FROM stg s
JOIN item_master i ON i.name = s.item_name AND i.deleted_at IS NULL
JOIN color_master c ON c.color_name = s.color_name AND c.deleted_at IS NULL
JOIN size_master z ON z.size_name = s.size_name AND z.deleted_at IS NULL
ORDER BY 1, 2, 3
ON CONFLICT (item_id, color_id, size_id) WHERE deleted_at IS NULL
DO UPDATE SET sku = EXCLUDED.sku, price = EXCLUDED.price, stock = EXCLUDED.stock, updated_at = EXCLUDED.updated_at
WHERE (item_variant.sku, item_variant.price, item_variant.stock)
      IS DISTINCT FROM (EXCLUDED.sku, EXCLUDED.price, EXCLUDED.stock);
"""


def main(dsn: str, path: str) -> None:
    with psycopg2.connect(dsn) as connection, connection.cursor() as cursor, open(path, encoding="utf-8") as data:
        cursor.execute(
            "CREATE TEMP TABLE stg (item_name text, description text, color_name text, size_name text,"
            " sku text, price numeric(12,2), stock integer)"
        )
        cursor.copy_expert("COPY stg FROM STDIN WITH (FORMAT csv, HEADER true)", data)
        cursor.execute("ANALYZE stg")
        cursor.execute(MERGE)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
