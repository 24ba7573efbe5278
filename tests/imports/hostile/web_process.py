"""Files through one door, in a process of their own, and what each cost: run by the hostile-file tests.

    python tests/imports/hostile/web_process.py api|command FILE [ARG ...]
    python tests/imports/hostile/web_process.py api|command --many SPEC.json

``api``: ``POST /api/imports/`` to a WSGI server (wsgiref) in this process,
the file streamed from disk as a browser sends it, with ``NAME=VALUE`` form
fields, as a user ``bomber`` who may import (a token). ``command``:
``manage.py import_catalog FILE --json ARG...`` in this process. The
database is ``DATABASE_URL``'s; ``MEDIA_ROOT`` is where files go. With
``--many``, SPEC.json is a list of ``{"file": ..., "args": [...]}`` run one
after the other, the peak memory reset before each (``/proc/self/clear_refs``).

One JSON line per file on stdout: ``status`` (the HTTP status or the exit
code), ``body`` (the API's answer, or the command's last JSON line),
``peak_mb`` (VmHWM: the peak resident memory of this process while that file
went through, Django already set up), ``ready_mb`` (VmHWM before it),
``tracebacks`` (how many exceptions were logged or escaped meanwhile) and
``seconds``. ``MTC_MEMORY_CAP_MB`` caps the address space (a safety net for
a machine others share: past it the process fails rather than swapping).
``MTC_PROJECT_ROOT`` runs another checkout of the project (figures before a
change).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import resource
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(os.environ.get("MTC_PROJECT_ROOT") or Path(__file__).resolve().parents[3])


def _peak_mb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return -1


def _reset_peak() -> None:
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


class _Tracebacks:
    """Counts the log records carrying an exception (Django logs a 500's with its traceback), whatever
    handlers logging is configured with (``django.setup()``, which each command runs, configures it again)."""

    def __init__(self):
        self.count = 0
        handle = logging.Logger.handle
        counter = self

        def counting(logger, record):
            if record.exc_info:
                counter.count += 1
            return handle(logger, record)

        logging.Logger.handle = counting  # type: ignore[method-assign]


def _setup() -> None:
    cap = int(os.environ.get("MTC_MEMORY_CAP_MB") or 0)
    if cap:
        resource.setrlimit(resource.RLIMIT_AS, (cap * 1024 * 1024, cap * 1024 * 1024))
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mtc.settings")
    import django

    django.setup()


class _Api:
    """A WSGI server in a thread of this process, and a client streaming files to it from disk."""

    def __init__(self):
        import threading
        from wsgiref.simple_server import WSGIRequestHandler, make_server

        from django.contrib.auth.models import Permission, User
        from django.core.wsgi import get_wsgi_application
        from rest_framework.authtoken.models import Token

        user, _ = User.objects.get_or_create(username="bomber")
        user.user_permissions.add(Permission.objects.get(codename="add_importjob", content_type__app_label="imports"))
        self.token = Token.objects.get_or_create(user=user)[0].key

        class Quiet(WSGIRequestHandler):
            def log_message(self, *args):
                pass

        self.server = make_server("127.0.0.1", 0, get_wsgi_application(), handler_class=Quiet)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def __call__(self, path: Path, fields: list[str]) -> tuple[int, object]:
        import http.client
        import uuid

        boundary = uuid.uuid4().hex
        head = b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            for name, value in (field.split("=", 1) for field in fields)
        )
        head += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        tail = f"\r\n--{boundary}--\r\n".encode()

        def body():
            yield head
            with path.open("rb") as content:
                while chunk := content.read(1024 * 1024):
                    yield chunk
            yield tail

        connection = http.client.HTTPConnection("127.0.0.1", self.server.server_port, timeout=3600)
        connection.request(
            "POST",
            "/api/imports/",
            body=body(),
            headers={
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Content-Length": str(len(head) + path.stat().st_size + len(tail)),
                "Authorization": f"Token {self.token}",
                "Host": "localhost",
            },
        )
        response = connection.getresponse()
        content = response.read()
        connection.close()
        try:
            return response.status, json.loads(content)
        except ValueError:
            return response.status, content[:2000].decode(errors="replace")


def _command(path: Path, argv: list[str]) -> tuple[int, object]:
    from django.core.management import execute_from_command_line

    out = io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out):
        try:
            execute_from_command_line(["manage.py", "import_catalog", str(path), "--json", *argv])
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
    lines = out.getvalue().strip().splitlines()
    try:
        body = json.loads(lines[-1]) if lines else None
    except ValueError:
        body = lines[-1][:2000]
    return code, body


def main(door: str, *args: str) -> None:
    if args[:1] == ("--many",):
        runs = [(Path(run["file"]).resolve(), run.get("args", [])) for run in json.loads(Path(args[1]).read_text())]
    else:
        runs = [(Path(args[0]).resolve(), list(args[1:]))]
    _setup()
    through = _Api() if door == "api" else _command
    tracebacks = _Tracebacks()
    for path, extra in runs:
        tracebacks.count = 0
        _reset_peak()
        ready_mb = _peak_mb()
        started = time.monotonic()
        try:
            status, body = through(path, extra)
        except Exception:  # an exception that escaped the door: its traceback is the finding
            traceback.print_exc()
            status, body = -1, None
            tracebacks.count += 1
        result = {
            "file": str(path),
            "status": status,
            "body": body,
            "ready_mb": ready_mb,
            "peak_mb": _peak_mb(),
            "tracebacks": tracebacks.count,
            "seconds": round(time.monotonic() - started, 2),
        }
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
