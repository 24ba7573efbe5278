"""Suite-wide fixtures: the database split, and the people and clients the door tests use.

The suite runs on PostgreSQL (``DATABASE_URL``, set by ``scripts/test``); the
import-path tests run a second time on SQLite. Tests marked ``postgresql``
exercise PostgreSQL itself and are deselected on the SQLite run; tests marked
``sqlite`` check SQLite's own behaviour and are deselected on PostgreSQL.
"""

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.db import connection
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from mtc.outages import REDIS_OUTAGE


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


# --- the import doors' people and clients ------------------------------------------------------
# ``import_env`` (the door tests use it with ``pytestmark``): uploaded files go to a per-test
# ``MEDIA_ROOT``, jobs run on the new (upsert) importer, no Redis, and the cache (throttle
# counters) starts empty.


@pytest.fixture
def import_env(db, settings, tmp_path):  # db: the throttle's counts live in a database table
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.USE_NEW_IMPORT_SYSTEM = "true"
    settings.RATELIMIT_STORAGE_URL = ""
    cache.clear()
    REDIS_OUTAGE.reset()  # a Redis outage noted by an earlier test would skip Redis in this one
    yield
    cache.clear()
    REDIS_OUTAGE.reset()


def _user(django_user_model, username: str, *, can_import: bool = True, staff: bool = False):
    user = django_user_model.objects.create_user(username=username, password=None, is_staff=staff)  # no hashing cost
    if can_import:
        user.user_permissions.add(Permission.objects.get(codename="add_importjob", content_type__app_label="imports"))
    return user


@pytest.fixture
def importer(db, django_user_model):
    """A user who may start imports."""
    return _user(django_user_model, "importer")


@pytest.fixture
def other_user(db, django_user_model):
    return _user(django_user_model, "other")


@pytest.fixture
def staff_user(db, django_user_model):
    """Staff who may import and see every import (imports.view_importjob), as a catalog team's lead."""
    user = _user(django_user_model, "staff", staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_importjob", content_type__app_label="imports"))
    return user


@pytest.fixture
def reader(db, django_user_model):
    """A signed-in user without the permission to import."""
    return _user(django_user_model, "reader", can_import=False)


def token_client(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def api(importer) -> APIClient:
    return token_client(importer)
