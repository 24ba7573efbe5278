"""The documented configuration matches what mtc/settings.py reads, and the
developer scripts are well-formed.

``.env.example`` and the README's configuration table must list every key the
settings read (and nothing else), and the defaults written in ``.env.example``
must be the real defaults.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

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
    # SECRET_KEY has no default with DEBUG off (the settings refuse to start): both dumps get one.
    key = {"SECRET_KEY": "settings-dump-key"}
    assert _settings_dump({**defaults, **key}) == _settings_dump(key)


@pytest.mark.parametrize(
    "script", ["scripts/run", "scripts/test", "scripts/serve", "scripts/worker", "scripts/lib.sh", ".ci/run"]
)
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


# --- Dependencies: pyproject.toml and the two lock files ---------------------------

LOCK_ENTRY = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==(\S+?)(?:\s*;\s*([^\\]+?))?\s*(\\|$)")
# Whatever only tests and tooling need: never in the runtime lock.
TOOL_PREFIXES = ("pytest", "hypothesis", "schemathesis", "playwright", "ruff", "mypy", "import-linter", "pre-commit")


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_lock(path: Path) -> dict[str, dict]:
    """name -> {"version", "marker", "hashes"} of a pip requirements file with hashes."""
    entries: dict[str, dict] = {}
    current = None
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("--hash="):
            assert current is not None, f"{path.name}: a hash before any requirement"
            current["hashes"].add(stripped.removeprefix("--hash=").rstrip(" \\"))
            continue
        match = LOCK_ENTRY.match(stripped)
        assert match, f"{path.name}: not an exact pin: {stripped!r}"
        current = {"version": match[2], "marker": (match[3] or "").strip(), "hashes": set()}
        entries[normalize(match[1])] = current
    return entries


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def assert_lock_satisfies(lock: dict[str, dict], requirements: list[str], where: str):
    for text in requirements:
        req = Requirement(text)
        name = normalize(req.name)
        assert name in lock, f"{where}: {text} is not in the lock"
        assert req.specifier.contains(lock[name]["version"], prereleases=True), (
            f"{where}: {text} but the lock has {lock[name]['version']}"
        )


def test_runtime_lock_is_hashed_matches_pyproject_and_holds_no_test_tool():
    lock = parse_lock(ROOT / "requirements.txt")
    assert {"django", "djangorestframework", "openpyxl", "psycopg2-binary"} <= set(lock)
    for name, entry in lock.items():
        assert entry["hashes"], f"requirements.txt: {name} has no --hash"
        assert all(h.startswith("sha256:") for h in entry["hashes"]), name
    assert_lock_satisfies(lock, pyproject()["project"]["dependencies"], "[project] dependencies")
    dev_group = {normalize(re.split(r"[\[=<>!~; ]", r, maxsplit=1)[0]) for r in pyproject()["dependency-groups"]["dev"]}
    tools = sorted(n for n in lock if n in dev_group or n.startswith(TOOL_PREFIXES) or n.endswith("-stubs"))
    assert tools == [], "test or lint tools in the runtime lock (production installs it)"


def test_dev_lock_is_the_runtime_lock_plus_the_dev_group():
    runtime = parse_lock(ROOT / "requirements.txt")
    dev = parse_lock(ROOT / "requirements-dev.txt")
    for name, entry in dev.items():
        assert entry["hashes"], f"requirements-dev.txt: {name} has no --hash"
    # The same pins (and files) as production: scripts/run may use a .venv made from the dev lock.
    for name, entry in runtime.items():
        assert name in dev, f"{name} is in requirements.txt but not in requirements-dev.txt"
        # (Markers may differ: a tool may need a package everywhere that production needs on old Pythons only.)
        assert (dev[name]["version"], dev[name]["hashes"]) == (entry["version"], entry["hashes"]), (
            f"{name}: requirements.txt and requirements-dev.txt disagree"
        )
    group = pyproject()["dependency-groups"]["dev"]
    assert_lock_satisfies(dev, group, "[dependency-groups] dev")
    for tool in ("pytest", "pytest-django", "pytest-xdist", "hypothesis", "ruff", "mypy", "django-stubs",
                 "djangorestframework-stubs", "import-linter", "pre-commit", "uv"):  # fmt: skip
        assert any(normalize(r).startswith(f"{tool}==") for r in group), f"{tool} is not pinned in the dev group"
        assert tool in dev


@pytest.mark.parametrize(
    ("lock", "options"),
    [
        ("requirements.txt", ["--generate-hashes", "-o requirements.txt"]),
        (
            "requirements-dev.txt",
            ["--group dev", "-c requirements.txt", "--generate-hashes", "-o requirements-dev.txt"],
        ),
    ],
)
def test_locks_say_how_they_are_regenerated(lock, options):
    head = (ROOT / lock).read_text().splitlines()[:3]
    command = next((line.lstrip("# ") for line in head if "uv pip compile pyproject.toml" in line), None)
    assert command, f"{lock} does not start with the command that regenerates it"
    for option in options:
        assert f" {option}" in command


# --- scripts/lib.sh ensure_venv: which lock, and the stamp -----------------------------

FAKE_PYTHON = """#!/bin/sh
# pip is only logged (and fails when FAKE_PIP_FAIL=1); anything else is the real Python.
if [ "$1" = -m ] && [ "$2" = pip ]; then
    echo "$*" >>"$(dirname "$0")/../pip.log"
    [ "${FAKE_PIP_FAIL:-0}" = 1 ] && exit 1
    exit 0
