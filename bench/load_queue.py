"""Queue load benchmark: tellers and issuing tablets against the app on PostgreSQL.

    .venv/bin/python bench/load_queue.py [--database-url postgres://postgres@127.0.0.1:5432/bf_bench]
        [--tellers 8] [--tablets 4] [--duration 20] [--issue-rate 20 | --closed-loop]
        [--server granian|gthread|asgi] [--workers 3] [--threads 2] [--nodes 1] [--branches 1]
        [--redis-url redis://127.0.0.1:6379/N] [--live | --no-live] [--port P]

It starts and stops everything it needs: creates the database if missing, migrates, sets up the
"bench" branches (bench/setup_bench.py), starts the web servers as production runs them
(default `--server granian`: `python -m config.serve`, Granian's WSGI workers with threads and
persistent database connections; `--server gthread` for gunicorn's threads with
config/gunicorn.py, the set-up before; `--server asgi` for the older uvicorn set-up), and,
with Redis, the live service (`gunicorn config.asgi:application -c config/gunicorn_live.py`), all
on 127.0.0.1; waits until they answer, runs the load, drains the queues, stops every server
(always, also on errors and Ctrl-C) and checks the database: no ticket called twice, none lost.
Prints a table, then ONE JSON line as the last line of stdout (progress goes to stderr). Exit
status 0 only if nothing was called twice or lost, no request failed and the queues drained.
docs/benchmarks.md has measured figures and how to read them; bench/README.md the options.

Load:

* `--branches N`: N branches, each with its own services, counters (numbering), tellers and
  lobby users. `--tellers` and `--tablets` are totals over all branches: tellers are spread
  evenly (at least one per branch, so `--tellers` is raised to N if smaller); each tablet thread
  serves the lobbies of every `--tablets`-th branch. Open loop: arrivals are Poisson, at
  `--issue-rate / N` per branch (`--arrivals steady` for a fixed schedule).
* `--closed-loop`: tablets issue as fast as responses come, keeping at most `--max-waiting`
  tickets per counter waiting in each branch (without a bound the queue, not the server, would
  be measured); "tickets completed/s" is then the maximum throughput.
* `--nodes K`: K web servers on different ports against the same PostgreSQL (and Redis); tellers
  and lobby users are spread over them round-robin.
* Tellers loop call-next / start / finish (`--teller-flow separate`, the default), or, with
  `--teller-flow combined`, press the counter screen's Next key: finish-and-call-next
  (POST /api/reception/tickets/<id>/finish-and-call-next/, one transaction) for the ticket they
  just started, then start the one it called. Their first call, and the call after a wait
  for work, are plain call-next. When call-next answers 204 (nobody waiting), or
  finish-and-call-next called nobody (its 200 then carries the same headers), the
  teller long-polls the `X-Queue-Wait` URL on the live service if the answer has one and the
  live service runs, else sleeps `Retry-After` seconds if given, else `--empty-backoff`.
  Tellers start at 50 a second (500 tellers over 10 s), not all in the same instant.
* Figures: tickets completed/s (finished during the load phase), requests/s, p50/p95/p99 per
  operation, CPU seconds of the web servers, the live service, this database's PostgreSQL
  backends (exact with persistent connections; under --server asgi only the whole server's
  figure sees the short-lived backends) and the load generator, CPU ms per request, RSS and
  PSS of every gunicorn master and worker, PostgreSQL connections.

Virtual users are signed in with sessions bench/setup_bench.py creates (the same rows /login/
writes), so 1000 users need no 1000 PBKDF2 logins; the session cookie and the CSRF header go
with every request as from the browser screens. With --auth basic every request sends HTTP
basic auth instead, which re-checks the password with PBKDF2 (about 0.3 s of CPU per request):
that measures the password hasher, not the queue.

With --redis-url the bench's Redis database is emptied first (FLUSHDB): sessions and users are
cached there by id, and another database's run must not leave entries behind. Give it a Redis
database of its own.
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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import psycopg2
from psycopg2 import sql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script, too

from bench.lean_http import HTTP_ERRORS, LeanClient
from bench.lean_http import Response as LeanResponse

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bf_bench"
API = "/api/queue"
RECEPTION_API = "/api/reception"  # the Next key (finish-and-call-next) is reception's
PRIORITY_MIX = (("regular", 7), ("vip", 2), ("care", 1))
LIVE_CONFIG = ROOT / "config" / "gunicorn_live.py"

# Bounds: the benchmark must never run away (count of users, time, rate, servers).
MAX_DURATION_S = 600
MAX_TELLERS = 1000  # threads; idle ones sleep or long-poll
MAX_TABLETS = 64
MAX_BRANCHES = 1000
MAX_NODES = 4
MAX_ISSUE_RATE = 1000
MAX_WAIT_S = 30  # longest Retry-After sleep / long poll we accept
DRAIN_TIMEOUT_S = 60
REQUEST_TIMEOUT_S = 15
LONG_POLL_TIMEOUT_S = 40
MAX_ERRORS_PER_USER = 50

# Rows of the latency table; "failed" holds the responses that were errors (any operation).
OPERATIONS = (
    "issue",
    "call",
    "call_empty",
    "start",
    "finish",
    # --teller-flow combined: finish-and-call-next that called someone / found nobody waiting
    "finish_call",
    "finish_call_empty",
    "failed",
)
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
    parser.add_argument("--tellers", type=int, default=8, help="tellers in all, one counter each")
    parser.add_argument("--tablets", type=int, default=4, help="ticket-issuing tablets in all")
    parser.add_argument("--branches", type=int, default=1, help="branches sharing the load")
    parser.add_argument("--duration", type=float, default=20, help="load phase, seconds")
    parser.add_argument(
        "--issue-rate", type=float, default=20, help="tickets/s issued by all tablets together"
    )
    parser.add_argument(
        "--arrivals",
        choices=("poisson", "steady"),
        default="poisson",
        help="open loop: Poisson arrivals per branch (default) or a fixed schedule",
    )
    parser.add_argument(
        "--closed-loop",
        action="store_true",
        help="tablets issue as fast as responses come (ignores --issue-rate): max throughput",
    )
    parser.add_argument(
        "--max-waiting",
        type=int,
        default=2,
        help="closed loop: tickets per counter a branch may have waiting (default 2)",
    )
    parser.add_argument(
        "--workers", type=int, default=3, help="gunicorn workers per node (production: cores + 1)"
    )
    parser.add_argument(
        "--client",
        choices=("lean", "httpx"),
        default="lean",
        help="the virtual users' HTTP client: lean (bench/lean_http.py, ~0.15 ms of CPU per"
        " request, default) or httpx (~0.6 ms; the generator shares the server's CPUs)",
    )
    parser.add_argument(
        "--server",
        choices=("granian", "gthread", "wsgi", "asgi"),
        default="granian",
        help="granian: Granian WSGI workers with threads, persistent DB connections, as in"
        " production (config/serve.py, default); gthread (or wsgi): gunicorn's gthread workers,"
        " the same otherwise (the set-up before); asgi: uvicorn workers, a DB connection per"
        " request (the set-up before that)",
    )
    parser.add_argument(
        "--threads", type=int, default=2, help="threads per wsgi worker (production: 2)"
    )
    parser.add_argument("--nodes", type=int, default=1, help="web servers (different ports)")
    parser.add_argument("--port", type=int, default=0, help="first node's port (default: free)")
    parser.add_argument("--redis-url", default="", help="REDIS_URL for the app (default: none)")
    parser.add_argument(
        "--live",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="start the live service (config/gunicorn_live.py) for idle tellers' long polls;"
        " default: on with --redis-url when config/gunicorn_live.py exists",
    )
    parser.add_argument("--live-workers", type=int, default=1, help="live service workers")
    parser.add_argument(
        "--empty-backoff",
        type=float,
        default=0.5,
        help="seconds a teller told 'nobody waiting' waits before calling again when the answer"
        " has neither X-Queue-Wait nor Retry-After (default 0.5)",
    )
    parser.add_argument(
        "--teller-flow",
        choices=("separate", "combined"),
        default="separate",
        help="separate: call-next, start, finish per customer (default); combined: the Next key,"
        " finish-and-call-next for the ticket just started, then start",
    )
    parser.add_argument("--auth", choices=("session", "basic"), default="session")
    parser.add_argument("--seed", type=int, default=1, help="random seed (services, priorities)")
    args = parser.parse_args(argv)
    if urlsplit(args.database_url).scheme not in ("postgres", "postgresql", "pgsql"):
        parser.error("--database-url must be a PostgreSQL URL")
    if not 0 < args.duration <= MAX_DURATION_S:
        parser.error(f"--duration must be in (0, {MAX_DURATION_S}]")
    if not 1 <= args.branches <= MAX_BRANCHES:
        parser.error(f"--branches must be in [1, {MAX_BRANCHES}]")
    if args.tellers < args.branches:
        log(f"--tellers raised from {args.tellers} to {args.branches}: one per branch at least")
        args.tellers = args.branches
    if not 1 <= args.tellers <= MAX_TELLERS:
        parser.error(f"--tellers must be in [1, {MAX_TELLERS}]")
    if not 1 <= args.tablets <= MAX_TABLETS:
        parser.error(f"--tablets must be in [1, {MAX_TABLETS}]")
    if not 0 < args.issue_rate <= MAX_ISSUE_RATE:
        parser.error(f"--issue-rate must be in (0, {MAX_ISSUE_RATE}]")
    if not 1 <= args.max_waiting <= 50:
        parser.error("--max-waiting must be in [1, 50]")
    if not 0.01 <= args.empty_backoff <= 10:
        parser.error("--empty-backoff must be in [0.01, 10]")
    if not 1 <= args.workers <= 16:
        parser.error("--workers must be in [1, 16]")
    if not 1 <= args.threads <= 64:
        parser.error("--threads must be in [1, 64]")
    if not 1 <= args.nodes <= MAX_NODES:
        parser.error(f"--nodes must be in [1, {MAX_NODES}]")
    if not 1 <= args.live_workers <= 8:
        parser.error("--live-workers must be in [1, 8]")
    if args.redis_url and urlsplit(args.redis_url).hostname not in ("127.0.0.1", "localhost"):
        parser.error("--redis-url must be on the loopback interface")
    if urlsplit(args.database_url).hostname not in ("127.0.0.1", "localhost", None):
        parser.error("--database-url must be on the loopback interface")
    if args.live is None:
        args.live = bool(args.redis_url) and LIVE_CONFIG.exists()
    if args.live and not LIVE_CONFIG.exists():
        parser.error("--live needs config/gunicorn_live.py")
    if args.live and not args.redis_url:
        parser.error("--live needs --redis-url (the live service relays Redis pub/sub)")
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


def flush_redis(redis_url: str) -> None:
    """Empty the bench's own Redis database: sessions and users are cached there by id."""
    import redis

    client = redis.Redis.from_url(redis_url, socket_connect_timeout=2)
    try:
        client.flushdb()
    finally:
        client.close()


