"""Why an import stops.

``ImportRejected`` is raised before any master row is written (bad file,
missing column, too many rows): the job fails and nothing changed.
``ImportStopped`` is raised between batches (timeout, cancel): what was
committed stays and is reported.
"""


class ImportRejected(Exception):
    """The file cannot be imported at all; nothing was written."""


class ImportStopped(Exception):
    """The run stopped at a batch boundary; committed batches stay."""

    def __init__(self, reason: str, *, cancelled: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.cancelled = cancelled
