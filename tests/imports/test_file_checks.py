"""Checking a file before it becomes a job: refusals with a code, rows counted up to a cap."""

import io

import pytest

from imports import file_checks
from imports.file_checks import FileRefused
from mtc.errors import OptionRefused
from tests.imports.files import variants_csv


@pytest.mark.parametrize(
    ("content", "name", "code", "words"),
    [
        (b"", "empty.csv", "empty_file", "is empty"),
        (b"   \n\n", "blank.csv", "empty_file", "is empty"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "photo.csv", "unsupported_file_type", "not a spreadsheet"),
        (bytes(range(256)) * 8, "noise.csv", "unsupported_file_type", "binary"),
        (b"name,colour\nShirt,Red\n", "wrong.csv", "wrong_header", "Missing required column"),
        (b"item_name,color_name,size_name\n", "header-only.csv", "no_data_rows", "no data rows"),
        (b"PK\x03\x04not really a zip", "broken.xlsx", "unreadable_file", "XLSX"),
    ],
)
def test_check_file_refuses_with_a_code_and_the_readers_message(db, content, name, code, words):
    with pytest.raises(FileRefused) as refused:
        file_checks.check_file(stream=io.BytesIO(content), file_name=name, kind="variants")
    assert refused.value.code == code
    assert words in str(refused.value)


def test_check_file_counts_rows_up_to_one_past_the_cap_and_rewinds(db):
    data = io.BytesIO(variants_csv(50))
    assert file_checks.check_file(stream=data, file_name="v.csv", kind="variants").data_rows == 50
    assert data.tell() == 0
    check = file_checks.check_file(stream=data, file_name="v.csv", kind="variants", stop_after=10)
    assert (check.file_format, check.data_rows) == ("csv", 11)


def test_check_file_tells_the_format_by_content_not_name(db):
    content = b'[{"item_name": "Shirt", "color_name": "Red", "size_name": "M"}]'
    check = file_checks.check_file(stream=io.BytesIO(content), file_name="misnamed.csv", kind="variants")
    assert check.file_format == "json"


@pytest.mark.parametrize(
    ("content", "file_format"),
    [
        (b'[{"item_name": "Shirt", "color_name": "Red", "size_name": "M"}]', ""),
        (b'{"item_name": "Shirt", "color_name": "Red", "size_name": "M"}\n', ""),
        (b'[{"item_name": "Shirt", "color_name": "Red", "size_name": "M"}]', "json"),
    ],
)
def test_check_file_refuses_a_header_row_for_a_file_with_no_lines_of_column_names(db, content, file_format):
    with pytest.raises(OptionRefused) as refused:
        file_checks.check_file(
            stream=io.BytesIO(content), file_name="v.txt", kind="variants", file_format=file_format, header_row=1
        )
    assert refused.value.option == "header_row"
    assert "which has no header row: each record names its own fields" in str(refused.value)
    check = file_checks.check_file(stream=io.BytesIO(content), file_name="v.txt", kind="variants")
    assert check.data_rows == 1  # the same file without it is read as before
    assert "header_row" not in check.reading


def test_check_upload_size_refuses_over_the_limit(settings):
    settings.IMPORT_MAX_UPLOAD_MB = 1
    file_checks.check_upload_size(size=1024 * 1024)
    with pytest.raises(FileRefused) as refused:
        file_checks.check_upload_size(size=1024 * 1024 + 1, file_name="uploads/big.csv")
    assert refused.value.code == "file_too_large"
    assert "big.csv" in str(refused.value)
    assert "IMPORT_MAX_UPLOAD_MB" in str(refused.value)