# --- the app: environment, setup, gunicorn ----------------------------------------------------


def app_environment(args: argparse.Namespace) -> dict[str, str]:
    """Production settings (DEBUG off), plain HTTP on loopback, this database, no Redis unless
    asked. Settings the caller may have exported for development or tests are replaced."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "CELERY_", "GUNICORN_", "WEB_", "DB_CONN", "LIVE_"))
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
            "WEB_CONCURRENCY": str(getattr(args, "workers", 2)),
            # As docker-compose.yml runs the web service: nginx in front logs each request.
            "WEB_ACCESS_LOG": "0",
        }
    )
    # With a live service the app sends idle tellers there (X-Queue-Wait) and screens get
    # event streams; without one it must not advertise them.
    env["LIVE_SSE"] = "1" if getattr(args, "live", False) else "0"
    if getattr(args, "server", "asgi") == "asgi":
        # As the ASGI web service ran: every request runs in another thread, so persistent
        # connections would pile up until PostgreSQL refuses more.
        env["DB_CONN_MAX_AGE"] = "0"
    else:
        # Production's WSGI web service: gthread workers keep one connection per thread.
        env["DB_CONN_MAX_AGE"] = "600"
        env["WEB_THREADS"] = str(getattr(args, "threads", 4))
    return env


def live_environment(env: dict[str, str], args: argparse.Namespace) -> dict[str, str]:
    """The live service is ASGI: its request threads keep no connection (its event loop's worker
    threads keep theirs: queueing.broadcast.in_worker_thread)."""
    return {**env, "DB_CONN_MAX_AGE": "0", "WEB_CONCURRENCY": str(args.live_workers)}


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
            f"--branches={args.branches}",
            f"--tellers={args.tellers}",
            # At least one lobby user per branch, and one per tablet thread.
            f"--lobby={max(args.tablets, args.branches)}",
            *(["--sessions"] if args.auth == "session" else []),
        ],
        cwd=ROOT,
        env={**env, "BENCH_PASSWORD": password},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if setup.returncode != 0:
        raise RuntimeError(f"bench setup failed:\n{setup.stdout}\n{setup.stderr}")
    log(
        f"migrated and set up {args.branches} bench branch(es) in"
        f" {time.monotonic() - started:.1f} s"
    )
    return json.loads(setup.stdout.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """A server (gunicorn, uvicorn) in its own process group, so stopping it stops its workers
    too; its output goes to a temporary log file whose tail is shown when something fails."""

    def __init__(
        self, kind: str, command: list[str], env: dict[str, str], port: int, *, log_prefix: str
    ) -> None:
        self.kind, self.command, self.env, self.port = kind, command, env, port
        self.base_url = f"http://127.0.0.1:{port}"
        self.log_file = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in stop()
            prefix=f"{log_prefix}-{kind}-", suffix=".log", delete=False
        )
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

    def wait_ready(self, path: str, timeout: float = 60) -> None:
        """Until GET `path` answers 200 (a server that exits first is an error at once)."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"{self.kind} exited early:\n{self.log_tail()}")
            try:
                response = httpx.get(f"{self.base_url}{path}", timeout=10)
                if response.status_code == 200:
                    return
                last = f"HTTP {response.status_code}: {response.text[:300]}"
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(0.25)
        raise RuntimeError(
            f"{self.kind} not answering after {timeout:.0f} s ({last})\n{self.log_tail()}"
        )

    def workers(self) -> list[int]:
        return sorted(children_of(self.process.pid)) if self.process is not None else []

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


