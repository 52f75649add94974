"""Live screens benchmark: N boards and phones follow a branch while a teller calls every 2 s.

    .venv/bin/python bench/live_screens.py [--screens 200] [--duration 30] [--mode sse|poll]
        [--nodes 1|2] [--boards 0.5] [--database-url postgres://postgres@127.0.0.1:5432/bf_live_bench]
        [--redis-url redis://127.0.0.1:6379/10]

It starts and stops everything it needs, as production runs it: the WSGI web service (Granian,
config/serve.py) and the ASGI live service (uvicorn, config/gunicorn_live.py) on
127.0.0.1 — per node with --nodes 2, both nodes sharing PostgreSQL and Redis. The database is
created if missing and migrated; the bench branch comes from bench/setup_bench.py.

Screens are simulated as live.js behaves, with raw asyncio sockets (hundreds cost little):

* sse: each screen holds an event stream on the live service, with the token its page mints
  (a board token for boards, its ticket's token for phones), and does what board.js and
  ticket-status.js do with each event: a board shows the state the event carries; a phone puts
  the place and wait it carries in place, or fetches its card at once on `refetch`. An event
  without a payload fetches the fragment (board state, or its ticket's status, with ?v=) from
  the web service, coalescing versions that arrive meanwhile; phones then wait 0-400 ms first.
* poll (Redis down): the app runs with REDIS_URL on a closed loopback port; screens poll the
  version URL every second and fetch on a change.

A teller (the API, session login) calls the next ticket every --call-every seconds, then starts
and finishes it and a tablet issues a new one, so the queue never empties. Per call and screen:
*seen* = call sent → the screen receives a newer version; *shown* = call sent → the state shown
after it arrived, from the event or from a fetch (a board's must show the called code). A phone
whose ticket has left the queue (its stream said `refetch`) counts no more calls after that one:
its page shows the counter, then the end, and stops following. With --nodes 2 the screens use
node B and the teller node A.

Prints a table, then ONE JSON line as the last line of stdout (progress on stderr). Exit status
0 only if there were no errors (non-2xx, failed connections, dropped streams).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import re
import resource
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psycopg2

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.load_queue import (  # the same database, server and statistics helpers
    FINISH_CHECKLIST,
    ensure_database,
    free_port,
    percentile,
    pg_params,
    venv_bin,
)
from bench.load_queue import (
    ServerProcess as Server,
)

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bf_live_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/10"
DEAD_REDIS_URL = "redis://127.0.0.1:1/0"  # a closed loopback port: "Redis is down"
API = "/api/queue"
MAX_SCREENS = 5000
MAX_DURATION_S = 300
REQUEST_TIMEOUT_S = 15
PHONE_JITTER_S = 0.4  # ticket-status.js spreads phones' re-reads over 0-400 ms
POLL_S = 1.0  # live.js's version polling period
HERO = re.compile(rb'class="hero-code">([A-Z0-9]+)<')


def log(message: str) -> None:
    print(f"[live-bench] {message}", file=sys.stderr, flush=True)


def loopback(url: str) -> bool:
    return urlsplit(url).hostname in ("127.0.0.1", "localhost", None)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--screens", type=int, default=50, help="open screens (boards + phones)")
    parser.add_argument(
        "--boards", type=float, default=0.5, help="share of screens that are boards"
    )
    parser.add_argument("--duration", type=float, default=20, help="calling phase, seconds")
    parser.add_argument("--call-every", type=float, default=2.0, help="seconds between calls")
    parser.add_argument("--mode", choices=("sse", "poll"), default="sse")
    parser.add_argument("--nodes", type=int, choices=(1, 2), default=1)
    parser.add_argument(
        "--web-workers",
        type=int,
        default=3,
        help="web workers per node (production: cores + 1)",
    )
    parser.add_argument("--web-threads", type=int, default=2, help="production: 2")
    parser.add_argument("--live-workers", type=int, default=1, help="uvicorn workers per node")
    parser.add_argument(
        "--database-url", default=os.environ.get("LIVE_BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL, help="Redis for sse mode")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if not 1 <= args.screens <= MAX_SCREENS:
        parser.error(f"--screens must be in [1, {MAX_SCREENS}]")
    if not 0 < args.duration <= MAX_DURATION_S:
        parser.error(f"--duration must be in (0, {MAX_DURATION_S}]")
    if not 0.2 <= args.call_every <= 60:
        parser.error("--call-every must be in [0.2, 60]")
    if not 0 <= args.boards <= 1:
        parser.error("--boards must be in [0, 1]")
    if urlsplit(args.database_url).scheme not in ("postgres", "postgresql"):
        parser.error("--database-url must be a PostgreSQL URL")
    # Never send traffic anywhere but this machine.
    if not loopback(args.database_url) or not loopback(args.redis_url):
        parser.error("--database-url and --redis-url must be on the loopback interface")
    return args


# --- database, environment, servers ------------------------------------------------------------


def app_environment(args: argparse.Namespace) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "CELERY_", "GUNICORN_", "WEB_CONCURRENCY", "LIVE_"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_DEBUG": "0",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "DJANGO_HTTPS": "0",
            "DATABASE_URL": args.database_url,
            "REDIS_URL": args.redis_url if args.mode == "sse" else DEAD_REDIS_URL,
            "LIVE_SSE": "1",  # the deployment runs the live service; Redis decides the transport
            # WSGI threads keep their connection (production: DB_CONN_MAX_AGE=600).
            "DB_CONN_MAX_AGE": "600",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def manage(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [venv_bin("python"), "manage.py", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def run_setup(env: dict[str, str], password: str) -> dict:
    manage(env, "migrate", "--noinput")
    done = subprocess.run(
        [venv_bin("python"), str(ROOT / "bench" / "setup_bench.py"), "--tellers=1", "--lobby=1"],
        cwd=ROOT,
        env={**env, "BENCH_PASSWORD": password},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench setup failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


TOKENS_SCRIPT = """
import json, sys
from queueing.links import ticket_status_token
from django.conf import settings
from queueing.live import board_live_token, live_token, ticket_live_token
ids = json.loads(sys.stdin.read())
lang = settings.LANGUAGE_CODE  # what the pages are rendered in for these screens
print(json.dumps({"live": live_token(ids["branch"]),
                  "board": board_live_token(ids["branch"], lang),
                  "status": {str(i): ticket_status_token(i) for i in ids["tickets"]},
                  "ticket_live": {str(i): ticket_live_token(ids["branch"], i, lang)
                                  for i in ids["tickets"]}}))
