"""``benchmark_catalog_api`` runs end to end on a small catalog (its figures are for people, not asserts)."""

import io

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
