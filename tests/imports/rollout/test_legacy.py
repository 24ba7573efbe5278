"""The legacy importer: the old LOCK TABLE algorithm, kept as a strategy for the migration.

It must write what the new engine writes on a clean file (every row-semantics
case of ``test_run`` is replayed here), be all-or-nothing on a bad row, and,
the reason for the whole migration, block a concurrent reader of the masters
while it runs, which the upsert engine does not (measured with a real second
connection).
"""

from __future__ import annotations

import io
import re
import threading
import time

import psycopg2
import pytest
from django.db import connection, connections
from django.test import override_settings

from catalog.models import Color, Item, ItemVariant, Size
from imports.models import ImportJob, ImportRowError, ImportStatus
from imports.runtime import run_import_now
from imports.services import create_import_job
from tests.imports.engine.job_runs import VARIANT_HEADER, counts, csv_bytes, live_variants, make_variant, run_import
from tests.imports.engine.test_run import CASES, EUROPEAN, Case, _seed
from tests.postgres import second_connection


def run_legacy(content: bytes, *, kind: str = "variants", dry_run: bool = False, **options) -> ImportJob:
    job = create_import_job(
        stream=io.BytesIO(content), file_name="legacy.csv", kind=kind, dry_run=dry_run, system="legacy", options=options
    )
    job = run_import_now(job=job)
    return ImportJob.objects.select_related("result").get(pk=job.pk)


def catalog_state() -> tuple:
    return (
        live_variants(),
        set(Item.all_objects.values_list("name", "description", "deleted_at")),
        set(Color.all_objects.values_list("color_name", flat=True)),
        set(Size.all_objects.values_list("size_name", flat=True)),
    )


VALID_PRICE = re.compile(r"(\d+(\.\d{1,2})?)?")
CLEAN = [case for case in CASES if not case.expect.get("failed")]
WITH_BAD_ROWS = [case for case in CASES if case.expect.get("failed")]


@pytest.mark.postgresql
@pytest.mark.django_db
@pytest.mark.parametrize("case", CLEAN, ids=[case.id for case in CLEAN])
def test_a_clean_file_leaves_the_same_live_rows_as_the_new_engine(case: Case):
    _seed(case.before)
    job = run_legacy(csv_bytes(case.header, case.rows))

    assert job.status == ImportStatus.COMPLETED, job.failure_reason
    assert job.system == "legacy"
    assert live_variants() == case.live
    figures = counts(job)
    assert figures["failed"] == 0
    assert figures["superseded"] == 0  # the old importer writes every row, a repeated key twice
    assert figures["inserted"] + figures["updated"] + figures["unchanged"] == len(case.rows)
    assert job.result.success_rate == 100.0


@pytest.mark.postgresql
@pytest.mark.django_db
@pytest.mark.parametrize("number_format", ["", "comma"])
def test_numbers_are_read_in_the_same_format_as_the_new_engine(number_format):
    job = run_legacy(EUROPEAN, number_format=number_format)
    assert job.status == ImportStatus.COMPLETED, job.failure_reason
    legacy = live_variants()
    ItemVariant.objects.all().delete()
    assert run_import(EUROPEAN, number_format=number_format).status == ImportStatus.COMPLETED
    assert live_variants() == legacy


@pytest.mark.postgresql
@pytest.mark.django_db
@pytest.mark.parametrize("case", WITH_BAD_ROWS, ids=[case.id for case in WITH_BAD_ROWS])
def test_a_bad_row_fails_the_whole_job_and_keeps_nothing(case: Case):
    _seed(case.before)
    before = catalog_state()
    job = run_legacy(csv_bytes(case.header, case.rows))

    assert job.status == ImportStatus.FAILED
    assert catalog_state() == before
    error = ImportRowError.objects.get(job=job)
    bad = next(number for number, row in enumerate(case.rows, start=1) if not VALID_PRICE.fullmatch(row[5]))
    assert error.row_number == bad
    assert f"Row {bad}: " in job.failure_reason
    assert "all-or-nothing" in job.failure_reason
    figures = counts(job)
    assert figures == {
        "total_rows": len(case.rows),
        "inserted": 0,
        "updated": 0,
        "unchanged": 0,
        "superseded": 0,
        "failed": 1,
    }
    assert job.result.success_rate == 0.0


