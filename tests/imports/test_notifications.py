"""Telling the user a background job ended: the notice, the admin message, the email, the signed webhook.

The webhook tests run a real HTTP server on 127.0.0.1 in a thread (no mocks):
it records what it receives and answers with the status the test sets.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.urls import reverse
from django_q.models import OrmQ, Schedule

from imports import notifications, runtime, services, tasks
from imports.models import ImportJob, ImportResult, ImportStatus, JobNotice
from tests.imports.files import stream, variants_csv

pytestmark = pytest.mark.usefixtures("import_env")

SECRET = "webhook-test-secret"


@pytest.fixture
def walker(db, django_user_model):
    return django_user_model.objects.create_superuser(username="walker", email="walker@example.com", password="pw")


def background_job(user, rows: int = 12, *, bad_every: int = 5) -> ImportJob:
    """A job queued for the worker and run by its task, as ``qcluster`` would."""
    job = services.start_import(
        stream=stream(variants_csv(rows, bad_every=bad_every)),
        file_name="spring.csv",
        kind="variants",
        user=user,
        background=True,
    )
    assert job.status == ImportStatus.PENDING
    tasks.run_import(job.pk)
    return ImportJob.objects.get(pk=job.pk)


def test_a_background_import_that_ends_leaves_one_notice_for_its_user(walker, mailoutbox):
    job = background_job(walker)
    notice = JobNotice.objects.get()
    assert (notice.job_id, notice.user, notice.status) == (job.pk, walker, ImportStatus.COMPLETED_WITH_ERRORS)
    assert notice.message.startswith(f"The import of spring.csv (#{job.pk}) has finished, with rows that have problems")
    assert "10 rows added, 0 updated, 2 with problems" in notice.message
    tasks.run_import(job.pk)  # the broker delivers the task again: nobody is told twice
    assert JobNotice.objects.count() == 1
    assert mailoutbox == []  # it took less than IMPORT_NOTIFY_AFTER_SECONDS


def test_an_import_run_in_the_request_is_not_notified(walker):
    services.start_import(stream=stream(variants_csv(5)), file_name="v.csv", kind="variants", user=walker)
    assert JobNotice.objects.count() == 0


def test_a_retried_job_that_ends_again_is_told_again(walker):
    job = background_job(walker)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.FAILED)
    job.refresh_from_db()
    services.retry_import(job=job, background=True)
    tasks.run_import(job.pk)
    assert JobNotice.objects.filter(job=job).count() == 2


def test_the_next_admin_page_shows_the_notice_once_with_a_link_to_the_job(walker, client):
    job = background_job(walker)
    client.force_login(walker)
    page = client.get(reverse("admin:index")).content.decode()
    link = reverse("admin:imports_importjob_change", args=[job.pk])
    assert f'<a href="{link}">See import #{job.pk}</a>' in page
    assert "has finished, with rows that have problems" in page
    assert JobNotice.objects.get().seen_at is not None
    assert f"See import #{job.pk}" not in client.get(reverse("admin:index")).content.decode()


def test_someone_else_is_not_shown_the_notice(walker, client, django_user_model):
    background_job(walker)
    other = django_user_model.objects.create_superuser(username="other", email="o@example.com", password="pw")
    client.force_login(other)
    assert "See import" not in client.get(reverse("admin:index")).content.decode()
    assert JobNotice.objects.get().seen_at is None


def _ended_job(user, *, seconds: float, status: str = ImportStatus.COMPLETED) -> ImportJob:
    """A job that ran inline, then made to have lasted ``seconds`` (the threshold is about duration)."""
    job = services.start_import(stream=stream(variants_csv(3)), file_name="long.csv", kind="variants", user=user)
    ImportResult.objects.filter(job=job).update(duration_seconds=seconds)
    ImportJob.objects.filter(pk=job.pk).update(status=status)
    return job


def test_a_job_longer_than_the_threshold_emails_its_user_with_a_link(walker, mailoutbox, settings):
    settings.IMPORT_NOTIFY_AFTER_SECONDS = 60
    settings.SITE_URL = "https://imports.example.com"
    job = _ended_job(walker, seconds=61)
    notice = notifications.job_ended(job=job)
    (mail,) = mailoutbox
    assert mail.to == ["walker@example.com"]
    assert mail.subject == f"Import #{job.pk} (long.csv): completed"
    assert notice.message in mail.body
    assert f"https://imports.example.com/admin/imports/importjob/{job.pk}/change/" in mail.body
    assert "in 1 min 01 s" in notice.message
    assert JobNotice.objects.get().emailed_at is not None


def test_a_job_within_the_threshold_sends_no_email(walker, mailoutbox, settings):
    settings.IMPORT_NOTIFY_AFTER_SECONDS = 60
    notifications.job_ended(job=_ended_job(walker, seconds=60))
    assert mailoutbox == []


def test_a_mail_server_that_fails_is_logged_and_the_notice_stays(walker, settings, caplog):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2  # nothing listens there
    settings.IMPORT_NOTIFY_AFTER_SECONDS = 0
    with caplog.at_level(logging.WARNING, logger="imports.notifications"):
        notice = notifications.job_ended(job=_ended_job(walker, seconds=5))
    assert "Could not email" in caplog.text
    assert notice.emailed_at is None
    assert JobNotice.objects.count() == 1


# --- the webhook -----------------------------------------------------------------------------


class Receiver:
    """A webhook receiver on 127.0.0.1: records each request, answers ``status``."""

    def __init__(self):
        self.requests: list[tuple[dict, bytes]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/imports"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    server = Receiver()
    settings.IMPORT_WEBHOOK_URL = server.url
    settings.IMPORT_WEBHOOK_SECRET = SECRET
    yield server
    server.close()


def _queued_webhooks() -> list[tuple]:
    return [task.task["args"] for task in OrmQ.objects.all() if task.func() == notifications.WEBHOOK_TASK]


def test_the_job_summary_is_posted_signed_by_a_task_not_by_the_import(walker, receiver):
    job = background_job(walker)
    notice = JobNotice.objects.get()
    assert receiver.requests == []  # the import only queued it
    assert _queued_webhooks() == [(notice.pk, 1)]
    assert tasks.deliver_webhook(notice.pk, 1) == "delivered"
    ((headers, body),) = receiver.requests
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["x-mtc-signature-256"] == expected
    assert (headers["x-mtc-event"], headers["x-mtc-delivery"]) == ("import.finished", str(notice.pk))
    payload = json.loads(body)
    assert (payload["event"], payload["delivery"]) == ("import.finished", notice.pk)
    assert payload["url"].endswith(f"/admin/imports/importjob/{job.pk}/change/")
    assert (payload["job"]["import_id"], payload["job"]["status"], payload["job"]["failed"]) == (
        job.pk,
        "completed_with_errors",
        2,
    )
    assert JobNotice.objects.get().webhook_delivered_at is not None
    assert tasks.deliver_webhook(notice.pk, 1) == "nothing"  # delivered once
    assert len(receiver.requests) == 1


def test_a_failed_delivery_is_logged_and_tried_again_later_with_the_same_body(walker, receiver, caplog):
    background_job(walker)
    notice = JobNotice.objects.get()
    receiver.status = 500
    with caplog.at_level(logging.WARNING, logger="imports.notifications"):
        assert tasks.deliver_webhook(notice.pk, 1) == "retrying"
    assert "failed (HTTP 500), attempt 1; next try in 10 s" in caplog.text
    retry = Schedule.objects.get(func=notifications.WEBHOOK_TASK)
    assert (retry.args, retry.schedule_type) == (repr((notice.pk, 2)), Schedule.ONCE)
    assert retry.next_run > notice.created_at
    assert JobNotice.objects.get().webhook_error == "HTTP 500"
    receiver.status = 204
    assert tasks.deliver_webhook(notice.pk, 2) == "delivered"
    assert receiver.requests[0][1] == receiver.requests[1][1]  # the same body, the same signature
    assert receiver.requests[0][0]["x-mtc-signature-256"] == receiver.requests[1][0]["x-mtc-signature-256"]


def test_a_receiver_that_never_answers_well_is_given_up_after_the_last_attempt(walker, receiver, caplog):
    background_job(walker)
    notice = JobNotice.objects.get()
    receiver.close()  # nobody listens any more
    last = len(notifications.WEBHOOK_BACKOFF_SECONDS) + 1
    with caplog.at_level(logging.WARNING, logger="imports.notifications"):
        assert tasks.deliver_webhook(notice.pk, 1) == "retrying"
        assert tasks.deliver_webhook(notice.pk, last) == "gave_up"
    assert "given up" in caplog.text
    assert [s.args for s in Schedule.objects.filter(func=notifications.WEBHOOK_TASK)] == [repr((notice.pk, 2))]
    assert JobNotice.objects.get().webhook_attempts == last


def test_the_hook_is_generic_over_a_job_that_ended(walker):
    """Any background job that ended (an import, a check, later an undo) is told the same way."""
    check = services.start_import(
        stream=stream(variants_csv(3)), file_name="c.csv", kind="variants", user=walker, dry_run=True
    )
    notice = notifications.job_ended(job=check)
    assert notice.message.startswith(f"The check of c.csv (#{check.pk}) has finished: 3 rows to add")
    running = runtime.claim_job(job_id=services.create_import_job(stream=stream(variants_csv(3)), file_name="r.csv").pk)
    assert notifications.job_ended(job=running) is None


def test_a_background_undo_that_ends_tells_its_user_in_undo_words(walker):
    from imports.undos import undo_import

    job = background_job(walker)
    undo = undo_import(job=job, user=walker, background=True)
    tasks.run_import(undo.pk)

    notice = JobNotice.objects.get(job=undo)
    assert notice.user == walker
    assert notice.message.startswith(f"The undo of import #{job.pk} (#{undo.pk}) has finished:")
    assert "rows removed, 0 put back, 0 changed since and kept" in notice.message