class Gunicorn(ServerProcess):
    """The application's server. kind "web": as args.server says (granian: config/serve.py, as
    production; gthread: gunicorn's threads; asgi: uvicorn workers, both with
    config/gunicorn.py); kind "live": the live service, config/gunicorn_live.py."""

    def __init__(
        self, args: argparse.Namespace, env: dict[str, str], port: int, *, kind: str = "web"
    ) -> None:
        if kind == "live":
            # The live service's own settings file chooses its worker class (ASGI).
            target = ["config.asgi:application", "-c", "config/gunicorn_live.py"]
            workers = args.live_workers
        elif args.server == "granian":
            # Production's web service, exactly as compose starts it (config/serve.py).
            command = [
                venv_bin("python"),
                "-m",
                "config.serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(args.workers),
                "--threads",
                str(args.threads),
            ]
            super().__init__(kind, command, env, port, log_prefix="bench-granian")
            return
        elif args.server == "asgi":
            target = [
                "config.asgi:application",
                "-c",
                "config/gunicorn.py",
                "-k",
                "uvicorn_worker.UvicornWorker",
            ]
            workers = args.workers
        else:
            # Explicit, so this holds whatever config/gunicorn.py's default worker class is.
            target = [
                "config.wsgi:application",
                "-c",
                "config/gunicorn.py",
                "--worker-class",
                "gthread",
                "--threads",
                str(args.threads),
            ]
            workers = args.workers
        # The production settings file (timeouts, keep-alive, access log, worker recycling);
        # the options after it override its bind address, worker count and class.
        command = [
            venv_bin("gunicorn"),
            *target,
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{port}",
        ]
        super().__init__(kind, command, env, port, log_prefix="bench-gunicorn")

    def wait_healthy(self, timeout: float = 60) -> None:
        """/healthz/ answers 200 (the live service has its own, config/live_urls.py)."""
        self.wait_ready("/healthz/", timeout)


# --- CPU and memory accounting (where the time goes) ------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()  # fields[0] is the state (field 3 of proc(5))


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            child = _stat_fields(int(entry.name))
            if child is not None and int(child[1]) == pid:
                found.append(int(entry.name))
    return found


def process_tree_cpu(root_pid: int) -> float:
    """CPU seconds (utime + stime) of a process, its reaped children, and its live children."""
    fields = _stat_fields(root_pid)
    if fields is None:
        return 0.0
    total = sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    for child in children_of(root_pid):
        child_fields = _stat_fields(child)
        if child_fields is not None:
            total += int(child_fields[11]) + int(child_fields[12])
    return total / CLOCK_TICKS


def process_cpu_ticks(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return None if fields is None else int(fields[11]) + int(fields[12])


def rss_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) in KiB; PSS counts pages shared with the master once, not per worker."""
    rss = pss = 0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def server_memory(server: Gunicorn) -> dict:
    """RSS and PSS of a gunicorn master and each of its workers, MiB."""
    if server.process is None:
        return {}
    master = server.process.pid
    m_rss, m_pss = rss_kb(master)
    workers = [rss_kb(pid) for pid in sorted(children_of(master))]
    return {
        "master_rss_mb": round(m_rss / 1024, 1),
        "worker_rss_mb": [round(r / 1024, 1) for r, _p in workers],
        "worker_pss_mb": [round(p / 1024, 1) for _r, p in workers],
        "total_rss_mb": round((m_rss + sum(r for r, _p in workers)) / 1024, 1),
        "total_pss_mb": round((m_pss + sum(p for _r, p in workers)) / 1024, 1),
    }


def postmaster_pid(monitor) -> int:
    """The PostgreSQL server's main process: the parent of our own backend."""
    fields = _stat_fields(monitor.get_backend_pid())
    if fields is None:
        raise RuntimeError("PostgreSQL does not run on this machine (no /proc entry)")
    return int(fields[1])


def database_backend_ticks(monitor, dbname: str) -> dict[int, int]:
    """CPU ticks of every backend connected to our database (except the monitor's own)."""
    with monitor.cursor() as cur:
        cur.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [dbname],
        )
        pids = [row[0] for row in cur.fetchall()]
    ticks = {}
    for pid in pids:
        value = process_cpu_ticks(pid)
        if value is not None:
            ticks[pid] = value
    return ticks


def backend_cpu_s(before: dict[int, int], after: dict[int, int]) -> float:
    """CPU of our database's backends between two snapshots. Exact for backends that live
    through the load (persistent connections); a backend that ended in between is missed."""
    return sum(ticks - before.get(pid, 0) for pid, ticks in after.items()) / CLOCK_TICKS


def _reference_work() -> int:
    total = 0
    for number in range(200_000):
        row = {"id": number, "code": str(number)}
        total += len(row["code"]) + row["id"] % 7
    return total


def machine_speed_ms() -> float:
    """CPU ms of a fixed piece of pure-Python work (dicts, strings, calls), best of three.

    Figures from different machines, or from one machine whose speed drifts (docs/benchmarks.md:
    ±20 % between identical runs), can only be compared with this beside them: measured before
    and after the load, it says how fast this machine was during the run."""
    best = math.inf
    for _ in range(3):
        start = time.process_time()
        _reference_work()
        best = min(best, time.process_time() - start)
    return round(best * 1000, 1)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


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


