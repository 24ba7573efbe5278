"""Catalog exports (catalog.resources and the admin's Export button): the import format, and back.

The promise an export makes is that it can be edited and imported back: so
the headers are the import kinds' own columns, and a file exported as is
imports back with every row unchanged, in CSV and in XLSX.
"""

from __future__ import annotations

import io
from decimal import Decimal

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from import_export.formats.base_formats import CSV, XLSX

from catalog.kinds import KINDS
from catalog.models import Color, Item, ItemVariant, Size
from catalog.resources import resource_for
from catalog.services import soft_delete
from tests.imports.engine.job_runs import counts, run_import

pytestmark = pytest.mark.django_db

EXPORT_URLS = {
    "variants": "admin:catalog_itemvariant_export",
    "items": "admin:catalog_item_export",
    "colors": "admin:catalog_color_export",
    "sizes": "admin:catalog_size_export",
}
CSV_FORMAT, XLSX_FORMAT = "0", "1"  # the admin form's choices, in CatalogImportExportMixin.export_formats order


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def catalog(make_item, make_color, make_size, make_variant):
    """Values that test the round trip: empty price and stock, line breaks, formula-like text, accents."""
    shirt = make_item("Oxford Shirt", description="Cotton oxford.\nRegular fit.")
    formula = make_item("=Formula Tee", description="-dash first, then +plus")
    scarf = make_item("Écharpe en laine", description="")
    navy, red = make_color("Navy"), make_color("@Red")
    m, l_size = make_size("M"), make_size("L")
    make_variant(shirt, navy, m, sku="OXF-NAV-M", price=Decimal("49.90"), stock=10)
    make_variant(shirt, navy, l_size, sku="", price=None, stock=None)
    make_variant(formula, red, m, sku="=1+1", price=Decimal("0.00"), stock=0)
    make_variant(scarf, red, l_size, sku="ECH-1", price=Decimal("1234567.5"), stock=2_000_000)
    gone = make_variant(scarf, navy, m, sku="GONE")
    soft_delete(rows=ItemVariant.objects.filter(pk=gone.pk))
    return {"gone": gone}


def test_each_resource_writes_exactly_its_import_kinds_columns():
    for kind in KINDS:
        assert resource_for(kind.name)().get_export_headers() == list(kind.column_names)


def test_variants_export_writes_values_as_the_importer_reads_them(catalog):
    rows = {row["sku"]: row for row in resource_for("variants")().export().dict}

    assert rows["OXF-NAV-M"] == {
        "item_name": "Oxford Shirt",
        "description": "Cotton oxford.\nRegular fit.",
        "color_name": "Navy",
        "size_name": "M",
        "sku": "OXF-NAV-M",
        "price": "49.90",
        "stock": "10",
    }
    assert rows[""]["price"] == ""
    assert rows[""]["stock"] == ""
    # formula-like text is defused with a leading quote, which the importer drops again
    assert rows["'=1+1"]["item_name"] == "'=Formula Tee"
    assert rows["'=1+1"]["color_name"] == "'@Red"
    assert rows["'=1+1"]["description"] == "'-dash first, then +plus"
    assert rows["ECH-1"]["price"] == "1234567.50"  # plain digits: no thousands separator, no exponent


def test_exports_hold_live_rows_unless_deleted_ones_are_asked_for(catalog):
    def skus(rows):
        return sorted(row["sku"] for row in resource_for("variants")(rows=rows).export().dict)

    assert "GONE" not in skus("active")
    assert skus("deleted") == ["GONE"]
    assert "GONE" in skus("all")
    assert len(skus("all")) == len(skus("active")) + 1
    with pytest.raises(ValueError, match="rows must be one of"):
        resource_for("variants")(rows="everything")


@pytest.mark.parametrize("kind", KINDS.names())
@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_an_export_imports_back_with_every_row_unchanged(catalog, media, kind, file_format):
    dataset = resource_for(kind)().export(force_native_type=file_format == "xlsx")
    content = CSV().export_data(dataset).encode() if file_format == "csv" else XLSX().export_data(dataset)
    before = {model: list(model.objects.values()) for model in (Item, Color, Size, ItemVariant)}

    job = run_import(content, kind=kind, name=f"export.{file_format}")

    figures = counts(job)
    assert job.status == "completed", job.failure_reason
    assert figures["total_rows"] == len(dataset) > 0
    assert figures == {**figures, "inserted": 0, "updated": 0, "failed": 0, "superseded": 0}
    assert figures["unchanged"] == len(dataset)
    assert {model: list(model.objects.values()) for model in before} == before


