"""CPU per request of the live service's ASGI application, called in-process (no HTTP server).

    .venv/bin/python bench/live_request_cost.py [--requests 3000] [--repeat 3]

The live service's settings (config/live_settings.py) with Redis off and no database touched:
each request is an API client's long poll answered at once (`wait` without `?after=`: 400),
which runs the whole ASGI handler and middleware chain and the view's first lines. The same
requests go through the live chain and through Django's own classes for the same middleware
(whose MiddlewareMixin sends each hook through a thread), alternately, so the difference is
the chain's. Prints the CPU and wall time per request; the last line of stdout is one JSON
object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

os.environ["DJANGO_SETTINGS_MODULE"] = "config.live_settings"
os.environ["REDIS_URL"] = ""
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-live-request-cost-not-a-secret-" + "x" * 24)
os.environ.setdefault("DATABASE_URL", "sqlite:////nonexistent/never-opened.sqlite3")


def django_chain(chain: list[str]) -> list[str]:
    """The same middleware as Django's own classes: each InlineHooks class's original."""
    from django.utils.module_loading import import_string

    from config.live_middleware import InlineHooks

    paths = []
    for path in chain:
        middleware = import_string(path)
        if issubclass(middleware, InlineHooks):
            original = middleware.__bases__[1]
            path = f"{original.__module__}.{original.__qualname__}"
        paths.append(path)
    return paths


def application(chain: list[str]):
    from django.conf import settings
    from django.core.handlers.asgi import ASGIHandler

    settings.MIDDLEWARE = chain
    return ASGIHandler()  # builds its middleware chain from settings.MIDDLEWARE now


async def one(app, path: str) -> int:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "https",  # production redirects plain http
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), (b"accept-language", b"zh-hans")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 443),
    }
    received = False
    status = 0

    async def receive():
        nonlocal received
        if not received:
            received = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.sleep(3600)  # the client stays connected

    async def send(message):
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def measure(app, path: str, requests: int) -> tuple[float, float, int]:
    for _ in range(200):  # warm-up
        await one(app, path)
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(requests):
        status = await one(app, path)
    return (
        (time.process_time() - cpu) * 1000 / requests,
        (time.perf_counter() - wall) * 1000 / requests,
        status,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import django

    django.setup()
    logging.getLogger("django.request").setLevel(logging.ERROR)  # one warning per 400
    from config import live_settings
    from queueing import live

    path = f"/queue/live/{live.live_token(1)}/wait/"
    chains = {
        "live": list(live_settings.MIDDLEWARE),
        "django": django_chain(live_settings.MIDDLEWARE),
    }
    results: dict[str, list[tuple[float, float, int]]] = {name: [] for name in chains}
    for _ in range(args.repeat):
        for name, chain in chains.items():
            results[name].append(asyncio.run(measure(application(chain), path, args.requests)))

    summary = {}
    for name, runs in results.items():
        cpu = statistics.median(run[0] for run in runs)
        wall = statistics.median(run[1] for run in runs)
        statuses = sorted({run[2] for run in runs})
        print(
            f"{name:7s} chain: CPU {cpu:.3f} ms/request, wall {wall:.3f} ms "
            f"(median of {args.repeat} x {args.requests}; HTTP {statuses})"
        )
        summary[name] = {"cpu_ms": round(cpu, 3), "wall_ms": round(wall, 3), "status": statuses}
    print(json.dumps({"requests": args.requests, "repeat": args.repeat, **summary}))


if __name__ == "__main__":
    main()
