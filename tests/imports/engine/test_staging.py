"""imports/engine/staging.py: a file's chunks staged, their COPY one chunk behind on a connection of its own.

On PostgreSQL outside a test transaction, as an import runs: the COPY's own
session must see the staging table.
"""

from __future__ import annotations

import pytest
from django.db import DataError, connection

from catalog.kinds import KINDS
from imports.engine.staging import WRITE, Staging

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]


def _rows(first: int, count: int) -> list[tuple]:
    """Staged rows of a colors file: ``(row_number, state, color_name, problems, raw)``."""
    return [(n, WRITE, f"Color {n}", None, None) for n in range(first, first + count)]


@pytest.fixture
def colors():
    staging = Staging(kind=KINDS.get("colors"), run_id=990_001)
    staging.create()
    yield staging
    staging.drop()


def _staged(staging: Staging) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT row_number, color_name FROM {staging.table} ORDER BY row_number")
        return cursor.fetchall()


def test_chunks_staged_while_loading_are_all_there_when_it_ends_copied_by_another_session(colors):
    with colors.loading():
        for first in range(1, 5001, 1000):
            colors.append(_rows(first, 1000))
        assert colors._behind is not None
        behind = colors._behind
    assert _staged(colors) == [(n, f"Color {n}") for n in range(1, 5001)]
    assert not behind.thread.is_alive()  # its connection closed with it
    assert colors._behind is None


def test_a_copy_that_fails_is_raised_to_the_loader_and_the_chunks_after_it_are_not_copied(colors):
    def stage_with_a_broken_chunk():
        with colors.loading():
            colors.append(_rows(1, 10))
            colors.append([(11, WRITE, "Color 11", None, None, "one cell too many")])
            for first in range(12, 100, 10):
                colors.append(_rows(first, 10))

    with pytest.raises(DataError, match="extra data after last expected column"):
        stage_with_a_broken_chunk()
    assert [number for number, _ in _staged(colors)] == list(range(1, 11))


def test_inside_a_callers_transaction_the_copies_stay_on_its_connection(colors):
    from django.db import transaction

    with transaction.atomic(), colors.loading():
        assert colors._behind is None
        colors.append(_rows(1, 10))
        assert len(_staged(colors)) == 10


def test_a_run_allowed_one_connection_copies_on_its_own(colors):
    with colors.loading(behind=False):
        assert colors._behind is None
        colors.append(_rows(1, 10))
    assert len(_staged(colors)) == 10
