"""Why an import stops.

``ImportRejected`` is raised before any master row is written (bad file,
missing column, too many rows): the job fails and nothing changed.
``ImportStopped`` is raised between batches (timeout, cancel): what was
committed stays and is reported. ``RowsRefused`` is raised by a strategy
that is all-or-nothing (the legacy importer) at its first bad row: nothing
was kept, and the row's error is recorded. ``ConnectionLost`` is raised
when the database connection itself is gone mid-run: the run is not failed
but resumed from its checkpoint (``imports.runtime``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import InterfaceError, OperationalError, connection

from mtc.errors import Refused

if TYPE_CHECKING:
    from imports.models import ImportRowError


class ImportRejected(Refused):
    """The file cannot be imported at all; nothing was written."""

    code = "invalid_file"
    #: The user's file is what is refused (their file to fix), not the system failing to run it.
    users_file = True


class CannotRunHere(ImportRejected):
    """The job cannot run on this installation (the legacy importer off PostgreSQL): a failure of the system."""

    code = "cannot_run_here"
    users_file = False


class ImportStopped(Exception):
    """The run stopped at a batch boundary; committed batches stay."""

    def __init__(self, reason: str, *, cancelled: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.cancelled = cancelled


class RowsRefused(Exception):
    """Rows refused a run that keeps nothing unless every row is good; ``errors`` are recorded."""

    def __init__(self, reason: str, *, errors: list[ImportRowError]):
        super().__init__(reason)
        self.reason = reason
        self.errors = errors


#: SQLSTATE classes and codes that mean the session is gone: connection exceptions (08...),
#: the server shutting down or the backend terminated (57P01-57P03).
_LOST_SQLSTATES = ("08", "57P01", "57P02", "57P03")


class ConnectionLost(Exception):
    """The database connection died during the run (server restart, terminated backend, network).

    Nothing is wrong with the file or the job: committed batches and the
    checkpoint are in the database, so the job is resumed, not failed.
    """


def is_connection_lost(exc: BaseException) -> bool:
    """Whether ``exc`` means this process's database connection is gone (not a refused statement)."""
    if isinstance(exc, ConnectionLost):
        return True
    if not isinstance(exc, OperationalError | InterfaceError):
        return False
    code = getattr(exc.__cause__, "pgcode", None) or ""
    if code.startswith(_LOST_SQLSTATES):
        return True
    if connection.vendor == "postgresql" and not code:
        # The server gives every error it reports an SQLSTATE; one without came from the client
        # library: the session is gone. (Asking the connection is too late when the statement ran in
        # a transaction: leaving ``atomic`` has dropped the broken connection and opened a new one.)
        return True
    return connection.connection is None or not connection.is_usable()
