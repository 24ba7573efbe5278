"""Show a user the background jobs that ended since their last admin page (``imports.notifications``).

The worker cannot reach a browser: it records a notice, and the user's next
admin page (a GET under the admin's URL) turns each notice into a message
with a link to the job, once. One indexed query per admin page when there is
nothing to show.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html

from imports.models import ImportStatus
from imports.notifications import job_path, unseen_notices

LEVELS = {
    ImportStatus.COMPLETED: messages.SUCCESS,
    ImportStatus.COMPLETED_WITH_ERRORS: messages.WARNING,
    ImportStatus.CANCELLED: messages.WARNING,
    ImportStatus.FAILED: messages.ERROR,
}


class JobNoticeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        self.admin_prefix: str | None = None

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "GET" and request.path.startswith(self._admin_prefix()):
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated:
                for notice in unseen_notices(user=user):
                    link = format_html('<a href="{}">See import #{}</a>', job_path(notice.job_id), notice.job_id)
                    level = LEVELS.get(ImportStatus(notice.status), messages.INFO)
                    messages.add_message(request, level, format_html("{} {}", notice.message, link))
        return self.get_response(request)

    def _admin_prefix(self) -> str:
        if self.admin_prefix is None:
            self.admin_prefix = reverse("admin:index")
        return self.admin_prefix
