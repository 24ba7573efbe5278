"""Planner statistics while an import grows the masters (``imports.engine.planner``).

An import into a catalog whose statistics say "empty" refreshes them as the
tables grow (without it, the foreign-key checks keep a sequential-scan plan
made while ``item_master`` was one page); an import that adds nothing to
tables whose statistics are current analyzes nothing.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import override_settings

from catalog.kinds import KINDS
from imports.engine import planner
from imports.models import ImportStatus
from tests.imports.engine.job_runs import VARIANT_HEADER, counts, csv_bytes, run_import
from tests.postgres import second_connection

MASTER_TABLES = ("item_master", "color_master", "size_master", "item_variant")


def variant_rows(n: int, *, price: str = "9.99") -> list[tuple]:
    colors, sizes = ("Red", "Blue"), ("S", "M", "L")
    return [
        (f"Item {i // 6:05d}", "", colors[(i // 3) % 2], sizes[i % 3], f"SKU-{i}", price, str(i % 50)) for i in range(n)
    ]


def statistics() -> dict[str, tuple[float, int]]:
    """Each master's ``(pg_class.reltuples, pg_stat_user_tables.analyze_count)``, read afresh."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT c.relname, c.reltuples, s.analyze_count FROM pg_class c "
            "JOIN pg_stat_user_tables s ON s.relid = c.oid WHERE c.relname = ANY(%s)",
            [list(MASTER_TABLES)],
        )
        return {name: (reltuples, analyzed) for name, reltuples, analyzed in cursor.fetchall()}


def analyze_masters() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {', '.join(MASTER_TABLES)}")


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_an_import_into_an_empty_catalog_refreshes_the_statistics_as_the_masters_grow():
    analyze_masters()  # statistics that say "empty", as a new catalog's do once autovacuum has seen it
    before = statistics()
    assert all(reltuples == 0 for reltuples, _ in before.values()), before

    with override_settings(IMPORT_BATCH_SIZE=200):
        job = run_import(csv_bytes(VARIANT_HEADER, variant_rows(1200)))

    assert job.status == ImportStatus.COMPLETED
    assert counts(job)["inserted"] == 1200
    after = statistics()
    # 1,200 variants and 200 items: both outgrew "empty" by MIN_GROWTH rows or more, so both were
    # analyzed, and their statistics now count rows.
    for table in ("item_variant", "item_master"):
        assert after[table][1] > before[table][1], (table, before, after)
        assert after[table][0] > 0, (table, after)
    assert after["item_variant"][0] >= 600, after  # refreshed after batches 1 and 3 (200, then 600 rows)
    # Colors and sizes (2 and 3 rows) never grew by MIN_GROWTH: left alone.
    assert after["color_master"][1] == before["color_master"][1]
    assert after["size_master"][1] == before["size_master"][1]


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_an_update_only_import_into_a_catalog_with_current_statistics_analyzes_nothing():
    with override_settings(IMPORT_BATCH_SIZE=200):
        run_import(csv_bytes(VARIANT_HEADER, variant_rows(1200)))
        analyze_masters()  # current statistics
        before = statistics()
        job = run_import(csv_bytes(VARIANT_HEADER, variant_rows(1200, price="19.99")))

    assert counts(job)["updated"] == 1200
    assert statistics() == before


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_a_dry_run_analyzes_nothing():
    analyze_masters()
    before = statistics()
    with override_settings(IMPORT_BATCH_SIZE=200):
        job = run_import(csv_bytes(VARIANT_HEADER, variant_rows(1200)), dry_run=True)
    assert counts(job)["inserted"] == 1200
    assert statistics() == before


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_growth_is_counted_from_what_the_statistics_know_and_refreshes_after_doubling():
    analyze_masters()
    stats = planner.Statistics.of(KINDS.get("variants"))
    assert stats.known == dict.fromkeys(MASTER_TABLES, 0.0)
    assert stats.grew({"item_variant": planner.MIN_GROWTH - 1}) == []  # too little to bother
    assert stats.grew({"item_variant": 1}) == ["item_variant"]  # past MIN_GROWTH and past "empty"
    assert stats.known["item_variant"] == 0  # what ANALYZE found: the rows were never written
    stats.known["item_variant"] = 1000.0
    assert stats.grew({"item_variant": 1000}) == []  # 2,000 rows: doubled, not past
    assert stats.grew({"item_variant": 1}) == ["item_variant"]
    assert stats.analyzed == ["item_variant", "item_variant"]


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_a_table_another_session_is_analyzing_is_skipped_not_waited_for():
    other = second_connection(autocommit=False)
    with other.cursor() as cursor:
        cursor.execute("LOCK TABLE item_variant IN SHARE UPDATE EXCLUSIVE MODE")  # what a running ANALYZE holds
        stats = planner.Statistics({"item_variant": 0})
        assert stats.grew({"item_variant": planner.MIN_GROWTH}) == []
        assert stats.added["item_variant"] == 0  # counted again from here
    other.rollback()
    other.close()
    with connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone()[0] == "0"  # the session's own setting is back


@pytest.mark.sqlite
@pytest.mark.django_db
def test_on_sqlite_statistics_are_inert():
    stats = planner.Statistics.of(KINDS.get("variants"))
    assert stats.grew({"item_variant": 10**6}) == []
    assert stats.analyzed == []
