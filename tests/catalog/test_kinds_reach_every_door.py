"""One declaration reaches every door: a column added to a model, a kind added to the registry.

``catalog.kinds`` promises that what a kind of file means (its table, key,
columns, what an absent column leaves alone) is read from the models and the
registry by everything that reads or writes catalog files. These tests add,
for the length of a test, a column the code has never heard of (``barcode``
on item variants, a real database column) and a second kind of colors file
(``colours``), then go through each door: the API, the command line, the
admin's check-then-import, the exports, and on PostgreSQL the legacy
importer and the comparison of importers.
"""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.db import connection, models
from django.urls import reverse

from catalog.kinds import KINDS
from catalog.models import Color, ItemVariant
from catalog.resources import resource_for
from imports.models import ImportJob
from tests.conftest import token_client
from tests.imports.engine.job_runs import csv_bytes, make_variant
from tests.imports.files import stream

pytestmark = pytest.mark.django_db(transaction=True)

HEADER = ("item_name", "color_name", "size_name", "sku", "barcode")


@pytest.fixture
def barcode(settings, tmp_path):
    """``ItemVariant.barcode``, a CharField(20) with a column in the test database, for one test."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.USE_NEW_IMPORT_SYSTEM = "true"
    field = models.CharField(max_length=20, blank=True, default="")
    field.contribute_to_class(ItemVariant, "barcode")
    with connection.schema_editor() as editor:
        editor.add_field(ItemVariant, field)
    KINDS.refresh()
    try:
        yield field
    finally:
        with connection.schema_editor() as editor:
            editor.remove_field(ItemVariant, field)
        ItemVariant._meta.local_fields.remove(field)
        ItemVariant._meta._expire_cache()
        delattr(ItemVariant, "barcode")
        KINDS.refresh()


@pytest.fixture
def colours(settings, tmp_path):
    """A second kind of colors file, ``colours``, registered for one test."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.USE_NEW_IMPORT_SYSTEM = "true"
    KINDS.register(Color, name="colours", label="Colours (British)")
    try:
        yield KINDS.get("colours")
    finally:
        KINDS.unregister("colours")


@pytest.fixture
def api(admin_user):
    return token_client(admin_user)


def barcodes() -> dict[str, str]:
    return dict(ItemVariant.objects.values_list("sku", "barcode"))


def test_the_column_is_part_of_the_kind_with_its_type_and_length(barcode):
    variants = KINDS.get("variants")
    column = variants.column("barcode")
    assert (column.type, column.max_length, column.required) == ("code", 20, False)
    assert variants.values == ("sku", "price", "stock", "barcode")
    assert variants.master.values["barcode"] == ""


def test_the_api_imports_the_column_and_refuses_a_value_too_long_for_it(barcode, api):
    content = csv_bytes(HEADER, [("Shirt", "Red", "M", "S-1", "4006381333931"), ("Shirt", "Red", "L", "S-2", "9" * 21)])
    response = api.post("/api/imports/", {"file": stream(content), "kind": "variants"}, format="multipart")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["inserted"], body["failed"]) == (1, 1)
    assert body["error_summary"]["first_rows"][0]["column"] == "barcode"
    assert "barcode is longer than 20 characters" in body["error_summary"]["first_rows"][0]["error"]
    assert barcodes() == {"S-1": "4006381333931"}


def test_the_command_updates_the_column_and_a_file_without_it_leaves_it_alone(barcode, tmp_path):
    make_variant("Shirt", "Red", "M", sku="S-1")
    with_barcode = tmp_path / "with.csv"
    with_barcode.write_bytes(csv_bytes(HEADER, [("Shirt", "Red", "M", "S-1", "111")]))
    without = tmp_path / "without.csv"
    without.write_bytes(csv_bytes(HEADER[:4], [("Shirt", "Red", "M", "S-1"), ("Shirt", "Red", "L", "S-2")]))

    out = io.StringIO()
    call_command("import_catalog", str(with_barcode), "--json", stdout=out)
    assert json.loads(out.getvalue().splitlines()[-1])["updated"] == 1
    call_command("import_catalog", str(without), stdout=io.StringIO())

    assert barcodes() == {"S-1": "111", "S-2": ""}  # kept; a new row gets the field's default


def test_the_admin_checks_and_imports_the_column(barcode, admin_client):
    make_variant("Shirt", "Red", "M", sku="S-1")
    assert "barcode" in admin_client.get(reverse("admin:imports_importjob_start")).content.decode()

    content = csv_bytes(HEADER, [("Shirt", "Red", "M", "S-1", "222")])
    admin_client.post(reverse("admin:imports_importjob_start"), {"file": stream(content), "kind": "variants"})
    dry_run = ImportJob.objects.get(dry_run=True)
    preview = admin_client.get(reverse("admin:imports_importjob_preview", args=[dry_run.pk]))
    [update] = preview.context["sample"].updates
    assert [(c.column, c.old, c.new) for c in update.changes] == [("barcode", "(empty)", "222")]

    admin_client.post(reverse("admin:imports_importjob_preview", args=[dry_run.pk]))
    assert barcodes() == {"S-1": "222"}


def test_exports_write_the_column_and_import_back_unchanged(barcode, api):
    variant = make_variant("Shirt", "Red", "M", sku="S-1")
    ItemVariant.objects.filter(pk=variant.pk).update(barcode="=333")
    dataset = resource_for("variants")().export()
    assert dataset.headers == list(KINDS.get("variants").column_names)
    assert dataset.dict[0]["barcode"] == "'=333"  # guarded against formulas

    response = api.post("/api/imports/", {"file": stream(dataset.csv.encode()), "kind": "variants"}, format="multipart")
    assert (response.json()["unchanged"], response.json()["updated"]) == (1, 0)
    assert barcodes() == {"S-1": "=333"}


@pytest.mark.postgresql
def test_the_legacy_importer_writes_the_column_and_agrees_with_the_upsert(barcode, tmp_path):
    path = tmp_path / "legacy.csv"
    path.write_bytes(csv_bytes(HEADER, [("Shirt", "Red", "M", "S-1", "444"), ("Shirt", "Red", "M", "S-1", "555")]))

    out = io.StringIO()
    call_command("compare_importers", str(path), "--json", stdout=out)
    comparison = json.loads(out.getvalue().splitlines()[-1])
    assert comparison["agree"] is True, comparison["differences"]

    call_command("import_catalog", str(path), "--system", "legacy", stdout=io.StringIO())
    assert barcodes() == {"S-1": "555"}


def test_a_kind_added_to_the_registry_is_offered_by_every_door(colours, api, admin_client, tmp_path):
    assert KINDS.get("colours").column("color_name").aliases == ("color",)
    content = csv_bytes(("color",), [("Teal",)])

    response = api.post("/api/imports/", {"file": stream(content), "kind": "colours"}, format="multipart")
    assert response.status_code == 201, response.json()
    assert response.json()["kind"] == "colours"

    path = tmp_path / "colours.csv"
    path.write_bytes(csv_bytes(("color_name",), [("Olive",)]))
    call_command("import_catalog", str(path), "--kind", "colours", stdout=io.StringIO())

    page = admin_client.get(reverse("admin:imports_importjob_start"), {"kind": "colours"}).content.decode()
    assert "Colours (British)" in page
    assert set(Color.objects.values_list("color_name", flat=True)) == {"Teal", "Olive"}
    assert set(ImportJob.objects.values_list("kind", flat=True)) == {"colours"}