"""


def signed_tokens(env: dict[str, str], branch_id: int, ticket_ids: list[int]) -> dict:
    """Live tokens (plain, board, per ticket) and phones' status links, signed with the app's key
    (as its pages embed)."""
    out = manage(
        env,
        "shell",
        "-c",
        TOKENS_SCRIPT,
        stdin=json.dumps({"branch": branch_id, "tickets": ticket_ids}),
    )
    return json.loads(out.strip().splitlines()[-1])


def web_server(args: argparse.Namespace, env: dict[str, str]) -> Server:
    port = free_port()
    # Production's web service (config/serve.py: Granian, WSGI threads).
    command = [
        venv_bin("python"),
        *("-m", "config.serve", "--host", "127.0.0.1", "--port", str(port)),
        *("--workers", str(args.web_workers), "--threads", str(args.web_threads)),
    ]
    return Server("web", command, env, port, log_prefix="live-bench")


def live_server(args: argparse.Namespace, env: dict[str, str]) -> Server:
    port = free_port()
    command = [
        venv_bin("gunicorn"),
        "config.asgi:application",
        *("-c", "config/gunicorn_live.py"),
        *("-w", str(args.live_workers), "-b", f"127.0.0.1:{port}"),
    ]
    return Server("live", command, env, port, log_prefix="live-bench")


# --- a small HTTP/1.1 client on asyncio streams ------------------------------------------------


class HttpError(Exception):
    pass


async def read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    line = await reader.readline()
    if not line:
        raise ConnectionResetError("closed before the status line")
    status = int(line.split(b" ", 2)[1])
    headers: dict[str, str] = {}
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            return status, headers
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()


async def read_chunks(reader: asyncio.StreamReader):
    """Yield the chunks of a chunked body."""
    while True:
        size_line = await reader.readline()
        if not size_line:
            return
        size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            await reader.readline()
            return
        data = await reader.readexactly(size + 2)
        yield data[:-2]


class Connection:
    """One keep-alive connection, as a browser tab holds one to the web service."""

    def __init__(self, port: int, source: str = "127.0.0.1") -> None:
        self.port = port
        self.source = source
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str, headers: str = "") -> tuple[int, dict[str, str], bytes]:
        for attempt in (1, 2):  # a kept-alive connection the server closed: once more, fresh
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(
                    "127.0.0.1", self.port, local_addr=(self.source, 0)
                )
            try:
                self.writer.write(
                    f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Language: en\r\n"
                    f"{headers}\r\n".encode()
                )
                await self.writer.drain()
                status, head = await read_head(self.reader)
                if "content-length" in head:
                    body = await self.reader.readexactly(int(head["content-length"]))
                elif head.get("transfer-encoding") == "chunked":
                    body = b"".join([c async for c in read_chunks(self.reader)])
                else:
                    body = b""
                if head.get("connection", "").lower() == "close":
                    self.close()
                return status, head, body
            except (ConnectionError, asyncio.IncompleteReadError):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


# --- screens -----------------------------------------------------------------------------------


@dataclass
class Screen:
    index: int
    kind: str  # "board" or "phone"
    fragment_path: str
    events_token: str = ""  # the stream's live token (board / ticket scope), as the page's
    events: list[tuple[float, int]] = field(default_factory=list)  # (time, version) received
    fetches: list[tuple[float, bytes | None]] = field(default_factory=list)  # (done, hero code)
    # What the screen showed: (time, hero code), from an event's payload or from a fetch.
    shows: list[tuple[float, bytes | None]] = field(default_factory=list)
    payloads: int = 0  # events whose payload was shown without a fetch
    left_at: float | None = None  # phone: its stream said `refetch` (the ticket left the queue)
    errors: list[str] = field(default_factory=list)
    drops: int = 0
    fallbacks: int = 0  # 204 from the stream: polled instead
    current: int | None = None
    running: bool = False
    pending: bool = False
    pending_data: dict | None = None

    @property
    def source(self) -> str:
        # Each screen its own loopback address (127.0.0.0/8 is all local), as each board and
        # phone has its own in a branch: per-address rate limits then count per screen.
        return f"127.1.{self.index // 250}.{self.index % 250 + 1}"


@dataclass
class Rig:
    args: argparse.Namespace
    web_port: int
    live_port: int
    live_token: str
    stop: asyncio.Event
    calls: list[tuple[float, str]] = field(default_factory=list)  # (sent, code)
    call_ms: list[float] = field(default_factory=list)
    teller_errors: list[str] = field(default_factory=list)
    tasks: set = field(default_factory=set)


def shown_from_event(screen: Screen, data: dict | None) -> bool:
    """What board.js / ticket-status.js do with an event's payload: shown, no fetch."""
    if not data:
        return False
    if screen.kind == "board" and isinstance(data.get("html"), str):
        hero = HERO.search(data["html"].encode())
        screen.shows.append((time.monotonic(), hero.group(1) if hero else None))
        screen.payloads += 1
        return True
    if screen.kind == "phone" and isinstance(data.get("outlook"), str):
        screen.shows.append((time.monotonic(), None))
        screen.payloads += 1
        return True
    return False


