"""The floors: PostgreSQL's own bulk path on the same tables, each run as one process.

``raw``
    COPY the file into a TEMP staging table (PostgreSQL parses the CSV), then
    one set-based upsert per table through the same partial unique indexes,
    all in one transaction. No validation, no per-row errors, no journal, no
    batching: the fastest this load can be.

Both analyze the three parent masters once written, before the variants
(the step a DBA loading by hand would take): without it, into an empty
catalog, the variants statement and the foreign-key checks at commit plan
from the statistics of empty tables (measured at 100k rows: the raw floor
8.0 s instead of 1.5 s, the equal-work floor 425 s).
``equal``
    The same result with the engine's work done in SQL, in one transaction:
    COPY the cells as text; normalise them (names trimmed, inner whitespace
    collapsed, invisible characters removed, NFC; line breaks of descriptions
    written ``\\n``) and validate them (required names, every length, control
    characters, price and stock as non-negative numbers within their types),
    invalid rows kept in ``import_row_errors`` with their reasons; the last
    valid row of each key wins; items take their description from their last
    valid row; each master written with the engine's statement (rows identical
    to the live one filtered out first, ``ON CONFLICT`` on the partial unique
    index, ``IS DISTINCT FROM`` guard, keys sorted); the undo journal written in
    the same statements (ids inserted, the changed columns' values before).
    What it leaves out is what only a batched, resumable run needs: a commit,
    a checkpoint, counters, a cancel check and a progress report per batch,
    and the look-alike names check. The engine/equal ratio is what those cost
    (and the Python reading); the engine/raw ratio adds the validation and
    the journal.

Run as ``python -m bench.floor DSN FILE [raw|equal]``.
"""

from __future__ import annotations

import sys

import psycopg2

RAW_MERGE = """
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

ANALYZE item_master, color_master, size_master;

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


def raw(cursor, data) -> None:
    cursor.execute(
        "CREATE TEMP TABLE stg (item_name text, description text, color_name text, size_name text,"
        " sku text, price numeric(12,2), stock integer)"
    )
    cursor.copy_expert("COPY stg FROM STDIN WITH (FORMAT csv, HEADER true)", data)
    cursor.execute("ANALYZE stg")
    cursor.execute(RAW_MERGE)


# --- equal work -------------------------------------------------------------------------------

#: Zero-width and bidirectional characters removed from names (``catalog.keys.INVISIBLE``).
INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def _name(cell: str) -> str:
    """SQL: a name as ``catalog.keys.normalize_key`` writes it (the folding of compatibility forms aside)."""
    return (
        f"normalize(btrim(regexp_replace(translate({cell}, '{INVISIBLE}', ''),"
        f" '[[:space:]\u00a0\u3000]+', ' ', 'g')), NFC)"
    )


NORMALISE = f"""
CREATE TEMP TABLE norm AS
SELECT row_number,
       {_name("item_name")} AS item_name,
       btrim(replace(replace(description, E'\\r\\n', E'\\n'), E'\\r', E'\\n')) AS description,
       {_name("color_name")} AS color_name,
       {_name("size_name")} AS size_name,
       btrim(sku) AS sku, btrim(price) AS price, btrim(stock) AS stock,
       concat(item_name, description, color_name, size_name, sku, price, stock) AS cells
FROM raw
"""

CHECK = r"""
CREATE TEMP TABLE stg AS
SELECT row_number, item_name, description, color_name, size_name, sku,
       CASE WHEN cardinality(problems) = 0 AND price <> '' THEN price::numeric(12,2) END AS price,
       CASE WHEN cardinality(problems) = 0 AND stock <> '' THEN stock::integer END AS stock,
       problems, cardinality(problems) = 0 AS ok
