"""CPU of the hot path without an HTTP server: the WSGI application called in-process.

    .venv/bin/python bench/inprocess_hot.py [--cycles 600]
        [--database-url postgres://postgres@127.0.0.1:5432/bf_inproc]
        [--redis-url redis://127.0.0.1:6379/8]

Production settings (DEBUG off, persistent connection, Redis caches), one bench branch
(bench/setup_bench.py) with one teller and one tablet, signed in by session. One thread runs
the issue's life cycle `--cycles` times (issue, call-next, start, finish, as the tablet and the
counter screen send them), after a warm-up, and prints per request its app CPU (this process)
and its PostgreSQL CPU (the connection's backend, from /proc; 10-ms ticks, so take a few hundred
cycles; PostgreSQL on this machine). No HTTP server, no other process on the CPUs: what our code and Django cost, apart from
the server and from two CPUs shared by everything under load (bench/load_queue.py measures
that). The last line of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import secrets
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load_queue import (  # noqa: E402
    app_environment,
    cpu_model,
    ensure_database,
    flush_redis,
    machine_speed_ms,
    process_cpu_ticks,
    run_setup,
)

OPERATIONS = ("issue", "call", "start", "finish")
FINISH_CHECKLIST = {"outcome": "completed", "identity_verified": True}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=600)
    parser.add_argument("--warm-up", type=int, default=50)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/bf_inproc")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/8")
    args = parser.parse_args(argv)
    if args.cycles < 1 or args.warm_up < 0:
        parser.error("--cycles must be at least 1, --warm-up at least 0")
    return args


def environment(args: argparse.Namespace) -> dict[str, str]:
    """bench/load_queue.py's production environment, for a WSGI thread with a kept connection."""
    as_served = argparse.Namespace(
        database_url=args.database_url,
        redis_url=args.redis_url,
        server="granian",
        live=True,
        workers=1,
        threads=1,
    )
    return app_environment(as_served)


def set_up(args: argparse.Namespace, env: dict[str, str]) -> dict:
    """The database and one bench branch (one teller, one tablet, signed in), as load_queue's."""
    ensure_database(args.database_url)
    if args.redis_url:
        flush_redis(args.redis_url)
    one_desk = argparse.Namespace(branches=1, tellers=1, tablets=1, auth="session")
    return run_setup(one_desk, env, secrets.token_urlsafe(16))


class Driver:
    """Calls the WSGI application as a server would, with a session cookie and CSRF header."""

    def __init__(self, application, setup: dict) -> None:
        self.application = application
        self.setup = setup
        self.token = secrets.token_hex(16)

    def post(self, session: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
        raw = json.dumps(body).encode() if body is not None else b""
        cookies = (
            f"{self.setup['session_cookie']}={session}; {self.setup['csrf_cookie']}={self.token}"
        )
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": path,
            "SCRIPT_NAME": "",
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "HTTP_HOST": "127.0.0.1",
            "REMOTE_ADDR": "127.0.0.1",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(raw),
            "wsgi.errors": sys.stderr,
            "wsgi.version": (1, 0),
            "wsgi.multithread": True,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(raw)),
            "HTTP_COOKIE": cookies,
            "HTTP_X_CSRFTOKEN": self.token,
            "HTTP_ACCEPT": "application/json",
        }
        status: list[str] = []
        chunks = self.application(environ, lambda line, headers, *rest: status.append(line))
        data = b"".join(chunks)
        if hasattr(chunks, "close"):
            chunks.close()
        return int(status[0].split()[0]), data


def backend_ticks() -> int:
    """CPU ticks (user + system) of this thread's PostgreSQL backend so far; 0 when the
    database is not on this machine (or not PostgreSQL)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return 0
    connection.ensure_connection()
    return process_cpu_ticks(connection.connection.get_backend_pid()) or 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    env = environment(args)
    setup = set_up(args, env)
    os.environ.update(env)
    import django

    django.setup()
    from config.wsgi import application

    driver = Driver(application, setup)
    teller, lobby = setup["tellers"][0], setup["lobby"][0]
    counter, service = teller["counter_id"], setup["services"][0]
    status, body = driver.post(teller["session"], f"/api/queue/counters/{counter}/open/")
    if status != 200:
        raise SystemExit(f"opening the counter: HTTP {status} {body[:200]!r}")
    app_s = dict.fromkeys(OPERATIONS, 0.0)
    pg_ticks = dict.fromkeys(OPERATIONS, 0)
    tick_ms = 1000 / os.sysconf("SC_CLK_TCK")

    def step(op: str, session: str, path: str, expect: int, body: dict | None = None) -> bytes:
        cpu, ticks = time.process_time(), backend_ticks()
        status, data = driver.post(session, path, body)
        app_s[op] += time.process_time() - cpu
        pg_ticks[op] += backend_ticks() - ticks
        if status != expect:
            raise SystemExit(f"{op}: HTTP {status} {data[:200]!r}")
        return data

    def cycle() -> None:
        issue = {"service": service, "priority": "regular"}
        step("issue", lobby["session"], "/api/queue/tickets/", 201, issue)
        called = step("call", teller["session"], f"/api/queue/counters/{counter}/call-next/", 200)
        ticket = json.loads(called)["id"]
        step("start", teller["session"], f"/api/queue/tickets/{ticket}/start/", 200)
        finish = f"/api/queue/tickets/{ticket}/finish/"
        step("finish", teller["session"], finish, 200, FINISH_CHECKLIST)

    speed_before = machine_speed_ms()
    for _ in range(args.warm_up):
        cycle()
    app_s, pg_ticks = dict.fromkeys(OPERATIONS, 0.0), dict.fromkeys(OPERATIONS, 0)
    started = time.monotonic()
    for _ in range(args.cycles):
        cycle()
    wall_s = time.monotonic() - started
    speed = [speed_before, machine_speed_ms()]

    n = args.cycles
    app_ms = {op: round(app_s[op] * 1000 / n, 3) for op in OPERATIONS}
    pg_ms = {op: round(pg_ticks[op] * tick_ms / n, 3) for op in OPERATIONS}
    per_request_app = round(sum(app_s.values()) * 1000 / (4 * n), 3)
    per_request_pg = round(sum(pg_ticks.values()) * tick_ms / (4 * n), 3)
    print(f"In-process hot path: {n} cycles (issue, call-next, start, finish), one thread")
    print(f"{'request':10s} {'app CPU ms':>11s} {'PostgreSQL CPU ms':>18s}")
    for op in OPERATIONS:
        print(f"{op:10s} {app_ms[op]:11.3f} {pg_ms[op]:18.3f}")
    print(
        f"per request: app {per_request_app} ms + PostgreSQL {per_request_pg} ms;"
        f" wall {wall_s * 1000 / (4 * n):.3f} ms"
    )
    print(f"machine: {cpu_model()}; reference work {speed[0]} ms before, {speed[1]} ms after")
    print(
        json.dumps(
            {
                "cycles": n,
                "app_ms": app_ms,
                "pg_ms": pg_ms,
                "app_ms_per_request": per_request_app,
                "pg_ms_per_request": per_request_pg,
                "wall_ms_per_request": round(wall_s * 1000 / (4 * n), 3),
                "python": sys.version.split()[0],
                "cpu_model": cpu_model(),
                "machine_speed_ms": speed,
                "nproc": os.cpu_count(),
                "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
