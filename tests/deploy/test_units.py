"""deploy/: the systemd units and the production environment file are valid and work together.

``systemd-analyze verify`` (Debian's ``systemd`` package: ``apt-get install systemd``)
reads each unit as systemd would, with the install paths (``/opt/mtc``,
``/etc/mtc/mtc.env``) pointed at this checkout: an unknown key, a bad value or a
command that is not there is reported. And ``check --deploy`` passes with no
warning under the production environment file, as the README promises.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNITS = ["mtc-app.service", "mtc-worker.service"]


def unit_settings(name: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in (DEPLOY / name).read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            found.setdefault(key, []).append(value)
    return found


def production_env(**overrides: str) -> dict[str, str]:
    """deploy/production.env.example as systemd reads it, with its <placeholders> filled in."""
    lines = {}
    for line in (DEPLOY / "production.env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            key, value = line.split("=", 1)
            lines[key] = re.sub(r"<[^>]*>", "placeholder", value)
    lines["SECRET_KEY"] = secrets.token_urlsafe(50)
    lines["DATABASE_URL"] = os.environ.get("DATABASE_URL", "sqlite:///:memory:")  # check --deploy reads no row
    return {**lines, **overrides}


@pytest.mark.parametrize("name", UNITS)
def test_units_start_the_scripts_and_stop_by_sigterm_to_the_main_process(name):
    unit = unit_settings(name)
    script = ROOT / unit["ExecStart"][0].removeprefix("/opt/mtc/")
    assert script.is_file()
    assert os.access(script, os.X_OK)
    assert unit["KillMode"] == ["mixed"]  # the main process stops its children itself (qcluster, gunicorn)
    assert unit["EnvironmentFile"] == ["/etc/mtc/mtc.env"]
    assert unit["Restart"] == ["on-failure"]


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze missing: apt-get install systemd")
def test_systemd_analyze_verify_finds_nothing_to_say(tmp_path):
    env_file = tmp_path / "mtc.env"
    env_file.write_text("\n".join(f"{k}={v}" for k, v in production_env().items()) + "\n")
    for name in UNITS:
        text = (DEPLOY / name).read_text().replace("/etc/mtc/mtc.env", str(env_file)).replace("/opt/mtc", str(ROOT))
        (tmp_path / name).write_text(text)

    result = subprocess.run(
        ["systemd-analyze", "verify", *(str(tmp_path / name) for name in UNITS)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    # Unknown keys and bad values are only warnings: any line at all is a mistake in a unit.
    assert result.stderr.strip() == ""


@pytest.mark.slow
def test_check_deploy_passes_with_no_warning_under_the_production_env_file():
    env = {key: value for key, value in os.environ.items() if not key.startswith(("IMPORT_", "USE_NEW"))}
    env.update(production_env(), DJANGO_SETTINGS_MODULE="mtc.settings")

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_the_readme_deploy_section_names_files_that_exist_and_the_units_read_the_env_file_it_installs():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Deploying and scaling out", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"\b((?:deploy|scripts)/[\w.-]+)", section))
    assert {"scripts/serve", "scripts/worker", "deploy/mtc-app.service", "deploy/production.env.example"} <= named
    assert sorted(path for path in named if not (ROOT / path).exists()) == []
    assert "install -m 600 deploy/production.env.example /etc/mtc/mtc.env" in section
    for name in UNITS:
        assert "cp deploy/mtc-app.service deploy/mtc-worker.service /etc/systemd/system/" in section
        assert unit_settings(name)["WorkingDirectory"] == ["/opt/mtc"]
    assert "git clone <repository> /opt/mtc" in section