FROM (
  SELECT n.*, array_remove(ARRAY[
    CASE WHEN item_name = '' THEN 'item_name: is required' END,
    CASE WHEN length(item_name) > 255 THEN 'item_name: is longer than 255 characters' END,
    CASE WHEN color_name = '' THEN 'color_name: is required' END,
    CASE WHEN length(color_name) > 100 THEN 'color_name: is longer than 100 characters' END,
    CASE WHEN size_name = '' THEN 'size_name: is required' END,
    CASE WHEN length(size_name) > 50 THEN 'size_name: is longer than 50 characters' END,
    CASE WHEN length(sku) > 64 THEN 'sku: is longer than 64 characters' END,
    CASE WHEN sku ~ '[\t\n\r]' THEN 'sku: must be one line' END,
    CASE WHEN length(description) > 10000 THEN 'description: is longer than 10000 characters' END,
    CASE WHEN price <> '' AND price !~ '^[0-9]{1,10}(\.[0-9]{1,2})?$' THEN 'price: is not a price' END,
    CASE WHEN stock <> '' AND (stock !~ '^\+?[0-9]{1,10}$' OR stock::bigint > 2147483647)
         THEN 'stock: is not a whole number' END,
    CASE WHEN cells ~ '[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]' THEN 'a control character' END
  ], NULL) AS problems
  FROM norm n
) checked
"""

ERRORS = """
INSERT INTO import_row_errors (import_id, row_number, "column", value, reason, problems, row_data)
SELECT %(job)s, row_number, '', '', array_to_string(problems, '; '), to_jsonb(problems),
       jsonb_build_object('item_name', item_name, 'color_name', color_name, 'size_name', size_name)
FROM stg WHERE NOT ok ORDER BY row_number
"""

#: A master written as the engine writes it (``imports.engine.upsert._written_sql``), journaled.
MASTER = """
WITH src AS MATERIALIZED ({source}),
written AS (
  INSERT INTO {table} ({key}{values_list}, created_at, updated_at)
  SELECT src.{key}{src_values}, now(), now() FROM src
  WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE t.{key} = src.{key} AND t.deleted_at IS NULL{same})
  ORDER BY src.{key}
  ON CONFLICT ({key}) WHERE deleted_at IS NULL {on_conflict}
  RETURNING {pk} AS pk, (xmax = 0) AS inserted
)
INSERT INTO import_journal (import_id, master, written_at, inserted, updated, deleted)
SELECT %(job)s, '{table}', now(),
       COALESCE((SELECT jsonb_agg(pk ORDER BY pk) FROM written WHERE inserted), '[]'::jsonb),
       COALESCE({updated}, '[]'::jsonb), '[]'::jsonb
WHERE EXISTS (SELECT 1 FROM written)
"""

#: The winning rows with their parents' ids, as a table of their own with statistics: planned from
#: a CTE (estimated at 2 rows: three name joins), the anti-join below became a nested loop over
#: the growing item_variant heap (quadratic; 100k rows into an empty catalog did not end in 7 min).
WINNERS = """
CREATE TEMP TABLE src AS
SELECT i.item_id, c.color_id, z.size_id, w.sku, w.price, w.stock
FROM (SELECT DISTINCT ON (item_name, color_name, size_name) * FROM stg WHERE ok
      ORDER BY item_name, color_name, size_name, row_number DESC) w
JOIN item_master i ON i.name = w.item_name AND i.deleted_at IS NULL
JOIN color_master c ON c.color_name = w.color_name AND c.deleted_at IS NULL
JOIN size_master z ON z.size_name = w.size_name AND z.deleted_at IS NULL
"""

VARIANTS = """
WITH written AS (
  INSERT INTO item_variant (item_id, color_id, size_id, sku, price, stock, created_at, updated_at)
  SELECT src.item_id, src.color_id, src.size_id, src.sku, src.price, src.stock, now(), now() FROM src
  WHERE NOT EXISTS (SELECT 1 FROM item_variant t WHERE t.item_id = src.item_id AND t.color_id = src.color_id
                    AND t.size_id = src.size_id AND t.deleted_at IS NULL AND t.sku IS NOT DISTINCT FROM src.sku
                    AND t.price IS NOT DISTINCT FROM src.price AND t.stock IS NOT DISTINCT FROM src.stock)
  ORDER BY src.item_id, src.color_id, src.size_id
  ON CONFLICT (item_id, color_id, size_id) WHERE deleted_at IS NULL
  DO UPDATE SET sku = EXCLUDED.sku, price = EXCLUDED.price, stock = EXCLUDED.stock, updated_at = EXCLUDED.updated_at
  WHERE (item_variant.sku, item_variant.price, item_variant.stock)
        IS DISTINCT FROM (EXCLUDED.sku, EXCLUDED.price, EXCLUDED.stock)
  RETURNING variant_id AS pk, (xmax = 0) AS inserted
)
INSERT INTO import_journal (import_id, master, written_at, inserted, updated, deleted)
SELECT %(job)s, 'item_variant', now(),
       COALESCE((SELECT jsonb_agg(pk ORDER BY pk) FROM written WHERE inserted), '[]'::jsonb),
       COALESCE((SELECT jsonb_agg(jsonb_build_array(t.variant_id,
                   jsonb_build_object('sku', t.sku::text, 'price', t.price::text, 'stock', t.stock::text)
                   - array_remove(ARRAY[CASE WHEN t.sku IS DISTINCT FROM src.sku THEN NULL ELSE 'sku' END,
                                        CASE WHEN t.price IS DISTINCT FROM src.price THEN NULL ELSE 'price' END,
                                        CASE WHEN t.stock IS DISTINCT FROM src.stock THEN NULL ELSE 'stock' END],
                                  NULL)) ORDER BY t.variant_id)
                 FROM src JOIN item_variant t ON t.item_id = src.item_id AND t.color_id = src.color_id
                   AND t.size_id = src.size_id AND t.deleted_at IS NULL
                 WHERE (t.sku, t.price, t.stock) IS DISTINCT FROM (src.sku, src.price, src.stock)), '[]'::jsonb),
       '[]'::jsonb
