"""The catalog admin: lists, the status filter, soft delete and restore, flat query counts."""

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.models import Color, Item, ItemVariant, Size
from catalog.services import soft_delete

pytestmark = pytest.mark.django_db

CHANGELISTS = ["item", "color", "size", "itemvariant"]


def changelist(model_name: str) -> str:
    return reverse(f"admin:catalog_{model_name}_changelist")


@pytest.fixture
def catalog_of(make_item, make_color, make_size, make_variant):
    """``catalog_of(n)``: n items, each with one variant, sharing 3 colors and 2 sizes."""

    def build(count: int) -> list[ItemVariant]:
        colors = [make_color(name) for name in ("Navy", "Black", "White")]
        sizes = [make_size(name) for name in ("M", "L")]
        return [make_variant(make_item(f"Oxford Shirt {n:04d}"), colors[n % 3], sizes[n % 2]) for n in range(count)]

    return build


def queries_for(client, url: str) -> int:
    client.get(url)  # warm per-process caches (content types) so only the page's own queries count
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize("model_name", CHANGELISTS)
def test_changelists_render_for_a_superuser_with_search(admin_client, catalog_of, model_name):
    catalog_of(3)

    response = admin_client.get(changelist(model_name), {"q": "a"})

    assert response.status_code == 200
    assert response.context["cl"].list_per_page == 50


def test_changelist_query_counts_do_not_grow_with_rows(admin_client, catalog_of):
    catalog_of(5)
    few = {name: queries_for(admin_client, changelist(name)) for name in CHANGELISTS}
    ItemVariant.objects.all().delete()
    Item.objects.all().delete()
    Color.objects.all().delete()
    Size.objects.all().delete()
    catalog_of(50)
    many = {name: queries_for(admin_client, changelist(name)) for name in CHANGELISTS}

    assert many == few


def test_item_change_page_lists_live_variants_with_flat_queries(
    admin_client, make_item, make_color, make_size, make_variant
):
    sizes = [make_size(f"Size {n:02d}") for n in range(50)]
    colors = [make_color(f"Color {n:02d}") for n in range(50)]
    few, many = make_item("Few Variants"), make_item("Many Variants")
    for n in range(5):
        make_variant(few, colors[n], sizes[n])
    for n in range(50):
        make_variant(many, colors[n], sizes[n])
    deleted = make_variant(many, colors[0], sizes[1], sku="GONE-1")
    soft_delete(rows=ItemVariant.objects.filter(pk=deleted.pk))

    def page(item):
        return reverse("admin:catalog_item_change", args=[item.pk])

    assert queries_for(admin_client, page(few)) == queries_for(admin_client, page(many))
    response = admin_client.get(page(many))
    content = response.content.decode()
    assert "50 active variant(s) in the variant list" in content
    assert f"?item__exact={many.pk}" in content
    assert "GONE-1" not in content
    inline = response.context["inline_admin_formsets"][0]
    assert len(inline.formset.forms) == 50


def listed(admin_client, model_name: str, **params) -> list:
    return list(admin_client.get(changelist(model_name), params).context["cl"].result_list)


def test_lists_start_on_active_rows_and_the_status_filter_shows_deleted_ones(admin_client, make_color):
    navy, black = make_color("Navy"), make_color("Black")
    soft_delete(rows=Color.objects.filter(pk=black.pk))

    assert listed(admin_client, "color") == [navy]
    assert listed(admin_client, "color", status="active") == [navy]
    assert listed(admin_client, "color", status="deleted") == [black]
    assert set(listed(admin_client, "color", status="all")) == {navy, black}
    cl = admin_client.get(changelist("color")).context["cl"]
    choices = list(cl.filter_specs[0].choices(cl))
    assert [(c["display"], c["selected"]) for c in choices] == [
        ("Active", True),
        ("Deleted (can be restored)", False),
        ("All", False),
    ]


def test_variant_list_shows_names_and_filters_by_item_link(admin_client, catalog_of):
    variants = catalog_of(2)

    response = admin_client.get(changelist("itemvariant"), {"item__exact": variants[1].item_id})

    assert list(response.context["cl"].result_list) == [variants[1]]
    assert "Oxford Shirt 0001" in response.content.decode()


def test_hard_delete_is_not_offered(admin_client, make_color):
    navy = make_color("Navy")

    actions = admin_client.get(changelist("color")).context["action_form"].fields["action"].choices
    names = [name for name, _ in actions]
    assert "delete_selected" not in names
    assert {"soft_delete_selected", "restore_selected"} <= set(names)
    delete_page = reverse("admin:catalog_color_delete", args=[navy.pk])
    assert admin_client.post(delete_page, {"post": "yes"}).status_code == 403
    admin_client.post(changelist("color"), {"action": "delete_selected", "_selected_action": [navy.pk]})
    assert Color.objects.filter(pk=navy.pk).exists()


def run_action(admin_client, model_name: str, action: str, rows, **params):
    response = admin_client.post(
        changelist(model_name) + ("?status=all" if params.get("all") else ""),
        {"action": action, "_selected_action": [row.pk for row in rows]},
        follow=True,
    )
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_soft_delete_and_restore_actions(admin_client, make_color):
    navy, black = make_color("Navy"), make_color("Black")

    assert run_action(admin_client, "color", "soft_delete_selected", [navy, black]) == [
        "2 colors deleted. Restore them from Status: Deleted."
    ]
    assert not Color.objects.exists()

    assert run_action(admin_client, "color", "restore_selected", [navy], all=True) == ["1 color restored."]
    assert list(Color.objects.all()) == [navy]


