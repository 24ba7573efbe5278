"""A second, independent client of the test database (PostgreSQL): another session, like an admin user's."""

import psycopg2
from django.db import connection


def second_connection(*, autocommit: bool = True):
    settings = connection.settings_dict
    conn = psycopg2.connect(
        dbname=settings["NAME"],
        user=settings["USER"] or "postgres",
        password=settings["PASSWORD"] or None,
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
    )
    conn.autocommit = autocommit
    return conn
