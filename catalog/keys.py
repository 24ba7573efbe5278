"""How a master's key is written down, in one place.

Item, color and size names are matched exactly (case-sensitive) after this
normalisation, by the importer, the admin and every model save alike:

* invisible characters are removed: zero-width characters (U+200B zero width
  space, U+200C ZWNJ, U+200D ZWJ, U+2060 word joiner, U+FEFF BOM / zero width
  no-break space, U+00AD soft hyphen) and bidirectional controls (U+200E/U+200F
  marks, U+202A-U+202E embeddings and overrides, U+2066-U+2069 isolates).
  They show nothing, so ``Widget\\u200b`` and ``\\u202eWidget`` are ``Widget``.
  (Persian's ZWNJ and emoji ZWJ sequences lose their joiner in a key: the
  letters stay, and two spellings that only differ there are one name);
* compatibility forms that only change how a letter is drawn are folded to
  the letter (NFKC, for these decomposition types only, listed in
  :data:`FOLDED_FORMS`): full-width and half-width forms (``Ｗｉｄｇｅｔ`` is
  ``Widget``, half-width katakana ``ｶ`` is ``カ``), styled mathematical and
  letterlike letters (``𝐑𝐞𝐝``, ``ℝ``), the typographic ligatures
  ``ﬀ ﬁ ﬂ ﬃ ﬄ ﬅ ﬆ`` and the Armenian ones (PDF and word-processor copies),
  Arabic presentation forms (initial, medial, final, isolated), vertical and
  small punctuation forms, and no-break variants (``‑`` is ``‐``);
* compatibility forms that change what is written are kept as written:
  superscripts and subscripts (``m²`` is not ``m2``), circled and
  parenthesised numbers (``①``), fractions (``½``), squared abbreviations
  (``㎏``), Roman numeral signs (``Ⅻ``), ``ĳ``, ``ſ``, ``µ`` and the other
  ``<compat>`` characters. Case is kept too: ``NAVY`` and ``Navy`` are two
  names to the people who typed them;
* trimmed, and every inner run of whitespace collapsed to one space: spaces,
  tabs, line breaks, no-break spaces (U+00A0), the ideographic space and the
  other Unicode spaces that ``str.split()`` knows;
* Unicode NFC, so a decomposed ``e`` + combining acute accent equals the
  precomposed ``é`` a keyboard types.

ASCII text skips every step but the whitespace one (it has nothing to remove,
fold or compose), so the common case costs one ``split``/``join``.

Normalising twice changes nothing. Names that still only *look* alike
(``Rеd`` with a Cyrillic ``е`` next to ``Red``) are a question for the live
names, not for the key: :mod:`catalog.lookalikes`.
"""

from __future__ import annotations

import unicodedata

#: Removed from keys: zero-width characters and bidirectional controls (see the module docstring).
INVISIBLE = frozenset(
    {0x00AD, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x200E, 0x200F}
    | set(range(0x202A, 0x202F))
    | set(range(0x2066, 0x206A))
)

#: Decomposition types folded to their NFKC form: the ones that only change how a letter is drawn.
FOLDED_FORMS = frozenset(
    {"<wide>", "<narrow>", "<font>", "<initial>", "<medial>", "<final>", "<isolated>", "<vertical>", "<small>",
     "<noBreak>"}
)  # fmt: skip
#: ``<compat>`` characters folded too: the Latin and Armenian ligatures of the Alphabetic Presentation Forms block.
FOLDED_LIGATURES = range(0xFB00, 0xFB18)
#: Where every character of a folded type lives (``tests/catalog/test_keys.py`` checks it against all of Unicode).
FOLDED_BLOCKS = (
    range(0x00A0, 0x0100),  # no-break space
    range(0x0F0C, 0x0F0D),  # Tibetan no-break tsheg
    range(0x2000, 0x2150),  # no-break hyphen, figure and narrow spaces; letterlike symbols (ℂ, ℓ, ℝ)
    range(0x3000, 0x3100),  # ideographic space; vertical kana digraphs
    range(0xFB00, 0xFFF0),  # ligatures, Arabic presentation forms, vertical/small forms, full- and half-width forms
    range(0x1D400, 0x1D800),  # mathematical alphanumeric symbols
    range(0x1EE00, 0x1EF00),  # Arabic mathematical alphabetic symbols
    range(0x1FBF0, 0x1FC00),  # segmented digits
)

_table: dict[int, str | None] | None = None


def _translation() -> dict[int, str | None]:
    """``str.translate`` table: invisible characters removed, folded forms replaced (built on first use)."""
    global _table
    if _table is None:
        table: dict[int, str | None] = dict.fromkeys(INVISIBLE)
        for block in FOLDED_BLOCKS:
            for code in block:
                if code in table:
                    continue
                char = chr(code)
                form = unicodedata.decomposition(char).partition(" ")[0]
                if form in FOLDED_FORMS or (form == "<compat>" and code in FOLDED_LIGATURES):
                    table[code] = unicodedata.normalize("NFKC", char)
        _table = table
    return _table


def normalize_key(value: str) -> str:
    if value.isascii():  # nothing to remove, fold or compose on the common path
        return " ".join(value.split())
    collapsed = " ".join(value.translate(_translation()).split())
    return unicodedata.normalize("NFC", collapsed)
