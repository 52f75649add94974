"""The web service (pages and API): Granian serving `config.wsgi:application`.

    python -m config.serve [--host 0.0.0.0] [--port 8000] [--workers N] [--threads N] [--reload]

Each worker process is Granian's HTTP server (Rust: parsing, keep-alive and socket I/O outside
the interpreter) in front of N Python threads that run Django. Each thread keeps its PostgreSQL
connection between requests (DB_CONN_MAX_AGE), so no request pays for a new connection. Measured
on 2 cores against gunicorn's gthread worker with the same threads and the same code: the HTTP
part of a request costs ~1 ms of CPU less (docs/decisions.md, docs/benchmarks.md).

The screens' event streams are served by the separate ASGI live service (config/gunicorn_live.py);
nginx routes /queue/live/ there (config/nginx.conf). Behind nginx, the client's address comes from
X-Forwarded-For, believed only from FORWARDED_ALLOW_IPS (config/wsgi.py).

Environment (the command line wins): WEB_BIND (host:port, default 0.0.0.0:8000),
WEB_CONCURRENCY (workers; default cores + 1, at most 8), WEB_THREADS (default 2), WEB_ACCESS_LOG
(1/0), WEB_MAX_RSS_MB (a worker above this is replaced, default 1024), LOG_LEVEL.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys

# Threads per worker: they overlap the waits on PostgreSQL; more only contend for the worker's
# interpreter lock (2 cores: 3 workers x 2 threads gave the best p95, docs/benchmarks.md). Every
# thread holds one database connection: workers x threads per node, summed over the nodes, must
# stay below PostgreSQL's max_connections (or PgBouncer's pool) (docs/scaling.md).
DEFAULT_THREADS = 2
# A thread (and with it its database connection) idle this long is ended; the maximum Granian
# allows, so connections outlive a quiet quarter of an hour as DB_CONN_MAX_AGE (600 s) intends.
THREAD_IDLE_TIMEOUT_S = 600
# The access log: the path without its query string (staff search customers by phone number,
# ?q=139...), no referrer, no user agent. nginx logs every request too.
ACCESS_LOG_FORMAT = '%(addr)s "%(method)s %(path)s %(protocol)s" %(status)d %(dt_ms).1fms'


def default_workers() -> int:
    return int(os.environ.get("WEB_CONCURRENCY", min(multiprocessing.cpu_count() + 1, 8)))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    host, _, port = os.environ.get("WEB_BIND", "0.0.0.0:8000").rpartition(":")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=host or "0.0.0.0")  # noqa: S104 (in a container)
    parser.add_argument("--port", type=int, default=int(port or 8000))
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument(
        "--threads", type=int, default=int(os.environ.get("WEB_THREADS", DEFAULT_THREADS))
    )
    parser.add_argument("--reload", action="store_true", help="development: restart on changes")
    args = parser.parse_args(argv)
    if args.workers < 1 or args.threads < 1:
        parser.error("--workers and --threads must be at least 1")
    return args


def server(args: argparse.Namespace):
    from granian import Granian
    from granian.constants import Interfaces
    from granian.log import LogLevels

    access_log = os.environ.get("WEB_ACCESS_LOG", "1") not in ("0", "false", "no")
    options: dict = {
        "address": args.host,
        "port": args.port,
        "interface": Interfaces.WSGI,
        "websockets": False,
        "workers": args.workers,
        "blocking_threads": args.threads,
        "blocking_threads_idle_timeout": THREAD_IDLE_TIMEOUT_S,
        "backlog": 2048,
        "log_level": LogLevels(os.environ.get("LOG_LEVEL", "info").lower()),
        "log_access": access_log,
        "log_access_format": ACCESS_LOG_FORMAT,
        # A worker that dies is replaced; one that grows past the limit is replaced gracefully
        # (a slow leak can never take the branch down; gunicorn's max_requests did this before).
        "respawn_failed_workers": True,
        "workers_max_rss": int(os.environ.get("WEB_MAX_RSS_MB", "1024")),
        "workers_kill_timeout": 30,
    }
    if args.reload:
        options.update(reload=True, reload_ignore_dirs=["var", "node_modules", ".venv"])
    return Granian("config.wsgi:application", **options)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    server(args).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