async def refresh(rig: Rig, screen: Screen, conn: Connection, data: dict | None = None) -> None:
    """Show the screen's state for its current version: the event's payload, else a fetch of
    its fragment. Versions arriving meanwhile are coalesced (the newest event kept), as live.js
    does."""
    if screen.running:
        screen.pending = True
        screen.pending_data = data
        return
    screen.running = True
    try:
        while True:
            screen.pending = False
            if not shown_from_event(screen, data):
                if screen.kind == "phone" and not (data and data.get("refetch")):
                    await asyncio.sleep(random.random() * PHONE_JITTER_S)
                path = f"{screen.fragment_path}?v={screen.current}"
                try:
                    status, _head, body = await asyncio.wait_for(conn.get(path), REQUEST_TIMEOUT_S)
                except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
                    screen.errors.append(f"fragment: {type(exc).__name__}")
                    conn.close()
                else:
                    if status != 200:
                        screen.errors.append(f"fragment: HTTP {status}")
                    hero = HERO.search(body) if screen.kind == "board" else None
                    done = (time.monotonic(), hero.group(1) if hero else None)
                    screen.fetches.append(done)
                    screen.shows.append(done)
            if not screen.pending or rig.stop.is_set():
                return
            data, screen.pending_data = screen.pending_data, None
    finally:
        screen.running = False