@pytest.mark.postgresql
@pytest.mark.django_db
def test_rows_before_the_bad_one_are_rolled_back_too_and_the_error_keeps_the_row():
    make_variant("Shirt", sku="A", price="1.00")
    rows = [
        ("Shirt", "", "Red", "M", "A2", "2.00", ""),  # would update
        ("Hat", "", "Teal", "XL", "H", "", ""),  # would create an item, a color and a size
        ("Pants", "", "Red", "M", "", "1.999", "-2"),  # invalid
        ("Scarf", "", "Red", "M", "", "", ""),  # never reached
    ]
    before = catalog_state()
    job = run_legacy(csv_bytes(VARIANT_HEADER, rows))

    assert catalog_state() == before
    assert not Item.objects.filter(name="Hat").exists()
    error = ImportRowError.objects.get(job=job)
    assert (error.row_number, error.column) == (3, "price")
    assert {p["column"] for p in error.problems} == {"price", "stock"}
    assert error.row_data["item_name"] == "Pants"
    assert error.row_data["price"] == "1.999"


@pytest.mark.postgresql
@pytest.mark.django_db
def test_a_row_the_database_refuses_fails_the_job_with_the_database_message():
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE item_variant ADD CONSTRAINT test_no_stock_13 CHECK (stock <> 13)")
    rows = [("Shirt", "", "Red", "M", "", "", "1"), ("Hat", "", "Red", "M", "", "", "13")]
    job = run_legacy(csv_bytes(VARIANT_HEADER, rows))

    assert job.status == ImportStatus.FAILED
    error = ImportRowError.objects.get(job=job)
    assert error.row_number == 2
    assert "the database refused the row" in error.reason
    assert "test_no_stock_13" in error.reason
    assert not Item.objects.exists()


@pytest.mark.postgresql
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "header", "rows", "expect"),
    [
        ("items", ("name", "description"), [("Shirt", "new"), ("Hat", "same"), ("Cap", "")], (1, 1, 1)),
        ("colors", ("color",), [("Red",), ("Red",), ("Blue",)], (1, 0, 2)),
        ("sizes", ("size_name",), [("M",), ("S",)], (2, 0, 0)),
    ],
    ids=["items", "colors", "sizes"],
)
def test_master_kinds_count_inserted_updated_unchanged(kind, header, rows, expect):
    Item.objects.create(name="Shirt", description="old")
    Item.objects.create(name="Hat", description="same")
    Color.objects.create(color_name="Red")
    job = run_legacy(csv_bytes(header, rows), kind=kind)

    assert job.status == ImportStatus.COMPLETED, job.failure_reason
    assert (job.result.inserted, job.result.updated, job.result.unchanged) == expect
    if kind == "items":
        assert dict(Item.objects.values_list("name", "description")) == {"Shirt": "new", "Hat": "same", "Cap": ""}
    else:
        model, field = (Color, "color_name") if kind == "colors" else (Size, "size_name")
        assert sorted(model.objects.values_list(field, flat=True)) == sorted({row[0] for row in rows})


