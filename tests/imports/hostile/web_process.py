"""One import through one door, in a process of its own, and what it cost: run by the hostile-file tests.

    python tests/imports/hostile/web_process.py api|command FILE [ARG ...]

``api``: ``POST /api/imports/`` to a WSGI server (wsgiref) in this process,
the file streamed from disk as a browser sends it, with ``NAME=VALUE`` form
fields, as a user ``bomber`` who may import (a token). ``command``:
``manage.py import_catalog FILE --json ARG...`` in this process. The
database is ``DATABASE_URL``'s; ``MEDIA_ROOT`` is where files go.

The last stdout line is JSON: ``status`` (the HTTP status or the exit code),
``body`` (the API's answer, or the command's last JSON line), ``peak_mb``
(VmHWM, the peak resident memory of this process, after Django is set up
and before it too), ``seconds`` the import took. ``MTC_MEMORY_CAP_MB`` caps
the address space (a safety net for a machine others share: past it the
process fails rather than swapping). ``MTC_PROJECT_ROOT`` runs another
checkout of the project (figures before a change).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(os.environ.get("MTC_PROJECT_ROOT") or Path(__file__).resolve().parents[3])


def _peak_mb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return -1


def _setup() -> None:
    cap = int(os.environ.get("MTC_MEMORY_CAP_MB") or 0)
    if cap:
        resource.setrlimit(resource.RLIMIT_AS, (cap * 1024 * 1024, cap * 1024 * 1024))
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mtc.settings")
    import django

    django.setup()


def _api(path: Path, fields: list[str]) -> tuple[int, object]:
    """POST the file to a WSGI server in this process, streamed from disk (as a browser or ``curl`` sends it)."""
    import http.client
    import threading
    import uuid
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    from django.contrib.auth.models import Permission, User
    from django.core.wsgi import get_wsgi_application
    from rest_framework.authtoken.models import Token

    user, _ = User.objects.get_or_create(username="bomber")
    user.user_permissions.add(Permission.objects.get(codename="add_importjob", content_type__app_label="imports"))
    token, _ = Token.objects.get_or_create(user=user)

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    server = make_server("127.0.0.1", 0, get_wsgi_application(), handler_class=Quiet)
    threading.Thread(target=server.handle_request, daemon=True).start()

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

    connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=3600)
    connection.request(
        "POST",
        "/api/imports/",
        body=body(),
        headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Content-Length": str(len(head) + path.stat().st_size + len(tail)),
            "Authorization": f"Token {token.key}",
            "Host": "localhost",
        },
    )
    response = connection.getresponse()
    content = response.read()
    server.server_close()
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


def main(door: str, file: str, *args: str) -> None:
    path = Path(file).resolve()
    _setup()
    ready_mb = _peak_mb()
    started = time.monotonic()
    status, body = (_api if door == "api" else _command)(path, list(args))
    print(
        json.dumps(
            {
                "status": status,
                "body": body,
                "ready_mb": ready_mb,
                "peak_mb": _peak_mb(),
                "seconds": round(time.monotonic() - started, 2),
            }
        )
    )


if __name__ == "__main__":
    main(*sys.argv[1:])