def database_connections(monitor, dbname: str) -> int:
    with monitor.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [dbname],
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
    branch: int = 0  # index into the setup's branches
    base_url: str = ""
    session: str = ""
    samples: list[Sample] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    issued: list[int] = field(default_factory=list)
    called: list[int] = field(default_factory=list)
    finished_at: list[float] = field(default_factory=list)
    waits: Tally = field(default_factory=Tally)  # how idle time was spent: long_poll, ...
    long_poll_ms: list[float] = field(default_factory=list)
    drained: bool = False


@dataclass
class Run:
    args: argparse.Namespace
    base_url: str
    password: str
    services: list[str]
    branch_services: list[list[str]] = field(default_factory=list)
    session_cookie: str = "sessionid"
    csrf_cookie: str = "csrftoken"
    live_url: str = ""
    stop_issuing: threading.Event = field(default_factory=threading.Event)
    abort: threading.Event = field(default_factory=threading.Event)
    tablets_done: threading.Event = field(default_factory=threading.Event)
    tablets_done_at: float | None = None  # set once every tablet has stopped
    drain_deadline: float = math.inf
    # Closed loop: tickets waiting per branch (issued, not yet called) and the bound.
    waiting: list[int] = field(default_factory=list)
    waiting_cap: list[int] = field(default_factory=list)
    waiting_changed: threading.Condition = field(default_factory=threading.Condition)
    wakes: list[threading.Event] = field(default_factory=list)
    live_client: Client | None = None


Client = LeanClient | httpx.Client


def make_client(run: Run, username: str, *, base_url: str = "", session: str = "") -> Client:
    """One HTTP client (its own connection and cookies) per virtual user: bench/lean_http.py's
    (~0.15 ms of CPU per request) unless --client httpx (~0.6 ms: the generator shares the
    server's CPUs, so its cost is taken from the server's)."""
    auth = (username, run.password) if run.args.auth == "basic" else None
    if getattr(run.args, "client", "lean") == "lean":
        client: Client = LeanClient(base_url or run.base_url, timeout=REQUEST_TIMEOUT_S, auth=auth)
    else:
        client = httpx.Client(
            base_url=base_url or run.base_url,
            timeout=REQUEST_TIMEOUT_S,
            auth=auth,
            follow_redirects=False,
            # Below the server's keep-alive, so we never reuse a connection it is closing.
            limits=httpx.Limits(max_connections=2, keepalive_expiry=4),
        )
    if run.args.auth == "session":
        if session:
            # The session bench/setup_bench.py created; our own CSRF cookie (any 32
            # letters/digits will do) and the same value in the header, as the screens send.
            token = secrets.token_hex(16)
            client.cookies[run.session_cookie] = session
            client.cookies[run.csrf_cookie] = token
            client.headers["X-CSRFToken"] = token
        else:
            login(client, username, run.password)
    return client


def login(client: Client, username: str, password: str) -> None:
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


def timed_post(client: Client, user: VirtualUser, op: str, url: str, **kwargs):
    sent = time.monotonic()
    try:
        response = client.post(url, **kwargs)
    except (httpx.HTTPError, *HTTP_ERRORS) as exc:
        user.errors.append(f"{op}: {type(exc).__name__}")
        return None, sent
    user.samples.append(Sample(op, sent, (time.monotonic() - sent) * 1000))
    return response, sent


def record_error(user: VirtualUser, op: str, response: httpx.Response | LeanResponse) -> None:
    user.errors.append(f"{op}: HTTP {response.status_code} {response.text[:200]}")


@dataclass
class Desk:
    """A lobby user's tablet at one branch; a tablet thread may serve several branches."""

    user: VirtualUser
    client: Client
    branch: int


def tablet(run: Run, desks: list[Desk], index: int, start: float) -> None:
    rng = random.Random(run.args.seed * 1000 + index)
    priorities = [name for name, _weight in PRIORITY_MIX]
    weights = [weight for _name, weight in PRIORITY_MIX]
    rate = run.args.issue_rate / run.args.tablets  # this thread's share of the arrivals
    if run.args.arrivals == "poisson":
        next_at = start + rng.expovariate(rate)
    else:
        next_at = start + index / run.args.issue_rate  # stagger the tablets
    turn = 0
    while not run.stop_issuing.is_set() and not run.abort.is_set():
        if run.args.closed_loop:
            desk = _desk_with_room(run, desks, turn)
            turn += 1
            if desk is None:
                continue
        else:
            delay = next_at - time.monotonic()
            if delay > 0:
                run.stop_issuing.wait(delay)
                continue
            # Poisson per branch: this thread's Poisson stream, split at random over its
            # branches, is a Poisson stream at rate/len(desks) for each.
            desk = desks[rng.randrange(len(desks))] if len(desks) > 1 else desks[0]
            # An open schedule: when a request was slow the tablet catches up, it does not skip.
            next_at += rng.expovariate(rate) if run.args.arrivals == "poisson" else 1 / rate
        services = run.branch_services[desk.branch]
        body = {"service": rng.choice(services), "priority": rng.choices(priorities, weights)[0]}
        user = desk.user
        response, _sent = timed_post(desk.client, user, "issue", f"{API}/tickets/", json=body)
        if response is not None and response.status_code == 201:
            user.issued.append(response.json()["id"])
        else:
            if response is not None:
                user.samples[-1].op = "failed"
                record_error(user, "issue", response)
            if run.args.closed_loop:
                with run.waiting_changed:
                    run.waiting[desk.branch] -= 1
            else:
                time.sleep(0.05)
        if len(user.errors) > MAX_ERRORS_PER_USER:
            return


def _desk_with_room(run: Run, desks: list[Desk], turn: int) -> Desk | None:
    """Closed loop: the next of our branches with room in its queue (reserved), or None after
    waiting a little for a teller to call someone."""
    with run.waiting_changed:
        for k in range(len(desks)):
            desk = desks[(turn + k) % len(desks)]
            if run.waiting[desk.branch] < run.waiting_cap[desk.branch]:
                run.waiting[desk.branch] += 1
                return desk
        run.waiting_changed.wait(0.05)
    return None


