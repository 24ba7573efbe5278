"""The OpenAPI schema at /api/schema/, its docs page, and a schemathesis run against every operation.

Schemathesis generates requests from the schema (valid and invalid: odd ids,
bad filters, random multipart uploads) and sends them through the WSGI
application in-process. Every response must not be a server error, must use
a status code the schema documents, and must match the documented content
type and body schema.

Random generation rarely hits the one value that breaks a parser, so every
query parameter of every operation is also sent each of :data:`HOSTILE_VALUES`
(the values a long schemathesis run found 500s with, issue 11, and their
neighbours), through schemathesis' own cases and checks. The requests come
from a staff user, so the staff-only monitoring endpoints are reached too.
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

from catalog.models import Color, Item, ItemVariant, Size
from imports.models import ImportJob, ImportResult, ImportRowError, ImportStatus
from mtc.wsgi import application


def not_a_server_error_but_unhealthy(ctx, response, case):
    """No 5xx, but the health endpoint's documented 503 "a check failed" (a test database has no worker)."""
    if response.status_code == 503 and case.operation.path == "/api/health/imports/":
        return None
    return not_a_server_error(ctx, response, case)


CHECKS = [
    not_a_server_error_but_unhealthy,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


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
    user = django_user_model.objects.create_user(username="fuzzer", password=None, is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="add_importjob"))
    yield {"Authorization": f"Token {Token.objects.create(user=user).key}"}
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@hypothesis_settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_answers_every_generated_request_without_a_server_error(case, token_headers):
    case.call_and_validate(
        headers=token_headers,
        checks=CHECKS,
    )


#: Sent in every query parameter of every operation. ``³`` and ``①`` pass ``str.isdigit`` but not ``int``;
#: ``1e6``/``1e9`` days or hours overflowed a date; ``""`` is outside every enum; the rest are their kin.
HOSTILE_VALUES = ("³", "①", "٣", "", "1e6", "1e9", "1e308", "-1", "0", "nan", "inf", "9" * 5000, "\x00", "\u202e")

#: The operations that take query parameters, by label (collected once, like ``schema``).
WITH_QUERY = {
    operation.label: operation
    for operation in (result.ok() for result in schema.get_all_operations())
    if operation.query
}


@pytest.fixture
def existing_ids(token_headers, django_user_model):
    """A live row behind every path parameter, so a query parameter is read rather than answered with 404."""
    item = Item.objects.create(name="Fuzzed item")
    color, size = Color.objects.create(color_name="Fuzzed"), Size.objects.create(size_name="F")
    variant = ItemVariant.objects.create(item=item, color=color, size=size, sku="FUZZ-1")
    job = ImportJob.objects.create(
        user=django_user_model.objects.get(username="fuzzer"), file_name="f.csv", status=ImportStatus.COMPLETED
    )
    ImportResult.objects.create(job=job, total_rows=2, failed=1)
    ImportRowError.objects.create(
        job=job,
        row_number=2,
        column="price",
        value="abc",
        reason="price: not a number",
        problems=[{"column": "price", "value": "abc", "reason": "not a number"}],
        row_data={"item_name": "Shirt", "price": "abc"},
    )
    return {
        "item_id": item.pk,
        "color_id": color.pk,
        "size_id": size.pk,
        "variant_id": variant.pk,
        "import_id": job.pk,
    }


@pytest.mark.parametrize("label", sorted(WITH_QUERY))
def test_every_query_parameter_survives_hostile_values(label, token_headers, existing_ids):
    operation = WITH_QUERY[label]
    path_parameters = {parameter.name: existing_ids[parameter.name] for parameter in operation.path_parameters}
    for parameter in operation.query:
        for value in HOSTILE_VALUES:
            case = operation.Case(path_parameters=path_parameters, query={parameter.name: value})
            case.call_and_validate(headers=token_headers, checks=CHECKS)


@pytest.mark.parametrize("label", sorted(WITH_QUERY))
def test_every_documented_enum_value_answers_as_documented(label, token_headers, existing_ids):
    """``errors/?format=json`` was documented as a string and answered an array (issue 11)."""
    operation = WITH_QUERY[label]
    path_parameters = {parameter.name: existing_ids[parameter.name] for parameter in operation.path_parameters}
    for parameter in operation.query:
        for value in parameter.definition.get("schema", {}).get("enum", []):
            case = operation.Case(path_parameters=path_parameters, query={parameter.name: value})
            response = case.call_and_validate(headers=token_headers, checks=CHECKS)
            assert response.status_code != 400, (parameter.name, value)  # a documented value is accepted
