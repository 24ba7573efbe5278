"""The guide's phase 5 is the removal of one package and one settings block: the rest keeps working.

Each check runs in a subprocess under ``without_rollout`` settings (the
package hidden as if deleted, its settings block gone), on an SQLite
database of its own: the project passes its system checks, migrates, has no
model change left behind, imports a file with the upsert importer (no
routing, no legacy choice), and serves the admin and the API.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.slow

PAGES = """
import django
django.setup()
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import NoReverseMatch, reverse

admin = get_user_model().objects.create_superuser("phase5", password="x")
client = Client(HTTP_HOST="localhost")
client.force_login(admin)
for url in ("/admin/", "/admin/imports/importjob/", "/admin/imports/importjob/start/", "/api/imports/",
            "/api/schema/"):
    assert client.get(url).status_code == 200, url
assert client.get("/api/metrics/imports/").status_code == 404
try:
    reverse("admin:imports_importjob_metrics")
except NoReverseMatch:
    print("no metrics page")
"""


@pytest.fixture
def phase5(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.imports.rollout.without_rollout",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'phase5.sqlite3'}",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "USE_NEW_IMPORT_SYSTEM": "false",  # left in someone's .env: nobody reads it any more
    }

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
        )
        if check:
            assert result.returncode == 0, result.stderr
        return result

    run("manage.py", "migrate", "-v0")
    return run


def test_the_project_checks_and_migrates_clean_without_the_rollout_kit(phase5):
    phase5("manage.py", "check")
    phase5("manage.py", "makemigrations", "--check", "--dry-run")


def test_imports_run_on_the_upsert_importer_and_no_other_can_be_chosen(phase5, tmp_path):
    path = tmp_path / "colors.csv"
    path.write_text("color_name\nRed\nBlue\n")

    imported = phase5("manage.py", "import_catalog", str(path), "--kind", "colors", "--json")
    job = json.loads(imported.stdout.splitlines()[-1])
    assert (job["status"], job["system"], job["routing"], job["inserted"]) == ("completed", "upsert", "", 2)

    legacy = phase5("manage.py", "import_catalog", str(path), "--system", "legacy", check=False)
    assert legacy.returncode == 2
    assert "argument --system: invalid choice: 'legacy' (choose from 'upsert')" in legacy.stderr


def test_the_admin_and_the_api_are_served_without_the_rollout_pages(phase5):
    result = phase5("-c", PAGES)
    assert result.stdout.strip() == "no metrics page"