def teller(
    run: Run, user: VirtualUser, client: Client, counter_id: int, wake: threading.Event
) -> None:
    """One teller's loop, as --teller-flow says: separate (call-next, start, finish: the
    issue's life cycle) or combined (the counter screen's Next key: finish-and-call-next for the
    ticket just started, then start; plain call-next only for the first call and after nobody
    was waiting)."""
    # Hundreds of tellers do not all press "call next" in the same second: their first calls
    # are spread at 50 a second (at most 10 s), not to measure an artificial burst.
    stagger = min(10.0, run.args.tellers / 50)
    if stagger >= 0.05:
        run.abort.wait(random.Random(counter_id).uniform(0, stagger))
    combined = run.args.teller_flow == "combined"
    serving: int | None = None  # combined: the ticket started here, finished by the next call
    while not run.abort.is_set() and time.monotonic() < run.drain_deadline:
        if serving is not None:
            serving, idle = finish_and_call_next(run, user, client, serving)
            if idle is not None:  # nobody was waiting: wait as call-next's 204 says
                response, sent = idle
                if run.tablets_done_at is not None and sent > run.tablets_done_at:
                    user.drained = True  # drained, as a 204 after the tablets stopped
                    return
                wait_for_work(run, user, response, wake)
            if len(user.errors) > MAX_ERRORS_PER_USER:
                return
            continue
        response, sent = timed_post(client, user, "call", f"{API}/counters/{counter_id}/call-next/")
        if response is None:
            time.sleep(run.args.empty_backoff)
        elif response.status_code == 204:
            user.samples[-1].op = "call_empty"
            # Drained: nobody was waiting although every tablet had stopped before we asked.
            if run.tablets_done_at is not None and sent > run.tablets_done_at:
                user.drained = True
                return
            wait_for_work(run, user, response, wake)
        elif response.status_code == 200:
            ticket_id = _called(run, user, response.json())
            started = start_ticket(user, client, ticket_id)
            if not combined:
                finish_ticket(user, client, ticket_id)
            elif started:
                serving = ticket_id  # finished by the next press of the Next key
        else:
            user.samples[-1].op = "failed"
            record_error(user, "call", response)
            time.sleep(run.args.empty_backoff)
        if len(user.errors) > MAX_ERRORS_PER_USER:
            return


def _called(run: Run, user: VirtualUser, ticket: dict) -> int:
    """Record a ticket called to this teller; in the closed loop it leaves the waiting count."""
    user.called.append(ticket["id"])
    if run.args.closed_loop:
        with run.waiting_changed:
            run.waiting[user.branch] -= 1
            run.waiting_changed.notify_all()
    return ticket["id"]


def start_ticket(user: VirtualUser, client: Client, ticket_id: int) -> bool:
    step, _sent = timed_post(client, user, "start", f"{API}/tickets/{ticket_id}/start/")
    if step is not None and step.status_code != 200:
        user.samples[-1].op = "failed"
        record_error(user, "start", step)
    return step is not None and step.status_code == 200


def finish_ticket(user: VirtualUser, client: Client, ticket_id: int) -> None:
    # Finishing takes the counter's checklist, as at the counter screen.
    step, _sent = timed_post(
        client, user, "finish", f"{API}/tickets/{ticket_id}/finish/", json=FINISH_CHECKLIST
    )
    if step is not None and step.status_code != 200:
        user.samples[-1].op = "failed"
        record_error(user, "finish", step)
    elif step is not None:
        user.finished_at.append(time.monotonic())


def finish_and_call_next(
    run: Run, user: VirtualUser, client: Client, ticket_id: int
) -> tuple[int | None, tuple[httpx.Response | LeanResponse, float] | None]:
    """The Next key: finish `ticket_id` and call the next customer in one request; start the
    one called. Returns the ticket now being served here (None: nobody, or a failure), and,
    when nobody was waiting, the answer (with call-next's Retry-After / X-Queue-Wait headers)
    and when it was sent: the teller waits as told, then calls plainly."""
    url = f"{RECEPTION_API}/tickets/{ticket_id}/finish-and-call-next/"
    response, sent = timed_post(client, user, "finish_call", url, json=FINISH_CHECKLIST)
    if response is None or response.status_code != 200:
        if response is not None:
            user.samples[-1].op = "failed"
            record_error(user, "finish_call", response)
        # Whatever happened, the customer must not stay at the counter: the plain finish.
        finish_ticket(user, client, ticket_id)
        return None, None
    user.finished_at.append(time.monotonic())
    called = response.json()["called"]
    if called is None:
        user.samples[-1].op = "finish_call_empty"
        return None, (response, sent)
    next_id = _called(run, user, called)
    return (next_id if start_ticket(user, client, next_id) else None), None


def _seconds(value: str | None) -> float | None:
    try:
        return min(max(float(value), 0.0), MAX_WAIT_S) if value is not None else None
    except ValueError:
        return None


def wait_for_work(
    run: Run, user: VirtualUser, response: httpx.Response | LeanResponse, wake
) -> None:
    """Nobody waiting: long-poll the live service where the API points to it, else sleep
    Retry-After, else --empty-backoff. Every wait ends at once when the tablets stop (the
    drain), so a teller never sits in a 25 s poll while the run is ending."""
    wait_path = response.headers.get("X-Queue-Wait")
    retry_after = _seconds(response.headers.get("Retry-After"))
    if wait_path and run.live_client is not None:
        after = parse_qs(urlsplit(wait_path).query).get("after", [""])[0]
        while True:
            user.waits["long_poll"] += 1
            answer = long_poll(run, user, wait_path, wake)
            if answer is None:
                return  # the tablets stopped: call again at once
            if answer.status_code != 200:
                user.errors.append(f"live wait: HTTP {answer.status_code} {answer.text[:200]}")
                time.sleep(run.args.empty_backoff)
                return
            # The live service could not hold the request (Redis down, WSGI): it says how long.
            held = _seconds(answer.headers.get("Retry-After"))
            if held:
                run.tablets_done.wait(held)
                return
            # The poll ran out with nothing new ({"v": after}): wait again, do not call.
            if str(answer.json().get("v")) != after:
                return
    if retry_after is not None:
        user.waits["retry_after"] += 1
        run.tablets_done.wait(retry_after)
        return
    user.waits["backoff"] += 1
    run.tablets_done.wait(run.args.empty_backoff)


def long_poll(run: Run, user: VirtualUser, path: str, wake: threading.Event):
    """GET the wait URL on the live service in a helper thread; None if the drain came first."""
    if not path.startswith("/"):  # an absolute URL: keep its path, ask our live service
        parts = urlsplit(path)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
    wake.clear()
    if run.tablets_done.is_set():
        return None
    holder: dict = {}

    def get() -> None:
        sent = time.monotonic()
        try:
            holder["response"] = run.live_client.get(path)
            user.long_poll_ms.append((time.monotonic() - sent) * 1000)
        except Exception as exc:  # the client may be closed under us at the end of the run
            holder["error"] = exc
        finally:
            wake.set()

    threading.Thread(target=get, daemon=True).start()
    wake.wait(LONG_POLL_TIMEOUT_S + 5)
    if "response" in holder:
        return holder["response"]
    if "error" in holder and not run.tablets_done.is_set():
        user.errors.append(f"live wait: {type(holder['error']).__name__}")
        time.sleep(run.args.empty_backoff)
    return None


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


