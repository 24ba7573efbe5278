"""``manage.py seed_demo``: prints what it did and where the sample file is."""

from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from catalog.models import Item, ItemVariant

pytestmark = pytest.mark.django_db


def seed(*args) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def test_seed_demo_reports_counts_and_the_sample_path(tmp_path):
    output = tmp_path / "demo.csv"

    first = seed("--items", "3", "--output", str(output))
    again = seed("--items", "3", "--output", str(output))

    assert first.splitlines() == [
        "Items: 3 created, 0 already there. Colors: 10 created. Sizes: 6 created. "
        "Variants: 30 created, 0 already there.",
        f"Sample import file (13 rows, 3 of them deliberately invalid): {output.resolve()}",
    ]
    assert again.splitlines()[0] == (
        "Items: 0 created, 3 already there. Colors: 0 created. Sizes: 0 created. Variants: 0 created, 30 already there."
    )
    assert output.read_text(encoding="utf-8").startswith("item_name,description,color_name,size_name,sku,price,stock")
    assert Item.objects.count() == 3
    assert ItemVariant.objects.count() == 30


def test_seed_demo_defaults_to_fifty_items_and_var_demo(monkeypatch, tmp_path):
    monkeypatch.setattr(settings, "BASE_DIR", tmp_path)

    output = seed()

    assert Item.objects.count() == 50
    expected = (tmp_path / "var" / "demo" / "sample_variants.csv").resolve()
    assert output.rstrip().endswith(str(expected))
    assert Path(expected).is_file()


@pytest.mark.parametrize("items", ["0", "-3", "many"])
def test_seed_demo_refuses_a_bad_item_count(items):
    with pytest.raises(CommandError, match="expected a whole number of at least 1"):
        seed("--items", items)
