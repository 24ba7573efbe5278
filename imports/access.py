"""Who may see, start, cancel and retry imports: the one rule every door asks.

The API, the admin (pages and list actions) and any later door (an undo)
call these functions rather than deciding for themselves, so a person gets
the same answer whichever way they come in (issue 11: a staff user with only
the view permission could cancel someone else's import through the API while
the admin refused them).

* **See** a job: your own always; everyone's with ``imports.view_importjob``
  ("Can view import job", also what opens the admin's list) or
  ``imports.manage_all_imports``. Being staff alone shows nothing more.
* **Start** an import (and confirm a checked file): ``imports.add_importjob``.
* **Manage** a job (cancel, retry; undo later): ``imports.add_importjob``, and
  the job is yours, unless you hold ``imports.manage_all_imports`` ("Can
  cancel and retry imports started by anyone"), which a lead or an operator
  is given. Superusers hold every permission.

A job someone may not see is "not found" (404) on every door; one they may
see but not manage is refused (403, code ``permission_denied``).
"""

from __future__ import annotations

from django.db.models import QuerySet

from imports.models import ImportJob
from mtc.errors import NotAllowed

START = "imports.add_importjob"
VIEW_ALL = "imports.view_importjob"
MANAGE_ALL = "imports.manage_all_imports"


def _signed_in(user) -> bool:
    return bool(getattr(user, "is_authenticated", False) and getattr(user, "is_active", False))


def may_see_all_imports(*, user) -> bool:
    """Every job, and the monitoring built on them (metrics, health): the view or manage-all permission."""
    return _signed_in(user) and (user.has_perm(VIEW_ALL) or user.has_perm(MANAGE_ALL))


def may_see_imports(*, user) -> bool:
    """Some jobs at least (the admin's list opens): their own as one who may start imports, or all."""
    return may_start_imports(user=user) or may_see_all_imports(user=user)


def visible_jobs(*, user) -> QuerySet[ImportJob]:
    """The jobs ``user`` may see: their own, or every job with the view or manage-all permission."""
    jobs = ImportJob.objects.select_related("result", "user")
    if not _signed_in(user):
        return jobs.none()
    if may_see_all_imports(user=user):
        return jobs
    return jobs.filter(user=user)


def may_start_imports(*, user) -> bool:
    return _signed_in(user) and user.has_perm(START)


def may_manage_import(*, user, job: ImportJob) -> bool:
    """Cancel, retry (and undo) ``job``: the start permission, and the job is theirs or they manage all."""
    if not may_start_imports(user=user):
        return False
    return (job.user_id is not None and job.user_id == user.pk) or user.has_perm(MANAGE_ALL)


def check_may_manage_import(*, user, job: ImportJob, action: str) -> None:
    """Raise :class:`~mtc.errors.NotAllowed` (HTTP 403) unless ``user`` may ``action`` ("cancel") ``job``."""
    if may_manage_import(user=user, job=job):
        return
    if not may_start_imports(user=user):
        reason = f"needs the 'Can add import job' permission ({START})"
    else:
        reason = f"it was started by someone else; that needs the permission '{MANAGE_ALL}'"
    raise NotAllowed(f"You may not {action} import #{job.pk}: {reason}.")
