"""How a master's key is written down, in one place.

Item, color and size names are matched exactly (case-sensitive) after this
normalisation, by the importer and by the admin alike: trimmed, inner runs of
whitespace (tabs and newlines included) collapsed to one space, Unicode NFC.
"""

import unicodedata


def normalize_key(value: str) -> str:
    collapsed = " ".join(value.split())
    if collapsed.isascii():
        return collapsed
    return unicodedata.normalize("NFC", collapsed)
