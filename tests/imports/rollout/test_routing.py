"""USE_NEW_IMPORT_SYSTEM routing (the guide's 3.1 and 3.4): who gets which importer, and why.

Percentage routing must be sticky (a stable hash of the user id) so one
person never flips between systems; the decision and its reason are stored
on the job by every door.
"""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import Group, User
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection

from imports.engine.strategies import route
from imports.models import ImportJob, ImportSystem
from imports.rollout.routing import (
    choose_system,
    flag_decision,
    legacy_unavailable_reason,
    parse_rollout_flag,
    rollout_bucket,
)
from imports.services import create_import_job
from tests.conftest import token_client
from tests.imports.engine.job_runs import VARIANT_HEADER, csv_bytes

pytestmark = pytest.mark.django_db

#: What a flag that picks the legacy importer gives on this database (it needs PostgreSQL).
LEGACY_HERE = ImportSystem.LEGACY if connection.vendor == "postgresql" else ImportSystem.UPSERT


@pytest.fixture
def thousand_users():
    User.objects.bulk_create([User(username=f"user{n:04d}") for n in range(1000)])
    return list(User.objects.filter(username__startswith="user").order_by("pk"))


def test_percentage_10_routes_about_a_tenth_of_1000_users_to_the_new_importer(settings, thousand_users):
    settings.USE_NEW_IMPORT_SYSTEM = "percentage:10"
    chosen = [flag_decision(user).system for user in thousand_users]
    share = 100 * chosen.count(ImportSystem.UPSERT) / len(thousand_users)
    assert 7 <= share <= 13, f"{share}% of users got the new importer at percentage:10"


def test_percentage_routing_is_sticky_per_user(settings, thousand_users):
    settings.USE_NEW_IMPORT_SYSTEM = "percentage:10"
    first = {user.pk: flag_decision(user).system for user in thousand_users}
    again = {user.pk: flag_decision(User.objects.get(pk=user.pk)).system for user in thousand_users[:200]}
    assert all(first[pk] == system for pk, system in again.items())
    # Stable across processes and releases: a SHA-256 of the id, not Python's per-process hash().
    # Pinned: changing the hash would move users between systems mid-rollout.
    assert [rollout_bucket(pk) for pk in (1, 2, 3)] == [85, 24, 7]


def test_raising_the_percentage_only_moves_users_to_the_new_importer(settings, thousand_users):
    settings.USE_NEW_IMPORT_SYSTEM = "percentage:10"
    at_10 = {user.pk for user in thousand_users if flag_decision(user).system == ImportSystem.UPSERT}
    settings.USE_NEW_IMPORT_SYSTEM = "percentage:50"
    at_50 = {user.pk for user in thousand_users if flag_decision(user).system == ImportSystem.UPSERT}
    assert at_10 < at_50
    assert 40 <= len(at_50) / 10 <= 60


@pytest.mark.parametrize(("flag", "expected"), [("true", ImportSystem.UPSERT), ("false", LEGACY_HERE)])
def test_true_and_false_route_everyone(settings, flag, expected):
    settings.USE_NEW_IMPORT_SYSTEM = flag
    user = User.objects.create(username="anyone")
    assert choose_system(user=user).system == expected
    assert choose_system(user=None).system == expected
    assert choose_system(user=user).reason.startswith(f"USE_NEW_IMPORT_SYSTEM={flag}")


def test_test_users_only_routes_listed_ids_and_group_members_to_the_new_importer(settings):
    settings.USE_NEW_IMPORT_SYSTEM = "test_users_only"
    listed, member, other = (User.objects.create(username=name) for name in ("listed", "member", "other"))
    settings.IMPORT_TEST_USER_IDS = [listed.pk]
    Group.objects.create(name=settings.IMPORT_TEST_USERS_GROUP).user_set.add(member)

    assert flag_decision(listed) == flag_decision(member)
    assert flag_decision(listed) == ("upsert", "USE_NEW_IMPORT_SYSTEM=test_users_only: a test user")
    assert flag_decision(other) == ("legacy", "USE_NEW_IMPORT_SYSTEM=test_users_only: not a test user")
    assert flag_decision(None).system == ImportSystem.LEGACY
    assert choose_system(user=member).system == ImportSystem.UPSERT
    assert choose_system(user=other).system == LEGACY_HERE


def test_an_explicit_choice_wins_over_the_flag(settings):
    settings.USE_NEW_IMPORT_SYSTEM = "true"
    assert route(explicit="legacy").system == ImportSystem.LEGACY
    assert route(explicit="legacy").reason == "chosen explicitly"
    with pytest.raises(ValueError, match=r"Unknown import system 'fast': expected upsert or legacy\."):
        route(explicit="fast")