def verify(
    database_url: str, branch_id: int | list[int], issued: list[int], called: list[int]
) -> dict:
    """Check the database after the run: every issued ticket is there and was called once."""
    branch_ids = branch_id if isinstance(branch_id, list) else [branch_id]
    with psycopg2.connect(**pg_params(database_url)) as conn, conn.cursor() as cur:
        cur.execute(
            """
            SELECT t.id, t.status,
                   (SELECT count(*) FROM queueing_ticketevent e
                     WHERE e.ticket_id = t.id AND e.action = 'call')
              FROM queueing_ticket t
             WHERE t.branch_id = ANY(%s)
            """,
            [branch_ids],
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
    load = (
        "closed loop"
        if a["closed_loop"]
        else f"{a['arrivals']} arrivals at {a['issue_rate']:g} tickets/s"
    )
    print(
        f"Queue load: {a['tellers']} tellers, {a['tablets']} tablets, {a['branches']} branch(es),"
        f" {load}, {a['duration_s']:g} s; {a['nodes']} node(s) x {a['server']}"
        f" {a['workers']} workers"
        + (f" x {a['threads']} threads" if a["server"] != "asgi" else "")
        + f"; live service: {'yes' if a['live'] else 'no'}; PostgreSQL {a['postgres']};"
        f" Redis: {'yes' if a['redis'] else 'none'}; auth: {a['auth']};"
        f" teller flow: {a['teller_flow']}; load generator's client: {a['client']}"
    )
    print()
    print(f"{'operation':<18}{'count':>8}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}{'max ms':>10}")
    for op, row in per_op.items():
        print(
            f"{op:<18}{row['count']:>8}{row['p50_ms']:>10.1f}{row['p95_ms']:>10.1f}"
            f"{row['p99_ms']:>10.1f}{row['max_ms']:>10.1f}"
        )
    print()
    target = "closed loop" if a["closed_loop"] else f"target {a['issue_rate']:g}"
    print(f"tickets completed/s {a['completed_per_s']:.1f}   (finished in the load phase)")
    print(f"tickets issued/s    {a['issued_per_s']:.1f}   ({target})")
    print(f"calls/s             {a['calls_per_s']:.1f}")
    print(f"requests/s          {a['requests_per_s']:.1f}   (web API, load phase)")
    print(f"DB commits/s        {a['db_commits_per_s']:.1f}")
    cpu = a["cpu_s"]
    print(
        f"CPU during load     web {cpu['web']:.1f} s, live {cpu['live']:.1f} s, PostgreSQL"
        f" {cpu['postgres_db']:.1f} s (this database's backends; whole server"
        f" {cpu['postgres_server']:.1f} s), load generator {cpu['client']:.1f} s"
        f" (of {a['nproc']} CPUs x {a['load_s']:.1f} s; machine {a['machine_busy_pct']:.0f}%"
        f" busy, other processes {a['other_cpu_s']:.1f} s)"
    )
    print(
        f"CPU per request     {a['cpu_ms_per_request']:.2f} ms (web {a['web_cpu_ms_per_request']:.2f}"
        f" + PostgreSQL {a['pg_cpu_ms_per_request']:.2f}, {a['pg_cpu_basis']})"
    )
    memory = a["memory"]
    for name, row in memory.items():
        if not row:
            continue
        print(
            f"memory {name:<12} RSS master {row['master_rss_mb']:.0f} MiB, workers"
            f" {', '.join(f'{v:.0f}' for v in row['worker_rss_mb'])} MiB (PSS"
            f" {', '.join(f'{v:.0f}' for v in row['worker_pss_mb'])}); total RSS"
            f" {row['total_rss_mb']:.0f} MiB, PSS {row['total_pss_mb']:.0f} MiB"
        )
    print(f"DB connections      {a['db_connections']} (this database, end of load)")
    if "machine_speed_ms" in a:
        before, after = a["machine_speed_ms"]
        print(
            f"machine             {a['cpu_model'] or 'CPU model unknown'}; reference work"
            f" {before:.0f} ms before the load, {after:.0f} ms after (lower is faster)"
        )
    print(f"idle tellers        {a['idle_waits']}")
    print(
        f"drain               {'complete' if a['drained'] else 'INCOMPLETE'}"
        f" in {a['drain_s']:.1f} s; tickets by status: {a['statuses']}"
    )
    print(
        f"correctness         called twice: {a['double_called']}, lost: {a['lost']},"
        f" request errors: {a['errors']}"
    )
    for line in errors[:10]:
        print(f"  error: {line}")
    print()


# --- main -------------------------------------------------------------------------------------


def run_load(run: Run, setup: dict, snapshot, web_urls: list[str]) -> dict:
    """Open the counters, run tablets and tellers for --duration, then drain."""
    args = run.args
    branches = setup["branches"]
    tellers: list[tuple[VirtualUser, int]] = []
    lobby: list[VirtualUser] = []
    for index, branch in enumerate(branches):
        for entry in branch["tellers"]:
            tellers.append(
                (
                    VirtualUser(entry["username"], index, session=entry.get("session", "")),
                    entry["counter_id"],
                )
            )
        for entry in branch["lobby"]:
            lobby.append(VirtualUser(entry["username"], index, session=entry.get("session", "")))
    # Round-robin over the web servers (nodes).
    for i, (user, _counter) in enumerate(tellers):
        user.base_url = web_urls[i % len(web_urls)]
    for i, user in enumerate(lobby):
        user.base_url = web_urls[i % len(web_urls)]
    run.waiting = [0] * len(branches)
    run.waiting_cap = [args.max_waiting * len(b["tellers"]) for b in branches]
    clients: dict[str, Client] = {}
    pool = ThreadPoolExecutor(max_workers=8)
    try:
        log(f"signing in {len(tellers) + len(lobby)} virtual users ({args.auth} auth)")
        for user in [t for t, _c in tellers] + lobby:
            clients[user.name] = make_client(
                run, user.name, base_url=user.base_url, session=user.session
            )

        def open_counter(pair: tuple[VirtualUser, int]) -> None:
            user, counter_id = pair
            response = clients[user.name].post(f"{API}/counters/{counter_id}/open/")
            if response.status_code != 200:
                raise RuntimeError(
                    f"opening counter {counter_id}: HTTP {response.status_code}"
                    f" {response.text[:200]}"
                )

        list(pool.map(open_counter, tellers))

        def warm_up(user: VirtualUser, counter_id: int | None = None) -> None:
            # Signed-in screens have read their branch before its first ticket of the day
            # (session, user, memberships, the branch's set-up and queue version in the shared
            # cache): without this, at 500 branches most of a 30 s run's requests were some
            # user's or branch's first, and measured the cold path. A teller's idle call-next
            # (nobody waits yet) reads all of it, as a counter screen does when it opens.
            client = clients[user.name]
            if counter_id is None:
                response = client.get(f"{API}/services/")
            else:
                response = client.post(f"{API}/counters/{counter_id}/call-next/")
            expected = 200 if counter_id is None else 204  # nobody is waiting yet
            if response.status_code != expected:
                raise RuntimeError(f"{user.name}: warm-up: HTTP {response.status_code}")

        list(pool.map(lambda pair: warm_up(*pair), tellers))
        list(pool.map(warm_up, lobby))
        probe = auth_probe(run, clients, tellers[0][0])
        if run.args.live:
            run.live_client = httpx.Client(
                base_url=run.live_url,
                timeout=LONG_POLL_TIMEOUT_S,
                limits=httpx.Limits(
                    max_connections=len(tellers) * 2, max_keepalive_connections=len(tellers)
                ),
            )
        desks_of: list[list[Desk]] = [[] for _ in range(args.tablets)]
        for j, user in enumerate(lobby):
            desks_of[j % args.tablets].append(Desk(user, clients[user.name], user.branch))
        run.wakes = [threading.Event() for _ in tellers]

        before = snapshot()
        start = time.monotonic()
        log(f"load for {args.duration:g} s")
        tablet_threads = [
            threading.Thread(target=tablet, args=(run, desks, i, start), daemon=True)
            for i, desks in enumerate(desks_of)
        ]
        teller_threads = [
            threading.Thread(
                target=teller,
                args=(run, user, clients[user.name], counter_id, run.wakes[i]),
                daemon=True,
            )
            for i, (user, counter_id) in enumerate(tellers)
        ]
        for thread in tablet_threads:
            thread.start()
        if args.closed_loop:
            # Let the tablets fill the queues first: a teller that finds nobody waiting at the
            # start would otherwise sleep Retry-After (5 s) without a live service.
            ramp_end = time.monotonic() + 2
            while sum(run.waiting) < sum(run.waiting_cap) and time.monotonic() < ramp_end:
                time.sleep(0.01)
        for thread in teller_threads:
            thread.start()
        run.stop_issuing.wait(args.duration)
        run.stop_issuing.set()
        load_end = time.monotonic()
        after = snapshot()
        for thread in tablet_threads:
            thread.join(timeout=REQUEST_TIMEOUT_S + 5)
        run.tablets_done_at = time.monotonic()
        run.drain_deadline = run.tablets_done_at + DRAIN_TIMEOUT_S
        run.tablets_done.set()
        for wake in run.wakes:
            wake.set()
        log("draining the queue")
        for thread in teller_threads:
            thread.join(timeout=max(0.1, run.drain_deadline + REQUEST_TIMEOUT_S - time.monotonic()))
        drain_s = time.monotonic() - run.tablets_done_at
    finally:
        run.abort.set()
        run.stop_issuing.set()
        run.tablets_done.set()
        pool.shutdown(wait=False)
        for client in clients.values():
            client.close()
        if run.live_client is not None:
            run.live_client.close()
    return {
        "tellers": [user for user, _counter in tellers],
        "tablets": lobby,
        "start": start,
        "load_end": load_end,
        "drain_s": drain_s,
        "before": before,
        "after": after,
        "probe": probe,
    }


def auth_probe(run: Run, clients: dict[str, Client], user: VirtualUser) -> dict:
    """Median of three authenticated reads: with the session, and with basic auth (PBKDF2)."""
    probe = {}

    def median_ms(client: Client) -> float:
        times = []
        for _ in range(3):
            sent = time.monotonic()
            response = client.get(f"{API}/services/")
            times.append((time.monotonic() - sent) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"GET services/: HTTP {response.status_code}")
        return round(sorted(times)[1], 1)

    if run.args.auth == "session":
        probe["session_read_ms"] = median_ms(clients[user.name])
    with httpx.Client(
        base_url=user.base_url, timeout=REQUEST_TIMEOUT_S, auth=(user.name, run.password)
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
    completed = sum(
        1 for u in outcome["tellers"] for at in u.finished_at if at < outcome["load_end"]
    )
    errors = [e for u in users for e in u.errors]
    drained = all(u.drained for u in outcome["tellers"])
    double_called = len(set(check["called_twice_db"]) | set(check["called_twice_client"]))
    # Still waiting after every teller was told "nobody waiting": lost. If the drain timed out,
    # they are a backlog instead (drained: false).
    lost = len(check["missing"]) + (len(check["still_waiting"]) if drained else 0)
    before, after = outcome["before"], outcome["after"]
    busy = after["machine"][0] - before["machine"][0]
    total = after["machine"][1] - before["machine"][1]
    web_s = after["web"] - before["web"]
    live_s = after["live"] - before["live"]
    server_s = after["postgres"] - before["postgres"]
    db_s = backend_cpu_s(before["backends"], after["backends"])
    client_s = after["client"] - before["client"]
    requests = len(in_load)
    # Persistent connections (wsgi): our database's backends live through the load, so their
    # CPU is exact and excludes other databases' work on a shared server. Under asgi every
    # request has its own short-lived backend: only the whole server's figure sees them.
    pg_basis = "this database's backends" if args.server != "asgi" else "whole server"
    pg_s = db_s if args.server != "asgi" else server_s
    waits = Tally()
    long_polls = []
    for u in outcome["tellers"]:
        waits.update(u.waits)
        long_polls.extend(u.long_poll_ms)
    result = {
        "completed_per_s": round(completed / load_s, 2),
        "issued_per_s": round(len(issued) / load_s, 2),
        # Combined flow: most calls are made by finish-and-call-next.
        "calls_per_s": round(
            (per_op["call"]["count"] + per_op["finish_call"]["count"]) / load_s, 2
        ),
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
        "completed_in_load": completed,
        "backlog": 0 if drained else len(check["still_waiting"]),
        "not_finished": check["not_finished"],
        "unacknowledged": check["unacknowledged"],
        "statuses": check["statuses"],
        "requests_per_s": round(requests / load_s, 2),
        "db_commits_per_s": round((after["commits"] - before["commits"]) / load_s, 1),
        "cpu_s": {
            "web": round(web_s, 2),
            "live": round(live_s, 2),
            "postgres_db": round(db_s, 2),
            "postgres_server": round(server_s, 2),
            "client": round(client_s, 2),
            # Kept under its old name for older readers of the JSON line.
            "gunicorn": round(web_s + live_s, 2),
            "postgres": round(server_s, 2),
        },
        "cpu_ms_per_request": round(1000 * (web_s + pg_s) / requests, 2) if requests else 0.0,
        "web_cpu_ms_per_request": round(1000 * web_s / requests, 2) if requests else 0.0,
        "pg_cpu_ms_per_request": round(1000 * pg_s / requests, 2) if requests else 0.0,
        "pg_cpu_basis": pg_basis,
        "cpu_ms_per_ticket": round(1000 * (web_s + live_s + pg_s) / completed, 2)
        if completed
        else 0.0,
        "machine_busy_pct": round(100 * busy / total, 1) if total else 0.0,
        # Busy CPU time not spent by the servers, PostgreSQL or us: other work on this machine.
        "other_cpu_s": round(busy / CLOCK_TICKS - web_s - live_s - server_s - client_s, 2),
        "memory": after["memory"],
        "db_connections": after["connections"],
        "idle_waits": dict(waits),
        "long_poll": latency_row(long_polls),
        "per_op": per_op,
        **outcome["probe"],
        "tellers": args.tellers,
        "tablets": args.tablets,
        "branches": args.branches,
        "nodes": args.nodes,
        "closed_loop": args.closed_loop,
        "teller_flow": args.teller_flow,
        "arrivals": args.arrivals,
        "duration_s": args.duration,
        "load_s": round(load_s, 2),
        "issue_rate": args.issue_rate,
        "server": args.server,
        "client": args.client,
        "workers": args.workers,
        "threads": args.threads,
        "live": bool(args.live),
        "auth": args.auth,
        "redis": bool(args.redis_url),
        **meta,
    }
    return result, per_op, errors


def _interrupt(_signum, _frame) -> None:
    raise KeyboardInterrupt


def raise_open_file_limit() -> None:
    """Every teller holds a connection to a web server and, while idle, one to the live
    service: 500 tellers need more than the usual soft limit of 1,024 descriptors."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError) as exc:
            log(f"could not raise the open-file limit from {soft}: {exc}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    raise_open_file_limit()
    signal.signal(signal.SIGTERM, _interrupt)  # stop gunicorn on `kill` as on Ctrl-C
    dbname = pg_params(args.database_url)["dbname"]
    if ensure_database(args.database_url):
        log(f"created database {dbname}")
    if args.redis_url:
        flush_redis(args.redis_url)
    env = app_environment(args)
    password = secrets.token_urlsafe(18)
    setup = run_setup(args, env, password)
    first_port = args.port or free_port()
    servers = [Gunicorn(args, env, first_port)]
    for _node in range(1, args.nodes):
        servers.append(Gunicorn(args, env, free_port()))
    live = (
        Gunicorn(args, live_environment(env, args), free_port(), kind="live") if args.live else None
    )
    run = Run(
        args=args,
        base_url=servers[0].base_url,
        password=password,
        services=setup["services"],
        branch_services=[b["services"] for b in setup["branches"]],
        session_cookie=setup.get("session_cookie", "sessionid"),
        csrf_cookie=setup.get("csrf_cookie", "csrftoken"),
        live_url=live.base_url if live else "",
    )
    # Hard cap on the whole run: whatever happens, the virtual users stop by then.
    watchdog = threading.Timer(args.duration + DRAIN_TIMEOUT_S + 120, run.abort.set)
    watchdog.daemon = True
    monitor = psycopg2.connect(**pg_params(args.database_url))
    monitor.autocommit = True
    postgres_pid = postmaster_pid(monitor)
    everything = servers + ([live] if live else [])

    def snapshot() -> dict:
        return {
            "web": sum(process_tree_cpu(s.process.pid) for s in servers),
            "live": process_tree_cpu(live.process.pid) if live else 0.0,
            "postgres": process_tree_cpu(postgres_pid),
            "backends": database_backend_ticks(monitor, dbname),
            "client": sum(os.times()[:2]),
            "machine": machine_cpu(),
            "commits": committed_transactions(monitor, dbname),
            "connections": database_connections(monitor, dbname),
            "memory": {
                **{f"node{i + 1}": server_memory(s) for i, s in enumerate(servers)},
                **({"live": server_memory(live)} if live else {}),
            },
        }

    speed_before = machine_speed_ms()
    try:
        for server in everything:
            log(f"starting {server.kind} on {server.base_url}: {' '.join(server.command[1:])}")
            server.start()
        for server in everything:
            server.wait_healthy()
        watchdog.start()
        outcome = run_load(run, setup, snapshot, [s.base_url for s in servers])
    except BaseException:
        for server in everything:
            log(f"{server.kind} log ({server.log_file.name}), last lines:\n{server.log_tail()}")
        raise
    finally:
        watchdog.cancel()
        for server in everything:
            server.stop()
        monitor.close()
        log("gunicorn stopped")

    check = verify(
        args.database_url,
        [b["branch_id"] for b in setup["branches"]],
        [tid for u in outcome["tablets"] for tid in u.issued],
        [tid for u in outcome["tellers"] for tid in u.called],
    )
    meta = {
        "postgres": server_version(args.database_url),
        "cpu_model": cpu_model(),
        # The same work before and after the load: how fast the machine was (lower is faster).
        "machine_speed_ms": [speed_before, machine_speed_ms()],
        "nproc": os.cpu_count(),
        "python": sys.version.split()[0],
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
    }
    result, per_op, errors = summarise(args, outcome, check, meta)
    total_memory = sum(row.get("total_rss_mb", 0) for row in result["memory"].values())
    result["memory_total_rss_mb"] = round(total_memory, 1)
    print_summary(result, per_op, errors)
    print(json.dumps(result), flush=True)
    ok = (
        result["double_called"] == 0
        and result["lost"] == 0
        and result["errors"] == 0
        and result["drained"]
        and result["not_finished"] == 0
    )
    for server in everything:
        if ok:
            Path(server.log_file.name).unlink(missing_ok=True)
        else:
            log(f"kept {server.kind}'s log: {server.log_file.name}")
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        log("interrupted; gunicorn was stopped")
        sys.exit(130)
