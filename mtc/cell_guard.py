"""Cells a spreadsheet would run as a formula, written so that it shows them as text.

Every file this project writes for a spreadsheet (failed rows, catalog
exports) puts each cell, header row included, through :func:`guard_cell`:
text starting with ``= + - @``, a tab or a carriage return gets a leading
``'`` (OWASP's advice against CSV injection). The importer reads such a cell
back with :func:`unguard_cell`, so an exported file imports again unchanged.

Kept at the ground of the project (it imports no app) because the catalog's
exports and the importer's reports both use it.
"""

from __future__ import annotations

#: What a spreadsheet treats as the start of a formula (or of a cell it may run as one).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def guard_cell(value: object) -> str:
    """``value`` as cell text that no spreadsheet runs: ``=1+1`` -> ``'=1+1``."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def unguard_cell(text: str) -> str:
    """What :func:`guard_cell` wrote, as it was: ``'=1+1`` -> ``=1+1``; other text unchanged."""
    if text[:1] == "'" and text[1:2] in FORMULA_STARTS:
        return text[1:]
    return text
