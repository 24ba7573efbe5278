"""The URL root: where ``/`` and ``/api/`` lead, the API's 404 in DEBUG too, the schema in a browser,
and what the admin says it is and shows to whom."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_root_leads_to_the_admin(client):
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")


def test_the_api_root_is_a_json_index_of_its_endpoints_and_docs(client):
    body = client.get("/api/").json()

    assert body["docs"] == "http://testserver/api/docs/"
    assert body["schema"] == "http://testserver/api/schema/"
    assert body["endpoints"]["imports"]["url"] == "http://testserver/api/imports/"
    assert {"items", "colors", "sizes", "variants", "import_template"} <= set(body["endpoints"])


@pytest.mark.parametrize("debug", [True, False])
@pytest.mark.parametrize("path", ["/api/nothing-here/", "/api/items/abc/", "/api/imports/1/nothing/"])
def test_an_unknown_api_url_answers_json_404_in_debug_too(client, settings, debug, path):
    settings.DEBUG = debug

    response = client.get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


def test_the_schema_opens_as_a_page_in_a_browser_and_stays_yaml_for_clients(admin_client):
    page = admin_client.get("/api/schema/", HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")
    client_default = admin_client.get("/api/schema/", HTTP_ACCEPT="*/*")

    assert page["Content-Type"] == "text/html; charset=utf-8"
    assert "<pre>openapi: 3.0.3" in page.content.decode()
    assert client_default["Content-Type"].startswith("application/vnd.oai.openapi")


def test_the_schema_has_no_foreign_sample_links_and_says_what_each_404_is(client):
    paths = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()["paths"]
    text = str(paths) + str(client.get("/api/schema/?format=json").json()["components"])

    assert "api.example.org" not in text
    assert paths["/api/imports/"]["get"]["responses"]["404"]["description"].startswith("A page number past the end")
    assert "someone else's import" in paths["/api/imports/{import_id}/"]["get"]["responses"]["404"]["description"]
    assert "someone else's import" not in paths["/api/items/{item_id}/"]["get"]["responses"]["404"]["description"]


def test_the_admin_says_it_is_mtc_catalog_and_has_a_favicon(admin_client):
    html = admin_client.get(reverse("admin:index")).content.decode()

    assert "<title>Catalog and imports | MTC Catalog</title>" in html
    assert '<a href="/admin/">MTC Catalog</a>' in html
    assert 'rel="icon" href="/static/catalog/favicon.svg"' in html
    assert admin_client.get("/favicon.ico")["Location"] == "/static/catalog/favicon.svg"


def test_the_home_page_lists_import_jobs_once(admin_client):
    html = admin_client.get(reverse("admin:index")).content.decode()

    assert html.count(f'href="{reverse("admin:imports_importjob_changelist")}"') == 2  # the block's title and row
    assert html.count(">Import jobs</a>") == 1


def test_a_catalog_manager_sees_the_catalog_and_the_imports_only(client, django_user_model):
    manager = django_user_model.objects.create_user(username="manager", is_staff=True)
    manager.user_permissions.add(*Permission.objects.filter(content_type__app_label__in=["catalog", "imports"]))
    # Even given the worker's and the tokens' permissions, their sections are for superusers.
    manager.user_permissions.add(*Permission.objects.filter(content_type__app_label__in=["django_q", "authtoken"]))
    client.force_login(manager)

    app_labels = {app["app_label"] for app in client.get(reverse("admin:index")).context["app_list"]}

    assert app_labels == {"catalog", "imports"}


def test_a_superuser_still_sees_tokens_and_worker_tasks(admin_client):
    app_labels = {app["app_label"] for app in admin_client.get(reverse("admin:index")).context["app_list"]}

    assert {"authtoken", "django_q", "catalog", "imports"} <= app_labels
