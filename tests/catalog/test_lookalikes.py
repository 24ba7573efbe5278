"""Look-alike names (issue 11): UTS #39 skeletons, mixed scripts, and the check against the live names that the
importer, the admin form and restore share.

Characters are written as escapes so that what each test is about can be read: ``\\u0435`` is the Cyrillic
small letter ie, which looks exactly like the Latin ``e``.
"""

import pytest
from django.urls import reverse

from catalog.lookalikes import (
    LookalikeFinder,
    is_mixed_script,
    live_lookalikes,
    lookalike_problem,
    lookalike_reason,
    skeleton,
)
from catalog.models import Color, Item, Size
from catalog.services import RestoreRefused, restore, soft_delete

CYRILLIC_RED = "R\u0435d"  # Latin R, Cyrillic ie, Latin d
RED_REASON = (
    "color_name 'R\u0435d' looks like the existing color 'Red' but mixes Latin and Cyrillic letters "
    "(a Cyrillic '\u0435' at position 2); use 'Red' or type the name again"
)


@pytest.mark.parametrize(
    ("name", "mixed"),
    [
        pytest.param("Red", False, id="ascii"),
        pytest.param("Red 2-pack (XL)", False, id="ascii-with-digits-and-punctuation"),
        pytest.param("Caf\u00e9 Cr\u00e8me", False, id="latin-with-accents"),
        pytest.param("\u041a\u0440\u0430\u0441\u043d\u044b\u0439", False, id="whole-script-cyrillic"),
        pytest.param("\u0421\u043e\u0440", False, id="whole-script-cyrillic-that-looks-latin"),
        pytest.param("\u039d\u03b1\u03c5\u03c4\u03b9\u03ba\u03cc 42", False, id="greek-with-digits"),
        pytest.param("\u6771\u4eac\u30bf\u30ef\u30fc", False, id="japanese-han-katakana-prolonged-mark"),
        pytest.param("\ud55c\uad6d\u5927", False, id="korean-hangul-and-han"),
        pytest.param("\u0645\u0631\u062d\u0628\u0627", False, id="arabic"),
        pytest.param("Red \u2460", False, id="latin-with-a-common-symbol"),
        pytest.param(CYRILLIC_RED, True, id="latin-and-cyrillic-in-one-word"),
        pytest.param("Red \u041a\u0440\u0430\u0441\u043d\u044b\u0439", True, id="latin-and-cyrillic-words"),
        pytest.param("\u03c1\u03b1ypal", True, id="greek-and-latin"),
        pytest.param("Tokyo \u6771\u4eac", True, id="latin-and-han"),
    ],
)
def test_mixed_script_is_uts39_resolved_script_set_empty(name, mixed):
    assert is_mixed_script(name) is mixed


@pytest.mark.parametrize(
    ("one", "other", "same"),
    [
        pytest.param(CYRILLIC_RED, "Red", True, id="cyrillic-ie"),
        pytest.param("W\u0456dg\u0435t", "Widget", True, id="cyrillic-i-and-ie"),
        pytest.param("\u03a1\u03bflo", "Polo", True, id="greek-rho-and-omicron"),
        pytest.param("\u0421\u043e\u0440", "Cop", True, id="whole-script-confusable"),
        pytest.param("Rorn", "Rom", True, id="ascii-rn-and-m"),
        pytest.param("Re\u00addd", "Redd", True, id="default-ignorable-removed"),
        pytest.param("red", "Red", False, id="case-counts"),
        pytest.param("R\u00e9d", "Red", False, id="accent-counts"),
    ],
)
def test_skeletons_equal_for_confusable_names(one, other, same):
    assert (skeleton(one) == skeleton(other)) is same


@pytest.mark.parametrize(
    ("name", "existing", "words"),
    [
        pytest.param(CYRILLIC_RED, "Red", "(a Cyrillic '\u0435' at position 2)", id="one-letter"),
        pytest.param(
            "W\u0456dg\u0435t \u03a1ro",
            "Widget Pro",
            "mixes Latin, Cyrillic and Greek letters (a Cyrillic '\u0456' at position 2, a Cyrillic '\u0435' at "
            "position 5 and a Greek '\u03a1' at position 8)",
            id="three-scripts",
        ),
        pytest.param(
            "S\u043em\u0435 l\u043eng n\u0430m\u0435",
            "Some long name",
            "(a Cyrillic '\u043e' at position 2, a Cyrillic '\u0435' at position 4, a Cyrillic '\u043e' at position 7 "
            "and 2 more)",
            id="many-letters",
        ),
    ],
)
def test_the_reason_names_both_names_the_scripts_and_the_odd_letters(name, existing, words):
    reason = lookalike_reason("item_name", name, existing, "item")
    assert reason.startswith(f"item_name '{name}' looks like the existing item '{existing}' but mixes ")
    assert words in reason
    assert reason.endswith(f"; use '{existing}' or type the name again")


def test_the_reason_for_a_name_the_same_file_creates():
    assert lookalike_reason("Color", CYRILLIC_RED, "Red", "color", in_this_file=True) == (
        "Color 'R\u0435d' looks like the color 'Red' that this file also creates but mixes Latin and Cyrillic "
        "letters (a Cyrillic '\u0435' at position 2); use 'Red' or type the name again"
    )


