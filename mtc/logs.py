"""Log lines that carry their context: ``LOG_FORMAT=json`` for log collectors, text for people.

A job binds its fields for as long as it runs (:func:`bound`: ``import_id``,
``kind``, ``system``, ``worker``, ``user``), and :class:`ContextFilter` (on
the console handler) copies them onto every record logged meanwhile, by any
module: the engine, the runtime, django-q2's own lines. The JSON formatter
writes them as fields, so "every line of import 42" is one query in the log
store, whichever machine ran it. The text format (the default, what
``scripts/run`` shows) keeps its one readable line.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_fields: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("mtc_log_fields", default={})  # noqa: B039


@contextmanager
def bound(**fields: Any) -> Iterator[None]:
    """Add ``fields`` to every log record of this thread (or task) inside the block; blocks nest."""
    token = _fields.set({**_fields.get(), **fields})
    try:
        yield
    finally:
        _fields.reset(token)


def current() -> dict[str, Any]:
    return dict(_fields.get())


class ContextFilter(logging.Filter):
    """Copies the bound fields onto each record (never over an attribute the record already has)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _fields.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True