def seen(
    rig: Rig, screen: Screen, conn: Connection, version: int, data: dict | None = None
) -> None:
    screen.events.append((time.monotonic(), version))
    if data and data.get("refetch") and screen.left_at is None:
        screen.left_at = time.monotonic()
    if screen.current is None or version != screen.current:
        screen.current = version
        task = asyncio.ensure_future(refresh(rig, screen, conn, data))
        rig.tasks.add(task)  # keep a reference until done (asyncio holds tasks weakly)
        task.add_done_callback(rig.tasks.discard)


async def follow_stream(rig: Rig, screen: Screen, conn: Connection) -> bool:
    """One event stream until it ends. False when the server said 204 (poll instead)."""
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", rig.live_port, local_addr=(screen.source, 0)
    )
    try:
        last = f"Last-Event-ID: {screen.current}\r\n" if screen.current is not None else ""
        writer.write(
            f"GET /queue/live/{screen.events_token or rig.live_token}/events/ HTTP/1.1\r\n"
            "Host: 127.0.0.1\r\n"
            f"Accept: text/event-stream\r\n{last}\r\n".encode()
        )
        await writer.drain()
        status, head = await read_head(reader)
        if status == 204:
            return False
        if status != 200:
            screen.errors.append(f"stream: HTTP {status}")
            return True
        buffer = b""
        data: list[bytes] = []
        chunks = read_chunks(reader) if head.get("transfer-encoding") == "chunked" else None
        while not rig.stop.is_set():
            if chunks is not None:
                try:
                    chunk = await chunks.__anext__()
                except StopAsyncIteration:
                    break
            else:
                chunk = await reader.read(65536)
                if not chunk:
                    break
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                if line.startswith(b"data:"):
                    data.append(line[5:].strip())
                elif line == b"" and data:
                    with contextlib.suppress(ValueError, KeyError, TypeError):
                        event = json.loads(b"".join(data))
                        seen(rig, screen, conn, int(event["v"]), event)
                    data = []
        if not rig.stop.is_set():
            screen.drops += 1  # the server ended it during the run: the screen reconnects
        return True
    finally:
        writer.close()


async def poll_version(rig: Rig, screen: Screen, conn: Connection, live: Connection) -> None:
    path = f"/queue/live/{rig.live_token}/v/"
    while not rig.stop.is_set():
        try:
            status, _head, body = await asyncio.wait_for(live.get(path), REQUEST_TIMEOUT_S)
            if status == 200:
                seen(rig, screen, conn, int(json.loads(body)["v"]))
            else:
                screen.errors.append(f"version: HTTP {status}")
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
            screen.errors.append(f"version: {type(exc).__name__}")
            live.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(rig.stop.wait(), POLL_S)


async def run_screen(rig: Rig, screen: Screen) -> None:
    conn = Connection(rig.web_port, screen.source)
    live = Connection(rig.live_port, screen.source)
    await asyncio.sleep(random.random() * 2)  # screens do not all open in the same instant
    try:
        if rig.args.mode == "sse":
            while not rig.stop.is_set():
                try:
                    if not await follow_stream(rig, screen, conn):
                        screen.fallbacks += 1
                        break  # 204: poll, as live.js does
                except (OSError, asyncio.IncompleteReadError) as exc:
                    screen.errors.append(f"stream: {type(exc).__name__}")
                if not rig.stop.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(rig.stop.wait(), 2.0)  # retry: 2000
        await poll_version(rig, screen, conn, live)
    finally:
        conn.close()
        live.close()


# --- the teller --------------------------------------------------------------------------------


def api_client(base_url: str, username: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT_S)
    token = secrets.token_hex(16)
    response = client.post(
        "/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token},
        headers={"Cookie": f"csrftoken={token}"},
    )
    if response.status_code != 302:
        raise RuntimeError(f"login of {username} failed: HTTP {response.status_code}")
    client.headers["X-CSRFToken"] = client.cookies["csrftoken"]
    return client


def issue(client: httpx.Client, service: str) -> dict:
    response = client.post(f"{API}/tickets/", json={"service": service, "priority": "regular"})
    if response.status_code != 201:
        raise RuntimeError(f"issue: HTTP {response.status_code} {response.text[:200]}")
    return response.json()


