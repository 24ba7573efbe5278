"""gunicorn's configuration for the web processes (``scripts/serve``, ``deploy/mtc-app.service``).

Everything comes from the environment, as the application's settings do:
``HOST``/``PORT`` (where to listen), ``WEB_CONCURRENCY`` (worker processes; also
what ``mtc.capacity`` counts against PostgreSQL's ``max_connections``) and
``WEB_TIMEOUT``. Workers are gunicorn's sync workers: one request at a time, one
database connection each, which is what the connection sizing assumes.
"""

import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# An upload of IMPORT_MAX_UPLOAD_MB is checked inside the request (large files go to the worker):
# two minutes is far more than that takes, and a stuck request is still ended.
timeout = int(os.environ.get("WEB_TIMEOUT", "120"))
graceful_timeout = 30
# Restart each worker after this many requests (with jitter), so a slow leak cannot grow for ever.
max_requests = 2000
max_requests_jitter = 200
accesslog = "-"
errorlog = "-"
# The application is loaded in each worker, not in the master: a `systemctl reload` (HUP) then
# picks up new code, and no database connection is ever shared across a fork.
preload_app = False
# gunicorn's runtime control socket (gunicornc) is one fixed path per user: two servers on one
# machine (two ports, the tests) would fight over it. systemctl and signals are the controls here.
control_socket_disable = True
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def child_exit(server, worker):
    """A worker's Prometheus files are merged into the dead-process totals (multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
