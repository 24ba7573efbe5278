"""Fixtures for the import doors (services, tasks, API, commands).

``import_env`` (used by the door tests with ``pytestmark``): uploaded files
go to a per-test ``MEDIA_ROOT``, jobs run on the new (upsert) importer, no
Redis, and the cache (throttle counters) starts empty.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


@pytest.fixture
def import_env(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.USE_NEW_IMPORT_SYSTEM = "true"
    settings.RATELIMIT_STORAGE_URL = ""
    cache.clear()
    yield
    cache.clear()


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
    return _user(django_user_model, "staff", staff=True)


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
