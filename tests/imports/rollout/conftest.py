"""Fixtures of the rollout kit's tests and of its commands' tests (``management/``)."""

import pytest

from imports.runtime import record_worker_heartbeat
from tests.imports.rollout.runs import seed_mixed_runs


@pytest.fixture
def mixed_runs(db):
    """Ten days of both systems, plus what metrics must leave out (``runs.seed_mixed_runs``)."""
    seed_mixed_runs()


@pytest.fixture
def healthy(db):
    """A live worker and nothing wrong: every health check passes (or is skipped on SQLite)."""
    record_worker_heartbeat()