def teller_loop(
    rig: Rig,
    desk: httpx.Client,
    tablet: httpx.Client,
    counter_id: int,
    service: str,
    stop_at: float,
) -> None:
    """Call every --call-every s; start and finish at once; issue one to keep the queue full."""
    next_at = time.monotonic()
    while time.monotonic() < stop_at:
        delay = next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        next_at += rig.args.call_every
        sent = time.monotonic()
        try:
            response = desk.post(f"{API}/counters/{counter_id}/call-next/")
            rig.call_ms.append((time.monotonic() - sent) * 1000)
            if response.status_code == 200:
                ticket = response.json()
                rig.calls.append((sent, ticket["code"]))
                for step in ("start", "finish"):
                    body = FINISH_CHECKLIST if step == "finish" else None
                    done = desk.post(f"{API}/tickets/{ticket['id']}/{step}/", json=body)
                    if done.status_code != 200:
                        rig.teller_errors.append(f"{step}: HTTP {done.status_code}")
            elif response.status_code != 204:
                rig.teller_errors.append(f"call-next: HTTP {response.status_code}")
            issue(tablet, service)
        except (httpx.HTTPError, RuntimeError) as exc:
            rig.teller_errors.append(f"teller: {exc}")


# --- figures -----------------------------------------------------------------------------------


def row(values: list[float]) -> dict:
    return {
        "count": len(values),
        "p50_ms": round(percentile(values, 50), 1),
        "p95_ms": round(percentile(values, 95), 1),
        "p99_ms": round(percentile(values, 99), 1),
        "max_ms": round(max(values), 1) if values else 0.0,
    }


def latencies(rig: Rig, screens: list[Screen], settle_s: float) -> tuple[list, dict, int]:
    """Per (call, screen): call → first newer version received, and call → fragment shown.
    Calls in the first `settle_s` (screens still connecting) are left out. Missed: a call a
    screen never showed before the next call was sent."""
    seen_ms: list[float] = []
    shown_ms: dict[str, list[float]] = {"board": [], "phone": []}
    missed = 0
    calls = [c for c in rig.calls if c[0] >= rig.calls[0][0] + settle_s] if rig.calls else []
    for number, (sent, code) in enumerate(calls):
        until = calls[number + 1][0] if number + 1 < len(calls) else math.inf
        for screen in screens:
            if screen.left_at is not None and sent > screen.left_at:
                continue  # its ticket left the queue: the page stops following, as the real one
            event = next((t for t, _v in screen.events if t >= sent), None)
            if event is None or event >= until:
                missed += 1
                continue
            seen_ms.append((event - sent) * 1000)
            if screen.kind == "board":
                shown = next(
                    (t for t, hero in screen.shows if t >= event and hero == code.encode()), None
                )
            else:
                shown = next((t for t, _h in screen.shows if t >= event), None)
            if shown is None or shown >= until + 5:
                missed += 1
                continue
            shown_ms[screen.kind].append((shown - sent) * 1000)
    return seen_ms, shown_ms, missed


def process_figures(server: Server) -> dict:
    per_worker = []
    for pid in server.workers():
        with contextlib.suppress(OSError):
            status = Path(f"/proc/{pid}/status").read_text()
            rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) // 1024
            fds = len(os.listdir(f"/proc/{pid}/fd"))
            per_worker.append({"pid": pid, "rss_mb": rss, "fds": fds})
    return {
        "workers": per_worker,
        "rss_mb_total": sum(w["rss_mb"] for w in per_worker),
    }


def postgres_connections(database_url: str) -> int:
    """Connections to the bench database right now (ours, the monitor's own excluded)."""
    params = pg_params(database_url)
    with psycopg2.connect(**params) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [params["dbname"]],
        )
        return int(cur.fetchone()[0])


def redis_figures(url: str) -> dict:
    import redis

    try:
        server = redis.Redis.from_url(url, socket_connect_timeout=1)
        clients = server.client_list()
        db = int(urlsplit(url).path.lstrip("/") or 0)
        return {
            "connected_clients": int(server.info("clients")["connected_clients"]),
            "clients_on_bench_db": sum(1 for c in clients if int(c.get("db", -1)) == db) - 1,
            "hub_clients": sum(
                1 for c in clients if c.get("name", "").startswith("branchflow-live-hub")
            ),
        }
    except redis.RedisError:
        return {}


