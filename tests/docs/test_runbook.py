"""docs/migration-runbook.md works as written: every command is run, in order, on a test database.

The runbook marks each ``bash`` block ``<!-- runbook-test: run -->``,
``<!-- runbook-test: exit N -->`` (runs, must exit N) or ``<!-- runbook-test:
skip: why -->``; ``env`` blocks are lines for ``.env``, applied in order to
the commands that follow (as an operator's restart would) after checking that
the settings accept them. Commands run with ``bash -euo pipefail`` from the
project root, with this interpreter's ``python`` first on PATH and
``DATABASE_URL`` pointing at the test database. A background worker's
heartbeat is written first (the runbook starts ``qcluster``, which runs until
stopped) and the user the runbook names, ``alice``, exists.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection

from catalog.models import Color, Item, ItemVariant, Size
from imports.runtime import record_worker_heartbeat
from tests.scripts.test_docs_and_scripts import keys_read_by_settings

ROOT = Path(__file__).resolve().parents[2]
RUNBOOK = ROOT / "docs" / "migration-runbook.md"
FENCE = re.compile(r"(?:<!-- runbook-test: (?P<marker>[^>]*?) -->\n)?```(?P<lang>\w+)\n(?P<body>.*?)```\n", re.DOTALL)
ENV_LINE = re.compile(r"^([A-Z][A-Z0-9_]*)=(.*)$")
#: The only blocks the tests do not run, and why (adding one is a decision, made here).
SKIPPED = [
    "skip: creates the virtualenv and .env of a fresh clone; the test runs in the project's own",
    "skip: placeholder credentials; the test sets DATABASE_URL to its own database",
    "skip: changes the deployment (git, packages, services)",
    "skip: runs until stopped; the test writes the heartbeat a running worker writes",
    "skip: needs the running web server and a staff user's token",
    "skip: changes the repository",
    "skip: restarts your services",
]


@dataclass
class Block:
    lang: str
    body: str
    marker: str | None
    line: int

    @property
    def expected_exit(self) -> int | None:
        """The exit status to expect, or None when the block is not run."""
        if self.marker is None or self.marker.startswith("skip:"):
            return None
        if self.marker == "run":
            return 0
        match = re.fullmatch(r"exit (\d+)", self.marker)
        assert match, f"runbook line {self.line}: unknown marker {self.marker!r}"
        return int(match.group(1))


@dataclass
class Ran:
    block: Block
    returncode: int
    stdout: str
    stderr: str
    env: dict = field(default_factory=dict)


def runbook_blocks() -> list[Block]:
    text = RUNBOOK.read_text()
    return [
        Block(m.group("lang"), m.group("body"), m.group("marker"), text.count("\n", 0, m.start()) + 1)
        for m in FENCE.finditer(text)
    ]


def env_lines(block: Block) -> dict[str, str]:
    values = {}
    for line in block.body.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = ENV_LINE.match(line)
        assert match, f"runbook line {block.line}: not a KEY=value line: {line!r}"
        values[match.group(1)] = match.group(2)
    return values


def test_every_shell_block_is_marked_and_skips_are_few_and_explained():
    blocks = runbook_blocks()
    shell = [block for block in blocks if block.lang == "bash"]
    assert len(shell) >= 20
    unmarked = [block.line for block in shell if block.marker is None]
    assert unmarked == [], f"bash blocks without a runbook-test marker at lines {unmarked}"
    assert [block.marker for block in shell if block.marker.startswith("skip:")] == SKIPPED
    assert {block.lang for block in blocks} <= {"bash", "env"}


def test_env_blocks_name_only_settings_the_project_reads():
    known = keys_read_by_settings()
    for block in runbook_blocks():
        if block.lang == "env":
            unknown = set(env_lines(block)) - known
            assert unknown == set(), f"runbook line {block.line}: unknown settings {unknown}"


def database_url() -> str:
    settings = connection.settings_dict
    credentials = settings["USER"] + (f":{settings['PASSWORD']}" if settings["PASSWORD"] else "")
    return f"postgres://{credentials}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}/{settings['NAME']}"


def var_files() -> set[Path]:
    return {path for path in (ROOT / "var").rglob("*") if path.is_file()} if (ROOT / "var").exists() else set()


@pytest.fixture
def runbook_database(transactional_db):
    User.objects.create_user(username="alice", password="x-secret-1")
    record_worker_heartbeat()
    # What migrate created (a transactional test starts from emptied tables).
    import_module("imports.migrations.0004_import_monitoring").create_schedules(apps, None)
    before = var_files()
    yield
    for path in var_files() - before:
        if path.parent.name in ("backups", "demo"):
            path.unlink()
    call_command("migrate", verbosity=0)  # whatever happened, leave the indexes in place


@pytest.mark.slow
@pytest.mark.postgresql
def test_the_runbook_runs_as_written(runbook_database, tmp_path):
    settings_keys = keys_read_by_settings()
    base = {key: value for key, value in os.environ.items() if key not in settings_keys}
    base.update(
        DATABASE_URL=database_url(),
        MEDIA_ROOT=str(tmp_path / "media"),
        SECRET_KEY="runbook-test-key",  # a deployment has its own; the settings refuse to start without one
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    dotenv: dict[str, str] = {}
    ran: list[Ran] = []
    for block in runbook_blocks():
        if block.lang == "env":
            dotenv.update(env_lines(block))
            check = subprocess.run(
                [sys.executable, "-c", "import mtc.settings"],
                cwd=ROOT,
                env={**base, **dotenv},
                capture_output=True,
                text=True,
            )
            assert check.returncode == 0, f"runbook line {block.line}: the settings refuse it:\n{check.stderr}"
            continue
        expected = block.expected_exit
        if expected is None:
            continue
        # The worker the runbook starts beats every minute: so does the test, between blocks
        # (a run slowed down by a busy machine must not find the stand-in worker dead).
        record_worker_heartbeat()
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block.body],
            cwd=ROOT,
            env={**base, **dotenv},
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == expected, (
            f"runbook line {block.line} exited {result.returncode}, expected {expected}:\n{block.body}\n"
            f"--- stdout ---\n{result.stdout[-3000:]}\n--- stderr ---\n{result.stderr[-3000:]}"
        )
        ran.append(Ran(block, result.returncode, result.stdout, result.stderr, dict(dotenv)))

    def output_of(command: str) -> str:
        return next(r.stdout for r in ran if command in r.block.body)

    assert len(ran) >= 20
    grep = output_of("LOCK TABLE")
    assert [line.split(":", 1)[0] for line in grep.splitlines()] == ["imports/rollout/legacy.py"]
    assert "(variants, upsert): completed" in output_of("user_set.add")
    assert "Result: AGREE" in output_of("compare_importers var/demo/sample_clean.csv")
    assert "Expected difference: the legacy importer is all-or-nothing" in output_of(
        "compare_importers var/demo/sample_variants.csv"
    )
    assert "(variants, 20,000 data rows)" in output_of("variants_20k.csv")
    assert "Result: AGREE" in output_of("variants_20k.csv")
    assert '"routing": "USE_NEW_IMPORT_SYSTEM=percentage:10: user bucket' in output_of("--user alice --json")
    assert "imports: hourly health check" in output_of("Schedule.objects")
    rollback = next(r for r in ran if r.block.expected_exit == 1 and "import_health" in r.block.body)
    assert "UNHEALTHY: unique_indexes" in rollback.stdout
    assert rollback.env["USE_NEW_IMPORT_SYSTEM"] == "false"  # indexes only go with the flag off


def run_block(block: Block, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block.body],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
@pytest.mark.postgresql
def test_the_backup_is_restored_into_a_scratch_database_and_compared_table_by_table(transactional_db):
    """Phase 1.1 on a database with a catalog: the check passes on a good backup and names a table that differs."""
    red, blue = Color.objects.create(color_name="Red"), Color.objects.create(color_name="Blue")
    size = Size.objects.create(size_name="M")
    for name in ("Shirt", "Scarf", "Socks"):
        item = Item.objects.create(name=name)
        for color in (red, blue):
            ItemVariant.objects.create(item=item, color=color, size=size, sku=f"{name}-{color.color_name}")
    backup, verify = (block for block in runbook_blocks() if "pg_dump" in block.body or "pg_restore" in block.body)
    env = {**os.environ, "DATABASE_URL": database_url(), "SECRET_KEY": "runbook-test-key"}
    before = var_files()
    try:
        assert run_block(backup, env).returncode == 0
        good = run_block(verify, env)
        Item.objects.create(name="Sandals")  # the live database moves on: the old backup no longer matches
        stale = run_block(verify, env)
    finally:
        for path in var_files() - before:
            path.unlink()

    assert good.returncode == 0, good.stderr
    assert "item_master: 3 live, 3 restored" in good.stdout
    assert "item_variant: 6 live, 6 restored" in good.stdout
    assert "backup verified: var/backups/mtc_" in good.stdout
    assert stale.returncode == 1
    assert "item_master: 4 live, 3 restored\nMISMATCH in item_master" in stale.stdout
    with connection.cursor() as cursor:  # the scratch databases are gone, whatever the outcome
        cursor.execute("SELECT COUNT(*) FROM pg_database WHERE datname LIKE 'mtc_restore_check_%%'")
        assert cursor.fetchone()[0] == 0