fi
exec %s "$@"
"""


@pytest.fixture
def fake_project(tmp_path):
    """lib.sh with two lock files and a .venv whose python only logs pip commands."""
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "lib.sh").write_text((ROOT / "scripts" / "lib.sh").read_text())
    (tmp_path / "requirements.txt").write_text("django==5.2.19\n")
    (tmp_path / "requirements-dev.txt").write_text("django==5.2.19\npytest==9.2.0\n")
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").write_text(FAKE_PYTHON % sys.executable)
    (bin_dir / "python").chmod(0o755)
    return tmp_path


def ensure_venv(project: Path, lock: str, **env: str) -> tuple[int, str, list[str]]:
    """Run ensure_venv LOCK; its exit code, output and the pip commands it ran."""
    log = project / ".venv" / "pip.log"
    before = log.read_text().splitlines() if log.exists() else []
    out = subprocess.run(
        ["bash", "-c", f"set -euo pipefail; source scripts/lib.sh; ensure_venv {lock}"],
        cwd=project,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )
    after = log.read_text().splitlines() if log.exists() else []
    return out.returncode, out.stdout + out.stderr, after[len(before) :]


def test_ensure_venv_installs_each_lock_with_hashes_once(fake_project):
    def installed(lock):
        rc, out, pip = ensure_venv(fake_project, lock)
        assert rc == 0, out
        return [p.split()[-1] for p in pip]

    rc, out, pip = ensure_venv(fake_project, "requirements.txt")
    assert rc == 0, out
    assert len(pip) == 1
    assert "--require-hashes" in pip[0].split()
    assert pip[0].endswith("-r requirements.txt")
    assert installed("requirements.txt") == [], "the second run must be quick"
    # The other lock is another install; switching back installs again.
    assert installed("requirements-dev.txt") == ["requirements-dev.txt"]
    assert installed("requirements-dev.txt") == []
    assert installed("requirements.txt") == ["requirements.txt"]
    # A changed lock is installed again.
    (fake_project / "requirements.txt").write_text("django==5.2.20\n")
    assert installed("requirements.txt") == ["requirements.txt"]
    assert installed("requirements.txt") == []


def test_ensure_venv_retries_after_a_failed_install(fake_project):
    rc, _, pip = ensure_venv(fake_project, "requirements-dev.txt", FAKE_PIP_FAIL="1")
    assert rc != 0
    assert len(pip) == 1
    rc, out, pip = ensure_venv(fake_project, "requirements-dev.txt")
    assert rc == 0, out
    assert len(pip) == 1, "a failed install must not be recorded as done"


def test_scripts_run_installs_the_runtime_lock_and_scripts_test_the_dev_lock():
    def locks(script):
        return re.findall(r"^\s*ensure_venv (\S+)", (ROOT / script).read_text(), re.MULTILINE)

    assert locks("scripts/run") == ["requirements.txt"]
    assert locks("scripts/test") == ["requirements-dev.txt"]


def test_readme_documents_every_knob_of_scripts_test():
    knobs = set(re.findall(r"\b(MTC_[A-Z_]+)\b", (ROOT / "scripts" / "test").read_text()))
    assert {"MTC_SKIP_STATIC", "MTC_STATIC_ONLY", "MTC_TEST_WORKERS"} <= knobs
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Running the tests", 1)[1].split("\n## ", 1)[0]
    assert sorted(k for k in knobs if f"`{k}" not in section) == [], "knobs of scripts/test missing from the README"


# --- The static checks of scripts/test, and pre-commit -----------------------------------


def test_import_contracts_layer_the_apps_and_ignore_nothing():
    config = pyproject()["tool"]["importlinter"]
    assert config["root_packages"] == ["mtc", "catalog", "imports"]
    contracts = config["contracts"]
    assert [c["layers"] for c in contracts if c["type"] == "layers" and "containers" not in c] == [
        ["imports", "catalog", "mtc"]
    ]
    assert {c.get("containers", [None])[0] for c in contracts if c["type"] == "layers"} >= {
        "imports",
        "imports.engine",
        "catalog",
    }
    assert [c["ancestors"] for c in contracts if c["type"] == "acyclic_siblings"] == [["mtc", "catalog", "imports"]]
    assert all(not c.get("ignore_imports") for c in contracts), "an exception to the layers hides an upward import"


def test_pre_commit_hooks_are_local_and_use_the_venv():
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    hooks = {}
    for repo in config["repos"]:
        assert repo["repo"] == "local", "hook repositories cannot be downloaded here: use local hooks"
        for hook in repo["hooks"]:
            assert hook["language"] == "system", hook["id"]
            assert re.match(r"^(env (\S+=\S+ )+)?\.venv/bin/", hook["entry"]), hook["entry"]
            hooks[hook["id"]] = hook["entry"]
    assert set(hooks) == {"ruff", "ruff-format", "makemigrations", "lint-imports", "mypy"}
    assert "makemigrations --check --dry-run" in hooks["makemigrations"]


COPY_IGNORE = (".git", ".venv", "var", ".env", "db.sqlite3*", "test-artifacts", "__pycache__", ".*_cache", ".hypo*")

FAULTS = {
    # One fault per check, each visible to that check only.
    "mtc/fault_lint.py": "import os\n",
    "mtc/fault_format.py": "VALUE = {  'a':1 }\n",
    "catalog/fault_layers.py": 'from imports.error_reports import guard_cell\n\n__all__ = ["guard_cell"]\n',
    "mtc/fault_types.py": 'COUNT: int = "three"\n',
}
MODEL_FAULT = """

