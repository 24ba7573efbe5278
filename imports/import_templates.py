"""Template files to fill in: every column of a kind under our header names, with an example row.

A template filled in imports with no mapping step: its headers are ours.
The CSV holds the header row and one example row; the XLSX marks required
columns (bold, with a note) and adds a second sheet, "Columns", describing
each column: required or not, what it holds, its limits, what an empty cell
and a missing column do. Everything comes from the kind (``catalog.kinds``),
so a column added to a model is in its templates too.
"""

from __future__ import annotations

import csv
import io
from typing import BinaryIO

from catalog.kinds import KINDS, Column, Kind
from imports.engine.rows import max_length
from mtc.cell_guard import guard_row, xlsx_cells

FORMATS = ("csv", "xlsx")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
#: Example values by column name, then by column type.
EXAMPLES = {
    "item_name": "Oxford Shirt",
    "name": "Oxford Shirt",
    "description": "Cotton oxford, regular fit",
    "color_name": "Navy",
    "size_name": "M",
    "sku": "OXF-NAV-M",
    "price": "49.90",
    "stock": "12",
}
EXAMPLES_BY_TYPE = {"name": "Example", "text": "Some text", "code": "CODE-1", "decimal": "1.00", "count": "1"}


def file_name(kind: Kind, file_format: str) -> str:
    return f"{kind.name}-template.{file_format}"


def example_row(kind: Kind) -> list[str]:
    return [EXAMPLES.get(column.name) or EXAMPLES_BY_TYPE[column.type] for column in kind.columns]


def describe(column: Column) -> tuple[str, str, str]:
    """``(what it holds, its limits, empty cell / missing column)`` in a catalog manager's words."""
    if column.type == "name":
        what = f"The {column.label.lower()}, matched exactly (capitals count) with the existing ones; created if new."
        limits = f"At most {column.max_length:,} characters. Spaces around and repeated spaces are removed."
        empty = "Required: a row without it is refused."
    elif column.type == "text":
        what = "Text; line breaks are kept."
        limits = f"At most {max_length(column) or 0:,} characters. Spaces around are removed."
        empty = "Empty: stored empty. Column left out: the stored text is kept."
    elif column.type == "code":
        what = "One line of text."
        limits = f"At most {column.max_length:,} characters." if column.max_length else ""
        empty = "Empty: stored empty. Column left out: the stored value is kept."
    elif column.type == "decimal":
        places = column.decimal_places or 0
        what = (
            "A number, 0 or more: 12.50 or 12,50; thousands separators (1,299.50 or 1.299,50) and a currency "
            "(EUR 30, 30 €) are fine. A number that reads two ways (1.000) needs the file's number format."
        )
        limits = f"At most {places} decimal place{'s' if places != 1 else ''}, at most {column.max_value}."
        empty = "Empty: no value. Column left out: the stored value is kept."
    else:
        what, limits = (
            "A whole number, 0 or more (12, 12.0 or 12,0; 1,299 or 1.299 needs the file's number format).",
            "",
        )
        empty = "Empty: no value. Column left out: the stored value is kept."
    return what, limits, empty


def write_csv(kind: Kind, target: io.TextIOBase) -> None:
    writer = csv.writer(target)
    writer.writerow(guard_row(kind.column_names))
    writer.writerow(guard_row(example_row(kind)))


def write_xlsx(kind: Kind, target: BinaryIO) -> None:
    from openpyxl import Workbook  # loaded only when a workbook is written
    from openpyxl.comments import Comment
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = kind.label[:31]
    sheet.append(xlsx_cells(sheet, kind.column_names))
    sheet.append(xlsx_cells(sheet, example_row(kind)))
    for cell, column in zip(sheet[1], kind.columns, strict=True):
        if column.required:
            cell.font = Font(bold=True)
            cell.comment = Comment("Required", "MTC Catalog")
        sheet.column_dimensions[cell.column_letter].width = max(14, len(column.name) + 4)
    columns = workbook.create_sheet("Columns")
    columns.append(
        xlsx_cells(columns, ["Column", "Required", "What it holds", "Limits", "Empty cell / column left out"])
    )
    for cell in columns[1]:
        cell.font = Font(bold=True)
    for column in kind.columns:
        columns.append(xlsx_cells(columns, [column.name, "yes" if column.required else "no", *describe(column)]))
    for letter, width in zip("ABCDE", (16, 10, 70, 50, 60), strict=True):
        columns.column_dimensions[letter].width = width
    workbook.save(target)


def template(*, kind: str, file_format: str) -> tuple[bytes, str, str]:
    """``(content, file name, content type)`` of the template of ``kind`` in ``file_format``."""
    spec = KINDS.get(kind)
    if file_format == "csv":
        text = io.StringIO()
        write_csv(spec, text)
        content = text.getvalue().encode("utf-8")
    else:
        binary = io.BytesIO()
        write_xlsx(spec, binary)
        content = binary.getvalue()
    return content, file_name(spec, file_format), CONTENT_TYPES[file_format]
