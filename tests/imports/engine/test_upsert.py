"""What the upsert does to PostgreSQL itself: row versions, locks, concurrency, deadlocks.

These run against real PostgreSQL with real second connections; nothing is mocked.
"""

from __future__ import annotations

import logging
import random
import threading
import time

import pytest
from django.db import connection, connections
from django.test import override_settings

from catalog.models import Color, Item, ItemVariant
from imports.models import ImportStatus
from tests.imports.engine.job_runs import VARIANT_HEADER, counts, csv_bytes, make_variant, run_import
from tests.postgres import second_connection

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]

MASTER_TABLES = ("item_master", "color_master", "size_master", "item_variant")
#: The table-level lock modes an ordinary INSERT/UPDATE/SELECT takes, and the one ANALYZE takes
#: (``imports.engine.planner``, a growing master): none blocks another session's reads or writes.
ROW_LEVEL_MODES = {"AccessShareLock", "RowShareLock", "RowExclusiveLock", "ShareUpdateExclusiveLock"}


def variant_rows(n: int, *, price: str = "9.99") -> list[tuple]:
    colors, sizes = ("Red", "Blue"), ("S", "M", "L")
    return [
        (f"Item {i // 6:05d}", "", colors[(i // 3) % 2], sizes[i % 3], f"SKU-{i}", price, str(i % 50)) for i in range(n)
    ]


def test_reimporting_the_same_file_rewrites_no_row():
    content = csv_bytes(VARIANT_HEADER, variant_rows(300))
    run_import(content)

    def row_versions():
        with connection.cursor() as cursor:
            versions = {}
            for table in MASTER_TABLES:
                cursor.execute(f"SELECT ctid::text, xmin::text FROM {table}")
                versions[table] = set(cursor.fetchall())
            return versions

    before = row_versions()
    again = run_import(content)
    assert counts(again)["unchanged"] == 300
    assert row_versions() == before


def test_an_import_takes_no_lock_that_blocks_reads_or_writes_on_the_masters():
    make_variant("Item 00000", "Red", "S", sku="old")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (import_pid,) = cursor.fetchone()
    seen: set[tuple[str, str, str]] = set()
    stop = threading.Event()

    def sample():
        watcher = second_connection()
        with watcher.cursor() as cursor:
            while not stop.is_set():
                cursor.execute(
                    "SELECT c.relname, l.mode, l.locktype FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                    "WHERE l.pid = %s AND c.relname = ANY(%s)",
                    [import_pid, list(MASTER_TABLES)],
                )
                seen.update(cursor.fetchall())
        watcher.close()

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        with override_settings(IMPORT_BATCH_SIZE=200):
            job = run_import(csv_bytes(VARIANT_HEADER, variant_rows(6000)))
    finally:
        stop.set()
        sampler.join()
    assert job.status == ImportStatus.COMPLETED
    assert ("item_variant", "RowExclusiveLock", "relation") in seen, "the sampler never saw the import write"
    # 'extend' locks (growing a table's file, held for microseconds) are not table locks.
    assert {mode for _, mode, locktype in seen if locktype == "relation"} <= ROW_LEVEL_MODES, seen
    assert {locktype for _, _, locktype in seen} <= {"relation", "extend"}, seen


def test_concurrent_imports_with_overlapping_keys_in_different_orders(caplog):
    rows = variant_rows(240)
    rng = random.Random(7)
    files = []
    for _ in range(4):
        subset = rng.sample(rows, 180)
        rng.shuffle(subset)
        files.append(csv_bytes(VARIANT_HEADER, subset))
    jobs, failures = [], []

    def worker(content):
        try:
            with override_settings(IMPORT_BATCH_SIZE=25):
                jobs.append(run_import(content))
        except Exception as exc:
            failures.append(exc)
        finally:
            connections.close_all()

    caplog.set_level(logging.WARNING, logger="imports.engine.run")
    threads = [threading.Thread(target=worker, args=(content,)) for content in files]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert [job.status for job in jobs] == [ImportStatus.COMPLETED] * 4
    assert "retry" not in caplog.text, "keys sorted in every statement should leave nothing to retry"
    written = {
        (v.item.name, "", v.color.color_name, v.size.size_name, v.sku, f"{v.price}", str(v.stock))
        for v in ItemVariant.objects.select_related("item", "color", "size")
    }
    imported = set()
    for content in files:
        imported |= {tuple(line.split(",")) for line in content.decode().splitlines()[1:]}
    assert written == imported
    assert Item.objects.count() == len({row[0] for row in imported})
    assert Color.objects.count() == 2


def test_a_deadlocked_batch_is_retried_and_then_commits(caplog):
    first = make_variant("Alpha", "Red", "M", sku="x")
    second = make_variant("Beta", "Red", "M", sku="x")
    blocker = second_connection(autocommit=False)
    with blocker.cursor() as cursor:
        # Let the import's deadlock check fire first, so the import is the victim.
        cursor.execute("SET deadlock_timeout = '10s'")
        cursor.execute("SELECT 1 FROM item_variant WHERE variant_id = %s FOR UPDATE", [second.pk])
    result: dict = {}

    def importer():
        try:
            result["job"] = run_import(
                csv_bytes(("item", "color", "size", "sku"), [("Alpha", "Red", "M", "y"), ("Beta", "Red", "M", "y")])
            )
        finally:
            connections.close_all()

    caplog.set_level(logging.WARNING, logger="imports.engine.run")
    thread = threading.Thread(target=importer)
    thread.start()
    _wait_until_waiting_on_a_lock()
    with blocker.cursor() as cursor:
        # The import holds Alpha and waits for Beta; asking for Alpha closes the cycle.
        cursor.execute("UPDATE item_variant SET stock = 1 WHERE variant_id = %s", [first.pk])
    blocker.commit()
    blocker.close()
    thread.join(timeout=30)

    job = result["job"]
    assert job.status == ImportStatus.COMPLETED
    assert "retry 1 of 3" in caplog.text
    assert "deadlock" in caplog.text
    assert dict(ItemVariant.objects.values_list("item__name", "sku")) == {"Alpha": "y", "Beta": "y"}
    assert ItemVariant.objects.get(pk=first.pk).stock == 1
    assert (job.result.updated, job.result.failed) == (2, 0)


def _wait_until_waiting_on_a_lock(timeout: float = 10.0) -> None:
    watcher = second_connection()
    deadline = time.monotonic() + timeout
    with watcher.cursor() as cursor:
        while time.monotonic() < deadline:
            # This database only: pg_stat_activity is the cluster's, and another test (another xdist
            # worker, another checkout's run) waiting on its own lock must not count.
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND query LIKE '%%item_variant%%'"
            )
            if cursor.fetchone()[0]:
                watcher.close()
                return
            time.sleep(0.02)
    watcher.close()
    raise AssertionError("the import never waited on the held row lock")
