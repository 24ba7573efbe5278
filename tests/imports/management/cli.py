"""Running the import commands from tests, and the JSON keys they promise.

``run`` calls a command in this process the way ``manage.py`` does: argparse's
own errors exit 2 (``call_command`` would raise ``CommandError`` instead), and
the exit code comes back with stdout and stderr. ``command_env`` is the
environment of a real ``manage.py`` subprocess on the test database (it sees
committed rows only: mark such tests ``django_db(transaction=True)``) and the
test's media root.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sqlite3
import sys
from pathlib import Path

from django.conf import settings
from django.core.management import get_commands, load_command_class
from django.db import connection

ROOT = Path(__file__).resolve().parents[3]

#: ``import_catalog --json``: the job (``imports.summaries.job_summary``), as documented: written out here,
#: not imported from the code, so that a key the code drops or renames fails the tests (an outside contract).
JOB_KEYS = {
    "import_id",
    "status",
    "kind",
    "system",
    "routing",
    "source",
    "dry_run",
    "checked_by",
    "undoes_import_id",
    "undo_until",
    "deleted",
    "parent_import_id",
    "header_row",
    "mapping",
    "number_format",
    "file_name",
    "file_format",
    "file_size",
    "file_checksum",
    "user",
    "created_at",
    "started_at",
    "finished_at",
    "stage",
    "total_rows",
    "inserted",
    "updated",
    "unchanged",
    "superseded",
    "failed",
    "duration_seconds",
    "success_rate",
    "rows_per_second",
    "batches_committed",
    "checkpoint_row",
    "warnings",
    "failure_reason",
}
#: ``import_status --json``: the API's job (``imports.serializers.JobDetailSerializer``).
JOB_DETAIL_KEYS = JOB_KEYS | {"cancel_requested", "attempts", "progress", "error_summary", "links"}


def run(name: str, *argv: object) -> tuple[int, str, str]:
    """``manage.py NAME ARGV...`` in this process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    command = load_command_class(get_commands()[name], name)
    command._called_from_command_line = True  # argparse's errors exit 2, as from a shell
    try:
        with contextlib.redirect_stderr(err):
            options = vars(command.create_parser("manage.py", name).parse_args([str(arg) for arg in argv]))
        args = options.pop("args", ())
        command.execute(*args, **{**options, "stdout": out, "stderr": err, "skip_checks": True})
    except SystemExit as exit_:
        return int(exit_.code or 0), out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def last_json(out: str) -> dict:
    """The last line of a command's stdout, which ``--json`` promises is one JSON object."""
    lines = out.splitlines()
    assert lines, "nothing on stdout"
    return json.loads(lines[-1])


def manage(*args: object) -> list[str]:
    return [sys.executable, "manage.py", *(str(arg) for arg in args)]


def command_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a ``manage.py`` subprocess on the test database, as it is now.

    PostgreSQL: the test database itself. SQLite: the test database lives in
    this process's memory, so the subprocess gets a copy of it, taken now (what
    the subprocess writes stays in the copy).
    """
    if connection.vendor == "sqlite":
        path = tmp_path / "test-database.sqlite3"
        connection.ensure_connection()
        copy = sqlite3.connect(path)
        try:
            connection.connection.backup(copy)
        finally:
            copy.close()
        url = f"sqlite:///{path}"
    else:
        db = connection.settings_dict
        password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
        url = f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return {
        **os.environ,
        "DATABASE_URL": url,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "USE_NEW_IMPORT_SYSTEM": "true",
        "RATELIMIT_STORAGE_URL": "",
        "QUEUE_REDIS_URL": "",
    }
