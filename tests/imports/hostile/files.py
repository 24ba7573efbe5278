"""Hostile files for the door tests: the same rows written in each format, and the two doors that take them."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile

from imports.models import ImportJob
from tests.imports.management.cli import last_json, run

#: Good variants rows (``VARIANT_HEADER``), each a key of its own.
GOOD_ROWS = [
    ("Shirt", "Soft", "Red", "M", "S-1", "10.00", "1"),
    ("Shirt", "Soft", "Blue", "M", "S-2", "11.00", "2"),
    ("Shirt", "Soft", "Green", "M", "S-3", "12.00", "3"),
]
CONTENT_TYPES = {
    "csv": "text/csv",
    "json": "application/json",
    "jsonl": "application/x-ndjson",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def as_format(file_format: str, header, rows) -> bytes:
    """``rows`` under ``header`` as a CSV, JSON (array of objects), JSON Lines or XLSX file."""
    if file_format == "csv":
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(header)
        writer.writerows(rows)
        return text.getvalue().encode()
    if file_format in ("json", "jsonl"):
        records = [dict(zip(header, row, strict=True)) for row in rows]
        if file_format == "json":
            return json.dumps(records).encode()
        return "".join(json.dumps(record) + "\n" for record in records).encode()
    import openpyxl

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("Variants")
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def file_name(file_format: str) -> str:
    return f"variants.{file_format}"


def post_file(client, content: bytes, file_format: str, **fields):
    """``POST /api/imports/`` with ``content`` as the file (named after its format)."""
    upload = SimpleUploadedFile(file_name(file_format), content, content_type=CONTENT_TYPES[file_format])
    return client.post("/api/imports/", {"file": upload, **fields}, format="multipart")


def run_command(tmp_path: Path, content: bytes, file_format: str, *argv) -> tuple[int, ImportJob | None]:
    """``import_catalog FILE --json ARGV...`` in this process: its exit code and the job it made (None if refused)."""
    path = tmp_path / file_name(file_format)
    path.write_bytes(content)
    code, out, _ = run("import_catalog", path, "--json", *argv)
    body = last_json(out)
    job = ImportJob.objects.get(pk=body["import_id"]) if "import_id" in body else None
    return code, job