WHERE EXISTS (SELECT 1 FROM written)
"""

JOB = """
INSERT INTO import_jobs (created_at, updated_at, status, kind, system, routing, source, dry_run, file, file_name,
  file_format, file_size, file_checksum, options, started_at, attempts, worker, task_id, cancel_requested,
  failure_reason, warnings, stage, rows_processed, checkpoint_row, mapping, journal_kept, refused_code)
VALUES (now(), now(), 'running', 'variants', 'floor', '', 'cli', false, '', %s, 'csv', 0, '', '{}', now(), 1, '',
  '', false, '', '[]', 'writing', 0, 0, '{}', true, '')
RETURNING import_id
"""


def _item_statement() -> str:
    source = (
        "SELECT DISTINCT ON (item_name) item_name AS name, description FROM stg"
        " WHERE ok ORDER BY item_name, row_number DESC"
    )
    updated = (
        "(SELECT jsonb_agg(jsonb_build_array(t.item_id, jsonb_build_object('description', t.description))"
        " ORDER BY t.item_id) FROM src JOIN item_master t ON t.name = src.name AND t.deleted_at IS NULL"
        " WHERE t.description IS DISTINCT FROM src.description)"
    )
    return MASTER.format(
        source=source, table="item_master", key="name", pk="item_id", values_list=", description",
        src_values=", src.description", same=" AND t.description IS NOT DISTINCT FROM src.description",
        on_conflict="DO UPDATE SET description = EXCLUDED.description, updated_at = EXCLUDED.updated_at"
        " WHERE item_master.description IS DISTINCT FROM EXCLUDED.description",
        updated=updated,
    )  # fmt: skip


def _name_statement(table: str, key: str, pk: str) -> str:
    source = f"SELECT DISTINCT {key} FROM stg WHERE ok"
    return MASTER.format(
        source=source, table=table, key=key, pk=pk, values_list="", src_values="", same="",
        on_conflict="DO NOTHING", updated="NULL",
    )  # fmt: skip


def equal(cursor, data, file_name: str) -> None:
    cursor.execute(JOB, [file_name])
    (job,) = cursor.fetchone()
    cursor.execute(
        "CREATE TEMP TABLE raw (row_number bigint GENERATED ALWAYS AS IDENTITY, item_name text, description text,"
        " color_name text, size_name text, sku text, price text, stock text)"
    )
    cursor.copy_expert(
        "COPY raw (item_name, description, color_name, size_name, sku, price, stock)"
        " FROM STDIN WITH (FORMAT csv, HEADER true)",
        data,
    )
    cursor.execute(NORMALISE)
    cursor.execute(CHECK)
    cursor.execute("ANALYZE stg")
    cursor.execute(ERRORS, {"job": job})
    cursor.execute(_item_statement(), {"job": job})
    cursor.execute(_name_statement("color_master", "color_name", "color_id"), {"job": job})
    cursor.execute(_name_statement("size_master", "size_name", "size_id"), {"job": job})
    cursor.execute("ANALYZE item_master, color_master, size_master")
    cursor.execute(WINNERS)
    cursor.execute("ANALYZE src")
    cursor.execute(VARIANTS, {"job": job})
    cursor.execute("UPDATE import_jobs SET status = 'completed', finished_at = now() WHERE import_id = %s", [job])


def main(dsn: str, path: str, mode: str = "raw") -> None:
    with psycopg2.connect(dsn) as connection, connection.cursor() as cursor, open(path, encoding="utf-8") as data:
        if mode == "raw":
            raw(cursor, data)
        elif mode == "equal":
            equal(cursor, data, path)
        else:
            raise SystemExit(f"unknown floor {mode!r}: raw or equal")


if __name__ == "__main__":
    main(*sys.argv[1:])
