"""The production stack for real: gunicorn (2 workers) and two qcluster processes on PostgreSQL and Redis.

``scripts/serve`` (DEBUG off, a real SECRET_KEY: migrations checked, static
files collected hashed and compressed, gunicorn with 2 workers) and two
``scripts/worker`` processes standing for two worker machines, sharing the Redis
broker. Through the API, imports are spread across both clusters; the admin's
static files load from whitenoise; ``/metrics`` adds up both gunicorn workers'
request counts; and SIGKILL of the cluster running an import (its whole process
group: a machine gone) hands the job to the other cluster, which resumes it
after its last committed batch and ends with the exact figures of one clean run.

Kept small (files of a few thousand rows) so the module takes well under a
minute and a half on two cores.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import socket
import subprocess
import time
from contextlib import ExitStack
from pathlib import Path

import pytest
import redis
import requests
from django.db import connection
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.authtoken.models import Token

from catalog.models import ItemVariant
from imports.management.commands.qcluster import descendants
from imports.models import ImportJob, ImportStatus
from tests.imports.engine.job_runs import VARIANT_HEADER, csv_bytes
from tests.imports.files import variant_row, variants_csv
from tests.imports.test_crash_resume import wait_for as wait_for_condition

pytestmark = [pytest.mark.postgresql, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
PORT = 18120
BASE = f"http://127.0.0.1:{PORT}"
REDIS_URL = "redis://127.0.0.1:6379/12"
METRICS_TOKEN = secrets.token_urlsafe(16)
SMALL_ROWS, SMALL_JOBS = 1500, 4
KILL_ROWS, BATCH = 20_000, 200
#: Guards against a hang only: every wait normally ends within seconds.
DEADLINE_SECONDS = 60


def database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def production_env(tmp_path: Path) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("IMPORT_", "USE_NEW", "DJANGO_"))}
    return {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "mtc.settings",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": database_url(),
        "QUEUE_REDIS_URL": REDIS_URL,
        "RATELIMIT_STORAGE_URL": REDIS_URL,
        "MEDIA_ROOT": str(tmp_path / "media"),
        "METRICS_TOKEN": METRICS_TOKEN,
        "HOST": "127.0.0.1",
        "PORT": str(PORT),
        "WEB_CONCURRENCY": "2",
        "QUEUE_WORKERS": "1",
        "IMPORT_BATCH_SIZE": str(BATCH),
        "IMPORT_BACKGROUND_THRESHOLD": "100",
        "IMPORT_SWEEP_SECONDS": "1",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "LOG_FORMAT": "json",
        "PYTHONUNBUFFERED": "1",
    }


def start(stack: ExitStack, command: str, env: dict, log: Path) -> subprocess.Popen:
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(ROOT / "scripts" / command)],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: a machine of its own
        )

    def kill() -> None:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    stack.callback(kill)
    return process


def wait_for(condition, what: str, logs: list[Path], *, every: float = 0.05):
    return wait_for_condition(condition, what, logs, every=every, deadline_seconds=DEADLINE_SECONDS)


def answers() -> bool:
    try:
        socket.create_connection(("127.0.0.1", PORT), timeout=0.5).close()
    except OSError:
        return False
    return True


def worker_pid(job: ImportJob) -> int:
    return int(job.worker.rsplit(":", 1)[1]) if job.worker else 0


@pytest.fixture
def stack(transactional_db, tmp_path, django_user_model):
    redis.Redis.from_url(REDIS_URL).flushdb()  # this test's own Redis database: no task left from another run
    user = django_user_model.objects.create_superuser("ops", password=secrets.token_urlsafe(12))
    token = Token.objects.create(user=user).key
    env = production_env(tmp_path)
    logs = [tmp_path / "serve.log", tmp_path / "worker-a.log", tmp_path / "worker-b.log"]
    with ExitStack() as processes:
        web = start(processes, "serve", env, logs[0])
        clusters = [start(processes, "worker", env, log) for log in logs[1:]]
        wait_for(lambda: answers() or web.poll() is not None, "gunicorn to listen", logs)
        assert web.poll() is None, logs[0].read_text()
        # A started cluster has its sentinel, monitor, pusher and worker.
        wait_for(lambda: all(len(descendants(c.pid)) >= 4 for c in clusters), "both clusters to start", logs)
        session = requests.Session()
        session.headers["Authorization"] = f"Token {token}"
        yield {"web": web, "clusters": clusters, "session": session, "logs": logs}


def post_import(session: requests.Session, content: bytes, name: str) -> int:
    response = session.post(
        f"{BASE}/api/imports/", files={"file": (name, content, "text/csv")}, data={"kind": "variants"}, timeout=30
    )
    assert response.status_code == 202, response.text
    return response.json()["import_id"]


def test_the_production_stack_spreads_jobs_serves_static_files_and_survives_a_killed_cluster(stack):
    session, clusters, logs = stack["session"], stack["clusters"], stack["logs"]

    # --- the admin's static files, hashed and compressed, from whitenoise -------------------
    login = requests.get(f"{BASE}/admin/login/", timeout=10)
    assert login.status_code == 200
    css = re.search(r'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', login.text)
    assert css, login.text[:2000]
    static = requests.get(BASE + css.group(1), headers={"Accept-Encoding": "gzip"}, timeout=10)
    assert static.status_code == 200
    assert static.headers["Content-Type"].startswith("text/css")
    assert static.headers["Content-Encoding"] == "gzip"
    assert "immutable" in static.headers["Cache-Control"]

    # --- jobs spread across both clusters ---------------------------------------------------------
    small = variants_csv(SMALL_ROWS)
    ids = [post_import(session, small, f"small-{n}.csv") for n in range(SMALL_JOBS)]
    polls = 0

    def all_finished() -> bool:
        nonlocal polls
        statuses = []
        for import_id in ids:
            polls += 1
            statuses.append(session.get(f"{BASE}/api/imports/{import_id}/", timeout=10).json()["status"])
        return all(status in ImportStatus.finished() for status in statuses)

    wait_for(all_finished, "the small imports to finish", logs, every=0.2)
    jobs = list(ImportJob.objects.filter(pk__in=ids))
    assert {job.status for job in jobs} == {ImportStatus.COMPLETED}
    processes_of = [set(descendants(cluster.pid)) for cluster in clusters]
    ran_in = {index for job in jobs for index, pids in enumerate(processes_of) if worker_pid(job) in pids}
    assert ran_in == {0, 1}, f"workers {[job.worker for job in jobs]}, clusters {processes_of}"
    assert ItemVariant.objects.count() == SMALL_ROWS

    # --- /metrics adds up both gunicorn workers ---------------------------------------------------
    scrape = requests.get(f"{BASE}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10)
    assert scrape.status_code == 200
    samples = [s for family in text_string_to_metric_families(scrape.text) for s in family.samples]
    detail_polls = sum(
        s.value
        for s in samples
        if s.name == "mtc_http_request_duration_seconds_count" and s.labels["route"] == "/api/imports/<int:import_id>/"
    )
    assert detail_polls == polls
    completed = [s.value for s in samples if s.name == "mtc_import_jobs" and s.labels == {"status": "completed"}]
    assert completed == [SMALL_JOBS]

    # --- SIGKILL of the cluster running an import: the other one resumes it -------------------------
    rows = [variant_row(i) for i in range(100_001, 100_001 + KILL_ROWS)]  # keys of their own
    import_id = post_import(session, csv_bytes(VARIANT_HEADER, rows), "big.csv")

    def running_with_batches() -> ImportJob | None:
        job = ImportJob.objects.get(pk=import_id)
        return job if job.status == ImportStatus.RUNNING and job.checkpoint_row >= 5 * BATCH else None

    job = wait_for(running_with_batches, "the import to commit a few batches", logs, every=0.01)
    victim = next(i for i, pids in enumerate(processes_of) if worker_pid(job) in pids)
    survivor = clusters[1 - victim]
    os.killpg(clusters[victim].pid, signal.SIGKILL)
    killed_at = time.monotonic()

    def moved() -> ImportJob | None:
        job = ImportJob.objects.get(pk=import_id)
        return job if worker_pid(job) in descendants(survivor.pid) else None

    wait_for(moved, "the other cluster to take the import over", logs, every=0.05)
    moved_after = time.monotonic() - killed_at
    ended = wait_for(
        lambda: ImportJob.objects.filter(pk=import_id, status__in=ImportStatus.finished()).first(),
        "the resumed import to finish",
        logs,
    )

    result = ended.result
    assert ended.status == ImportStatus.COMPLETED, ended.failure_reason
    assert ended.attempts == 2
    assert (result.total_rows, result.inserted, result.updated, result.unchanged, result.failed) == (
        KILL_ROWS,
        KILL_ROWS,
        0,
        0,
        0,
    )
    assert result.batches_committed == KILL_ROWS // BATCH
    assert ItemVariant.objects.count() == SMALL_ROWS + KILL_ROWS
    print(f"\nthe import moved to the other cluster {moved_after:.2f} s after the SIGKILL")
