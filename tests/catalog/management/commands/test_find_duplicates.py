"""``manage.py find_duplicates``: a table or JSON, exit 1 when duplicates are found."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import OperationalError

from catalog.models import Color, Item


def run(*args) -> tuple[str, CommandError | None]:
    out = StringIO()
    try:
        call_command("find_duplicates", *args, stdout=out)
    except CommandError as error:
        return out.getvalue(), error
    return out.getvalue(), None


@pytest.mark.django_db
def test_no_duplicates_prints_so_and_exits_zero():
    Color.objects.create(color_name="Navy")

    output, error = run()

    assert error is None
    assert output.strip() == "No live duplicates (item, color, size, variant checked)."


@pytest.mark.django_db
def test_json_without_duplicates_is_one_document():
    output, error = run("--json", "--model", "size")

    assert error is None
    assert json.loads(output) == {"total": 0, "duplicates": {"size": []}}


@pytest.mark.postgresql
def test_duplicates_are_tabled_and_exit_one(without_unique_indexes):
    a = Item.objects.create(name="Oxford Shirt 0001")
    b = Item.objects.create(name="Oxford Shirt 0001")
    Color.objects.create(color_name="Navy")
    c = Color.objects.create(color_name="Navy")

    output, error = run()

    assert error is not None
    assert error.returncode == 1
    assert "2 live duplicate key(s) in item, color" in str(error)
    assert "resolve_duplicates --strategy rename|merge" in str(error)
    lines = output.splitlines()
    assert lines[0].split() == ["master", "key", "rows", "ids"]
    assert lines[2].split() == ["item", "name='Oxford", "Shirt", "0001'", "2", f"{a.pk},", str(b.pk)]
    assert lines[3].split()[:3] == ["color", "color_name='Navy'", "2"]
    assert lines[3].endswith(f", {c.pk}")
    assert lines[-1] == "2 duplicate key(s) (item, color, size, variant checked)."


@pytest.mark.postgresql
def test_json_with_duplicates_lists_keys_counts_and_ids(without_unique_indexes):
    a = Color.objects.create(color_name="Navy")
    b = Color.objects.create(color_name="Navy")
    Item.objects.create(name="Oxford Shirt 0001")
    Item.objects.create(name="Oxford Shirt 0001")

    output, error = run("--json", "--model", "color")

    assert error.returncode == 1
    assert json.loads(output) == {
        "total": 1,
        "duplicates": {"color": [{"key": {"color_name": "Navy"}, "count": 2, "ids": [a.pk, b.pk]}]},
    }


@pytest.mark.django_db
def test_a_failed_query_exits_two_not_one(monkeypatch):
    def unreachable(**kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr("catalog.management.commands.find_duplicates.find_duplicates_by_master", unreachable)

    output, error = run()

    assert error.returncode == 2
    assert str(error) == "Could not check for duplicates: connection refused"
    assert output == ""
