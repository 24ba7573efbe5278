"""Key normalisation, shared by the importer, the admin and model saves: remove invisible characters, fold the
compatibility forms that only change how a letter is drawn (issue 11: a full-width "Widget" was a second item),
trim, collapse whitespace, NFC, keep case."""

import unicodedata
from functools import cache

import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalog.keys import FOLDED_BLOCKS, FOLDED_FORMS, FOLDED_LIGATURES, INVISIBLE, normalize_key
from catalog.models import Color, Item, Size

CASES = [
    pytest.param("Navy", "Navy", id="unchanged"),
    pytest.param("", "", id="empty"),
    pytest.param("   ", "", id="only-spaces"),
    pytest.param("  Navy Blue  ", "Navy Blue", id="trimmed"),
    pytest.param("Navy    Blue", "Navy Blue", id="spaces-collapsed"),
    pytest.param("Navy\t\tBlue", "Navy Blue", id="tabs-collapsed"),
    pytest.param("Navy\r\nBlue\n", "Navy Blue", id="line-breaks-collapsed"),
    pytest.param("Navy\u00a0Blue", "Navy Blue", id="no-break-space"),
    pytest.param("Navy \u00a0\t Blue", "Navy Blue", id="mixed-run"),
    pytest.param("Navy\u3000Blue", "Navy Blue", id="ideographic-space"),
    pytest.param("Navy\u2028Blue", "Navy Blue", id="line-separator"),
    pytest.param("Cre\u0300me", "Cr\u00e8me", id="decomposed-to-composed"),
    pytest.param("Cr\u00e8me", "Cr\u00e8me", id="composed-unchanged"),
    pytest.param("\u212bngstr\u00f6m", "\u00c5ngstr\u00f6m", id="angstrom-sign-canonical-equivalent"),
    pytest.param("NAVY blue", "NAVY blue", id="case-kept"),
    # Invisible characters are removed (issue 11: "Widget\u200b" and "\u202eWidget" were new items).
    pytest.param("Widget\u200b", "Widget", id="zero-width-space-removed"),
    pytest.param("Navy\u200bBlue", "NavyBlue", id="zero-width-space-inside-removed"),
    pytest.param("Navy \u200b Blue", "Navy Blue", id="zero-width-space-between-spaces"),
    pytest.param("\u200cWid\u200dget\u2060", "Widget", id="zwnj-zwj-word-joiner-removed"),
    pytest.param("\ufeffWid\ufeffget", "Widget", id="bom-anywhere-removed"),
    pytest.param("Wid\u00adget", "Widget", id="soft-hyphen-removed"),
    pytest.param("\u202eWidget", "Widget", id="right-to-left-override-removed"),
    pytest.param("\u202aWidget\u202c", "Widget", id="embedding-and-pop-removed"),
    pytest.param("\u200eWidget\u200f", "Widget", id="direction-marks-removed"),
    pytest.param("\u2066Widget\u2069 \u2067x\u2068", "Widget x", id="isolates-removed"),
    pytest.param("\u200b", "", id="only-invisible-is-empty"),
    # Compatibility forms that only change how a letter is drawn are folded.
    pytest.param("\uff37\uff49\uff44\uff47\uff45\uff54", "Widget", id="full-width-folded"),
    pytest.param("\uff2e\uff41\uff56\uff59\u3000\uff11\uff12", "Navy 12", id="full-width-digits-and-space"),
    pytest.param("\uff76\uff9e", "\u30ac", id="half-width-katakana-and-voiced-mark-composed"),
    pytest.param("\uffe1", "\u00a3", id="full-width-pound-sign"),
    pytest.param("\ufb01ne \ufb02at \ufb00", "fine flat ff", id="latin-ligatures-folded"),
    pytest.param("\ufb13", "\u0574\u0576", id="armenian-ligature-folded"),
    pytest.param("\U0001d411\U0001d41e\U0001d41d", "Red", id="mathematical-bold-folded"),
    pytest.param("\u211d\u2113", "Rl", id="letterlike-font-forms-folded"),
    pytest.param("\ufe8d\ufe8e", "\u0627\u0627", id="arabic-presentation-forms-folded"),
    pytest.param("Navy\u2011Blue", "Navy\u2010Blue", id="no-break-hyphen-folded"),
    pytest.param("\ufe31", "\u2014", id="vertical-form-folded"),
    pytest.param("\ufe50", ",", id="small-form-folded"),
    # Compatibility forms that change what is written are kept as written.
    pytest.param("10 m\u00b2", "10 m\u00b2", id="superscript-kept"),
    pytest.param("H\u2082O", "H\u2082O", id="subscript-kept"),
    pytest.param("Size \u2460", "Size \u2460", id="circled-digit-kept"),
    pytest.param("\u2474", "\u2474", id="parenthesised-digit-kept"),
    pytest.param("\u00bd", "\u00bd", id="fraction-kept"),
    pytest.param("5\u338f", "5\u338f", id="squared-abbreviation-kept"),
    pytest.param("\u216b", "\u216b", id="roman-numeral-kept"),
    pytest.param("\u0133s", "\u0133s", id="dutch-ij-kept"),
    pytest.param("\u017fun", "\u017fun", id="long-s-kept"),
    pytest.param("5\u00b5m", "5\u00b5m", id="micro-sign-kept"),
    pytest.param("TM\u2122", "TM\u2122", id="trade-mark-sign-kept"),
    # Whole-script names are untouched.
    pytest.param("\u041a\u0440\u0430\u0441\u043d\u044b\u0439", "\u041a\u0440\u0430\u0441\u043d\u044b\u0439",
                 id="cyrillic-kept"),
    pytest.param("R\u0435d", "R\u0435d", id="mixed-script-kept-the-live-names-decide"),
    pytest.param("\u6771\u4eac\u30bf\u30ef\u30fc", "\u6771\u4eac\u30bf\u30ef\u30fc", id="japanese-kept"),
]  # fmt: skip


