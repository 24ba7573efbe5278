"""mtc/logs.py and LOG_FORMAT: an import's log lines carry its import_id, kind, system, worker and user."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from pythonjsonlogger.json import JsonFormatter

from imports import runtime, services, tasks
from mtc import logs
from tests.imports.files import stream, variants_csv

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def json_lines():
    """The root logger's records, formatted as LOG_FORMAT=json formats them (settings.LOGGING)."""
    options = {key: value for key, value in settings.LOGGING["formatters"]["json"].items() if key != "()"}
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter(**options))
    handler.addFilter(logs.ContextFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in out.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)


def test_bound_fields_reach_every_record_inside_the_block_and_nest(json_lines):
    log = logging.getLogger("tests.anything")
    with logs.bound(import_id=7, kind="colors"):
        log.warning("outer")
        with logs.bound(worker="w:1"):
            log.warning("inner")
    log.warning("after")

    outer, inner, after = json_lines()
    assert (outer["message"], outer["import_id"], outer["kind"], outer["level"]) == ("outer", 7, "colors", "WARNING")
    assert "worker" not in outer
    assert (inner["import_id"], inner["worker"]) == (7, "w:1")
    assert "import_id" not in after
    assert after["logger"] == "tests.anything"


@pytest.mark.usefixtures("import_env")
def test_a_background_import_logs_its_start_and_end_with_its_fields(json_lines, django_user_model):
    user = django_user_model.objects.create_user("anna")
    job = services.create_import_job(
        stream=stream(variants_csv(30)), file_name="v.csv", kind="variants", system="upsert", user=user
    )

    tasks.run_import(job.pk)

    lines = [line for line in json_lines() if line["logger"] == "imports.runtime"]
    assert [line["message"] for line in lines] == [
        f"Import {job.pk} starts (variants, v.csv, run 1)",
        f"Import {job.pk} ended completed after 30 rows",
    ]
    for line in lines:
        assert line["level"] == "INFO"
        assert {key: line[key] for key in ("import_id", "kind", "system", "worker", "user")} == {
            "import_id": job.pk,
            "kind": "variants",
            "system": "upsert",
            "worker": runtime.worker_name(),
            "user": user.pk,
        }


def console_line(log_format: str) -> str:
    code = "import django, logging; django.setup(); logging.getLogger('imports.runtime').warning('hello %s', 1)"
    env = {**os.environ, "LOG_FORMAT": log_format, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=60
    )
    return result.stderr.strip().splitlines()[-1]


def test_log_format_json_makes_the_console_write_one_json_object_a_line_and_text_stays_the_default():
    record = json.loads(console_line("json"))
    assert (record["message"], record["level"], record["logger"]) == ("hello 1", "WARNING", "imports.runtime")
    assert console_line("text").endswith(" WARNING imports.runtime: hello 1")
    assert console_line("").endswith(" WARNING imports.runtime: hello 1")


def test_an_unknown_log_format_stops_start_up():
    env = {**os.environ, "LOG_FORMAT": "xml", "DJANGO_SETTINGS_MODULE": "tests.settings"}
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode != 0
    assert "LOG_FORMAT='xml' is not valid: expected text or json." in result.stderr
