"""Who may do what, on every door: the table of issue 11, item 5 (``imports.access``).

Every API endpoint and every admin door of the imports, asked by the six
people of the issue and by the holder of the manage-all permission, with the
answer each must get. The admin and the API must agree on every decision:
a staff user with only the view permission could cancel someone else's
import through the API (200) while the admin refused them (403).
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from catalog.models import ItemVariant
from imports import access, runtime, services
from imports.models import ImportJob, ImportStatus
from tests.imports.files import stream, variants_csv

pytestmark = pytest.mark.usefixtures("import_env")

#: Each person: staff?, superuser?, permissions (codenames of the imports app).
PEOPLE = {
    "anonymous": None,
    "no-perm staff": (True, False, ()),
    "view-only": (True, False, ("view_importjob",)),
    "owner": (True, False, ("add_importjob",)),
    "other user": (True, False, ("add_importjob", "view_importjob")),
    "manager": (True, False, ("add_importjob", "manage_all_imports")),
    "superuser": (True, True, ()),
}
NAMES = list(PEOPLE)

OK, DENIED, HIDDEN, ANON = "ok", "denied", "hidden", "anonymous"

#: API endpoint -> the answer of each person, in the order of ``PEOPLE``.
#: ok: 2xx (or the health check's 503); denied: 403 permission_denied; hidden: 404; anonymous: 403 not_authenticated.
API_TABLE = {
    "GET /api/imports/": (ANON, OK, OK, OK, OK, OK, OK),
    "POST /api/imports/": (ANON, DENIED, DENIED, OK, OK, OK, OK),
    "GET /api/imports/template/": (ANON, OK, OK, OK, OK, OK, OK),
    "GET /api/imports/{id}/": (ANON, HIDDEN, OK, OK, OK, OK, OK),
    "GET /api/imports/{id}/errors/": (ANON, HIDDEN, OK, OK, OK, OK, OK),
    "POST /api/imports/{id}/cancel/": (ANON, DENIED, DENIED, OK, DENIED, OK, OK),
    "POST /api/imports/{id}/retry/": (ANON, DENIED, DENIED, OK, DENIED, OK, OK),
    "POST /api/imports/{id}/undo/": (ANON, DENIED, DENIED, OK, DENIED, OK, OK),
    "GET /api/metrics/imports/": (ANON, DENIED, OK, DENIED, OK, OK, OK),
    "GET /api/health/imports/": (ANON, DENIED, OK, DENIED, OK, OK, OK),
    # The catalog is read-only for every signed-in user (README), whatever their permissions.
    "GET /api/items/": (ANON, OK, OK, OK, OK, OK, OK),
    "GET /api/variants/": (ANON, OK, OK, OK, OK, OK, OK),
}
#: How many jobs the list shows each person (the owner's one job, and someone else's).
LISTED = {"no-perm staff": 0, "view-only": 2, "owner": 1, "other user": 2, "manager": 2, "superuser": 2}

#: Admin door -> the answer of each person. anonymous: sent to the login page.
ADMIN_TABLE = {
    "job list": (ANON, DENIED, OK, OK, OK, OK, OK),
    "job page": (ANON, DENIED, OK, OK, OK, OK, OK),
    "cancel": (ANON, DENIED, DENIED, OK, DENIED, OK, OK),
    "retry": (ANON, DENIED, DENIED, OK, DENIED, OK, OK),
    "undo": (ANON, DENIED, DENIED, OK, DENIED, OK, OK),
    "metrics page": (ANON, DENIED, OK, DENIED, OK, OK, OK),
}


@pytest.fixture
def people(django_user_model):
    users = {}
    for name, spec in PEOPLE.items():
        if spec is None:
            users[name] = None
            continue
        staff, superuser, codenames = spec
        user = django_user_model.objects.create_user(
            username=name.replace(" ", "-"), password=None, is_staff=staff, is_superuser=superuser
        )
        for codename in codenames:
            user.user_permissions.add(Permission.objects.get(codename=codename, content_type__app_label="imports"))
        users[name] = user
    return users


def job_of(user, *, status: str) -> ImportJob:
    """A job of ``user`` in ``status``: pending (to cancel), failed (to retry) or completed (to read, to undo).

    The catalog is emptied first, so a completed job has added rows (something to undo)."""
    ItemVariant.all_objects.all().delete()
    job = services.create_import_job(
        stream=stream(variants_csv(3)), file_name="v.csv", kind="variants", user=user, system="upsert"
    )
    if status != ImportStatus.PENDING:
        runtime.run_import_now(job=job)
        ImportJob.objects.filter(pk=job.pk).update(status=status)
    return job


def api_client(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def api_answer(response) -> str:
    if response.status_code in (401, 403):
        code = response.json()["code"]
        assert code in ("not_authenticated", "permission_denied"), response.json()
        return ANON if code == "not_authenticated" else DENIED
    if response.status_code == 404:
        return HIDDEN
    assert response.status_code < 400 or response.status_code == 503, (response.status_code, response.content[:300])
    return OK


def call_api(endpoint: str, user, owner) -> str:
    method, path = endpoint.split(" ", 1)
    status = {"cancel": ImportStatus.PENDING, "retry": ImportStatus.FAILED}.get(path.rstrip("/").rsplit("/", 1)[-1])
    job = job_of(owner, status=status or ImportStatus.COMPLETED)
    client = api_client(user)
    url = path.replace("{id}", str(job.pk))
    if method == "GET":
        return api_answer(client.get(url))
    if path == "/api/imports/":
        upload = SimpleUploadedFile("v.csv", variants_csv(2), content_type="text/csv")
        return api_answer(client.post(url, {"file": upload}, format="multipart"))
    answer = api_answer(client.post(url))
    job.refresh_from_db()
    changed = job.undos.exists() if path.endswith("/undo/") else job.status != status
    assert changed == (answer == OK), f"{endpoint} by {user}: answered {answer} but the job is {job.status}"
    return answer


@pytest.mark.parametrize("endpoint", list(API_TABLE))
def test_every_api_endpoint_answers_each_person_as_the_table_says(endpoint, people):
    answers = {name: call_api(endpoint, people[name], people["owner"]) for name in NAMES}
    assert answers == dict(zip(NAMES, API_TABLE[endpoint], strict=True))


def test_the_list_shows_each_person_the_jobs_they_may_see(people, django_user_model):
    job_of(people["owner"], status=ImportStatus.COMPLETED)
    job_of(django_user_model.objects.create_user(username="someone"), status=ImportStatus.COMPLETED)
    for name, count in LISTED.items():
        assert api_client(people[name]).get("/api/imports/").json()["count"] == count, name


def test_an_owner_who_is_not_staff_manages_their_own_imports_through_the_api(django_user_model):
    user = django_user_model.objects.create_user(username="api-only", password=None)
    user.user_permissions.add(Permission.objects.get(codename="add_importjob", content_type__app_label="imports"))
    job = job_of(user, status=ImportStatus.PENDING)
    assert api_client(user).post(f"/api/imports/{job.pk}/cancel/").status_code == 200


def test_someone_elses_import_is_refused_naming_the_manage_all_permission(people):
    job = job_of(people["owner"], status=ImportStatus.PENDING)
    body = api_client(people["other user"]).post(f"/api/imports/{job.pk}/cancel/").json()
    assert body == {
        "detail": f"You may not cancel import #{job.pk}: it was started by someone else; that needs the "
        "permission 'imports.manage_all_imports'.",
        "code": "permission_denied",
    }


# --- the admin agrees ----------------------------------------------------------------------------


def admin_answer(response) -> str:
    if response.status_code == 302 and "/login/" in response["Location"]:
        return ANON
    if response.status_code == 403:
        return DENIED
    assert response.status_code in (200, 302), response.status_code
    return OK


def call_admin(door: str, user, owner, client) -> str:
    status = {"cancel": ImportStatus.PENDING, "retry": ImportStatus.FAILED}.get(door, ImportStatus.COMPLETED)
    job = job_of(owner, status=status)
    client.logout()
    if user is not None:
        client.force_login(user)
    if door == "job list":
        return admin_answer(client.get(reverse("admin:imports_importjob_changelist")))
    if door == "metrics page":
        return admin_answer(client.get(reverse("admin:imports_importjob_metrics")))
    if door == "job page":
        return admin_answer(client.get(reverse("admin:imports_importjob_change", args=[job.pk])))
    answer = admin_answer(client.post(reverse(f"admin:imports_importjob_{door}", args=[job.pk])))
    job.refresh_from_db()
    changed = job.undos.exists() if door == "undo" else job.status != status
    assert changed == (answer == OK), f"{door} by {user}: answered {answer} but the job is {job.status}"
    return answer


@pytest.mark.parametrize("door", list(ADMIN_TABLE))
def test_every_admin_door_answers_each_person_as_the_table_says(door, people, client):
    answers = {name: call_admin(door, people[name], people["owner"], client) for name in NAMES}
    assert answers == dict(zip(NAMES, ADMIN_TABLE[door], strict=True))


@pytest.mark.parametrize("action", ["cancel", "retry", "undo"])
def test_admin_and_api_agree_on_cancel_and_retry_for_everyone(action):
    """The two tables' cancel and retry rows are the same decisions (anonymous aside: a login page vs 403)."""
    assert ADMIN_TABLE[action] == API_TABLE[f"POST /api/imports/{{id}}/{action}/"]


