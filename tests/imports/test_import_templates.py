"""Templates to fill in: our columns, an example row, a sheet describing them; filled in, they import as they are."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from django.urls import reverse

from catalog.kinds import KINDS
from catalog.models import Color, Item, ItemVariant, Size
from imports import import_templates
from imports.models import ImportJob, ImportStatus
from tests.imports.engine.job_runs import counts, run_import
from tests.imports.management.cli import run

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("import_env")]

FILLED = {
    "variants": [
        ["Oxford Shirt", "Cotton oxford", "Navy", "M", "OXF-NAV-M", "49.90", "12"],
        ["Oxford Shirt", "Cotton oxford", "White", "L", "OXF-WHI-L", "", ""],
        ["Field Jacket", "", "Olive", "XL", "FJ-OLV-XL", "129.00", "3"],
    ],
    "items": [["Oxford Shirt", "Cotton oxford"], ["Field Jacket", ""]],
    "colors": [["Navy"], ["Olive"]],
    "sizes": [["M"], ["XL"]],
}
LIVE = {"variants": ItemVariant, "items": Item, "colors": Color, "sizes": Size}


def csv_rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8"))))


@pytest.mark.parametrize("kind", KINDS.names())
def test_the_csv_template_is_our_header_and_an_example_row_and_imports_with_no_mapping(kind):
    content, name, content_type = import_templates.template(kind=kind, file_format="csv")
    header, example = csv_rows(content)

    assert (name, content_type) == (f"{kind}-template.csv", "text/csv; charset=utf-8")
    assert header == list(KINDS.get(kind).column_names)
    assert len(example) == len(header)

    filled = io.StringIO()
    csv.writer(filled).writerows([header, *FILLED[kind]])
    job = run_import(filled.getvalue().encode(), kind=kind)
    assert job.status == ImportStatus.COMPLETED, job.failure_reason
    assert counts(job)["inserted"] == len(FILLED[kind])
    assert all(header == field for header, field in job.mapping.items())


@pytest.mark.parametrize("kind", KINDS.names())
def test_the_xlsx_template_marks_required_columns_describes_each_and_imports_filled_in(kind):
    content, _, _ = import_templates.template(kind=kind, file_format="xlsx")
    book = openpyxl.load_workbook(io.BytesIO(content))
    data, columns = book.worksheets
    spec = KINDS.get(kind)

    assert [cell.value for cell in data[1]] == list(spec.column_names)
    assert [bool(cell.font.bold) for cell in data[1]] == [column.required for column in spec.columns]
    assert [cell.comment.text if cell.comment else None for cell in data[1]] == [
        "Required" if column.required else None for column in spec.columns
    ]
    assert columns.title == "Columns"
    described = [[cell.value for cell in row] for row in columns.iter_rows(min_row=2)]
    assert [(row[0], row[1]) for row in described] == [
        (column.name, "yes" if column.required else "no") for column in spec.columns
    ]
    assert all(row[2] for row in described)

    data.delete_rows(2)
    for row in FILLED[kind]:
        data.append(row)
    filled = io.BytesIO()
    book.save(filled)
    job = run_import(filled.getvalue(), kind=kind, name=f"{kind}.xlsx")
    assert job.status == ImportStatus.COMPLETED, job.failure_reason
    assert LIVE[kind].objects.count() == counts(job)["inserted"] == len(FILLED[kind])


def test_the_columns_sheet_says_limits_and_what_an_empty_cell_does():
    described = {column.name: import_templates.describe(column) for column in KINDS.get("variants").columns}
    assert described["item_name"][1] == "At most 255 characters. Spaces around and repeated spaces are removed."
    assert described["item_name"][2] == "Required: a row without it is refused."
    assert described["price"][1] == "At most 2 decimal places, at most 9999999999.99."
    assert "the stored value is kept" in described["stock"][2]


def test_the_api_serves_both_formats_and_refuses_an_unknown_kind_or_format(api):
    url = reverse("imports:template")
    response = api.get(url, {"kind": "colors", "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="colors-template.csv"'
    assert csv_rows(response.content)[0] == ["color_name"]

    response = api.get(url, {"kind": "sizes", "format": "xlsx"})
    assert response["Content-Type"] == import_templates.CONTENT_TYPES["xlsx"]
    assert openpyxl.load_workbook(io.BytesIO(response.content)).worksheets[0]["A1"].value == "size_name"

    assert api.get(url).status_code == 200  # variants, CSV by default
    for query in ({"kind": "planets"}, {"format": "pdf"}):
        response = api.get(url, query)
        assert (response.status_code, response.json()["code"]) == (400, "invalid")


def test_the_command_writes_a_template_and_refuses_xlsx_on_a_terminal(tmp_path, monkeypatch):
    code, out, _ = run("import_template", "items")
    assert code == 0
    assert csv_rows(out.encode())[0] == ["name", "description"]

    target = tmp_path / "variants.xlsx"
    assert run("import_template", "variants", "--format", "xlsx", "-o", target)[0] == 0
    assert openpyxl.load_workbook(target).worksheets[1].title == "Columns"

    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    code, _, err = run("import_template", "variants", "--format", "xlsx")
    assert code == 2
    assert "write it to a file with -o FILE" in err
    assert run("import_template", "planets")[0] == 2


def test_the_import_screen_offers_each_kinds_template(admin_client):
    page = admin_client.get(reverse("admin:imports_importjob_start")).content.decode()
    for kind in KINDS.names():
        assert f"{reverse('imports:template')}?kind={kind}&amp;format=xlsx" in page
    assert not ImportJob.objects.exists()
