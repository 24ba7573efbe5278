"""Which importer a job runs on: the ``USE_NEW_IMPORT_SYSTEM`` rollout flag.

The guide's phases 3 and 4, for every door (admin, API, commands):

* ``false``: the legacy importer (LOCK TABLE) for everyone;
* ``true`` (also when unset): the new upsert importer for everyone;
* ``test_users_only``: the new importer for the user ids in
  ``IMPORT_TEST_USER_IDS`` and the members of the group
  ``IMPORT_TEST_USERS_GROUP``;
* ``percentage:N``: the new importer for N % of users. The choice is sticky:
  a user's bucket (0-99) is a stable hash of their id, so one person never
  flips between systems from one import to the next, and raising N only
  moves more users over.

An explicit choice (``import_catalog --system``) wins. The decision and its
reason are stored on the job (``ImportJob.system`` and ``routing``), which
every door creates through ``services.create_import_job``: the rollout app
installs :func:`choose_system` as the engine's router at start-up
(``strategies.set_router``) and checks the flag then, so a typo stops the
process with a message naming the key.

The legacy importer needs PostgreSQL (LOCK TABLE): on another database a
flag that would pick it picks the new importer instead, saying so in the
reason, so the embedded SQLite default works out of the box. An explicit
``legacy`` is kept as asked (and the job fails with a clear message).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from imports.engine.strategies import Routing
from imports.models import ImportSystem

FLAG = "USE_NEW_IMPORT_SYSTEM"
FLAG_ACCEPTED = "false, true, test_users_only or percentage:N with N from 0 to 100"
#: Unset or empty: the new importer. A fresh install must never get the table
#: locks this project removes; the rollout's phases are explicit settings
#: (false -> test_users_only -> percentage:N -> true), and phase 5 removes the
#: line without sending anyone back to the legacy importer.
DEFAULT_FLAG = "true"


@dataclass(frozen=True)
class RolloutFlag:
    """The parsed ``USE_NEW_IMPORT_SYSTEM`` value (the guide's phases 3 and 4).

    ``mode`` is one of ``false``, ``true``, ``test_users_only`` or
    ``percentage``; ``percentage`` is only meaningful for the last.
    """

    mode: str
    percentage: int = 0

    def __str__(self) -> str:
        return f"percentage:{self.percentage}" if self.mode == "percentage" else self.mode


def parse_rollout_flag(raw: str) -> RolloutFlag:
    """``raw`` as a flag, or ImproperlyConfigured naming the key, the value and what is accepted."""
    text = (raw or DEFAULT_FLAG).strip().lower()
    if text in ("false", "true", "test_users_only"):
        return RolloutFlag(mode=text)
    match = re.fullmatch(r"percentage:(\d{1,3})", text)
    if match and int(match.group(1)) <= 100:
        return RolloutFlag(mode="percentage", percentage=int(match.group(1)))
    raise ImproperlyConfigured(f"{FLAG}={raw!r} is not valid: expected {FLAG_ACCEPTED}.")


def rollout_bucket(user_id: int | None) -> int:
    """A user's stable bucket, 0-99 (no user: the bucket of the anonymous key)."""
    digest = hashlib.sha256(f"mtc-import-rollout:{user_id or 'anonymous'}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100


def is_test_user(user) -> bool:
    if user is None or not getattr(user, "pk", None):
        return False
    if user.pk in settings.IMPORT_TEST_USER_IDS:
        return True
    return user.groups.filter(name=settings.IMPORT_TEST_USERS_GROUP).exists()


def choose_system(*, user=None) -> Routing:
    """The router the rollout app installs: the flag's decision, on a database that can run it."""
    decision = flag_decision(user)
    unavailable = legacy_unavailable_reason()
    if decision.system == ImportSystem.LEGACY and unavailable:
        return Routing(ImportSystem.UPSERT, f"{decision.reason}; {unavailable}")
    return decision


def legacy_unavailable_reason() -> str | None:
    """Why the legacy importer cannot run on this database, or None where it can (PostgreSQL).

    Said once, on the metrics page, rather than on every job: on SQLite every
    import runs on the new importer whatever the flag.
    """
    if connection.vendor == "postgresql":
        return None
    return f"the legacy importer needs PostgreSQL ({connection.vendor} here)"


def rollout_flag() -> RolloutFlag:
    """The parsed ``USE_NEW_IMPORT_SYSTEM`` setting."""
    return parse_rollout_flag(settings.USE_NEW_IMPORT_SYSTEM)


def flag_decision(user) -> Routing:
    """What the flag alone decides for ``user`` (before the database is taken into account)."""
    flag = rollout_flag()
    setting = f"USE_NEW_IMPORT_SYSTEM={flag}"
    if flag.mode == "true":
        return Routing(ImportSystem.UPSERT, setting)
    if flag.mode == "false":
        return Routing(ImportSystem.LEGACY, setting)
    if flag.mode == "test_users_only":
        if is_test_user(user):
            return Routing(ImportSystem.UPSERT, f"{setting}: a test user")
        return Routing(ImportSystem.LEGACY, f"{setting}: not a test user")
    bucket = rollout_bucket(user.pk if user is not None else None)
    if bucket < flag.percentage:
        return Routing(ImportSystem.UPSERT, f"{setting}: user bucket {bucket} < {flag.percentage}")
    return Routing(ImportSystem.LEGACY, f"{setting}: user bucket {bucket} >= {flag.percentage}")
