"""The documented configuration matches what mtc/settings.py reads, and the
developer scripts are well-formed.

``.env.example`` and the README's configuration table must list every key the
settings read (and nothing else), and the defaults written in ``.env.example``
must be the real defaults.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENV_LINE = re.compile(r"^#?\s*([A-Z][A-Z0-9_]*)=", re.MULTILINE)
# The canonical "# KEY=default" line: one space after '#'.
DEFAULT_LINE = re.compile(r"^# ([A-Z][A-Z0-9_]*)=(.*)$", re.MULTILINE)


def keys_read_by_settings() -> set[str]:
    """Keys passed to ENV.get(...), config.read_*(ENV, ...) or env.<cast>(...)."""
    tree = ast.parse((ROOT / "mtc" / "settings.py").read_text())
    keys = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner = node.func.value
        if not isinstance(owner, ast.Name):
            continue
        if owner.id == "ENV" and node.func.attr == "get":
            key_arg = 0
        elif owner.id == "config" and node.func.attr.startswith("read_"):
            key_arg = 1
        elif owner.id == "env" and node.func.attr != "read_env":
            key_arg = 0
        else:
            continue
        arg = node.args[key_arg] if len(node.args) > key_arg else None
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            keys.add(arg.value)
    return keys


def test_settings_read_the_keys_we_expect_to_find():
    # Guards the AST walk above: if it finds nothing, the other tests prove nothing.
    keys = keys_read_by_settings()
    assert {"DATABASE_URL", "DEBUG", "USE_NEW_IMPORT_SYSTEM", "QUEUE_WORKERS", "LOG_LEVEL"} <= keys


def test_env_example_lists_every_setting_and_nothing_else():
    documented = set(ENV_LINE.findall((ROOT / ".env.example").read_text()))
    read = keys_read_by_settings()
    assert sorted(read - documented) == [], "read by mtc/settings.py but missing from .env.example"
    assert sorted(documented - read) == [], "in .env.example but not read by mtc/settings.py"


def test_readme_configuration_table_lists_every_setting_and_nothing_else():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \|", section, re.MULTILINE))
    read = keys_read_by_settings()
    assert sorted(read - documented) == [], "read by mtc/settings.py but missing from the README table"
    assert sorted(documented - read) == [], "in the README table but not read by mtc/settings.py"


def _settings_dump(env_overrides: dict[str, str]) -> dict[str, str]:
    """Every upper-case setting (repr) as a fresh interpreter sees it, ignoring .env."""
    env = {k: v for k, v in os.environ.items() if k not in keys_read_by_settings()}
    env.update(env_overrides)
    code = (
        "import json, environ\n"
        "environ.Env.read_env = classmethod(lambda *a, **k: None)\n"  # ignore a developer's .env
        "import mtc.settings as s\n"
        "print(json.dumps({k: repr(getattr(s, k)) for k in dir(s) if k.isupper() and k != 'ENV'}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_env_example_defaults_are_the_real_defaults():
    defaults = {
        key: value
        for key, value in DEFAULT_LINE.findall((ROOT / ".env.example").read_text())
        if value != ""  # "KEY=" documents "unset"
    }
    assert "IMPORT_BATCH_SIZE" in defaults
    assert _settings_dump(defaults) == _settings_dump({})


@pytest.mark.parametrize("script", ["scripts/run", "scripts/test", "scripts/lib.sh", ".ci/run"])
def test_scripts_are_strict_bash(script):
    path = ROOT / script
    text = path.read_text()
    subprocess.run(["bash", "-n", str(path)], check=True)
    if script != "scripts/lib.sh":  # sourced, not run
        assert os.access(path, os.X_OK), f"{script} is not executable"
        assert text.startswith("#!/usr/bin/env bash\n")
        assert "set -euo pipefail" in text


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    first_block = readme.split("```", 2)[1].split("\n", 1)[1]
    commands = [line.split("#", 1)[0].strip() for line in first_block.splitlines()]
    assert [c for c in commands if c] == ["scripts/run", "scripts/test"]
    assert "exec scripts/test" in (ROOT / ".ci" / "run").read_text()
