"""How a hint names a management command: as the README writes it.

A message that tells someone what to run (a failed import's rows, a missing
worker, duplicates to resolve) prints a command they can paste in the
project's directory. ``scripts/run`` and ``scripts/test`` create ``.venv``
and the README writes every command as ``.venv/bin/python manage.py ...``; a
bare ``python manage.py`` would run whichever Python is first on the PATH,
without the project's packages.
"""

from __future__ import annotations

#: The start of every command line a hint prints.
MANAGE_PY = ".venv/bin/python manage.py"


def command_line(arguments: str) -> str:
    """``import_errors 5 --format csv`` -> ``.venv/bin/python manage.py import_errors 5 --format csv``."""
    return f"{MANAGE_PY} {arguments}"
