"""Every 4xx of the API has one shape, ``{"detail", "code", ...}``, mapped in one place (``mtc.api_errors``).

A table of refusals, one per way an API request can be refused, each
asserting its status, its code and the shape (``detail`` and ``code``, plus
``errors`` for a refused field and ``retry_after`` for a throttled request,
nothing else).
"""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from imports.models import ImportJob, ImportStatus
from mtc.api_errors import STATUS_BY_CODE, exception_handler
from mtc.errors import Conflict, DomainError, OptionRefused, Refused
from tests.conftest import token_client
from tests.imports.files import stream, variants_csv

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("import_env")]

IMPORTS = "/api/imports/"


def shape(response, status: int, code: str) -> dict:
    body = response.json()
    assert response.status_code == status, body
    assert body["code"] == code, body
    assert isinstance(body["detail"], str)
    assert body["detail"]
    extra = {"missing", "suggestion", "fields"} if code == "wrong_header" else set()
    assert set(body) <= {"detail", "code", "errors", "retry_after", *extra}, body
    return body


def upload(client, content: bytes, *, name: str = "variants.csv", **fields):
    return client.post(IMPORTS, {"file": stream(content, name), **fields}, format="multipart")


@pytest.fixture
def finished_job(api, importer):
    response = upload(api, variants_csv(2))
    assert response.status_code == 201
    return ImportJob.objects.get(pk=response.json()["import_id"])


# --- the file and the fields ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "name", "status", "code"),
    [
        pytest.param(b"", "empty.csv", 400, "empty_file", id="empty"),
        pytest.param(b"item_name,color_name,size_name\n", "header.csv", 400, "no_data_rows", id="no-rows"),
        pytest.param(b"sku,price\nA,1\n", "wrong.csv", 400, "wrong_header", id="wrong-header"),
        pytest.param(b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "pic.csv", 415, "unsupported_file_type", id="picture"),
    ],
)
def test_a_refused_file_has_its_code_and_no_job(api, content, name, status, code):
    shape(upload(api, content, name=name), status, code)
    assert ImportJob.objects.count() == 0


def test_a_header_without_the_required_columns_answers_the_suggestion_and_what_is_missing(api):
    body = shape(upload(api, b"Artikel,Farbe,Notes\nShirt,Red,x\n"), 400, "wrong_header")
    assert body["missing"] == ["size_name"]
    assert body["suggestion"] == {"Artikel": "item_name", "Farbe": "color_name", "Notes": None}
    assert body["fields"] == ["item_name", "description", "color_name", "size_name", "sku", "price", "stock"]


def test_a_file_over_the_size_limit_is_413(api, settings):
    settings.IMPORT_MAX_UPLOAD_MB = 1
    shape(upload(api, b"item_name,color_name,size_name\n" + b"Shirt,Red,M\n" * 100_000), 413, "file_too_large")


def test_an_unknown_kind_is_a_field_error_with_the_field_named(api):
    body = shape(upload(api, variants_csv(1), kind="widgets"), 400, "invalid")
    assert body["detail"] == 'kind: "widgets" is not a valid choice.'
    assert body["errors"] == {"kind": ['"widgets" is not a valid choice.']}


def test_a_bad_query_parameter_is_a_field_error(api):
    body = shape(api.get(IMPORTS, {"page_size": "0"}), 400, "invalid")
    assert "page_size" in body["errors"]
    body = shape(api.get("/api/variants/", {"item_id": "1e300"}), 400, "invalid")
    assert "item_id" in body["errors"]


# --- who asks ----------------------------------------------------------------------------


def test_no_credentials_and_bad_credentials(db):
    # 403, not 401: the first authentication class (the session) sends no WWW-Authenticate challenge.
    shape(APIClient().get(IMPORTS), 403, "not_authenticated")
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Token nope")
    shape(bad.get(IMPORTS), 403, "authentication_failed")


def test_missing_permission(reader):
    shape(upload(token_client(reader), variants_csv(1)), 403, "permission_denied")


def test_staff_only_monitoring(api):
    shape(api.get("/api/health/imports/"), 403, "permission_denied")


# --- what is asked for ------------------------------------------------------------------------


def test_unknown_import_unknown_route_and_wrong_method(api):
    shape(api.get(f"{IMPORTS}999999/"), 404, "not_found")
    shape(api.get("/api/nothing-here/"), 404, "not_found")
    shape(api.get("/api/items/abc/"), 404, "not_found")
    shape(api.delete(IMPORTS), 405, "method_not_allowed")


def test_a_state_that_does_not_allow_the_action_is_409(api, finished_job):
    assert finished_job.status == ImportStatus.COMPLETED
    shape(api.post(f"{IMPORTS}{finished_job.pk}/cancel/"), 409, "not_cancellable")
    shape(api.post(f"{IMPORTS}{finished_job.pk}/retry/"), 409, "not_retryable")


def test_too_many_imports_is_429_with_retry_after(api, settings):
    settings.IMPORT_RATE_LIMIT = "1/minute"
    cache.clear()
    assert upload(api, variants_csv(1)).status_code == 201
    response = upload(api, variants_csv(1))
    body = shape(response, 429, "throttled")
    assert 1 <= body["retry_after"] <= 60
    assert response["Retry-After"] == str(body["retry_after"])


# --- the mapping itself -----------------------------------------------------------------------


class _Teapot(Refused):
    code = "file_too_large"


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        pytest.param(Refused("no"), 400, "refused", id="refused"),
        pytest.param(Refused("no", code="wrong_header"), 400, "wrong_header", id="refused-with-code"),
        pytest.param(Conflict("busy", code="not_retryable"), 409, "not_retryable", id="conflict"),
        pytest.param(DomainError("odd"), 400, "error", id="domain-error"),
        pytest.param(_Teapot("big"), 413, "file_too_large", id="code-with-its-own-status"),
    ],
)
def test_domain_errors_keep_their_code_and_get_their_status(error, status, code):
    response = exception_handler(error, {})
    assert (response.status_code, response.data) == (status, {"detail": str(error), "code": code})
    assert STATUS_BY_CODE.get(code, status) == status


def test_an_option_a_service_refuses_answers_as_a_refused_field_naming_it():
    response = exception_handler(OptionRefused("A JSON file has no header row.", option="header_row"), {})
    assert (response.status_code, response.data) == (
        400,
        {
            "detail": "header_row: A JSON file has no header row.",
            "code": "invalid",
            "errors": {"header_row": ["A JSON file has no header row."]},
        },
    )


def test_a_header_row_for_a_json_file_is_a_field_error(api):
    body = shape(upload(api, b'[{"item_name": "Shirt"}]', name="v.json", header_row="1"), 400, "invalid")
    assert set(body["errors"]) == {"header_row"}
    assert "no header row" in body["detail"]


def test_an_unexpected_error_is_left_to_django():
    assert exception_handler(ValueError("bug"), {}) is None
