"""Queue load benchmark: N tellers and M issuing tablets against the app on PostgreSQL.

    .venv/bin/python bench/load_queue.py [--database-url postgres://postgres@127.0.0.1:5432/bf_bench]
        [--tellers 8] [--tablets 4] [--duration 20] [--issue-rate 20] [--workers 2] [--port P]
        [--redis-url redis://127.0.0.1:6379/N]

It starts and stops everything it needs: creates the database if missing, migrates, sets up a
"bench" branch (bench/setup_bench.py), starts gunicorn as production runs it (config/gunicorn.py:
ASGI, uvicorn workers) on 127.0.0.1, waits for /healthz/, runs the load, drains the queue, stops
gunicorn (always, also on errors and Ctrl-C) and checks the database: no ticket called twice,
none lost. Prints a table, then ONE JSON line as the last line of stdout (progress goes to
stderr). Exit status 0 only if nothing was called twice or lost, no request failed and the queue
drained. docs/benchmarks.md has measured figures and how to read them.

Virtual users log in once (session cookie + CSRF header, as the browser screens do). With
--auth basic every request sends HTTP basic auth instead, which re-checks the password with
PBKDF2 (about 0.2 s of CPU per request): that measures the password hasher, not the queue.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter as Tally
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx
import psycopg2
from psycopg2 import sql

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bf_bench"
API = "/api/queue"
PRIORITY_MIX = (("regular", 7), ("vip", 2), ("care", 1))

# Bounds: the benchmark must never run away (count of users, time, rate).
MAX_DURATION_S = 600
MAX_TELLERS = 64
MAX_TABLETS = 32
MAX_ISSUE_RATE = 1000
DRAIN_TIMEOUT_S = 60
REQUEST_TIMEOUT_S = 15
MAX_ERRORS_PER_USER = 50

# Rows of the latency table; "failed" holds the responses that were errors (any operation).
OPERATIONS = ("issue", "call", "call_empty", "start", "finish", "failed")
FINISH_CHECKLIST = {"outcome": "completed", "identity_verified": True}


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# --- options -----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Queue load benchmark (tellers + issuing tablets against gunicorn).",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL),
        help=f"PostgreSQL database to use (created if missing). Default {DEFAULT_DATABASE_URL}",
    )
    parser.add_argument("--tellers", type=int, default=8, help="tellers, one counter each")
    parser.add_argument("--tablets", type=int, default=4, help="ticket-issuing tablets")
    parser.add_argument("--duration", type=float, default=20, help="load phase, seconds")
    parser.add_argument(
        "--issue-rate", type=float, default=20, help="tickets/s issued by all tablets together"
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument(
        "--server",
        choices=("asgi", "wsgi"),
        default="asgi",
        help="asgi: uvicorn workers as in production (default); wsgi: gthread workers",
    )
    parser.add_argument("--threads", type=int, default=4, help="threads per wsgi worker")
    parser.add_argument("--port", type=int, default=0, help="loopback port (default: a free one)")
    parser.add_argument("--redis-url", default="", help="REDIS_URL for the app (default: none)")
    parser.add_argument(
        "--empty-backoff",
        type=float,
        default=0.5,
        help="seconds a teller told 'nobody waiting' waits before calling again (default 0.5)",
    )
    parser.add_argument("--auth", choices=("session", "basic"), default="session")
    parser.add_argument("--seed", type=int, default=1, help="random seed (services, priorities)")
    args = parser.parse_args(argv)
    if urlsplit(args.database_url).scheme not in ("postgres", "postgresql", "pgsql"):
        parser.error("--database-url must be a PostgreSQL URL")
    if not 0 < args.duration <= MAX_DURATION_S:
        parser.error(f"--duration must be in (0, {MAX_DURATION_S}]")
    if not 1 <= args.tellers <= MAX_TELLERS:
        parser.error(f"--tellers must be in [1, {MAX_TELLERS}]")
    if not 1 <= args.tablets <= MAX_TABLETS:
        parser.error(f"--tablets must be in [1, {MAX_TABLETS}]")
    if not 0 < args.issue_rate <= MAX_ISSUE_RATE:
        parser.error(f"--issue-rate must be in (0, {MAX_ISSUE_RATE}]")
    if not 0.01 <= args.empty_backoff <= 10:
        parser.error("--empty-backoff must be in [0.01, 10]")
    if not 1 <= args.workers <= 16:
        parser.error("--workers must be in [1, 16]")
    if args.redis_url and urlsplit(args.redis_url).hostname not in ("127.0.0.1", "localhost"):
        parser.error("--redis-url must be on the loopback interface")
    if urlsplit(args.database_url).hostname not in ("127.0.0.1", "localhost", None):
        parser.error("--database-url must be on the loopback interface")
    return args


# --- database --------------------------------------------------------------------------------


def pg_params(database_url: str, dbname: str | None = None) -> dict:
    parts = urlsplit(database_url)
    return {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 5432,
        "user": unquote(parts.username or "postgres"),
        "password": unquote(parts.password or ""),
        "dbname": dbname or unquote(parts.path.lstrip("/")),
    }


def ensure_database(database_url: str) -> bool:
    """Create the database if it does not exist; True if it was created."""
    params = pg_params(database_url)
    name = params["dbname"]
    admin = psycopg2.connect(**{**params, "dbname": "postgres"})
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cur.fetchone():
                return False
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            return True
    finally:
        admin.close()


def drop_database(database_url: str) -> None:
    """Drop the database (used by the smoke test for its throwaway database)."""
    params = pg_params(database_url)
    admin = psycopg2.connect(**{**params, "dbname": "postgres"})
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(params["dbname"])
                )
            )
    finally:
        admin.close()


def server_version(database_url: str) -> str:
    with psycopg2.connect(**pg_params(database_url)) as conn, conn.cursor() as cur:
        cur.execute("SHOW server_version")
        return cur.fetchone()[0]


# --- the app: environment, setup, gunicorn ----------------------------------------------------


def app_environment(args: argparse.Namespace) -> dict[str, str]:
    """Production settings (DEBUG off), plain HTTP on loopback, this database, no Redis unless
    asked. Settings the caller may have exported for development or tests are replaced."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "CELERY_", "GUNICORN_", "WEB_CONCURRENCY"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_DEBUG": "0",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "DJANGO_HTTPS": "0",
            "DATABASE_URL": args.database_url,
            # Empty, not absent: a developer's .env must not switch Redis on behind our back.
            "REDIS_URL": args.redis_url,
            "PYTHONUNBUFFERED": "1",
        }
    )
    if args.server == "asgi":
        # As docker-compose runs the web service: under ASGI every request runs in another
        # thread, so persistent connections would pile up until PostgreSQL refuses more.
        env["DB_CONN_MAX_AGE"] = "0"
    return env


