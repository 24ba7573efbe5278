"""The OpenAPI schema at /api/schema/, its docs page, and a schemathesis run against every operation.

Schemathesis generates requests from the schema (valid and invalid: odd ids,
bad filters, random multipart uploads) and sends them through the WSGI
application in-process. Every response must not be a server error, must use
a status code the schema documents, and must match the documented content
type and body schema.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from mtc.wsgi import application


def test_schema_lists_every_endpoint(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {
        "/api/imports/",
        "/api/imports/{import_id}/",
        "/api/imports/{import_id}/errors/",
        "/api/imports/{import_id}/cancel/",
        "/api/imports/{import_id}/retry/",
        "/api/items/",
        "/api/colors/",
        "/api/sizes/",
        "/api/variants/",
    } <= set(paths)
    errors_params = {p["name"]: p for p in paths["/api/imports/{import_id}/errors/"]["get"]["parameters"]}
    assert errors_params["format"]["schema"]["enum"] == ["csv", "json", "xlsx"]
    create = paths["/api/imports/"]["post"]["responses"]
    assert {"201", "202", "400", "403", "413", "415", "429"} <= set(create)


def test_docs_page_uses_local_assets_only(client):
    html = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in html
    assert "/static/drf_spectacular_sidecar/" in html
    assert "cdn" not in html.lower()
    assert "https://" not in html


#: Loaded once at collection, from the application itself (the schema needs no database).
schema = schemathesis.openapi.from_wsgi("/api/schema/", application)


@pytest.fixture
def token_headers(db, settings, tmp_path, django_user_model):
    """Requests come from a user who may import; uploads land in a temporary media root."""
    settings.MEDIA_ROOT = str(tmp_path)
    settings.USE_NEW_IMPORT_SYSTEM = "true"
    settings.IMPORT_RATE_LIMIT = "1000/minute"
    cache.clear()
    # Keep the test's database connection (and transaction) across the in-process requests,
    # as Django's own test client does.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    user = django_user_model.objects.create_user(username="fuzzer", password=None)
    user.user_permissions.add(Permission.objects.get(codename="add_importjob"))
    yield {"Authorization": f"Token {Token.objects.create(user=user).key}"}
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@hypothesis_settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_answers_every_generated_request_without_a_server_error(case, token_headers):
    case.call_and_validate(
        headers=token_headers,
        checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
    )
