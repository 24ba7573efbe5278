"""How a master's key is written down, in one place.

Item, color and size names are matched exactly (case-sensitive) after this
normalisation, by the importer and by the admin alike:

* trimmed, and every inner run of whitespace collapsed to one space: spaces,
  tabs, line breaks, no-break spaces (U+00A0) and the other Unicode spaces
  that ``str.split()`` knows;
* Unicode NFC, so a decomposed ``e`` + combining acute accent equals the
  precomposed ``é`` a keyboard types. Only canonical equivalents are merged:
  compatibility forms (``ﬁ``, full-width letters) and case stay as written,
  because they are different names to the people who typed them.

Normalising twice changes nothing.
"""

import unicodedata


def normalize_key(value: str) -> str:
    collapsed = " ".join(value.split())
    if collapsed.isascii():  # ASCII is always NFC; skip the normaliser on the common path
        return collapsed
    return unicodedata.normalize("NFC", collapsed)