def print_table(result: dict) -> None:
    a = result
    print(
        f"Live screens: {a['screens']} ({a['boards']} boards, {a['phones']} phones), mode {a['mode']},"
        f" {a['nodes']} node(s), a call every {a['call_every_s']:g} s for {a['duration_s']:g} s;"
        f" web Granian {a['web_workers']}x{a['web_threads']}, live uvicorn x{a['live_workers']}"
        f" per node; {a['nproc']} CPUs"
    )
    print()
    print(f"{'':<18}{'count':>8}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}{'max ms':>10}")
    for name in ("seen", "shown", "shown_board", "shown_phone", "call_next"):
        r = a[name]
        print(
            f"{name:<18}{r['count']:>8}{r['p50_ms']:>10.1f}{r['p95_ms']:>10.1f}{r['p99_ms']:>10.1f}"
            f"{r['max_ms']:>10.1f}"
        )
    print()
    print(f"calls              {a['calls']}; missed (screen x call) {a['missed']}")
    print(
        f"errors             {a['errors']} (fragment/version/stream errors {a['screen_errors']},"
        f" dropped streams {a['dropped_streams']}, teller {a['teller_errors']});"
        f" streams answered 204 {a['fallbacks']}"
    )
    print(
        f"fragment fetches   {a['fragment_fetches']}; shown from the event (no fetch)"
        f" {a['payload_events']}"
    )
    for name, figures in a["processes"].items():
        workers = ", ".join(f"{w['rss_mb']} MB/{w['fds']} fds" for w in figures["workers"])
        print(f"{name:<18} RSS total {figures['rss_mb_total']} MB; per worker: {workers}")
    print(f"redis              {a['redis']}")
    print(f"postgres           {a['postgres_connections']} connections to the bench database")
    print(f"CPU                {a['cpu']}")
    for line in a["error_samples"]:
        print(f"  error: {line}")
    print()


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


# --- main --------------------------------------------------------------------------------------


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


async def run_screens(rig: Rig, screens: list[Screen]) -> None:
    await asyncio.gather(*(run_screen(rig, s) for s in screens))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    random.seed(args.seed)
    signal.signal(signal.SIGTERM, _interrupt)  # stop the servers on `kill` as on Ctrl-C
    # Two sockets per screen (its stream and its keep-alive connection): past the usual 1,024.
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if ensure_database(args.database_url):
        log(f"created database {pg_params(args.database_url)['dbname']}")
    if args.mode == "sse":
        import redis

        # Live keys an earlier run left (a recreated database reuses ids and versions); only
        # these, so a Redis database shared with a test run keeps everything else.
        server = redis.Redis.from_url(args.redis_url)
        for pattern in (
            "*queue-version:*",
            "*branch-outlook:*",
            "*board-state:*",
            "*board-branch:*",
        ):
            for key in server.scan_iter(match=pattern, count=1000):
                server.delete(key)
    env = app_environment(args)
    password = secrets.token_urlsafe(18)
    setup = run_setup(env, password)
    log("migrated and set up the bench branch")
    nodes = [(web_server(args, env), live_server(args, env)) for _ in range(args.nodes)]
    servers = [s for pair in nodes for s in pair]
    try:
        for server in servers:
            server.start()
        for web, _live in nodes:
            web.wait_ready("/healthz/")
        teller = setup["tellers"][0]
        service = setup["services"][0]
        desk = api_client(nodes[0][0].base_url, teller["username"], password)
        tablet = api_client(nodes[0][0].base_url, setup["lobby"][0]["username"], password)
        if desk.post(f"{API}/counters/{teller['counter_id']}/open/").status_code != 200:
            raise RuntimeError("could not open the counter")
        boards = round(args.screens * args.boards)
        phones = args.screens - boards
        # Phones follow the waiting tickets (several phones per ticket beyond 100 of them).
        tickets = [issue(tablet, service) for _ in range(min(max(phones, 1), 100) + 5)]
        tokens = signed_tokens(env, setup["branch_id"], [t["id"] for t in tickets])
        for _web, live in nodes:
            live.wait_ready(f"/queue/live/{tokens['live']}/v/")
        screen_web, screen_live = nodes[-1]  # node B with --nodes 2; the teller uses node A
        board_path = f"/queue/board/{setup['display_token']}/state/"
        screens = [Screen(i, "board", board_path, tokens["board"]) for i in range(boards)]
        for i in range(phones):
            ticket_id = str(tickets[i % len(tickets)]["id"])
            token = tokens["status"][ticket_id]
            screens.append(
                Screen(
                    boards + i,
                    "phone",
                    f"/queue/t/{token}/state/",
                    tokens["ticket_live"][ticket_id],
                )
            )
        log(
            f"{len(screens)} screens ({boards} boards, {phones} phones, {args.mode}) on"
            f" {screen_web.base_url} + {screen_live.base_url}; teller on {nodes[0][0].base_url}"
        )
        result = asyncio.run(
            drive(
                args,
                nodes,
                servers,
                screens,
                desk,
                tablet,
                teller,
                service,
                tokens,
                screen_web.port,
                screen_live.port,
            )
        )
    finally:
        for server in servers:
            server.stop()
    print_table(result)
    print(json.dumps(result))
    return 0 if result["errors"] == 0 else 1


