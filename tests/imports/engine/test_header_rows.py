"""Header rows (issue 12): a title, notes or blank rows above the header, in CSV and XLSX.

The header is the line named, else the first row with content when it places
every required field, else the row of the first few dozen that reads best as
the kind's header (``imports.engine.header_rows``, scored by the mapping's own
suggestion). Data rows are numbered from the header; the header's line is in
the table's details, so a job can give each row its spreadsheet line.
"""

from __future__ import annotations

import openpyxl
import pytest

from catalog.kinds import KINDS
from imports.engine import header_rows, limits, xlsx_sheets
from imports.engine.columns import header_score, map_columns
from imports.engine.header_rows import HeaderChoice
from tests.imports.engine.test_readers import read as read_table
from tests.imports.engine.test_readers import rejection, workbook_bytes

VARIANTS = KINDS.get("variants")

#: A supplier's sheet as it arrives: a title holding a comma, a note, a blank line, then the header.
TITLED_CSV = (
    "Frühjahrskatalog 2026, Lieferant Müller\n"
    "Preise in EUR; gültig bis 31.3.\n"
    "\n"
    "Artikel;Farbe;Größe;Preis;Bestand\n"
    "Shirt;Rot;M;12,50;3\n"
    "\n"
    "Hose;Blau;L;1.299,00;4\n"
).encode()


def read(data: bytes, *, score: bool = True, **options):
    """``(headers, [(row_number, cells)], details)``, the header looked for as a check looks for it."""
    if score:
        options["header_score"] = header_score(VARIANTS)
    return read_table(data, **options)


def workbook(rows: list[list]) -> bytes:
    return workbook_bytes({"Sheet": rows})


@pytest.fixture(params=["calamine", "streamed", "public"])
def xlsx_path(request, monkeypatch, settings):
    """Each way of reading a sheet: calamine (where the sheet allows it), expat streaming, openpyxl's public API."""
    if request.param != "public" and not xlsx_sheets.PRIVATE_PARSER:
        pytest.skip(f"the fast path is off on openpyxl {openpyxl.__version__}")
    monkeypatch.setattr(xlsx_sheets, "PRIVATE_PARSER", request.param != "public")
    if request.param == "streamed":
        settings.IMPORT_XLSX_IN_MEMORY_MB = 0


# --- CSV ----------------------------------------------------------------------------------------


def test_csv_a_title_notes_and_blank_lines_above_the_header_are_skipped():
    headers, rows, details = read(TITLED_CSV, file_name="lieferant.csv")
    assert headers == ["Artikel", "Farbe", "Größe", "Preis", "Bestand"]
    assert (details["delimiter"], details["header_row"]) == (";", 4)
    # Rows count from the header (a blank row keeps its number): line = header line + row number.
    assert rows == [(1, ["Shirt", "Rot", "M", "12,50", "3"]), (3, ["Hose", "Blau", "L", "1.299,00", "4"])]
    assert map_columns(headers, VARIANTS).present >= {"item_name", "color_name", "size_name", "price", "stock"}


def test_csv_without_the_kinds_score_the_first_row_is_the_header_as_before():
    headers, _, details = read(TITLED_CSV, score=False, file_name="lieferant.csv")
    assert headers == ["Frühjahrskatalog 2026", " Lieferant Müller"]
    assert (details["delimiter"], details["header_row"]) == (",", 1)


def test_csv_a_first_row_that_places_every_required_field_is_the_header_without_looking_further():
    data = b"item_name,color_name,size_name\nShirt,Red,M\nitem_name,color_name,size_name,price,stock\n"
    headers, rows, details = read(data)
    assert (headers, details["header_row"]) == (["item_name", "color_name", "size_name"], 1)
    assert len(rows) == 2  # the second "header" is a data row like any other


def test_csv_the_line_named_is_the_header_whatever_is_above_it():
    data = b"item_name,color_name,size_name\nArtikel,Farbe,Groesse\nShirt,Rot,M\n"
    headers, rows, details = read(data, header_row=2, delimiter=",")
    assert (headers, details["header_row"], rows) == (["Artikel", "Farbe", "Groesse"], 2, [(1, ["Shirt", "Rot", "M"])])


def test_csv_excels_sep_hint_is_not_a_line_of_the_sheet():
    data = b"sep=;\nCatalogue\nitem_name;color_name;size_name\nShirt;Red;M\n"
    headers, rows, details = read(data)
    assert (headers, details["header_row"], rows) == (
        ["item_name", "color_name", "size_name"],
        2,
        [(1, ["Shirt", "Red", "M"])],
    )


def test_csv_a_delimiter_below_a_title_is_the_one_that_reads_the_best_header():
    data = "Lista de precios, primavera\nArtículo|Color|Talla|Precio\nCamisa|Rojo|M|12,50\n".encode()
    headers, rows, details = read(data)
    assert (details["delimiter"], headers) == ("|", ["Artículo", "Color", "Talla", "Precio"])
    assert rows == [(1, ["Camisa", "Rojo", "M", "12,50"])]


