"""Prometheus metrics at ``/metrics``: API latency here, the import system's figures from its app.

Two kinds of figures, so that any web process on any machine answers the same:

* **observed in this process**: the latency of every request
  (``mtc_http_request_duration_seconds``, by method, route and status),
  recorded by :class:`RequestLatencyMiddleware`. Under gunicorn several worker
  processes serve requests: with ``PROMETHEUS_MULTIPROC_DIR`` set (scripts/serve
  and deploy/mtc-app.service set it) each writes its samples there and a scrape
  adds up every worker's, the dead ones' included (``deploy/gunicorn.conf.py``);
* **read from the database at each scrape**: the apps register collectors with
  :func:`register_collector` (the imports app: durations, rows, jobs, queue,
  heartbeats; ``imports/prometheus.py``), because imports run in the worker
  processes, on other machines, and their records are in the database.

Access: off (404) unless ``METRICS_TOKEN`` is set; then a scrape sends
``Authorization: Bearer <token>`` (Prometheus: ``authorization: {credentials: ...}``).
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Callable, Iterable

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from prometheus_client import CollectorRegistry, Histogram, generate_latest, multiprocess
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

#: Request latency buckets, in seconds: list pages take tens of milliseconds, uploads seconds.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

#: This process's own samples (with PROMETHEUS_MULTIPROC_DIR: written to files instead, read back per scrape).
PROCESS_REGISTRY = CollectorRegistry(auto_describe=True)
REQUEST_LATENCY = Histogram(
    "mtc_http_request_duration_seconds",
    "Time to answer a request, by method, URL route and status code.",
    ["method", "route", "status"],
    buckets=LATENCY_BUCKETS,
    registry=PROCESS_REGISTRY,
)

_collectors: list[Collector] = []


def register_collector(collector: Collector) -> None:
    """Add figures read at each scrape (an app's ``ready``); registering the same one twice is a no-op."""
    if collector not in _collectors:
        _collectors.append(collector)


def multiprocess_dir() -> str:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


class _Registered:
    """Adapts another registry's figures as one collector of the scrape's registry."""

    def __init__(self, source: CollectorRegistry) -> None:
        self.source = source

    def collect(self) -> Iterable:
        return self.source.collect()


def exposition() -> bytes:
    """Every metric, in Prometheus's text format."""
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_dir():
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_Registered(PROCESS_REGISTRY))
    for collector in _collectors:
        registry.register(collector)
    return generate_latest(registry)


def authorized(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    sent = request.headers.get("Authorization", "")
    return bool(token) and hmac.compare_digest(sent.encode(), f"Bearer {token}".encode())


def metrics_view(request: HttpRequest) -> HttpResponse:
    """``GET /metrics``: 404 while ``METRICS_TOKEN`` is unset, 401 without the right bearer token."""
    if not settings.METRICS_TOKEN:
        raise Http404("Metrics are off: set METRICS_TOKEN.")
    if not authorized(request):
        response = HttpResponse("Send Authorization: Bearer <METRICS_TOKEN>.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)


class RequestLatencyMiddleware:
    """Times every request (outermost, so static files and redirects count too) into ``REQUEST_LATENCY``.

    The route is the URL pattern (``api/imports/<int:pk>/``), never the path,
    so the number of series stays small whatever URLs are asked for.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        REQUEST_LATENCY.labels(request.method or "", _route(request), str(response.status_code)).observe(
            time.perf_counter() - started
        )
        return response


def _route(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    if match is not None and match.route:
        return "/" + match.route
    if request.path.startswith("/" + settings.STATIC_URL.lstrip("/")):
        return "static"
    return "unmatched"
