"""The bounds every reader keeps to, whatever the file: what one file may make the importer hold.

A file past one of them is refused (or, for a header, cut), with a message
naming the limit. They are documented in the README (Importing files).
"""

from __future__ import annotations

#: The most characters of a header kept: a longer header is cut (ending in an ellipsis).
MAX_HEADER_CHARS = 1024