def test_the_finder_keeps_only_mixed_script_names_and_prefers_a_single_script_match():
    finder = LookalikeFinder(["Red", "Blue", "\u041a\u0440\u0430\u0441\u043d\u044b\u0439", CYRILLIC_RED])
    assert finder.names == [CYRILLIC_RED]
    assert finder.feed(["R\u0435\u0501", "Blue", "Red", CYRILLIC_RED]) == {CYRILLIC_RED: "Red"}
    assert not finder
    assert not LookalikeFinder(["Red", "Caf\u00e9"])


# --- against the live names --------------------------------------------------------------------


@pytest.mark.django_db
def test_live_lookalikes_reports_new_mixed_names_that_look_like_a_live_one(make_color):
    make_color("Red")
    make_color("Blu\u0435")  # a mixed-script name already live (from before the rule) is not new
    deleted = make_color("Gr\u0435en")
    soft_delete(rows=Color.objects.filter(pk=deleted.pk))
    make_color("Green")

    finder = LookalikeFinder([CYRILLIC_RED, "Blu\u0435", "Gr\u0435en", "P\u0456nk"])
    assert live_lookalikes(model=Color, finder=finder) == {CYRILLIC_RED: "Red", "Gr\u0435en": "Green"}
    assert finder.names == ["P\u0456nk"]  # looks like no live name


@pytest.mark.django_db
@pytest.mark.parametrize(("model", "field"), [(Item, "name"), (Color, "color_name"), (Size, "size_name")])
def test_lookalike_problem_is_one_function_for_every_named_master(model, field):
    model.objects.create(**{field: "XL Red"})
    row = model(**{field: "XL R\u0435d"})
    noun = model._meta.verbose_name
    assert lookalike_problem(row=row) == (
        f"{field} 'XL R\u0435d' looks like the existing {noun} 'XL Red' but mixes Latin and Cyrillic letters "
        f"(a Cyrillic '\u0435' at position 5); use 'XL Red' or type the name again"
    )
    assert lookalike_problem(row=model(**{field: "XL Blue"})) is None


@pytest.mark.django_db
def test_ascii_and_single_script_names_never_read_the_live_names(make_color, django_assert_num_queries):
    make_color("Red")
    with django_assert_num_queries(0):
        assert lookalike_problem(row=Color(color_name="Rod")) is None
        assert lookalike_problem(row=Color(color_name="\u041a\u0440\u0430\u0441\u043d\u044b\u0439")) is None


# --- the admin form and restore ----------------------------------------------------------------


@pytest.mark.django_db
def test_adding_a_mixed_script_lookalike_in_the_admin_is_a_form_error(admin_client, make_color):
    make_color("Red")

    response = admin_client.post(reverse("admin:catalog_color_add"), {"color_name": f" {CYRILLIC_RED} "})

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"color_name": [RED_REASON]}
    assert Color.objects.count() == 1


@pytest.mark.django_db
def test_renaming_to_a_lookalike_in_the_admin_is_a_form_error(admin_client, make_color):
    make_color("Red")
    blue = make_color("Blue")

    response = admin_client.post(reverse("admin:catalog_color_change", args=[blue.pk]), {"color_name": CYRILLIC_RED})

    assert response.context["adminform"].form.errors == {"color_name": [RED_REASON]}
    blue.refresh_from_db()
    assert blue.color_name == "Blue"


@pytest.mark.django_db
def test_the_admin_saves_a_whole_script_name_and_a_legacy_lookalike_it_does_not_rename(admin_client, make_color):
    make_color("Cop")
    response = admin_client.post(reverse("admin:catalog_color_add"), {"color_name": "\u0421\u043e\u0440"})
    assert response.status_code == 302
    # A look-alike saved before the rule keeps its name when something else is edited.
    legacy = Item.objects.create(name="Shirt R\u0435d", description="old")
    Item.objects.create(name="Shirt Red")

    response = admin_client.post(
        reverse("admin:catalog_item_change", args=[legacy.pk]),
        {"name": "Shirt R\u0435d", "description": "new", "variants-TOTAL_FORMS": 0, "variants-INITIAL_FORMS": 0},
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    legacy.refresh_from_db()
    assert legacy.description == "new"


@pytest.mark.django_db
def test_restoring_a_lookalike_is_refused_with_the_same_words(make_color):
    gone = make_color(CYRILLIC_RED)
    soft_delete(rows=Color.objects.filter(pk=gone.pk))
    make_color("Red")

    with pytest.raises(RestoreRefused) as refused:
        restore(rows=Color.all_objects.filter(pk=gone.pk))

    assert refused.value.problems == [f'Cannot restore color "{CYRILLIC_RED}" (id {gone.pk}): {RED_REASON}.']
    assert Color.objects.count() == 1


@pytest.mark.django_db
def test_the_restore_action_shows_the_refusal(admin_client, make_color):
    gone = make_color(CYRILLIC_RED)
    soft_delete(rows=Color.objects.filter(pk=gone.pk))
    make_color("Red")

    response = admin_client.post(
        reverse("admin:catalog_color_changelist") + "?status=deleted",
        {"action": "restore_selected", "_selected_action": [gone.pk]},
        follow=True,
    )

    assert [str(message) for message in response.context["messages"]] == [
        "Nothing was changed.",
        f'Cannot restore color "{CYRILLIC_RED}" (id {gone.pk}): {RED_REASON}.',
    ]
