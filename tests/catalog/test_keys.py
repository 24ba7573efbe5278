"""Key normalisation, shared by the importer and the admin: trim, collapse whitespace, NFC, keep case."""

import pytest

from catalog.keys import normalize_key
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
    pytest.param("\ufb01ne", "\ufb01ne", id="compatibility-ligature-kept"),
    pytest.param("\uff2e\uff41\uff56\uff59", "\uff2e\uff41\uff56\uff59", id="full-width-kept"),
    pytest.param("Navy\u200bBlue", "Navy\u200bBlue", id="zero-width-space-is-not-whitespace"),
]


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
    record = model(**{field: "  Cre\u0300me \t Br\u00fbl\u00e9e "})
    record.normalize_names()
    assert getattr(record, field) == "Cr\u00e8me Br\u00fbl\u00e9e"