def test_csv_no_row_that_reads_as_a_header_leaves_the_first_row_the_header():
    data = b"Catalogue\nShirt,Red,M\nHat,Blue,L\n"
    headers, rows, details = read(data)
    assert (headers, details["header_row"]) == (["Catalogue"], 1)
    assert rows[0] == (1, ["Shirt", "Red", "M"])


def test_csv_a_header_further_down_than_the_search_is_not_looked_for():
    notes = "".join(f"note {n}\n" for n in range(limits.HEADER_SEARCH_ROWS))
    data = (notes + "item_name,color_name,size_name\nShirt,Red,M\n").encode()
    headers, _, details = read(data)
    assert (headers, details["header_row"]) == (["note 0"], 1)
    named, rows, details = read(data, header_row=limits.HEADER_SEARCH_ROWS + 1)
    assert (named, details["header_row"], rows) == (
        ["item_name", "color_name", "size_name"],
        limits.HEADER_SEARCH_ROWS + 1,
        [(1, ["Shirt", "Red", "M"])],
    )


@pytest.mark.parametrize(
    ("header_row", "message"),
    [
        pytest.param(3, "line 3 is empty or past the end; choose the line that holds the column names", id="blank"),
        pytest.param(9, "line 9 is empty or past the end", id="past-the-end"),
        pytest.param(0, f"The header row must be a line from 1 to {limits.MAX_HEADER_ROW:,}; 0 is not.", id="zero"),
        pytest.param(limits.MAX_HEADER_ROW + 1, "must be a line from 1 to", id="too-far"),
    ],
)
def test_csv_a_line_named_that_holds_no_header_refuses_the_file(header_row, message):
    data = b"Catalogue\nitem_name,color_name,size_name\n\nShirt,Red,M\n"
    assert message in rejection(data, file_name="f.csv", header_row=header_row, header_score=header_score(VARIANTS))


# --- XLSX ---------------------------------------------------------------------------------------


@pytest.mark.usefixtures("xlsx_path")
def test_xlsx_a_title_and_notes_above_the_header_are_skipped_and_rows_count_from_it():
    data = workbook(
        [
            ["Spring catalogue 2026", None, None],
            ["Prices in EUR", None, None],
            [None, None, None],
            ["Article", "Colour", "Size", "Retail price"],
            ["Shirt", "Red", "M", 12.5],
            [None, None, None, None],
            ["Hat", "Blue", "L", 9],
        ]
    )
    headers, rows, details = read(data)
    assert headers == ["Article", "Colour", "Size", "Retail price"]
    assert details == {"sheet": "Sheet", "header_row": 4}
    assert rows == [(1, ["Shirt", "Red", "M", 12.5]), (3, ["Hat", "Blue", "L", 9])]


@pytest.mark.usefixtures("xlsx_path")
def test_xlsx_the_line_named_is_the_header():
    data = workbook([["Colour", "Size", "Article"], ["item_name", "color_name", "size_name"], ["Shirt", "Red", "M"]])
    headers, rows, details = read(data, header_row=2)
    assert (headers, details["header_row"], rows) == (
        ["item_name", "color_name", "size_name"],
        2,
        [(1, ["Shirt", "Red", "M"])],
    )
    assert "sheet 'Sheet': line 5 is empty or past the end" in rejection(
        data, file_name="f.xlsx", header_row=5, header_score=header_score(VARIANTS)
    )


# --- the search is bounded ----------------------------------------------------------------------


def test_the_rows_held_while_looking_stop_at_the_held_content_bound(monkeypatch):
    monkeypatch.setattr(header_rows, "HELD_CONTENT_CHARS", 100)
    scored: list[int] = []

    def score(cells):
        scored.append(len(scored))
        return (False, 0, 1 if cells == ["header"] else 0)

    rows = iter([(line, ["x" * 40]) for line in range(1, 10)] + [(10, ["header"])])
    line, cells, rest = HeaderChoice(None, score, "f.csv").pick(rows)
    assert (line, cells) == (1, ["x" * 40])  # nothing read as a header within the bound
    assert len(scored) == 3  # 40 + 40 + 40 characters held: past 100, the search stopped
    assert next(rest) == (2, ["x" * 40])  # the rows held come back in order, then the rest


def test_a_paragraph_a_number_or_a_far_column_is_never_scored_as_a_column_name():
    score = header_score(VARIANTS)
    assert score(["item_name", "color_name", "size_name"]) == (True, 3, 3)
    assert score(["item_name " * 30, 5, None]) == (False, 0, 0)
    far = [""] * limits.HEADER_SCORED_COLUMNS + ["item_name", "color_name", "size_name"]
    assert score(far) == (False, 0, 0)