def venv_bin(name: str) -> str:
    for candidate in (Path(sys.executable).parent / name, ROOT / ".venv" / "bin" / name):
        if candidate.exists():
            return str(candidate)
    raise SystemExit(f"{name} not found next to {sys.executable} nor in .venv/bin")


def run_setup(args: argparse.Namespace, env: dict[str, str], password: str) -> dict:
    python = venv_bin("python")
    started = time.monotonic()
    migrate = subprocess.run(
        [python, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if migrate.returncode != 0:
        raise RuntimeError(f"migrate failed:\n{migrate.stdout}\n{migrate.stderr}")
    setup = subprocess.run(
        [
            python,
            str(ROOT / "bench" / "setup_bench.py"),
            f"--tellers={args.tellers}",
            f"--lobby={args.tablets}",
        ],
        cwd=ROOT,
        env={**env, "BENCH_PASSWORD": password},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if setup.returncode != 0:
        raise RuntimeError(f"bench setup failed:\n{setup.stdout}\n{setup.stderr}")
    log(f"migrated and set up the bench branch in {time.monotonic() - started:.1f} s")
    return json.loads(setup.stdout.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    """gunicorn in its own process group, so stopping it stops its workers too."""

    def __init__(self, args: argparse.Namespace, env: dict[str, str], port: int) -> None:
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.log_file = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in stop()
            prefix="bench-gunicorn-", suffix=".log", delete=False
        )
        if args.server == "asgi":
            target = ["config.asgi:application", "-k", "uvicorn_worker.UvicornWorker"]
        else:
            target = ["config.wsgi:application", "-k", "gthread", "--threads", str(args.threads)]
        self.command = [
            venv_bin("gunicorn"),
            *target,
            # The production settings file (timeouts, keep-alive, access log, worker recycling);
            # the options after it override its bind address, worker count and class.
            "-c",
            "config/gunicorn.py",
            "-w",
            str(args.workers),
            "-b",
            f"127.0.0.1:{port}",
        ]
        self.env = env
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env=self.env,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def wait_healthy(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited early:\n{self.log_tail()}")
            try:
                response = httpx.get(f"{self.base_url}/healthz/", timeout=10)
                if response.status_code == 200:
                    return
                last = f"HTTP {response.status_code}: {response.text[:300]}"
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(0.25)
        raise RuntimeError(
            f"/healthz/ not healthy after {timeout:.0f} s ({last})\n{self.log_tail()}"
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
            except ProcessLookupError:
                pass
        self.log_file.close()

    def log_tail(self, lines: int = 40) -> str:
        self.log_file.flush()
        text = Path(self.log_file.name).read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])


# --- CPU accounting (where the time goes) -----------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()  # fields[0] is the state (field 3 of proc(5))


def process_tree_cpu(root_pid: int) -> float:
    """CPU seconds of a process, its reaped children, and its live children."""
    fields = _stat_fields(root_pid)
    if fields is None:
        return 0.0
    total = sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            child = _stat_fields(int(entry.name))
            if child is not None and int(child[1]) == root_pid:
                total += int(child[11]) + int(child[12])
    return total / CLOCK_TICKS


def postmaster_pid(monitor) -> int:
    """The PostgreSQL server's main process: the parent of our own backend."""
    fields = _stat_fields(monitor.get_backend_pid())
    if fields is None:
        raise RuntimeError("PostgreSQL does not run on this machine (no /proc entry)")
    return int(fields[1])


def machine_cpu() -> tuple[int, int]:
    """(busy, total) clock ticks of all CPUs since boot, from /proc/stat."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    return sum(ticks) - idle, sum(ticks)


def committed_transactions(monitor, dbname: str) -> int:
    with monitor.cursor() as cur:
        cur.execute(
            "SELECT pg_stat_get_db_xact_commit(oid) FROM pg_database WHERE datname = %s", [dbname]
        )
        return int(cur.fetchone()[0])


# --- virtual users ----------------------------------------------------------------------------


@dataclass
class Sample:
    op: str
    at: float  # monotonic time the request was sent
    ms: float


@dataclass
class VirtualUser:
    name: str
    samples: list[Sample] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    issued: list[int] = field(default_factory=list)
    called: list[int] = field(default_factory=list)
    drained: bool = False


@dataclass
class Run:
    args: argparse.Namespace
    base_url: str
    password: str
    services: list[str]
    stop_issuing: threading.Event = field(default_factory=threading.Event)
    abort: threading.Event = field(default_factory=threading.Event)
    tablets_done_at: float | None = None  # set once every tablet has stopped
    drain_deadline: float = math.inf


def make_client(run: Run, username: str) -> httpx.Client:
    """One HTTP client (its own connection and cookies) per virtual user."""
    client = httpx.Client(
        base_url=run.base_url,
        timeout=REQUEST_TIMEOUT_S,
        auth=(username, run.password) if run.args.auth == "basic" else None,
        follow_redirects=False,
    )
    if run.args.auth == "session":
        login(client, username, run.password)
    return client


def login(client: httpx.Client, username: str, password: str) -> None:
    # Our own CSRF cookie (any 32 letters/digits will do) saves fetching the login page.
    token = secrets.token_hex(16)
    response = client.post(
        "/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token},
        headers={"Cookie": f"csrftoken={token}"},
    )
    if response.status_code != 302 or "sessionid" not in client.cookies:
        raise RuntimeError(f"login of {username} failed: HTTP {response.status_code}")
    # Login rotates the CSRF token; unsafe API requests must echo the new one.
    client.headers["X-CSRFToken"] = client.cookies["csrftoken"]


def timed_post(client: httpx.Client, user: VirtualUser, op: str, url: str, **kwargs):
    sent = time.monotonic()
    try:
        response = client.post(url, **kwargs)
    except httpx.HTTPError as exc:
        user.errors.append(f"{op}: {type(exc).__name__}")
        return None, sent
    user.samples.append(Sample(op, sent, (time.monotonic() - sent) * 1000))
    return response, sent


def record_error(user: VirtualUser, op: str, response: httpx.Response) -> None:
    user.errors.append(f"{op}: HTTP {response.status_code} {response.text[:200]}")


def tablet(run: Run, user: VirtualUser, client: httpx.Client, index: int, start: float) -> None:
    rng = random.Random(run.args.seed * 1000 + index)
    priorities = [name for name, _weight in PRIORITY_MIX]
    weights = [weight for _name, weight in PRIORITY_MIX]
    interval = run.args.tablets / run.args.issue_rate
    next_at = start + interval * index / run.args.tablets  # stagger the tablets
    while not run.stop_issuing.is_set() and not run.abort.is_set():
        delay = next_at - time.monotonic()
        if delay > 0:
            run.stop_issuing.wait(delay)
            continue
        body = {
            "service": rng.choice(run.services),
            "priority": rng.choices(priorities, weights)[0],
        }
        response, _sent = timed_post(client, user, "issue", f"{API}/tickets/", json=body)
        if response is not None:
            if response.status_code == 201:
                user.issued.append(response.json()["id"])
            else:
                user.samples[-1].op = "failed"
                record_error(user, "issue", response)
        # A steady schedule: when a request was slow the tablet catches up, it does not skip.
        next_at += interval
        if len(user.errors) > MAX_ERRORS_PER_USER:
            return


def teller(run: Run, user: VirtualUser, client: httpx.Client, counter_id: int) -> None:
    while not run.abort.is_set() and time.monotonic() < run.drain_deadline:
        response, sent = timed_post(client, user, "call", f"{API}/counters/{counter_id}/call-next/")
        if response is None:
            time.sleep(run.args.empty_backoff)
        elif response.status_code == 204:
            user.samples[-1].op = "call_empty"
            # Drained: nobody was waiting although every tablet had stopped before we asked.
            if run.tablets_done_at is not None and sent > run.tablets_done_at:
                user.drained = True
                return
            time.sleep(run.args.empty_backoff)
        elif response.status_code == 200:
            ticket_id = response.json()["id"]
            user.called.append(ticket_id)
            for op in ("start", "finish"):
                # Finishing takes the counter's checklist, as at the counter screen.
                body = FINISH_CHECKLIST if op == "finish" else None
                step, _sent = timed_post(
                    client, user, op, f"{API}/tickets/{ticket_id}/{op}/", json=body
                )
                if step is not None and step.status_code != 200:
                    user.samples[-1].op = "failed"
                    record_error(user, op, step)
        else:
            user.samples[-1].op = "failed"
            record_error(user, "call", response)
            time.sleep(run.args.empty_backoff)
        if len(user.errors) > MAX_ERRORS_PER_USER:
            return


# --- figures ----------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def latency_row(values: list[float]) -> dict:
    return {
        "count": len(values),
        "p50_ms": round(percentile(values, 50), 1),
        "p95_ms": round(percentile(values, 95), 1),
        "p99_ms": round(percentile(values, 99), 1),
        "max_ms": round(max(values), 1) if values else 0.0,
    }


def verify(database_url: str, branch_id: int, issued: list[int], called: list[int]) -> dict:
    """Check the database after the run: every issued ticket is there and was called once."""
    with psycopg2.connect(**pg_params(database_url)) as conn, conn.cursor() as cur:
        cur.execute(
            """
            SELECT t.id, t.status,
                   (SELECT count(*) FROM queueing_ticketevent e
                     WHERE e.ticket_id = t.id AND e.action = 'call')
              FROM queueing_ticket t
             WHERE t.branch_id = %s
            """,
            [branch_id],
        )
        rows = {ticket_id: (status, calls) for ticket_id, status, calls in cur.fetchall()}
    issued_set = set(issued)
    called_twice_db = {tid for tid, (_status, calls) in rows.items() if calls > 1}
    called_twice_client = {tid for tid, times in Tally(called).items() if times > 1}
    missing = issued_set - rows.keys()
    still_waiting = {tid for tid in issued_set & rows.keys() if rows[tid][0] == "waiting"}
    return {
        "statuses": dict(Tally(status for status, _calls in rows.values())),
        "called_twice_db": sorted(called_twice_db),
        "called_twice_client": sorted(called_twice_client),
        "missing": sorted(missing),
        "still_waiting": sorted(still_waiting),
        # Issued by the server although the tablet got no 201 (a timeout): reported, not lost.
        "unacknowledged": len(rows.keys() - issued_set),
        "not_finished": sum(1 for s, _c in rows.values() if s in ("called", "serving")),
    }


def print_summary(result: dict, per_op: dict[str, dict], errors: list[str]) -> None:
    a = result
    print(
        f"Queue load: {a['tellers']} tellers, {a['tablets']} tablets, target {a['issue_rate']:g}"
        f" tickets/s for {a['duration_s']:g} s; gunicorn {a['server']} x{a['workers']};"
        f" PostgreSQL {a['postgres']}; Redis: {a['redis'] or 'none'}; auth: {a['auth']}"
    )
    print()
    print(f"{'operation':<12}{'count':>8}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}{'max ms':>10}")
    for op, row in per_op.items():
        print(
            f"{op:<12}{row['count']:>8}{row['p50_ms']:>10.1f}{row['p95_ms']:>10.1f}"
            f"{row['p99_ms']:>10.1f}{row['max_ms']:>10.1f}"
        )
    print()
    print(f"tickets issued/s   {a['issued_per_s']:.1f}   (target {a['issue_rate']:g})")
    print(f"calls/s            {a['calls_per_s']:.1f}   (tickets called, load phase)")
    print(f"requests/s         {a['requests_per_s']:.1f}")
    print(f"DB commits/s       {a['db_commits_per_s']:.1f}")
    cpu = a["cpu_s"]
    print(
        f"CPU during load    gunicorn {cpu['gunicorn']:.1f} s, PostgreSQL {cpu['postgres']:.1f} s,"
        f" load generator {cpu['client']:.1f} s (of {a['nproc']} CPUs x {a['load_s']:.1f} s;"
        f" machine {a['machine_busy_pct']:.0f}% busy, other processes {a['other_cpu_s']:.1f} s)"
    )
    print(
        f"drain              {'complete' if a['drained'] else 'INCOMPLETE'}"
        f" in {a['drain_s']:.1f} s; tickets by status: {a['statuses']}"
    )
    print(
        f"correctness        called twice: {a['double_called']}, lost: {a['lost']},"
        f" request errors: {a['errors']}"
    )
    for line in errors[:10]:
        print(f"  error: {line}")
    print()


# --- main -------------------------------------------------------------------------------------


def run_load(run: Run, setup: dict, snapshot) -> dict:
    """Log in, open the counters, run tablets and tellers for --duration, then drain."""
    args = run.args
    tellers = [(VirtualUser(t["username"]), t["counter_id"]) for t in setup["tellers"]]
    tablets = [VirtualUser(u["username"]) for u in setup["lobby"]]
    clients: dict[str, httpx.Client] = {}
    try:
        log(f"logging in {len(tellers) + len(tablets)} virtual users ({args.auth} auth)")
        for user in [t for t, _c in tellers] + tablets:
            clients[user.name] = make_client(run, user.name)
        for user, counter_id in tellers:
            response = clients[user.name].post(f"{API}/counters/{counter_id}/open/")
            if response.status_code != 200:
                raise RuntimeError(f"opening counter {counter_id}: HTTP {response.status_code}")
        probe = auth_probe(run, clients, tellers[0][0].name)

        before = snapshot()
        start = time.monotonic()
        log(f"load for {args.duration:g} s")
        tablet_threads = [
            threading.Thread(
                target=tablet, args=(run, user, clients[user.name], i, start), daemon=True
            )
            for i, user in enumerate(tablets)
        ]
        teller_threads = [
            threading.Thread(
                target=teller, args=(run, user, clients[user.name], counter_id), daemon=True
            )
            for user, counter_id in tellers
        ]
        for thread in tablet_threads + teller_threads:
            thread.start()
        run.stop_issuing.wait(args.duration)
        run.stop_issuing.set()
        load_end = time.monotonic()
        after = snapshot()
        for thread in tablet_threads:
            thread.join(timeout=REQUEST_TIMEOUT_S + 5)
        run.tablets_done_at = time.monotonic()
        run.drain_deadline = run.tablets_done_at + DRAIN_TIMEOUT_S
        log("draining the queue")
        for thread in teller_threads:
            thread.join(timeout=DRAIN_TIMEOUT_S + REQUEST_TIMEOUT_S + 5)
        drain_s = time.monotonic() - run.tablets_done_at
    finally:
        run.abort.set()
        run.stop_issuing.set()
        for client in clients.values():
            client.close()
    return {
        "tellers": [user for user, _counter in tellers],
        "tablets": tablets,
        "start": start,
        "load_end": load_end,
        "drain_s": drain_s,
        "before": before,
        "after": after,
        "probe": probe,
    }


def auth_probe(run: Run, clients: dict[str, httpx.Client], username: str) -> dict:
    """Median of three authenticated reads: with the session, and with basic auth (PBKDF2)."""
    probe = {}

    def median_ms(client: httpx.Client) -> float:
        times = []
        for _ in range(3):
            sent = time.monotonic()
            response = client.get(f"{API}/services/")
            times.append((time.monotonic() - sent) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"GET services/: HTTP {response.status_code}")
        return round(sorted(times)[1], 1)

    if run.args.auth == "session":
        probe["session_read_ms"] = median_ms(clients[username])
    with httpx.Client(
        base_url=run.base_url, timeout=REQUEST_TIMEOUT_S, auth=(username, run.password)
    ) as basic:
        probe["basic_auth_read_ms"] = median_ms(basic)
    return probe


def summarise(args: argparse.Namespace, outcome: dict, check: dict, meta: dict) -> tuple:
    load_s = outcome["load_end"] - outcome["start"]
    users = outcome["tellers"] + outcome["tablets"]
    in_load = [s for u in users for s in u.samples if s.at < outcome["load_end"]]
    by_op: dict[str, list[float]] = defaultdict(list)
    for sample in in_load:
        by_op[sample.op].append(sample.ms)
    per_op = {op: latency_row(by_op[op]) for op in OPERATIONS}
    overall = latency_row([s.ms for s in in_load])
    per_op["overall"] = overall
    issued = [tid for u in outcome["tablets"] for tid in u.issued]
    called = [tid for u in outcome["tellers"] for tid in u.called]
    errors = [e for u in users for e in u.errors]
    drained = all(u.drained for u in outcome["tellers"])
    double_called = len(set(check["called_twice_db"]) | set(check["called_twice_client"]))
    # Still waiting after every teller was told "nobody waiting": lost. If the drain timed out,
    # they are a backlog instead (drained: false).
    lost = len(check["missing"]) + (len(check["still_waiting"]) if drained else 0)
    before, after = outcome["before"], outcome["after"]
    busy = after["machine"][0] - before["machine"][0]
    total = after["machine"][1] - before["machine"][1]
    result = {
        "issued_per_s": round(len(issued) / load_s, 2),
        "calls_per_s": round(per_op["call"]["count"] / load_s, 2),
        "p50_ms": overall["p50_ms"],
        "p95_ms": overall["p95_ms"],
        "p99_ms": overall["p99_ms"],
        "double_called": double_called,
        "lost": lost,
        "errors": len(errors),
        "drained": drained,
        "drain_s": round(outcome["drain_s"], 2),
        "issued": len(issued),
        "called": len(called),
        "backlog": 0 if drained else len(check["still_waiting"]),
        "not_finished": check["not_finished"],
        "unacknowledged": check["unacknowledged"],
        "statuses": check["statuses"],
        "requests_per_s": round(len(in_load) / load_s, 2),
        "db_commits_per_s": round((after["commits"] - before["commits"]) / load_s, 1),
        "cpu_s": {
            "gunicorn": round(after["gunicorn"] - before["gunicorn"], 2),
            "postgres": round(after["postgres"] - before["postgres"], 2),
            "client": round(after["client"] - before["client"], 2),
        },
        "machine_busy_pct": round(100 * busy / total, 1) if total else 0.0,
        # Busy CPU time not spent by gunicorn, PostgreSQL or us: other work on this machine.
        "other_cpu_s": round(
            busy / CLOCK_TICKS
            - (after["gunicorn"] - before["gunicorn"])
            - (after["postgres"] - before["postgres"])
            - (after["client"] - before["client"]),
            2,
        ),
        "per_op": per_op,
        **outcome["probe"],
        "tellers": args.tellers,
        "tablets": args.tablets,
        "duration_s": args.duration,
        "load_s": round(load_s, 2),
        "issue_rate": args.issue_rate,
        "server": args.server,
        "workers": args.workers,
        "auth": args.auth,
        "redis": bool(args.redis_url),
        **meta,
    }
    return result, per_op, errors


def _interrupt(_signum, _frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)  # stop gunicorn on `kill` as on Ctrl-C
    dbname = pg_params(args.database_url)["dbname"]
    if ensure_database(args.database_url):
        log(f"created database {dbname}")
    env = app_environment(args)
    password = secrets.token_urlsafe(18)
    setup = run_setup(args, env, password)
    server = Gunicorn(args, env, args.port or free_port())
    run = Run(args=args, base_url=server.base_url, password=password, services=setup["services"])
    # Hard cap on the whole run: whatever happens, the virtual users stop by then.
    watchdog = threading.Timer(args.duration + DRAIN_TIMEOUT_S + 120, run.abort.set)
    watchdog.daemon = True
    monitor = psycopg2.connect(**pg_params(args.database_url))
    monitor.autocommit = True

    postgres_pid = postmaster_pid(monitor)

    def snapshot() -> dict:
        return {
            "gunicorn": process_tree_cpu(server.process.pid),
            "postgres": process_tree_cpu(postgres_pid),
            "client": sum(os.times()[:2]),
            "machine": machine_cpu(),
            "commits": committed_transactions(monitor, dbname),
        }

    try:
        log(f"starting gunicorn on {server.base_url}: {' '.join(server.command[1:])}")
        server.start()
        server.wait_healthy()
        watchdog.start()
        outcome = run_load(run, setup, snapshot)
    except BaseException:
        log(f"gunicorn log ({server.log_file.name}), last lines:\n{server.log_tail()}")
        raise
    finally:
        watchdog.cancel()
        server.stop()
        monitor.close()
        log("gunicorn stopped")

    check = verify(
        args.database_url,
        setup["branch_id"],
        [tid for u in outcome["tablets"] for tid in u.issued],
        [tid for u in outcome["tellers"] for tid in u.called],
    )
    meta = {
        "postgres": server_version(args.database_url),
        "nproc": os.cpu_count(),
        "python": sys.version.split()[0],
    }
    result, per_op, errors = summarise(args, outcome, check, meta)
    print_summary(result, per_op, errors)
    print(json.dumps(result), flush=True)
    ok = (
        result["double_called"] == 0
        and result["lost"] == 0
        and result["errors"] == 0
        and result["drained"]
        and result["not_finished"] == 0
    )
    if ok:
        Path(server.log_file.name).unlink(missing_ok=True)
    else:
        log(f"kept gunicorn's log: {server.log_file.name}")
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        log("interrupted; gunicorn was stopped")
        sys.exit(130)
