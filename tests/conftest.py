"""Suite-wide fixtures.

The suite runs on PostgreSQL (``DATABASE_URL``, set by ``scripts/test``); the
import-path tests run a second time on SQLite. Tests marked ``postgresql``
exercise PostgreSQL itself and are deselected on the SQLite run; tests marked
``sqlite`` check SQLite's own behaviour and are deselected on PostgreSQL.
"""

import pytest
from django.db import connection


def pytest_collection_modifyitems(config, items):
    other_database = "sqlite" if connection.vendor == "postgresql" else "postgresql"
    selected, deselected = [], []
    for item in items:
        (deselected if item.get_closest_marker(other_database) else selected).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected


@pytest.fixture
def on_postgresql():
    return connection.vendor == "postgresql"