def test_an_edited_export_imports_the_edits(catalog, media):
    dataset = resource_for("variants")().export()
    for index, row in enumerate(dataset.dict):
        if row["sku"] == "OXF-NAV-M":
            dataset[index] = (*dataset[index][:5], "52.00", "7")

    job = run_import(dataset.csv.encode(), kind="variants")

    assert counts(job)["updated"] == 1
    assert counts(job)["unchanged"] == len(dataset) - 1
    edited = ItemVariant.objects.get(sku="OXF-NAV-M")
    assert (edited.price, edited.stock) == (Decimal("52.00"), 7)


# --- the admin's Export button ------------------------------------------------------------


def export(client, kind: str, *, file_format: str = CSV_FORMAT, rows: str = "active", query: str = ""):
    url = reverse(EXPORT_URLS[kind]) + query
    return client.post(url, {"resource": "0", "format": file_format, "rows": rows})


def test_catalog_lists_have_import_and_export_buttons(admin_client):
    for kind, name in [("variants", "itemvariant"), ("items", "item"), ("colors", "color"), ("sizes", "size")]:
        page = admin_client.get(reverse(f"admin:catalog_{name}_changelist")).content.decode()
        assert f"{reverse('admin:imports_importjob_start')}?kind={kind}" in page
        assert reverse(EXPORT_URLS[kind]) in page


def test_export_page_offers_csv_and_excel_and_defaults_to_active_rows(admin_client):
    response = admin_client.get(reverse(EXPORT_URLS["variants"]))

    form = response.context["form"]
    assert [label for _, label in form.fields["format"].choices] == [
        "CSV (opens in any spreadsheet program)",
        "Excel workbook (.xlsx)",
    ]
    assert form.initial["rows"] == "active"
    assert "item_name, description, color_name, size_name, sku, price, stock" in response.content.decode()
    # coming from the list's "Deleted" filter, the form starts on deleted rows
    deleted = admin_client.get(reverse(EXPORT_URLS["variants"]) + "?status=deleted")
    assert deleted.context["form"].initial["rows"] == "deleted"


def test_export_page_cancel_goes_back_to_the_list_as_it_was(admin_client):
    """Issue 15: the export page had no way back but the browser's."""
    page = admin_client.get(reverse(EXPORT_URLS["colors"]) + "?q=Navy&status=deleted").content.decode()

    changelist = reverse("admin:catalog_color_changelist")
    assert f'<a href="{changelist}?q=Navy&amp;status=deleted" class="closelink">Cancel</a>' in page
    plain = admin_client.get(reverse(EXPORT_URLS["colors"])).content.decode()
    assert f'<a href="{changelist}" class="closelink">Cancel</a>' in plain


def test_admin_csv_export_is_the_import_format_of_the_rows_asked_for(admin_client, catalog):
    response = export(admin_client, "variants")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="catalog-variants-' in response["Content-Disposition"]
    text = response.content.decode()
    assert text.splitlines()[0] == "item_name,description,color_name,size_name,sku,price,stock"
    assert "GONE" not in text
    deleted = export(admin_client, "variants", rows="deleted").content.decode()
    assert "GONE" in deleted
    assert "OXF-NAV-M" not in deleted


def test_admin_export_keeps_the_lists_search(admin_client, catalog):
    text = export(admin_client, "variants", query="?q=Oxford").content.decode()

    assert "OXF-NAV-M" in text
    assert "ECH-1" not in text


def test_admin_xlsx_export_opens_as_a_workbook_with_typed_cells(admin_client, catalog):
    response = export(admin_client, "variants", file_format=XLSX_FORMAT)

    sheet = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == list(KINDS.get("variants").column_names)
    by_sku = {row[4]: row for row in rows[1:]}
    assert by_sku["OXF-NAV-M"][5] == pytest.approx(49.9)
    assert by_sku["OXF-NAV-M"][6] == 10


def test_admin_export_query_count_does_not_grow_with_rows(admin_client, make_item, make_color, make_size, make_variant):
    colors = [make_color(f"Color {n:02d}") for n in range(10)]
    sizes = [make_size(f"Size {n:02d}") for n in range(10)]

    def queries() -> int:
        export(admin_client, "variants")  # warm per-process caches
        with CaptureQueriesContext(connection) as captured:
            assert export(admin_client, "variants").status_code == 200
        return len(captured)

    item = make_item("Few")
    for n in range(3):
        make_variant(item, colors[n], sizes[n])
    few = queries()
    for n in range(40):
        make_variant(make_item(f"Many {n:02d}"), colors[n % 10], sizes[n // 10])
    assert queries() == few
