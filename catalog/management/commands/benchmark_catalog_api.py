"""``manage.py benchmark_catalog_api``: time the catalog API's list queries on a large catalog.

Seeds the demo catalog up to ``--variants`` live variants (``seed_demo``'s
data; 100,000 by default; the issue's figures are at 1,000,000; a catalog
that already has that many is measured as it is), then calls each list and
filter endpoint, its deepest page by number, a page as deep as the list goes
(by cursor) and the admin's variant list ``--repeat`` times in-process, and
prints, per endpoint, the queries it ran, the median time of its slowest
query, the 50th, 95th and 99th percentiles of the whole request and the
median CPU time of this process per request (what the machine's other work
cannot inflate as much as the wall time). ``--json`` prints the figures as
one JSON object too (what ``python -m bench --api-variants`` reads). A
figure-printing benchmark, not a test: run it on a database of its own, e.g.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mtc_bench_api \\
        .venv/bin/python manage.py migrate && \\
        .venv/bin/python manage.py benchmark_catalog_api --variants 1000000
"""

from __future__ import annotations

import json
import math
import statistics
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import connection
from django.test.utils import override_settings
from rest_framework.test import APIClient

from catalog.demo import seed_demo_catalog
from catalog.models import Color, Item, ItemVariant, Size
from catalog.pagination import NUMBERED_ROWS, cursor_for, list_order

PAGE: int = settings.REST_FRAMEWORK["PAGE_SIZE"]  # type: ignore[assignment]
#: Each list and filter, the deepest page a number reaches, a page as deep as the list goes (by
#: cursor: the position one page before its end), and the admin's variant list.
ENDPOINTS = (
    "/api/items/",
    "/api/items/?name=shirt",
    "/api/items/?name=rain",
    "/api/items/?name=99999",
    "/api/items/?name=q",
    "/api/items/?page={numbered_item_page}",
    "/api/items/?cursor={deep_item_cursor}",
    "/api/colors/",
    "/api/sizes/",
    "/api/variants/",
    "/api/variants/?page={numbered_variant_page}",
    "/api/variants/?cursor={deep_variant_cursor}",
    "/api/variants/?name=oxford",
    "/api/variants/?name=q",
    "/api/variants/?name=chino&color=navy&size=m",
    "/api/variants/?sku={sku}",
    "/api/variants/?status=all&page_size=200",
    "/admin/catalog/itemvariant/",
)


def placeholders() -> dict[str, object]:
    """The values of :data:`ENDPOINTS`' placeholders on the catalog as it is."""
    values: dict[str, object] = {}
    for name, model in (("item", Item), ("variant", ItemVariant)):
        rows = model.objects.count()
        values[f"numbered_{name}_page"] = max(1, min(math.ceil(rows / PAGE), NUMBERED_ROWS // PAGE))
        backwards = model.objects.order_by(*(f"-{key}" for key in list_order(model)))
        deep = backwards[PAGE : PAGE + 1].first() or backwards.last()
        values[f"deep_{name}_cursor"] = cursor_for(deep) if deep is not None else ""
    middle = ItemVariant.objects.order_by("pk")[ItemVariant.objects.count() // 2 :].first()
    values["sku"] = (middle.sku if middle is not None else "none").lower()  # any case matches
    return values


#: The admin's pages under production settings need ``collectstatic``'s manifest; the benchmark
#: measures the list, not the static files, so it names them as development does.
PLAIN_STATIC_FILES = {
    **settings.STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}


class Command(BaseCommand):
    help = "Seed a large demo catalog and print the catalog API's query times (a benchmark, not a test)."

    def add_arguments(self, parser):
        parser.add_argument("--variants", type=int, default=100_000, help="live variants to reach (default 100000)")
        parser.add_argument("--repeat", type=int, default=200, help="calls per endpoint (default 200)")
        parser.add_argument("--no-seed", action="store_true", help="measure the catalog as it is")
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="also print the figures as one JSON object"
        )

    def handle(self, *args, variants, repeat, no_seed, as_json, **options):
        if not no_seed and ItemVariant.objects.count() < variants:
            started = time.monotonic()
            report = seed_demo_catalog(items=max(1, variants // 10))
            self.stdout.write(
                f"Seeded {report.variants_created:,} variants ({report.variants_existing:,} were there) "
                f"in {time.monotonic() - started:.1f}s"
            )
            with connection.cursor() as cursor:
                for model in (Item, Color, Size, ItemVariant):
                    cursor.execute(
                        f"ANALYZE {model._meta.db_table}" if connection.vendor == "postgresql" else "SELECT 1"
                    )
        self.stdout.write(
            f"Catalog: {Item.objects.count():,} items, {ItemVariant.objects.count():,} live variants, "
            f"{Color.objects.count()} colors, {Size.objects.count()} sizes ({connection.vendor})"
        )
        user, _ = get_user_model().objects.get_or_create(
            username="benchmark-api", defaults={"is_staff": True, "is_superuser": True}
        )
        client = APIClient(HTTP_HOST="localhost")
        client.force_authenticate(user)
        client.force_login(user)  # the admin's list
        self.stdout.write(
            f"{'endpoint':56} {'queries':>7} {'slowest query ms':>17} {'request ms p50':>15} {'p95':>7} {'p99':>7} "
            f"{'CPU ms':>7}"
        )
        values = placeholders()
        figures = {}
        with override_settings(STORAGES=PLAIN_STATIC_FILES):
            for url in ENDPOINTS:
                figures[url] = self._measure(client, url.format(**values), repeat)
        if as_json:
            self.stdout.write(
                json.dumps({"variants": ItemVariant.objects.count(), "repeat": repeat, "endpoints": figures})
            )

    def _measure(self, client: APIClient, url: str, repeat: int) -> dict | None:
        client.get(url)  # warm caches and connections
        slowest, totals, cpu, queries = [], [], [], 0
        for _ in range(repeat):
            timings = QueryTimer()
            with connection.execute_wrapper(timings):
                started, processing = time.perf_counter(), time.process_time()
                response = client.get(url)
                totals.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - processing) * 1000)
            if response.status_code != 200:
                self.stderr.write(f"{url}: HTTP {response.status_code}")
                return None
            queries = len(timings.ms)
            slowest.append(max(timings.ms, default=0.0))
        figures = {
            "url": url,
            "queries": queries,
            "slowest_query_ms": round(statistics.median(slowest), 1),
            "p50_ms": round(_percentile(totals, 50), 1),
            "p95_ms": round(_percentile(totals, 95), 1),
            "p99_ms": round(_percentile(totals, 99), 1),
            "cpu_ms": round(statistics.median(cpu), 1),
        }
        shown = url if len(url) <= 56 else url[:53] + "..."
        self.stdout.write(
            f"{shown:56} {queries:>7} {figures['slowest_query_ms']:>17.1f} {figures['p50_ms']:>15.1f} "
            f"{figures['p95_ms']:>7.1f} {figures['p99_ms']:>7.1f} {figures['cpu_ms']:>7.1f}"
        )
        return figures


def _percentile(values: list[float], percent: int) -> float:
    """The nearest-rank percentile (p99 of 50 calls is the slowest)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(len(ordered) * percent / 100) - 1)]


class QueryTimer:
    """A database execute wrapper recording each query's duration (ms, perf_counter precision)."""

    def __init__(self):
        self.ms: list[float] = []

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.ms.append((time.perf_counter() - started) * 1000)
