"""KPI dashboards' speed on a long history (issue 9 item 5).

    .venv/bin/python bench/kpi_load.py [--database-url postgres://postgres@127.0.0.1:5432/bf_hist]
        [--requests 30] [--warmup 2] [--month YYYY-MM] [--jit on|off]

Runs against a database filled by bench/make_history.py (its users `hist-head`, the head of
branch hist-001, and `hist-region`, the head of the region of all its branches). Requests every
dashboard page -- kpi:today, kpi:trends at each granularity, kpi:heatmap, kpi:services,
kpi:tellers, kpi:region, kpi:report, kpi:staffing -- and each export of a month (CSV and XLSX of
the per-service, per-teller, region, report and staffing tables) `--requests` times after
`--warmup` unmeasured ones, in this process through Django's test client with the production
settings (config.settings: DEBUG off, every middleware, sessions in the configured engine).
Measured: the whole request/response cycle as the WSGI handler runs it, not the network.

A page another helper has not wired yet (no URL) is listed as missing, not measured; a request
that does not answer 200 counts as a failure (exit status 1).

Prints a table (page, n, p50, p95, p99 in ms, target, verdict), then ONE JSON line:
`{"tickets": N, "p95_ms": {"<page>": ms, ...}, "p50_ms": ..., "p99_ms": ..., "failures": ...,
"missing": [...]}`. Targets: pages p95 < 300 ms, a month's export < 2 s.

`--jit off` turns PostgreSQL's JIT off for this process's connections (see docs/benchmarks.md:
the rollup rebuild's long expressions take minutes to JIT-compile; the dashboards' aggregates
cross the default jit_above_cost too on large slices).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bf_hist"
HEAD_USERNAME = "hist-head"
REGION_HEAD_USERNAME = "hist-region"
PAGE_TARGET_MS = 300.0
EXPORT_TARGET_MS = 2000.0
GRANULARITIES = ("day", "week", "month", "quarter", "half")


def log(message: str) -> None:
    print(f"[kpi_load] {message}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or "")
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--month", default="", help="YYYY-MM; default: the last full month")
    parser.add_argument("--jit", choices=("on", "off"), default="on")
    args = parser.parse_args(argv)
    args.database_url = args.database_url or DEFAULT_DATABASE_URL
    if args.requests < 1 or args.warmup < 0:
        parser.error("--requests must be >= 1 and --warmup >= 0")
    return args


def setup_django(args: argparse.Namespace) -> None:
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-kpi-load-not-secret")
    # Production serves hashed static names from a manifest: collect into a directory of the
    # bench's own (not the deployment's var/staticfiles).
    os.environ.setdefault("STATIC_ROOT", str(Path(tempfile.gettempdir()) / "bf-kpi-load-static"))
    import django

    django.setup()
    from django.core.management import call_command

    started = time.monotonic()
    call_command("collectstatic", interactive=False, verbosity=0)
    log(f"collectstatic into {os.environ['STATIC_ROOT']} in {time.monotonic() - started:.1f} s")
    if args.jit == "off":
        from django.db.backends.signals import connection_created

        def jit_off(sender, connection, **kwargs) -> None:
            with connection.cursor() as cursor:
                cursor.execute("SET jit = off")

        connection_created.connect(jit_off, weak=False)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100.0 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def plan(month_start: date, month_end: date, today: date) -> list[dict[str, Any]]:
    """(key, URL name, query, user, kind) of every request to measure."""
    last30 = {"date_from": (today - timedelta(days=30)).isoformat(), "date_to": today.isoformat()}
    year = {"date_from": (today - timedelta(days=364)).isoformat(), "date_to": today.isoformat()}
    month = {"date_from": month_start.isoformat(), "date_to": month_end.isoformat()}
    head, region = HEAD_USERNAME, REGION_HEAD_USERNAME
    pages: list[dict[str, Any]] = [
        {"key": "today", "name": "kpi:today", "query": {}, "user": head},
    ]
    for granularity in GRANULARITIES:
        query = {**(last30 if granularity == "day" else year), "granularity": granularity}
        pages.append({"key": f"trends_{granularity}", "name": "kpi:trends", "query": query})
    pages += [
        {"key": "heatmap", "name": "kpi:heatmap", "query": {**last30}},
        {"key": "heatmap_year", "name": "kpi:heatmap", "query": {**year}},
        {"key": "services", "name": "kpi:services", "query": {**last30}},
        {"key": "tellers", "name": "kpi:tellers", "query": {**last30}},
        {"key": "region", "name": "kpi:region", "query": {**last30}, "user": region},
        {"key": "report", "name": "kpi:report", "query": {"month": month_start.strftime("%Y-%m")}},
        {"key": "staffing", "name": "kpi:staffing", "query": {}},
    ]
    for fmt in ("csv", "xlsx"):
        pages += [
            {
                "key": f"export_services_{fmt}",
                "name": "kpi:services",
                "query": {**month, "export": "services", "format": fmt},
            },
            {
                "key": f"export_tellers_{fmt}",
                "name": "kpi:tellers",
                "query": {**month, "export": "tellers", "format": fmt},
            },
            {
                "key": f"export_region_{fmt}",
                "name": "kpi:region",
                "query": {**month, "export": "region-ranking", "format": fmt},
                "user": region,
            },
            {
                "key": f"export_report_{fmt}",
                "name": "kpi:report",
                "query": {
                    "month": month_start.strftime("%Y-%m"),
                    "export": "services",
                    "format": fmt,
                },
            },
            {
                "key": f"export_staffing_{fmt}",
                "name": "kpi:staffing",
                "query": {"export": "staffing", "format": fmt},
            },
        ]
    for page in pages:
        page.setdefault("user", head)
        page["kind"] = "export" if "export" in page["query"] else "page"
    return pages


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_django(args)
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import NoReverseMatch, reverse

    from accounts.models import Branch
    from accounts.timeutil import branch_today
    from queueing.models import Ticket

    users = {
        u.username: u
        for u in get_user_model().objects.filter(username__in=[HEAD_USERNAME, REGION_HEAD_USERNAME])
    }
    if len(users) < 2:
        raise SystemExit("no bench users: fill the database with bench/make_history.py first")
    branch = Branch.objects.get(code="hist-001")
    today = branch_today(branch)
    if args.month:
        year, month = (int(part) for part in args.month.split("-"))
        month_start = date(year, month, 1)
    else:
        month_start = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    month_end = (month_start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    tickets = Ticket.objects.count()
    host = (settings.ALLOWED_HOSTS or ["127.0.0.1"])[0].lstrip(".") or "127.0.0.1"
    if host == "*":
        host = "127.0.0.1"
    clients = {}
    for username, user in users.items():
        client = Client(HTTP_HOST=host)
        client.force_login(user)
        client.cookies["django_language"] = "en"
        clients[username] = client
    secure = bool(getattr(settings, "SECURE_SSL_REDIRECT", False))

    timings: dict[str, list[float]] = {}
    failures: dict[str, str] = {}
    missing: list[str] = []
    sizes: dict[str, int] = {}
    pages = plan(month_start, month_end, today)
    log(f"{tickets:,} tickets; {len(pages)} requests x {args.requests} (+{args.warmup} warm-up)")
    for page in pages:
        try:
            url = reverse(page["name"])
        except NoReverseMatch:
            missing.append(page["key"])
            continue
        client = clients[page["user"]]
        samples: list[float] = []
        for attempt in range(args.warmup + args.requests):
            started = time.perf_counter()
            response = client.get(url, page["query"], secure=secure)
            content = response.content  # the whole body, as a server would send it
            elapsed = (time.perf_counter() - started) * 1000.0
            if response.status_code != 200:
                failures[page["key"]] = f"HTTP {response.status_code}: {content[:200]!r}"
                break
            if attempt >= args.warmup:
                samples.append(elapsed)
            sizes[page["key"]] = len(content)
        if samples:
            timings[page["key"]] = samples
        log(
            f"{page['key']}: "
            + (
                f"p95 {percentile(samples, 95):.0f} ms"
                if samples
                else failures.get(page["key"], "no sample")
            )
        )

    kinds = {page["key"]: page["kind"] for page in pages}
    print(f"{'page':28} {'n':>4} {'p50':>8} {'p95':>8} {'p99':>8} {'target':>8}  verdict")
    all_within = True
    for key, samples in timings.items():
        target = EXPORT_TARGET_MS if kinds[key] == "export" else PAGE_TARGET_MS
        p95 = percentile(samples, 95)
        within = p95 < target
        all_within &= within
        print(
            f"{key:28} {len(samples):>4} {statistics.median(samples):>8.1f} {p95:>8.1f}"
            f" {percentile(samples, 99):>8.1f} {target:>8.0f}  {'ok' if within else 'SLOW'}"
        )
    for key in missing:
        print(f"{key:28}  (no URL yet: not measured)")
    for key, reason in failures.items():
        print(f"{key:28}  FAILED {reason}")

    def figure(q: float) -> dict[str, float]:
        return {key: round(percentile(s, q), 1) for key, s in timings.items()}

    print(
        json.dumps(
            {
                "tickets": tickets,
                "p95_ms": figure(95),
                "p50_ms": figure(50),
                "p99_ms": figure(99),
                "requests_per_page": args.requests,
                "jit": args.jit,
                "within_targets": all_within and not failures,
                "failures": failures,
                "missing": missing,
                "bytes": sizes,
            }
        )
    )
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
