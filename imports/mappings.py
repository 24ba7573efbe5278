"""Column mappings a user chose, remembered per kind and set of headers.

The engine decides how a header row maps (``imports.engine.columns``: our
names, suppliers' words, the user's choices); this module remembers the
user's choices, so the next file with the same header row (the same
supplier's next file) is mapped the same way, and offers them back. A set of
headers is keyed by its folded, sorted names: a column moved or recapitalised
is the same set.
"""

from __future__ import annotations

import hashlib

from imports.engine.columns import Mapping
from imports.engine.header_words import folded
from imports.models import RememberedMapping


def headers_key(headers: list[str]) -> str:
    """SHA-256 of the non-empty headers, folded and sorted (order and case do not matter)."""
    names = sorted({folded(header) for header in headers if str(header).strip()})
    return hashlib.sha256("\x1f".join(names).encode()).hexdigest()


def remembered_mapping(*, user, kind: str, headers: list[str]) -> Mapping | None:
    """The mapping ``user`` last chose for ``kind`` files with these headers, or None."""
    if not getattr(user, "pk", None):
        return None
    found = RememberedMapping.objects.filter(user=user, kind=kind, headers_key=headers_key(headers)).first()
    if found is None:
        return None
    present = {str(header).strip() for header in headers}
    return {header: field for header, field in found.mapping.items() if header in present} or None


def remember_mapping(*, user, kind: str, headers: list[str], mapping: Mapping) -> None:
    """Keep ``mapping`` as ``user``'s choice for ``kind`` files with these headers."""
    if not getattr(user, "pk", None) or not mapping:
        return
    RememberedMapping.objects.update_or_create(
        user=user, kind=kind, headers_key=headers_key(headers), defaults={"mapping": mapping}
    )
