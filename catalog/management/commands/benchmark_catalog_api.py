"""``manage.py benchmark_catalog_api``: time the catalog API's list queries on a large catalog.

Seeds the demo catalog up to ``--variants`` live variants (``seed_demo``'s
data, idempotent; 100,000 by default), then calls each list endpoint
``--repeat`` times in-process and prints, per endpoint, the queries it ran,
the median time of its slowest query and the median time of the whole
request. A figure-printing benchmark, not a test: run it on a database of
its own, e.g.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mtc_bench_api \\
        .venv/bin/python manage.py migrate && \\
        .venv/bin/python manage.py benchmark_catalog_api
"""

from __future__ import annotations

import math
import statistics
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import connection
from rest_framework.test import APIClient

from catalog.demo import seed_demo_catalog
from catalog.models import Color, Item, ItemVariant, Size

PAGE = settings.REST_FRAMEWORK["PAGE_SIZE"]
#: The deepest pages (the largest OFFSET) are the slowest ones.
ENDPOINTS = (
    "/api/items/",
    "/api/items/?name=shirt",
    "/api/items/?page={last_item_page}",
    "/api/colors/",
    "/api/sizes/",
    "/api/variants/",
    "/api/variants/?page={last_variant_page}",
    "/api/variants/?name=oxford",
    "/api/variants/?name=chino&color=navy&size=m",
    "/api/variants/?status=all&page_size=200",
)


class Command(BaseCommand):
    help = "Seed a large demo catalog and print the catalog API's query times (a benchmark, not a test)."

    def add_arguments(self, parser):
        parser.add_argument("--variants", type=int, default=100_000, help="live variants to reach (default 100000)")
        parser.add_argument("--repeat", type=int, default=20, help="calls per endpoint (default 20)")
        parser.add_argument("--no-seed", action="store_true", help="measure the catalog as it is")

    def handle(self, *args, variants, repeat, no_seed, **options):
        if not no_seed:
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
        user, _ = get_user_model().objects.get_or_create(username="benchmark-api")
        client = APIClient(HTTP_HOST="localhost")
        client.force_authenticate(user)
        self.stdout.write(f"{'endpoint':48} {'queries':>7} {'slowest query ms':>17} {'request ms':>11}")
        pages = {
            "last_item_page": max(1, math.ceil(Item.objects.count() / PAGE)),
            "last_variant_page": max(1, math.ceil(ItemVariant.objects.count() / PAGE)),
        }
        for url in ENDPOINTS:
            self._measure(client, url.format(**pages), repeat)

    def _measure(self, client: APIClient, url: str, repeat: int) -> None:
        client.get(url)  # warm caches and connections
        slowest, totals, queries = [], [], 0
        for _ in range(repeat):
            timings = QueryTimer()
            with connection.execute_wrapper(timings):
                started = time.perf_counter()
                response = client.get(url)
                totals.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                self.stderr.write(f"{url}: HTTP {response.status_code}")
                return
            queries = len(timings.ms)
            slowest.append(max(timings.ms))
        self.stdout.write(
            f"{url:48} {queries:>7} {statistics.median(slowest):>17.1f} {statistics.median(totals):>11.1f}"
        )


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