def test_the_rollout_app_routes_every_new_job_through_the_flag(settings):
    settings.USE_NEW_IMPORT_SYSTEM = "true"
    assert route(user=None) == ("upsert", "USE_NEW_IMPORT_SYSTEM=true")
    settings.USE_NEW_IMPORT_SYSTEM = "false"
    assert route(user=None) == choose_system(user=None)


# --- The flag's values (checked when the app starts) ---------------------------------------------


@pytest.mark.parametrize(
    ("raw", "mode", "percentage", "text"),
    [
        ("false", "false", 0, "false"),
        ("TRUE", "true", 0, "true"),
        (" test_users_only ", "test_users_only", 0, "test_users_only"),
        ("percentage:0", "percentage", 0, "percentage:0"),
        ("percentage:25", "percentage", 25, "percentage:25"),
        ("percentage:100", "percentage", 100, "percentage:100"),
        ("", "true", 0, "true"),
    ],
)
def test_rollout_flag_accepts_the_guides_values(raw, mode, percentage, text):
    flag = parse_rollout_flag(raw)

    assert (flag.mode, flag.percentage, str(flag)) == (mode, percentage, text)


@pytest.mark.parametrize("raw", ["percentage:150", "maybe", "percentage:", "percentage:-1", "50%", "percent:50"])
def test_rollout_flag_refuses_anything_else(raw):
    with pytest.raises(ImproperlyConfigured) as refused:
        parse_rollout_flag(raw)

    assert str(refused.value) == (
        f"USE_NEW_IMPORT_SYSTEM={raw!r} is not valid: expected false, true, test_users_only "
        f"or percentage:N with N from 0 to 100."
    )


@pytest.mark.parametrize("flag", ["false", "percentage:0", "test_users_only"])
def test_the_legacy_importer_is_only_picked_where_it_can_run(settings, flag):
    settings.USE_NEW_IMPORT_SYSTEM = flag
    decision = flag_decision(None)
    routing = choose_system(user=None)
    assert decision.system == ImportSystem.LEGACY
    if connection.vendor == "postgresql":
        assert routing == decision
    else:
        assert routing.system == ImportSystem.UPSERT
        assert routing.reason == f"{decision.reason}; the legacy importer needs PostgreSQL (sqlite here)"


# --- Every door stores the decision on the job ------------------------------------------------


def test_the_job_records_the_system_and_why(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    settings.USE_NEW_IMPORT_SYSTEM = "percentage:50"
    user = User.objects.create(username="someone")
    job = create_import_job(stream=io.BytesIO(b"item,color,size\nA,Red,M\n"), file_name="f.csv", user=user)
    expected = choose_system(user=user)
    assert (job.system, job.routing) == (expected.system, expected.reason)
    assert f"user bucket {rollout_bucket(user.pk)}" in job.routing


def test_the_command_routes_by_user_and_its_system_option_wins(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.USE_NEW_IMPORT_SYSTEM = "test_users_only"
    tester = User.objects.create(username="tester")
    settings.IMPORT_TEST_USER_IDS = [tester.pk]
    path = tmp_path / "f.csv"
    path.write_bytes(csv_bytes(VARIANT_HEADER, [("Shirt", "", "Red", "M", "", "", "")]))

    call_command("import_catalog", str(path), "--user", "tester", "--json", stdout=io.StringIO())
    call_command("import_catalog", str(path), "--system", "upsert", "--dry-run", stdout=io.StringIO())
    routed, explicit = ImportJob.objects.order_by("import_id")
    assert (routed.system, routed.routing) == ("upsert", "USE_NEW_IMPORT_SYSTEM=test_users_only: a test user")
    assert (explicit.system, explicit.routing) == ("upsert", "chosen explicitly")


def test_the_api_routes_by_the_flag_and_shows_the_decision(import_env, settings, importer):
    settings.USE_NEW_IMPORT_SYSTEM = "test_users_only"
    settings.IMPORT_TEST_USER_IDS = []
    upload = io.BytesIO(csv_bytes(VARIANT_HEADER, [("Shirt", "", "Red", "M", "", "", "")]))
    upload.name = "f.csv"
    response = token_client(importer).post("/api/imports/", {"file": upload}, format="multipart")

    assert response.status_code == 201, response.content
    body = response.json()
    job = ImportJob.objects.get(pk=body["import_id"])
    assert (body["system"], body["routing"]) == (job.system, job.routing)
    assert job.system == LEGACY_HERE
    assert job.routing.startswith("USE_NEW_IMPORT_SYSTEM=test_users_only: not a test user")


def test_where_the_legacy_importer_cannot_run_the_reason_is_one_sentence_for_the_metrics_page():
    reason = legacy_unavailable_reason()

    if connection.vendor == "postgresql":
        assert reason is None
    else:
        assert reason == f"the legacy importer needs PostgreSQL ({connection.vendor} here)"
