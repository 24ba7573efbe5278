"""mtc/metrics.py: /metrics is off without METRICS_TOKEN, needs the token, and times every request."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from mtc import metrics


def scrape(client) -> dict:
    response = client.get("/metrics", headers={"Authorization": "Bearer s3cret"})
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    return {family.name: family for family in text_string_to_metric_families(response.content.decode())}


def latency_count(families: dict, route: str, status: str) -> float:
    return sum(
        sample.value
        for sample in families["mtc_http_request_duration_seconds"].samples
        if sample.name.endswith("_count") and sample.labels["route"] == route and sample.labels["status"] == status
    )


@pytest.mark.django_db
def test_metrics_are_off_until_a_token_is_set(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404


@pytest.mark.django_db
def test_a_scrape_without_the_token_is_refused(client, settings):
    settings.METRICS_TOKEN = "s3cret"

    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer guess"})
    assert wrong.status_code == 401
    assert wrong["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert b"mtc_" not in wrong.content


@pytest.mark.django_db
def test_api_requests_are_timed_by_route_not_by_path(client, settings, django_user_model):
    settings.METRICS_TOKEN = "s3cret"
    before = scrape(client)
    client.force_login(django_user_model.objects.create_superuser("ops", password="x"))

    client.get("/api/imports/")
    client.get("/api/imports/999999/")  # a 404: its route, not its path

    after = scrape(client)
    assert latency_count(after, "/api/imports/", "200") == latency_count(before, "/api/imports/", "200") + 1
    routes = {sample.labels["route"] for sample in after["mtc_http_request_duration_seconds"].samples}
    assert "/api/imports/999999/" not in routes
    assert any(route.startswith("/api/imports/<") for route in routes)


def test_a_registered_collector_is_read_at_each_scrape_and_registered_once(monkeypatch):
    calls = []

    class Counting:
        def collect(self):
            calls.append(1)
            return iter(())

    monkeypatch.setattr(metrics, "_collectors", [])
    collector = Counting()
    metrics.register_collector(collector)
    metrics.register_collector(collector)

    metrics.exposition()
    metrics.exposition()

    assert len(calls) == 2