@pytest.mark.postgresql
@pytest.mark.django_db
def test_dry_run_gives_the_real_run_figures_and_writes_nothing():
    make_variant("Shirt", sku="A", price="1.00")
    rows = [("Shirt", "", "Red", "M", "A", "1.00", ""), ("Hat", "new", "Teal", "XL", "H", "", "")]
    content = csv_bytes(VARIANT_HEADER, rows)
    before = catalog_state()
    dry = run_legacy(content, dry_run=True)
    assert catalog_state() == before
    real = run_legacy(content)
    assert dry.status == real.status == ImportStatus.COMPLETED
    assert (
        counts(dry)
        == counts(real)
        == {
            "total_rows": 2,
            "inserted": 1,
            "updated": 0,
            "unchanged": 1,
            "superseded": 0,
            "failed": 0,
        }
    )
    assert Item.objects.filter(name="Hat", description="new").exists()


@pytest.mark.postgresql
@pytest.mark.django_db
def test_a_bad_header_or_too_many_rows_is_refused_before_the_lock():
    missing = run_legacy(csv_bytes(("item_name", "color_name"), [("Shirt", "Red")]))
    assert missing.status == ImportStatus.FAILED
    assert "size_name" in missing.failure_reason
    with override_settings(IMPORT_MAX_ROWS=1):
        too_many = run_legacy(csv_bytes(VARIANT_HEADER, [("A", "", "Red", "M", "", "", "")] * 2))
    assert too_many.status == ImportStatus.FAILED
    assert "more than 1 row, the most one import accepts" in too_many.failure_reason
    assert (missing.refused_code, too_many.refused_code) == ("wrong_header", "too_many_rows")
    assert not Item.objects.exists()


LONG_FILE = csv_bytes(VARIANT_HEADER, [(f"Item {n}", "", "Red", "M", "", "", "") for n in range(600)])


@pytest.mark.postgresql
@pytest.mark.django_db
def test_a_cancel_request_stops_the_run_and_keeps_nothing():
    job = create_import_job(stream=io.BytesIO(LONG_FILE), file_name="f.csv", system="legacy")
    ImportJob.objects.filter(pk=job.pk).update(cancel_requested=True)  # seen at the first check (row 500)
    job = run_import_now(job=job)
    assert job.status == ImportStatus.CANCELLED
    assert "nothing was imported" in job.failure_reason
    assert not Item.objects.exists()


@pytest.mark.postgresql
@pytest.mark.django_db
def test_the_time_limit_stops_the_run_and_keeps_nothing(settings):
    settings.IMPORT_TIMEOUT_SECONDS = 0
    job = run_legacy(LONG_FILE)
    assert job.status == ImportStatus.FAILED
    assert job.failure_reason.startswith("Timed out after")
    assert "IMPORT_TIMEOUT_SECONDS=0" in job.failure_reason
    assert not Item.objects.exists()


@pytest.mark.sqlite
@pytest.mark.django_db
def test_on_another_database_the_job_fails_with_a_clear_message():
    job = run_legacy(csv_bytes(VARIANT_HEADER, [("Shirt", "", "Red", "M", "", "", "")]))
    assert job.status == ImportStatus.FAILED
    assert "runs on PostgreSQL only" in job.failure_reason
    assert "--system upsert" in job.failure_reason
    assert not Item.objects.exists()


# --- Locks: the point of the migration -------------------------------------------------------

SLOW_TRIGGER = "test_slow_variant_writes"


@pytest.fixture
def slow_variant_writes(transactional_db):
    """Every INSERT statement on item_variant sleeps (a real slow-down, in the database).

    The legacy importer inserts one row per statement, the upsert engine one
    batch per statement, so both are slowed where they write.
    """

    def install(seconds: float) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE OR REPLACE FUNCTION {SLOW_TRIGGER}() RETURNS trigger AS $$ "
                f"BEGIN PERFORM pg_sleep({seconds}); RETURN NULL; END; $$ LANGUAGE plpgsql"
            )
            cursor.execute(f"DROP TRIGGER IF EXISTS {SLOW_TRIGGER} ON item_variant")
            cursor.execute(
                f"CREATE TRIGGER {SLOW_TRIGGER} AFTER INSERT ON item_variant "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {SLOW_TRIGGER}()"
            )

    yield install
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TRIGGER IF EXISTS {SLOW_TRIGGER} ON item_variant")
        cursor.execute(f"DROP FUNCTION IF EXISTS {SLOW_TRIGGER}()")


