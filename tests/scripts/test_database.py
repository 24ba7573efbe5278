"""The suite runs on the database scripts/test chose (DATABASE_URL)."""

import os

import pytest
from django.db import connection


@pytest.mark.django_db
def test_tests_run_on_the_database_in_database_url():
    scheme = os.environ.get("DATABASE_URL", "sqlite:").split(":", 1)[0]
    expected = "postgresql" if scheme in {"postgres", "postgresql", "pgsql", "psql"} else "sqlite"
    assert connection.vendor == expected
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
    if expected == "postgresql":
        assert connection.settings_dict["NAME"].startswith("test_")