def test_the_admin_list_actions_refuse_someone_elses_jobs_by_name(people, client):
    mine = job_of(people["other user"], status=ImportStatus.PENDING)
    theirs = job_of(people["owner"], status=ImportStatus.PENDING)
    client.force_login(people["other user"])
    response = client.post(
        reverse("admin:imports_importjob_changelist"),
        {"action": "cancel_selected", "_selected_action": [mine.pk, theirs.pk]},
        follow=True,
    )
    messages = [str(message) for message in response.context["messages"]]
    assert f"Import(s) #{mine.pk} cancelled" in messages[0]
    assert any(f"You may not cancel import #{theirs.pk}" in message for message in messages)
    theirs.refresh_from_db()
    assert theirs.status == ImportStatus.PENDING


def test_the_job_page_offers_cancel_only_to_who_may(people, client):
    job = job_of(people["owner"], status=ImportStatus.PENDING)
    page = reverse("admin:imports_importjob_change", args=[job.pk])
    cancel = reverse("admin:imports_importjob_cancel", args=[job.pk])
    for name, offered in (("view-only", False), ("other user", False), ("owner", True), ("manager", True)):
        client.force_login(people[name])
        assert (cancel in client.get(page).content.decode()) is offered, name


def test_the_rule_is_one_function_every_door_asks(people):
    job = job_of(people["owner"], status=ImportStatus.PENDING)
    allowed = {name: access.may_manage_import(user=people[name], job=job) for name in NAMES if people[name]}
    assert allowed == {
        "no-perm staff": False,
        "view-only": False,
        "owner": True,
        "other user": False,
        "manager": True,
        "superuser": True,
    }