class FaultWithoutMigration(models.Model):
    name = models.CharField(max_length=10)

    def __str__(self):
        return self.name
"""


def run_static_checks(project: Path, **env: str) -> tuple[int, str]:
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith("MTC_")}
    out = subprocess.run(
        ["scripts/test"],
        cwd=project,
        env={**clean_env, "MTC_STATIC_ONLY": "1", **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    return out.returncode, out.stdout + out.stderr


def summary_lines(output: str) -> dict[str, str]:
    summary = output.rsplit("==> Summary", 1)[1]
    return dict(re.findall(r"^    ([^:\n]+): (.*)$", summary, re.MULTILINE))


@pytest.mark.slow
def test_scripts_test_runs_each_static_check_and_stops_when_one_fails(tmp_path):
    venv = Path(sys.prefix)
    stamp = venv / ".installed-lock"
    lock = ROOT / "requirements-dev.txt"
    want = f"requirements-dev.txt {hashlib.sha256(lock.read_bytes()).hexdigest()} "
    if not (stamp.exists() and stamp.read_text().startswith(want)):
        pytest.skip("needs the .venv that scripts/test makes from the current requirements-dev.txt")
    project = tmp_path / "project"
    shutil.copytree(ROOT, project, ignore=shutil.ignore_patterns(*COPY_IGNORE))
    (project / ".venv").symlink_to(venv)

    rc, out = run_static_checks(project)
    assert rc == 0, out
    lines = summary_lines(out)
    for check in ("ruff check", "ruff format --check", "makemigrations --check", "lint-imports", "mypy"):
        assert lines[check].startswith("ok ("), out
    assert "[3/6]" not in out

    for path, text in FAULTS.items():
        (project / path).write_text(text)
    with (project / "catalog" / "models.py").open("a") as models:
        models.write(MODEL_FAULT)
    rc, out = run_static_checks(project)
    assert rc == 1, out
    lines = summary_lines(out)
    for check in ("ruff check", "ruff format --check", "makemigrations --check", "lint-imports", "mypy"):
        assert lines[check].startswith("FAILED"), out
    assert "mtc/fault_lint.py" in out
    assert "fault_format.py" in out
    assert "FaultWithoutMigration" in out
    assert "catalog.fault_layers -> imports.error_reports" in out
    assert "mtc/fault_types.py" in out
    assert lines["whole suite"] == "not run: a static check failed"
    assert "[3/6]" not in out
