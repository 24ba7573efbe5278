"""Text made storable: what PostgreSQL (and UTF-8) cannot hold, replaced; what is too long, clipped.

PostgreSQL refuses a NUL character in ``text`` and ``varchar`` values (and
``\\u0000`` in ``jsonb``), and UTF-8 has no form for a lone surrogate
(``"\\ud800"``, which a JSON file can spell). An import that writes such text
about a problem (the cell, the header, the row as read) would fail as a
whole. So everything stored about a problem goes through :func:`storable`
(each one replaced by U+FFFD, the replacement character: the text keeps its
length, so "at position 3" in a reason still points at it) and, where a
column or the size of the record needs it, :func:`clipped`.

The row rules refuse these characters in values (``imports.engine.rows``):
nothing here lets one reach a catalog row.

Kept at the ground of the project (it imports no app), as ``cell_guard``.
"""

from __future__ import annotations

import re

#: NUL (PostgreSQL) and lone surrogates (no UTF-8 form).
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"
#: What :func:`clipped` puts where it cut (one character).
ELLIPSIS = "\u2026"


def storable(text: str) -> str:
    """``text`` with every character PostgreSQL cannot store replaced by U+FFFD (same length)."""
    if UNSTORABLE.search(text) is None:
        return text
    return UNSTORABLE.sub(REPLACEMENT, text)


def clipped(text: str, limit: int) -> str:
    """``text`` if it has at most ``limit`` characters, else its first ``limit - 1`` and an ellipsis.

    Clipping a clipped text changes nothing (its length is ``limit``).
    """
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)] + ELLIPSIS


def storable_json(value: object) -> object:
    """A JSON-like value (dicts, lists, strings, numbers) with every string, keys included, made storable."""
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, dict):
        return {storable(str(key)): storable_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [storable_json(item) for item in value]
    return value