async def drive(
    args,
    nodes,
    servers,
    screens,
    desk,
    tablet,
    teller,
    service,
    tokens,
    web_port: int,
    live_port: int,
) -> dict:
    rig = Rig(
        args=args,
        web_port=web_port,
        live_port=live_port,
        live_token=tokens["live"],
        stop=asyncio.Event(),
    )
    settle_s = 3.0
    runner = asyncio.ensure_future(run_screens(rig, screens))
    await asyncio.sleep(settle_s)  # screens connect (spread over 2 s)
    all_pids = lambda: [p for s in servers for p in [s.process.pid, *s.workers()]]  # noqa: E731
    cpu_before, wall_before = cpu_seconds(all_pids()), time.monotonic()
    client_before = sum(os.times()[:2])
    log(f"calling every {args.call_every:g} s for {args.duration:g} s")
    stop_at = time.monotonic() + args.duration
    teller_task = asyncio.ensure_future(
        asyncio.to_thread(teller_loop, rig, desk, tablet, teller["counter_id"], service, stop_at)
    )
    await asyncio.sleep(args.duration / 2)
    processes = {
        f"{s.kind}{'' if args.nodes == 1 else ' node ' + 'AB'[i // 2]}": process_figures(s)
        for i, s in enumerate(servers)
    }
    redis_now = redis_figures(args.redis_url) if args.mode == "sse" else {}
    postgres_now = await asyncio.to_thread(postgres_connections, args.database_url)
    await teller_task
    await asyncio.sleep(2.5)  # the last call reaches the screens
    wall = time.monotonic() - wall_before
    cpu = {
        "servers_s": round(cpu_seconds(all_pids()) - cpu_before, 1),
        "bench_client_s": round(sum(os.times()[:2]) - client_before, 1),
        "wall_s": round(wall, 1),
    }
    rig.stop.set()
    await asyncio.wait_for(runner, 30)
    seen_ms, shown_ms, missed = latencies(rig, screens, settle_s=1.0)
    screen_errors = sum(len(s.errors) for s in screens)
    dropped = sum(s.drops for s in screens)
    fallbacks = sum(s.fallbacks for s in screens)
    errors = screen_errors + dropped + len(rig.teller_errors)
    if args.mode == "sse":
        errors += fallbacks  # with Redis up every screen must get its stream
    samples = [e for s in screens for e in s.errors][:5] + rig.teller_errors[:5]
    return {
        "screens": len(screens),
        "boards": sum(1 for s in screens if s.kind == "board"),
        "phones": sum(1 for s in screens if s.kind == "phone"),
        "mode": args.mode,
        "nodes": args.nodes,
        "duration_s": args.duration,
        "call_every_s": args.call_every,
        "web_workers": args.web_workers,
        "web_threads": args.web_threads,
        "live_workers": args.live_workers,
        "nproc": os.cpu_count(),
        "calls": len(rig.calls),
        "seen": row(seen_ms),
        "shown": row(shown_ms["board"] + shown_ms["phone"]),
        "shown_board": row(shown_ms["board"]),
        # Phones wait 0-400 ms before fetching on purpose (ticket-status.js spreads them).
        "shown_phone": row(shown_ms["phone"]),
        "call_next": row(rig.call_ms),
        "missed": missed,
        "fragment_fetches": sum(len(s.fetches) for s in screens),
        "fragment_fetches_per_s": round(sum(len(s.fetches) for s in screens) / wall, 1),
        "payload_events": sum(s.payloads for s in screens),
        "errors": errors,
        "screen_errors": screen_errors,
        "dropped_streams": dropped,
        "teller_errors": len(rig.teller_errors),
        "fallbacks": fallbacks,
        "error_samples": samples,
        "processes": processes,
        "redis": redis_now,
        "postgres_connections": postgres_now,
        "cpu": cpu,
    }


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        log("interrupted")
        sys.exit(130)
