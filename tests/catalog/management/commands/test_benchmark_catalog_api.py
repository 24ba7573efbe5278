"""``benchmark_catalog_api`` runs end to end on a small catalog (its figures are for people, not asserts)."""

import io
import json

from django.core.management import call_command

from catalog.management.commands.benchmark_catalog_api import ENDPOINTS
from catalog.models import ItemVariant


def test_it_seeds_and_reports_every_endpoint(db):
    out, err = io.StringIO(), io.StringIO()
    call_command("benchmark_catalog_api", variants=40, repeat=2, stdout=out, stderr=err)
    assert err.getvalue() == ""
    assert ItemVariant.objects.count() == 40
    lines = out.getvalue().splitlines()
    assert "40 live variants" in lines[1]
    measured = [line.split()[0] for line in lines[3:]]
    assert [url.split("?")[0] for url in measured] == [url.split("?")[0] for url in ENDPOINTS]
    assert "/api/variants/?page=1" in measured  # the deepest numbered page of a one-page list
    assert not any("{" in url for url in measured)


def test_a_catalog_already_that_large_is_reused_and_the_figures_come_as_json_too(db):
    """What ``python -m bench --api-variants`` reads: one JSON object, every endpoint's figures."""
    call_command("benchmark_catalog_api", variants=40, repeat=1, stdout=io.StringIO())
    out, err = io.StringIO(), io.StringIO()

    call_command("benchmark_catalog_api", variants=30, repeat=2, as_json=True, stdout=out, stderr=err)

    assert err.getvalue() == ""
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("Catalog: 4 items, 40 live variants")  # nothing seeded
    figures = json.loads(lines[-1])
    assert (figures["variants"], figures["repeat"], list(figures["endpoints"])) == (40, 2, list(ENDPOINTS))
    items = figures["endpoints"]["/api/items/"]
    assert items["url"] == "/api/items/"
    assert items["queries"] == 3  # the ids, the page, the page's variants (a forced authentication)
    assert items["p50_ms"] <= items["p95_ms"] <= items["p99_ms"]
    assert {"slowest_query_ms", "cpu_ms"} <= set(items)
