"""Telling the user a background job ended: a message in the admin, an email, and an optional webhook.

A background import can take minutes; its user has moved on. When the
worker brings a job to an end, :func:`job_ended` (the one hook: the import
task calls it, and any other kind of background job, such as an undo, calls
the same) records a :class:`~imports.models.JobNotice`, once per end of the
job (a re-delivered task finds it and does nothing more; a retried job that
ends again is told again), and:

* the user's next admin page shows it as a message with a link to the job
  (``imports.middleware.JobNoticeMiddleware``, once);
* if the job ran longer than ``IMPORT_NOTIFY_AFTER_SECONDS``, the user gets
  an email (Django's email framework: the console unless ``EMAIL_HOST``
  names an SMTP server); a failure to send is logged, never raised;
* if ``IMPORT_WEBHOOK_URL`` is set, the job's summary (the API's job, in an
  envelope) is POSTed there by a django-q2 task, signed with HMAC-SHA256 of
  the body under ``IMPORT_WEBHOOK_SECRET`` (``X-MTC-Signature-256:
  sha256=<hex>``). The hook only queues the task, so a slow or dead receiver
  never holds up an import; a failed delivery (an error, a timeout, any
  answer but 2xx) is logged and tried again later, after
  :data:`WEBHOOK_BACKOFF_SECONDS`, with the same body and delivery id, then
  given up (logged as an error).

Inline imports (the request, the command line) are not notified: the person
who started one is watching it end.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import urllib.error
import urllib.request
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from imports.models import ImportJob, ImportResult, ImportStatus, JobNotice
from imports.serializers import JobSerializer

logger = logging.getLogger(__name__)

#: The task that delivers a webhook (:func:`deliver_webhook` through ``imports.tasks``).
WEBHOOK_TASK = "imports.tasks.deliver_webhook"
#: Waits before the 2nd, 3rd, 4th and 5th delivery attempts; after the 5th it is given up.
WEBHOOK_BACKOFF_SECONDS = (10, 60, 300, 1800)
WEBHOOK_TIMEOUT_SECONDS = 10
WEBHOOK_EVENT = "import.finished"
SIGNATURE_HEADER = "X-MTC-Signature-256"


def job_ended(*, job: ImportJob) -> JobNotice | None:
    """Tell the user who started ``job`` that it ended (see the module docstring); None if it has not."""
    job = ImportJob.objects.select_related("result", "user").get(pk=job.pk)
    if not job.is_finished or job.finished_at is None:
        return None
    notice, created = JobNotice.objects.get_or_create(
        job=job,
        finished_at=job.finished_at,
        defaults={"user": job.user, "status": job.status, "message": describe(job)},
    )
    if not created:
        return notice  # a re-delivered task: this end was told already
    if job.user is not None and job.user.email and _ran_longer_than_threshold(job):
        _email(notice, job)
    if settings.IMPORT_WEBHOOK_URL:
        _queue_webhook(notice, job)
    return notice


def describe(job: ImportJob) -> str:
    """What the user is told, in plain words: which job, how it ended, what it did."""
    result = getattr(job, "result", None) or ImportResult(job=job)
    if job.is_undo:
        what = f"The {'preview of the ' if job.dry_run else ''}undo of import #{job.undoes_id}"
    else:
        what = f"The check of {job.file_name}" if job.dry_run else f"The import of {job.file_name}"
    ended = {
        ImportStatus.COMPLETED: "has finished",
        ImportStatus.COMPLETED_WITH_ERRORS: "has finished, with rows that have problems",
        ImportStatus.FAILED: "has failed",
        ImportStatus.CANCELLED: "was cancelled",
    }.get(ImportStatus(job.status), job.get_status_display().lower())
    verbs = ("to add", "to update") if job.dry_run else ("added", "updated")
    figures = f"{result.inserted:,} rows {verbs[0]}, {result.updated:,} {verbs[1]}, {result.failed:,} with problems"
    if job.is_undo:
        verbs = ("to remove", "to put back") if job.dry_run else ("removed", "put back")
        figures = (
            f"{result.deleted:,} rows {verbs[0]}, {result.updated:,} {verbs[1]}, "
            f"{result.failed:,} changed since and kept"
        )
    sentence = f"{what} (#{job.pk}) {ended}: {figures}"
    if result.duration_seconds:
        sentence += f", in {_duration(result.duration_seconds)}"
    sentence += "."
    if job.status == ImportStatus.FAILED and job.failure_reason:
        sentence += f" {job.failure_reason}"
    return sentence


def job_path(job_id: int) -> str:
    """The job's admin page (the check's page for a dry run is reached from there)."""
    return reverse("admin:imports_importjob_change", args=[job_id])


def unseen_notices(*, user) -> list[JobNotice]:
    """The notices ``user`` has not been shown yet, oldest first, marked shown (each is shown once)."""
    if not getattr(user, "pk", None):
        return []
    pending: QuerySet[JobNotice] = JobNotice.objects.filter(user=user, seen_at__isnull=True).order_by("pk")
    shown = []
    now = timezone.now()
    for notice in pending[:20]:
        # Two pages loading at once: the one whose UPDATE takes it shows it.
        if JobNotice.objects.filter(pk=notice.pk, seen_at__isnull=True).update(seen_at=now):
            shown.append(notice)
    return shown


# --- email ------------------------------------------------------------------------------------


def _ran_longer_than_threshold(job: ImportJob) -> bool:
    result = getattr(job, "result", None)
    duration = result.duration_seconds if result is not None else None
    return duration is not None and duration > settings.IMPORT_NOTIFY_AFTER_SECONDS


def _email(notice: JobNotice, job: ImportJob) -> None:
    subject = f"{job} : {job.get_status_display().lower()}".replace(" : ", ": ")
    body = f"{notice.message}\n\nSee it here: {settings.SITE_URL}{job_path(job.pk)}\n"
    try:
        send_mail(subject, body, None, [job.user.email])  # type: ignore[union-attr]  # checked by the caller
    except Exception:  # an unreachable mail server must not fail the worker's task
        logger.warning("Could not email %s that import %s ended", job.user, job.pk, exc_info=True)
        return
    JobNotice.objects.filter(pk=notice.pk).update(emailed_at=timezone.now())


# --- webhook -------------------------------------------------------------------------------------


def _queue_webhook(notice: JobNotice, job: ImportJob) -> None:
    from django_q.tasks import async_task

    summary = json.loads(JSONRenderer().render(JobSerializer(job).data))
    notice.payload = {
        "event": WEBHOOK_EVENT,
        "delivery": notice.pk,
        "url": f"{settings.SITE_URL}{job_path(job.pk)}",
        "job": summary,
    }
    notice.save(update_fields=["payload"])
    async_task(WEBHOOK_TASK, notice.pk, 1, group="import-webhooks", task_name=f"import-webhook-{notice.pk}-1")


def webhook_body(notice: JobNotice) -> bytes:
    """The exact bytes sent (and signed): the payload as compact JSON, keys sorted."""
    return json.dumps(notice.payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def signature(body: bytes, secret: str) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of the body under the secret, as the receiver recomputes it."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver_webhook(*, notice_id: int, attempt: int) -> str:
    """POST one notice's payload to ``IMPORT_WEBHOOK_URL``; on failure, log it and schedule the next attempt.

    Returns ``delivered``, ``retrying``, ``gave_up`` or ``nothing`` (no such
    notice, already delivered, or no webhook set any more).
    """
    notice = JobNotice.objects.filter(pk=notice_id).first()
    url = settings.IMPORT_WEBHOOK_URL
    if notice is None or notice.webhook_delivered_at is not None or not url or not notice.payload:
        return "nothing"
    body = webhook_body(notice)
    request = urllib.request.Request(  # noqa: S310 - the URL is a validated http(s) setting
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "mtc-catalog-imports",
            "X-MTC-Event": WEBHOOK_EVENT,
            "X-MTC-Delivery": str(notice.pk),
            SIGNATURE_HEADER: signature(body, settings.IMPORT_WEBHOOK_SECRET),
        },
    )
    error = ""
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:  # noqa: S310
            if not 200 <= response.status < 300:
                error = f"HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        error = f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        error = str(getattr(exc, "reason", None) or exc) or type(exc).__name__
    now = timezone.now()
    JobNotice.objects.filter(pk=notice.pk).update(
        webhook_attempts=attempt, webhook_error=error, webhook_delivered_at=None if error else now
    )
    if not error:
        logger.info("Webhook of import %s delivered (attempt %s)", notice.job_id, attempt)
        return "delivered"
    if attempt > len(WEBHOOK_BACKOFF_SECONDS):
        logger.error(
            "Webhook of import %s to %s failed %s times (last: %s); given up", notice.job_id, url, attempt, error
        )
        return "gave_up"
    wait = WEBHOOK_BACKOFF_SECONDS[attempt - 1]
    logger.warning(
        "Webhook of import %s to %s failed (%s), attempt %s; next try in %s s", notice.job_id, url, error, attempt, wait
    )
    _schedule(notice_id=notice.pk, attempt=attempt + 1, at=now + timedelta(seconds=wait))
    return "retrying"


def _schedule(*, notice_id: int, attempt: int, at) -> None:
    """A one-off django-q2 schedule for the next attempt (the broker has no delayed tasks)."""
    from django_q.models import Schedule

    Schedule.objects.create(
        name=f"import-webhook-{notice_id}-{attempt}",
        func=WEBHOOK_TASK,
        args=repr((notice_id, attempt)),
        schedule_type=Schedule.ONCE,
        next_run=at,
        repeats=-1,  # a ONCE schedule is deleted once it ran
    )


def _duration(seconds: float) -> str:
    whole = round(seconds)
    if whole < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"
