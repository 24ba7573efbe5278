"""Errors a person can act on, whatever door they came through.

Services and the engine raise these; each door says them in its own way:
the API's exception handler (``mtc.api_errors``) answers a status and
``{"detail", "code"}``, the admin shows a form error or a message, the
commands print the message and exit 1 (or 2 for a usage error: an
:class:`OptionRefused`). ``code`` is
the machine-readable name a client may rely on (documented in the README
and the OpenAPI schema).

Kept at the ground of the project (nothing here imports an app), so that
every app may raise them and one place may map them to HTTP.
"""

from __future__ import annotations


class DomainError(Exception):
    """Something the request asked for cannot be done; ``str()`` says why, in the user's words."""

    #: Machine-readable reason; subclasses and callers narrow it.
    code = "error"

    def __init__(self, message: str, *, code: str | None = None, extra: dict[str, object] | None = None):
        super().__init__(message)
        if code is not None:
            self.code = code
        #: What a client needs to act on it besides the message (the API adds it to the error body).
        self.extra: dict[str, object] = dict(extra or {})


class Refused(DomainError):
    """The input (a file, a field) is refused; nothing was written. HTTP 400 unless its code says otherwise."""

    code = "refused"


class OptionRefused(Refused):
    """One option the request gave does not apply (``header_row`` for a JSON file); nothing was written.

    It names the option, so each door can say which of its own fields or
    arguments to change: the API answers 400 ``invalid`` with ``errors``
    keyed by the option, as for any refused field; the commands treat it as
    a usage error (``--header-row: ...``, exit 2). Raised by a service where
    only it can tell (a file's type is told by its content), never by a door.
    """

    code = "invalid"

    def __init__(self, message: str, *, option: str, code: str | None = None, extra: dict[str, object] | None = None):
        super().__init__(message, code=code, extra=extra)
        #: The option's name as the services know it (``header_row``); the doors spell it their way.
        self.option = option


class Conflict(DomainError):
    """The thing exists but its state does not allow this now (cancel a finished import). HTTP 409."""

    code = "conflict"


class NotAllowed(DomainError):
    """The person may not do this (someone else's import, a missing permission). HTTP 403."""

    code = "permission_denied"
