"""``python -m bench.serving``: the production stack's figures for the issue-14 note.

In one run, on one database seeded with a catalog:

* **requests/s of the catalog list** (``GET /api/variants/?page=N``, a token
  user, ``--concurrency`` client threads) under ``runserver`` (threaded, as
  ``scripts/run`` starts it) and under ``scripts/serve`` (gunicorn, 2 sync
  workers), in alternating rounds of ``--seconds`` so both see the same noise;
  medians and the ratio;
* **latency during a large import**: the same load on gunicorn while a
  ``--import-rows`` file (100,000) runs in a ``scripts/worker`` cluster, p50 and
  p99 against the idle rounds' p50 and p99;
* **take-over after SIGKILL**: two clusters on the Redis broker; the group of
  the one running an import is SIGKILLed after a few batches, and the time until
  the other cluster's worker holds the job is measured (``IMPORT_SWEEP_SECONDS``
  as configured: 10 by default), ``--kills`` times.

The load generator runs on the same machine (2 cores here): the figures
compare the two servers under the same handicap, not the machine's ceiling.
Needs PostgreSQL (``BENCH_SERVING_DATABASE_URL``, default database
``mtc_bench_serving``, created and migrated when missing) and Redis
(``BENCH_REDIS_URL``); ports ``BENCH_PORT`` and the next one.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import psycopg2
import requests

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
COLORS = ("Red", "Blue", "Green", "Black", "White")
SIZES = ("S", "M", "L", "XL")
#: Rows of each import killed mid-way.
KILL_ROWS = 30_000


def database_url() -> str:
    return os.environ.get("BENCH_SERVING_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mtc_bench_serving")


def connect(url: str, dbname: str | None = None):
    from urllib.parse import urlparse

    parts = urlparse(url)
    return psycopg2.connect(
        dbname=dbname or parts.path.lstrip("/"),
        user=parts.username or "postgres",
        password=parts.password,
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
    )


def csv_file(path: Path, rows: int, offset: int) -> Path:
    with path.open("w", encoding="utf-8") as out:
        out.write("item_name,description,color_name,size_name,sku,price,stock\n")
        for i in range(offset, offset + rows):
            out.write(
                f"Item {i // 20:06d},Item {i // 20},{COLORS[(i % 20) // 4]},{SIZES[i % 4]},S-{i},{i % 90}.5,{i % 7}\n"
            )
    return path


def env_for(base: dict, **extra: str) -> dict:
    return {**base, **extra}


def manage(env: dict, *args: str) -> str:
    result = subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode not in (0, 3):
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return result.stdout


def prepare(env: dict, tmp: Path, catalog_rows: int) -> str:
    """Create, migrate and seed the database once; returns an API token."""
    url = env["DATABASE_URL"]
    name = url.rsplit("/", 1)[1]
    admin = connect(url, "postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if not cursor.fetchone():
            cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    manage(env, "migrate", "--noinput", "-v0")
    with connect(url) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM item_variant")
        seeded = cursor.fetchone()[0]
    if seeded < catalog_rows:
        manage(
            env, "import_catalog", str(csv_file(tmp / "catalog.csv", catalog_rows, 0)), "--max-rows", str(catalog_rows)
        )
    code = (
        "from django.contrib.auth.models import User; from rest_framework.authtoken.models import Token;"
        "u, _ = User.objects.get_or_create(username='bench', defaults={'is_superuser': True, 'is_staff': True});"
        "print(Token.objects.get_or_create(user=u)[0].key)"
    )
    return manage(env, "shell", "--no-imports", "-c", code).strip().splitlines()[-1]


def start(stack: ExitStack, command: list[str], env: dict, log: Path) -> subprocess.Popen:
    with log.open("ab") as output:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )

    def stop() -> None:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    stack.callback(stop)
    return process


def wait_port(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if process.poll() is not None:
                raise SystemExit(f"server on {port} exited:\n{log.read_text()[-3000:]}") from None
            time.sleep(0.1)
    raise SystemExit(f"server on {port} did not answer:\n{log.read_text()[-3000:]}")


def load(base_url: str, token: str, *, seconds: float, concurrency: int, pages: int, stop=None) -> list[float]:
    """Latencies (s) of list requests by ``concurrency`` threads for ``seconds`` (or until ``stop`` is set)."""
    latencies: list[float] = []
    lock = threading.Lock()
    end = time.monotonic() + seconds
    errors = []

    def client(n: int) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Token {token}"
        page = n
        mine = []
        while time.monotonic() < end and not (stop and stop.is_set()):
            page = page % pages + 1
            started = time.perf_counter()
            response = session.get(f"{base_url}/api/variants/?page={page}", timeout=30)
            mine.append(time.perf_counter() - started)
            if response.status_code != 200:
                errors.append(response.status_code)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise SystemExit(f"{len(errors)} requests failed: {sorted(set(errors))}")
    return latencies


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def job_row(url: str, import_id: int) -> tuple:
    with connect(url) as conn, conn.cursor() as cursor:
        cursor.execute(
            "SELECT status, worker, checkpoint_row, attempts FROM import_jobs WHERE import_id = %s", [import_id]
        )
        return cursor.fetchone()


def descendants(pid: int) -> set[int]:
    """The processes under ``pid``, from /proc (as ``qcluster``'s own stop does)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    found, queue = set(), list(children.get(pid, []))
    while queue:
        child = queue.pop()
        found.add(child)
        queue.extend(children.get(child, []))
    return found


def post(base_url: str, token: str, path: Path) -> int:
    with path.open("rb") as stream:
        response = requests.post(
            f"{base_url}/api/imports/",
            headers={"Authorization": f"Token {token}"},
            files={"file": (path.name, stream, "text/csv")},
            data={"kind": "variants"},
            timeout=120,
        )
    if response.status_code != 202:
        raise SystemExit(f"import refused: {response.status_code} {response.text[:500]}")
    return response.json()["import_id"]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.serving", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="length of one load round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per server, alternating")
    parser.add_argument("--concurrency", type=int, default=4, help="client threads")
    parser.add_argument("--catalog-rows", type=int, default=20_000, help="variants in the catalog")
    parser.add_argument("--import-rows", type=int, default=100_000, help="rows of the import run under load")
    parser.add_argument("--kills", type=int, default=3, help="SIGKILL take-overs to time (0: none)")
    args = parser.parse_args()

    port = int(os.environ.get("BENCH_PORT", "18140"))
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
    tmp = Path(tempfile.mkdtemp(prefix="bench-serving-"))
    base = {k: v for k, v in os.environ.items() if not k.startswith(("IMPORT_", "DJANGO_"))}
    env = env_for(
        base,
        DJANGO_SETTINGS_MODULE="mtc.settings",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        DATABASE_URL=database_url(),
        QUEUE_REDIS_URL=redis_url,
        RATELIMIT_STORAGE_URL=redis_url,
        IMPORT_RATE_LIMIT="1000/minute",
        IMPORT_MAX_ROWS=str(max(args.import_rows, args.catalog_rows, KILL_ROWS)),
        MEDIA_ROOT=str(tmp / "media"),
        QUEUE_WORKERS="1",
        LOG_LEVEL="WARNING",
    )
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    token = prepare(env, tmp, args.catalog_rows)
    pages = max(1, args.catalog_rows // 50)
    print(f"catalog: {args.catalog_rows:,} variants, {pages} pages of 50; {args.concurrency} client threads")

    with ExitStack() as stack:
        runserver = start(
            stack, [PYTHON, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"], env, tmp / "runserver.log"
        )
        gunicorn = start(
            stack,
            [str(ROOT / "scripts" / "serve")],
            env_for(env, HOST="127.0.0.1", PORT=str(port + 1), WEB_CONCURRENCY="2"),
            tmp / "gunicorn.log",
        )
        wait_port(port, runserver, tmp / "runserver.log")
        wait_port(port + 1, gunicorn, tmp / "gunicorn.log")
        servers = {"runserver": f"http://127.0.0.1:{port}", "gunicorn (2 workers)": f"http://127.0.0.1:{port + 1}"}
        for url in servers.values():  # warm up: connections, imports, caches
            load(url, token, seconds=1, concurrency=args.concurrency, pages=pages)
        rates: dict[str, list[float]] = {name: [] for name in servers}
        idle: list[float] = []
        for _ in range(args.rounds):
            for name, url in servers.items():
                latencies = load(url, token, seconds=args.seconds, concurrency=args.concurrency, pages=pages)
                rates[name].append(len(latencies) / args.seconds)
                if url.endswith(str(port + 1)):
                    idle.extend(latencies)
        print("\nrequests/s of GET /api/variants/?page=N (median of rounds; every round):")
        for name, values in rates.items():
            print(f"  {name:22s} {statistics.median(values):8.1f}   {', '.join(f'{v:.1f}' for v in values)}")
        ratio = statistics.median(rates["gunicorn (2 workers)"]) / statistics.median(rates["runserver"])
        print(f"  gunicorn / runserver   {ratio:8.2f}x")
        os.killpg(runserver.pid, signal.SIGKILL)

        # --- latency while a large import runs ---------------------------------------------------
        gunicorn_url = servers["gunicorn (2 workers)"]
        worker_a = start(stack, [str(ROOT / "scripts" / "worker")], env, tmp / "worker-a.log")
        big = csv_file(tmp / "big.csv", args.import_rows, 1_000_000)
        time.sleep(3)  # the cluster's processes start
        posted_at = time.monotonic()
        import_id = post(gunicorn_url, token, big)
        finished = threading.Event()

        def watch() -> None:
            while job_row(env["DATABASE_URL"], import_id)[0] not in ("completed", "completed_with_errors", "failed"):
                time.sleep(0.2)
            finished.set()

        threading.Thread(target=watch, daemon=True).start()
        busy = load(gunicorn_url, token, seconds=3600, concurrency=args.concurrency, pages=pages, stop=finished)
        took = time.monotonic() - posted_at
        status = job_row(env["DATABASE_URL"], import_id)[0]
        print(f"\nlatency of the catalog list on gunicorn (ms), idle vs during a {args.import_rows:,}-row import:")
        for label, values in (("idle", idle), ("import", busy)):
            p50, p99 = percentile(values, 50) * 1000, percentile(values, 99) * 1000
            print(f"  {label:8s} p50 {p50:7.1f}   p99 {p99:7.1f}   ({len(values)} requests)")
        ratio = percentile(busy, 99) / percentile(idle, 99)
        print(f"  p99 ratio {ratio:.2f}x; the import {status} in {took:.1f} s (upload included)")

        # --- SIGKILL of the cluster running an import: time until the other one holds it ----------------
        if args.kills:
            clusters = [worker_a, start(stack, [str(ROOT / "scripts" / "worker")], env, tmp / "worker-b.log")]
            time.sleep(3)
            moves = []
            for n in range(args.kills):
                path = csv_file(tmp / f"kill-{n}.csv", KILL_ROWS, 2_000_000 + n * KILL_ROWS)
                import_id = post(gunicorn_url, token, path)
                while True:
                    status, worker, checkpoint, _ = job_row(env["DATABASE_URL"], import_id)
                    if status == "running" and checkpoint >= 3000:
                        break
                    if status not in ("pending", "running"):
                        raise SystemExit(f"import {import_id} ended {status} before it could be killed")
                    time.sleep(0.01)
                pid = int(worker.rsplit(":", 1)[1])
                victim = next(c for c in clusters if pid in descendants(c.pid))
                survivor = next(c for c in clusters if c is not victim)
                os.killpg(victim.pid, signal.SIGKILL)
                killed = time.monotonic()
                while True:
                    worker = job_row(env["DATABASE_URL"], import_id)[1]
                    if int(worker.rsplit(":", 1)[1]) in descendants(survivor.pid):
                        break
                    time.sleep(0.02)
                moves.append(time.monotonic() - killed)
                victim.wait()
                clusters[clusters.index(victim)] = start(
                    stack, [str(ROOT / "scripts" / "worker")], env, tmp / f"worker-{n}.log"
                )
                while job_row(env["DATABASE_URL"], import_id)[0] == "running":
                    time.sleep(0.1)
                print(
                    f"  kill {n + 1}: moved after {moves[-1]:.2f} s, ended {job_row(env['DATABASE_URL'], import_id)[0]}"
                )
                time.sleep(3)
            sweep = env.get("IMPORT_SWEEP_SECONDS", "10 (default)")
            print(
                f"\ntake-over after SIGKILL (IMPORT_SWEEP_SECONDS={sweep}): median {statistics.median(moves):.2f} s, "
                f"max {max(moves):.2f} s over {len(moves)}"
            )


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mtc.settings")
    main()