def import_in_thread(job: ImportJob) -> tuple[threading.Thread, dict]:
    outcome = {}

    def target():
        try:
            outcome["job"] = run_import_now(job=job)
        except Exception as exc:  # surfaced by the test
            outcome["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, outcome


def wait_for_lock(cursor, *, table: str, mode: str, seconds: float = 30) -> int:
    """The pid of another session holding ``mode`` on ``table``, once it does."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        cursor.execute(
            "SELECT l.pid FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE c.relname = %s AND l.mode = %s AND l.granted AND l.pid <> pg_backend_pid() "
            "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            [table, mode],
        )
        row = cursor.fetchone()
        if row:
            return row[0]
        time.sleep(0.005)
    raise AssertionError(f"no session took {mode} on {table} within {seconds}s")


def read_item_master(cursor) -> str:
    """What a reader sees: the count, or 'blocked' when it waits longer than 200 ms."""
    cursor.execute("SET lock_timeout = '200ms'")
    try:
        cursor.execute("SELECT count(*) FROM item_master")
        return f"read {cursor.fetchone()[0]} rows"
    except psycopg2.errors.LockNotAvailable:
        return "blocked"


def holds(cursor, pid: int, *, table: str, mode: str) -> bool:
    cursor.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
        "WHERE l.pid = %s AND c.relname = %s AND l.mode = %s AND l.granted)",
        [pid, table, mode],
    )
    return cursor.fetchone()[0]


MASTERS = ["item_master", "color_master", "size_master", "item_variant"]
ROWS = [(f"Item {n}", "", "Red", "M", f"S{n}", "1.00", "1") for n in range(10)]


@pytest.mark.postgresql
def test_legacy_import_blocks_a_concurrent_reader_of_item_master(slow_variant_writes):
    slow_variant_writes(0.3)  # ten rows: the lock is held for about 3 s
    job = create_import_job(stream=io.BytesIO(csv_bytes(VARIANT_HEADER, ROWS)), file_name="f.csv", system="legacy")
    reader = second_connection()
    try:
        thread, outcome = import_in_thread(job)
        with reader.cursor() as cursor:
            pid = wait_for_lock(cursor, table="item_master", mode="AccessExclusiveLock")
            seen = read_item_master(cursor)
            locked = [table for table in MASTERS if holds(cursor, pid, table=table, mode="AccessExclusiveLock")]
        thread.join(60)
    finally:
        reader.close()

    assert "error" not in outcome, outcome.get("error")
    assert outcome["job"].status == ImportStatus.COMPLETED
    assert seen == "blocked"
    assert locked == list(MASTERS)  # the old app's plain LOCK TABLE: ACCESS EXCLUSIVE on all four
    assert ItemVariant.objects.count() == 10


@pytest.mark.postgresql
def test_upsert_import_does_not_block_a_concurrent_reader(slow_variant_writes):
    slow_variant_writes(2.0)  # one batch: its row locks are held for about 2 s
    job = create_import_job(stream=io.BytesIO(csv_bytes(VARIANT_HEADER, ROWS)), file_name="f.csv", system="upsert")
    reader = second_connection()
    try:
        thread, outcome = import_in_thread(job)
        with reader.cursor() as cursor:
            pid = wait_for_lock(cursor, table="item_variant", mode="RowExclusiveLock")
            seen = read_item_master(cursor)
            still_writing = holds(cursor, pid, table="item_master", mode="RowExclusiveLock")
        thread.join(60)
    finally:
        reader.close()

    assert "error" not in outcome, outcome.get("error")
    assert outcome["job"].status == ImportStatus.COMPLETED
    assert seen.startswith("read ")
    assert still_writing  # the read happened while the import's batch was open
    assert ItemVariant.objects.count() == 10