def test_soft_delete_action_refuses_a_color_used_by_active_variants(admin_client, catalog_of):
    variant = catalog_of(1)[0]

    messages = run_action(admin_client, "color", "soft_delete_selected", [variant.color])

    assert messages[0] == "Nothing was changed."
    assert messages[1].startswith(f'Cannot delete color "Navy" (id {variant.color_id}): it still has 1 active')
    assert Color.objects.filter(pk=variant.color_id).exists()


def test_restore_action_refuses_when_an_active_twin_exists(admin_client, make_color):
    old = make_color("Navy")
    soft_delete(rows=Color.objects.all())
    twin = make_color("Navy")

    messages = run_action(admin_client, "color", "restore_selected", [old], all=True)

    assert f'the active color "Navy" (id {twin.pk}) has the same name' in messages[1]
    assert Color.objects.get().pk == twin.pk


def test_deleted_rows_are_read_only_until_restored(admin_client, make_color):
    navy = make_color("Navy")
    soft_delete(rows=Color.objects.all())
    page = reverse("admin:catalog_color_change", args=[navy.pk])

    response = admin_client.get(page)
    assert response.status_code == 200
    assert not response.context["has_change_permission"]
    admin_client.post(page, {"color_name": "Renamed"})
    assert Color.all_objects.get(pk=navy.pk).color_name == "Navy"


def test_change_page_shows_timestamps_read_only(admin_client, make_color):
    navy = make_color("Navy")

    response = admin_client.get(reverse("admin:catalog_color_change", args=[navy.pk]))

    fields = response.context["adminform"].form.fields
    assert "color_name" in fields
    assert not {"created_at", "updated_at", "deleted_at"} & set(fields)
    assert {"created_at", "updated_at", "deleted_at"} <= set(response.context["adminform"].readonly_fields)


def test_variant_autocomplete_offers_active_masters_only(admin_client, make_color):
    make_color("Navy")
    gone = make_color("Navy Blue")
    soft_delete(rows=Color.objects.filter(pk=gone.pk))

    response = admin_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "catalog", "model_name": "itemvariant", "field_name": "color", "term": "Navy"},
    )

    assert [result["text"] for result in response.json()["results"]] == ["Navy"]


def test_adding_a_taken_name_is_a_form_error_not_a_server_error(admin_client, make_color):
    taken = make_color("Sky Blue")

    response = admin_client.post(reverse("admin:catalog_color_add"), {"color_name": "  Sky \t Blue "})

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "color_name": [
            f'The active color "Sky Blue" (id {taken.pk}) already has this name. Choose another name, or edit that one.'
        ]
    }
    assert Color.objects.count() == 1


def test_a_name_held_only_by_a_deleted_row_can_be_reused(admin_client, make_color):
    soft_delete(rows=Color.objects.filter(pk=make_color("Navy").pk))

    response = admin_client.post(reverse("admin:catalog_color_add"), {"color_name": " Navy"})

    assert response.status_code == 302
    assert Color.objects.get().color_name == "Navy"


def test_adding_a_taken_variant_key_is_a_form_error(admin_client, catalog_of):
    variant = catalog_of(1)[0]

    response = admin_client.post(
        reverse("admin:catalog_itemvariant_add"),
        {"item": variant.item_id, "color": variant.color_id, "size": variant.size_id, "sku": "NEW"},
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors() == [
        "This item already has an active variant in this color and size: "
        f'item variant #{variant.pk} ("Oxford Shirt 0000 / Navy / M"). Edit that one instead.'
    ]
    assert ItemVariant.objects.count() == 1


@pytest.mark.parametrize("model_name", CHANGELISTS)
def test_an_add_form_shows_no_timestamps_it_does_not_have_yet(admin_client, model_name):
    html = admin_client.get(reverse(f"admin:catalog_{model_name}_add")).content.decode()

    assert "DatabaseDefault" not in html
    assert "Created at" not in html
    assert "Updated at" not in html


def test_a_change_form_still_shows_its_timestamps(admin_client, make_color):
    html = admin_client.get(reverse("admin:catalog_color_change", args=[make_color("Navy").pk])).content.decode()

    assert "Created at" in html
    assert "Updated at" in html


def test_the_lists_total_counts_the_rows_of_the_status_shown_not_deleted_ones(admin_client, catalog_of):
    variants = catalog_of(6)
    soft_delete(rows=ItemVariant.objects.filter(pk__in=[variant.pk for variant in variants[:4]]))

    active = admin_client.get(changelist("itemvariant"), {"q": "0005"})
    every = admin_client.get(changelist("itemvariant"), {"q": "0005", "status": "all"})

    assert (active.context["cl"].result_count, active.context["cl"].full_result_count) == (1, 2)
    assert every.context["cl"].full_result_count == 6


def test_a_long_list_says_its_count_is_an_estimate(admin_client, catalog_of, monkeypatch):
    from catalog import admin as catalog_admin
    from catalog import counting

    catalog_of(12)
    page = admin_client.get(changelist("itemvariant"))
    assert page.context["cl"].count_is_exact
    assert "about 12" not in page.content.decode()

    monkeypatch.setattr(catalog_admin, "list_count", lambda rows: counting.list_count(rows, exact_up_to=5))
    page = admin_client.get(changelist("itemvariant"))
    cl = page.context["cl"]
    if connection.vendor == "postgresql":
        assert not cl.count_is_exact
        assert cl.result_count >= 6
        assert f"about {cl.result_count} item variants" in " ".join(page.content.decode().split())
    else:
        assert (cl.result_count, cl.count_is_exact) == (12, True)  # SQLite counts
    assert len(cl.result_list) == 12  # the page itself is the rows, whatever the count says
