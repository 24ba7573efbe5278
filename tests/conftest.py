"""Suite-wide fixtures.

The suite runs on PostgreSQL (``DATABASE_URL``, set by ``scripts/test``); the
import-path tests run a second time on SQLite. Tests marked ``postgresql``
exercise PostgreSQL itself and are deselected on the SQLite run.
"""

import pytest
from django.db import connection


def pytest_collection_modifyitems(config, items):
    if connection.vendor == "postgresql":
        return
    selected, deselected = [], []
    for item in items:
        (deselected if item.get_closest_marker("postgresql") else selected).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected


@pytest.fixture
def on_postgresql():
    return connection.vendor == "postgresql"