@pytest.mark.parametrize(("value", "key"), CASES)
def test_normalize_key(value, key):
    assert normalize_key(value) == key


@pytest.mark.parametrize(("value", "key"), CASES)
def test_normalising_twice_changes_nothing(value, key):
    assert normalize_key(normalize_key(value)) == normalize_key(value)


@pytest.mark.parametrize(
    ("model", "field"),
    [pytest.param(Item, "name", id="item"), pytest.param(Color, "color_name", id="color"),
     pytest.param(Size, "size_name", id="size")],
)  # fmt: skip
def test_the_models_normalise_their_names_the_same_way(model, field):
    record = model(**{field: "  Cre\u0300me \t Br\u00fbl\u00e9e\u200b \uff12 "})
    record.normalize_names()
    assert getattr(record, field) == "Cr\u00e8me Br\u00fbl\u00e9e 2"


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=30))
def test_normalising_twice_changes_nothing_for_any_text(value):
    once = normalize_key(value)
    assert normalize_key(once) == once
    assert not INVISIBLE & {ord(char) for char in once}


def test_ascii_text_only_has_its_whitespace_collapsed():
    assert normalize_key(" \tA  b\x01'= ") == "A b\x01'="


@cache
def compatibility_forms() -> dict[str, list[int]]:
    """Every code point with a compatibility decomposition, by its form (``<wide>``), in one scan of Unicode."""
    forms: dict[str, list[int]] = {}
    for code in range(0x110000):
        decomposition = unicodedata.decomposition(chr(code))
        if decomposition.startswith("<"):
            forms.setdefault(decomposition.partition(" ")[0], []).append(code)
    return forms


def test_the_folded_blocks_hold_every_character_of_a_folded_form():
    """The translation table scans a few blocks, not all of Unicode: check no folded character lives elsewhere."""
    covered = {code for block in FOLDED_BLOCKS for code in block}
    folded = [code for form in FOLDED_FORMS for code in compatibility_forms()[form]]
    folded += [code for code in compatibility_forms()["<compat>"] if code in FOLDED_LIGATURES]
    assert [f"U+{code:04X}" for code in folded if code not in covered] == []


@pytest.mark.parametrize(
    ("form", "folded"),
    [("<wide>", True), ("<narrow>", True), ("<font>", True), ("<noBreak>", True), ("<initial>", True),
     ("<medial>", True), ("<final>", True), ("<isolated>", True), ("<vertical>", True), ("<small>", True),
     ("<super>", False), ("<sub>", False), ("<circle>", False), ("<fraction>", False), ("<square>", False),
     ("<compat>", None)],
)  # fmt: skip
def test_each_compatibility_form_is_folded_or_kept_as_decided(form, folded):
    """Every character of a folded form becomes its NFKC form; every one of a kept form stays as written.

    ``<compat>`` (None) is kept but for the Latin and Armenian ligatures."""
    for code in compatibility_forms()[form]:
        char = chr(code)
        folded = code in FOLDED_LIGATURES if form == "<compat>" else folded
        expected = unicodedata.normalize("NFC", " ".join(unicodedata.normalize("NFKC", char).split()))
        kept = unicodedata.normalize("NFC", " ".join(char.split()))
        assert normalize_key(char) == (expected if folded else kept), f"U+{code:04X}"
