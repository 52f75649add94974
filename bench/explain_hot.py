"""EXPLAIN the hot path's SQL on a database with a long history (1 M, then 10 M tickets).

    .venv/bin/python bench/explain_hot.py [--sizes 1000000,10000000]
        [--database-url postgres://postgres@127.0.0.1:5432/bf_explain]
        [--redis-url redis://127.0.0.1:6379/8]
    .venv/bin/python bench/explain_hot.py --sizes 100000          # a quick run

1. Creates the database if missing and migrates it; creates the bench branches once
   (bench/setup_bench.py's `create_branches`: the hot branch `bench` and `--other-branches`
   more, two counters each) unless they are there already. The database is kept between runs:
   history is only ever added.
2. For each size, fills the history up to that many tickets of earlier days, in SQL
   (`INSERT ... SELECT ... generate_series`, one transaction per million tickets): tickets of
   every branch (1,000 a day per branch: 90 % done, 5 % no-show, 5 % cancelled), their
   TicketEvents (`--events-per-ticket`, default 2: call + finish / no-show / cancel; 4 adds issue
   and start), and for every finished ticket an OutboxEvent with its delivered OutboxDelivery.
   Then ANALYZE.
3. Runs the hot path in-process with Django's test client, as the screens and API use it:
   issue (lobby), call-next, start, finish (teller, seated), call-next with nobody waiting, the
   display board's state, the customer's status page state, and the live version. Each request
   runs twice; the second one is captured (CaptureQueriesContext), so warm caches are measured
   as in production.
4. Prints `EXPLAIN (ANALYZE, BUFFERS)` of every captured SELECT / INSERT / UPDATE / DELETE (writes
   inside a transaction that is rolled back; EXPLAIN without ANALYZE if running it again fails,
   e.g. on a unique key), with its execution time, and flags every Seq Scan on the tickets,
   ticket events and outbox tables.

The last line of stdout is one JSON object: per query (`<request>#<n>`), its SQL's start, and
per size the plan's top node, the indexes used, any Seq Scan on a big table and the execution
time in ms. Progress goes to stderr. With --redis-url (default: db 8, emptied first) the app's
caches are on, as in production; `--redis-url ''` runs without Redis.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load_queue import (  # noqa: E402
    ensure_database,
    flush_redis,
    venv_bin,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bf_explain"
TICKETS_PER_BRANCH_DAY = 1000
BATCH = 1_000_000
MAX_SIZE = 20_000_000
BIG_TABLES = (
    "queueing_ticket",
    "queueing_ticketevent",
    "accounts_outboxevent",
    "accounts_outboxdelivery",
)
FINISH_CHECKLIST = {"outcome": "completed", "identity_verified": True}


def log(message: str) -> None:
    print(f"[explain] {message}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/8")
    parser.add_argument("--sizes", default="1000000,10000000", help="historic tickets, ascending")
    parser.add_argument("--other-branches", type=int, default=9)
    parser.add_argument("--events-per-ticket", type=int, choices=(2, 4), default=2)
    args = parser.parse_args(argv)
    try:
        args.sizes = sorted(int(s) for s in args.sizes.split(","))
    except ValueError:
        parser.error("--sizes: comma-separated integers")
    if not all(0 <= s <= MAX_SIZE for s in args.sizes):
        parser.error(f"--sizes must be in [0, {MAX_SIZE}]")
    if not 0 <= args.other_branches <= 99:
        parser.error("--other-branches must be in [0, 99]")
    for url in (args.database_url, args.redis_url):
        if url and urlsplit(url).hostname not in ("127.0.0.1", "localhost", None):
            parser.error("the database and Redis must be on the loopback interface")
    return args


def prepare_environment(args: argparse.Namespace) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DB_CONN"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_DEBUG": "0",
            "DJANGO_ALLOWED_HOSTS": "testserver,127.0.0.1",
            "DJANGO_HTTPS": "0",
            "DATABASE_URL": args.database_url,
            "REDIS_URL": args.redis_url,
            "DB_CONN_MAX_AGE": "600",
        }
    )
    return env


# --- history -----------------------------------------------------------------------------------


def bench_layout() -> dict:
    """Branch, service, counter and teller ids, in the order the SQL below indexes them."""
    from accounts.models import Branch
    from queueing.models import Counter, Service

    branches = list(Branch.objects.filter(code__startswith="bench").order_by("pk"))
    services, prefixes, counters, tellers = [], [], [], []
    for branch in branches:
        own = list(Service.objects.filter(branch=branch).order_by("sort_order", "pk")[:3])
        services += [s.pk for s in own]
        prefixes = [s.prefix for s in own]
        desks = list(Counter.objects.filter(branch=branch).order_by("number")[:2])
        counters += [c.pk for c in desks]
        tellers += [
            branch.memberships.filter(role="teller", user__username__contains="teller")
            .order_by("user_id")
            .values_list("user_id", flat=True)[i]
            for i in range(2)
        ]
    return {
        "branches": [b.pk for b in branches],
        "services": services,
        "prefixes": prefixes,
        "counters": counters,
        "tellers": tellers,
    }


TICKETS_SQL = """
INSERT INTO queueing_ticket (
    business_date, number, code, status, priority, issued_at, arrived_at, called_at,
    started_at, finished_at, recall_count, bypass_count, branch_id, counter_id, service_id,
    target_counter_id, teller_id, transferred_from_id, is_remote)
SELECT y.day, x.n, (%(prefixes)s::text[])[x.si + 1] || lpad(x.n::text, 4, '0'),
       CASE WHEN x.r < 18 THEN 'done' WHEN x.r = 18 THEN 'no_show' ELSE 'cancelled' END,
       CASE WHEN x.r %% 10 = 0 THEN 1 ELSE 0 END,
       y.t0, y.t0,
       CASE WHEN x.r < 19 THEN y.t0 + interval '6 minutes' END,
       CASE WHEN x.r < 18 THEN y.t0 + interval '7 minutes' END,
       CASE WHEN x.r < 18 THEN y.t0 + interval '12 minutes' END,
       0, 0,
       (%(branches)s::bigint[])[x.bi + 1],
       CASE WHEN x.r < 19 THEN (%(counters)s::bigint[])[x.bi * 2 + x.ci + 1] END,
       (%(services)s::bigint[])[x.bi * 3 + x.si + 1],
       NULL,
       CASE WHEN x.r < 19 THEN (%(tellers)s::int[])[x.bi * 2 + x.ci + 1] END,
       NULL, false
  FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS g
 CROSS JOIN LATERAL (
       SELECT g / (%(nb)s * %(per_day)s) AS day_i, (g / %(per_day)s) %% %(nb)s AS bi,
              g %% %(per_day)s + 1 AS n, g %% 3 AS si, (g / 7) %% 2 AS ci, g %% 20 AS r) x
 CROSS JOIN LATERAL (
       SELECT %(anchor)s::date - 1 - x.day_i::int AS day,
              ((%(anchor)s::date - 1 - x.day_i::int) + time '08:30'
               + x.n * interval '28 seconds') AT TIME ZONE 'Asia/Shanghai' AS t0) y
"""

EVENTS_SQL = """
INSERT INTO queueing_ticketevent (action, from_status, to_status, at, note, by_id, counter_id,
                                  ticket_id, branch_id)
SELECT e.action, e.from_status, e.to_status, e.at, '', t.teller_id, t.counter_id, t.id,
       t.branch_id
  FROM queueing_ticket t
 CROSS JOIN LATERAL (VALUES
       ('issue', '', 'waiting', t.issued_at, true),
       ('call', 'waiting', 'called', t.called_at, t.status <> 'cancelled'),
       ('start', 'called', 'serving', t.started_at, t.status = 'done'),
       ('finish', 'serving', 'done', t.finished_at, t.status = 'done'),
       ('no_show', 'called', 'no_show', t.called_at + interval '3 minutes', t.status = 'no_show'),
       ('cancel', 'waiting', 'cancelled', t.issued_at + interval '4 minutes',
        t.status = 'cancelled')
 ) AS e(action, from_status, to_status, at, applies)
 WHERE t.id > %(after)s AND e.applies AND e.action = ANY(%(actions)s)
"""

OUTBOX_SQL = """
INSERT INTO accounts_outboxevent (topic, payload, created_at, branch_id)
SELECT 'queueing.ticket_finished',
       jsonb_build_object('ticket_id', t.id, 'branch_id', t.branch_id, 'action', 'finish'),
       t.finished_at, t.branch_id
  FROM queueing_ticket t
 WHERE t.id > %(after)s AND t.status = 'done'
"""

DELIVERIES_SQL = """
INSERT INTO accounts_outboxdelivery (listener, status, attempts, next_attempt_at, delivered_at,
                                     last_error, event_id)
SELECT 'reception.record_ticket_end', 'done', 1, e.created_at, e.created_at + interval '1 second',
       '', e.id
  FROM accounts_outboxevent e
 WHERE e.id > %(after)s
"""


def fill_history(size: int, args: argparse.Namespace, layout: dict) -> dict:
    """Add tickets of earlier days (with events and outbox rows) until there are `size`."""
    from django.db import connection, transaction

    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(*), max(business_date) FROM queueing_ticket"
            " WHERE business_date < current_date AND branch_id = ANY(%s)",
            [layout["branches"]],
        )
        have, newest = cur.fetchone()
        cur.execute("SELECT current_date")
        today = cur.fetchone()[0]
    # Keep the day numbering of earlier fills, even when they were made on another day.
    anchor = newest + timedelta(days=1) if newest else today
    actions = ["call", "finish", "no_show", "cancel"]
    if args.events_per_ticket == 4:
        actions += ["issue", "start"]
    started = time.monotonic()
    first = have
    while first < size:
        last = min(size, first + BATCH) - 1
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("SELECT coalesce(max(id), 0) FROM queueing_ticket")
            tickets_after = cur.fetchone()[0]
            cur.execute("SELECT coalesce(max(id), 0) FROM accounts_outboxevent")
            events_after = cur.fetchone()[0]
            cur.execute(
                TICKETS_SQL,
                {
                    **{k: layout[k] for k in ("prefixes", "branches", "counters", "services")},
                    "tellers": layout["tellers"],
                    "first": first,
                    "last": last,
                    "nb": len(layout["branches"]),
                    "per_day": TICKETS_PER_BRANCH_DAY,
                    "anchor": anchor,
                },
            )
            cur.execute(EVENTS_SQL, {"after": tickets_after, "actions": actions})
            cur.execute(OUTBOX_SQL, {"after": tickets_after})
            cur.execute(DELIVERIES_SQL, {"after": events_after})
        log(f"history: {last + 1:,} tickets ({time.monotonic() - started:.0f} s)")
        first = last + 1
    with connection.cursor() as cur:
        analyzed = time.monotonic()
        for table in BIG_TABLES:
            cur.execute(f"ANALYZE {table}")
        analyze_s = time.monotonic() - analyzed
        counts = {}
        for table in BIG_TABLES:
            cur.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [table])
            counts[table] = cur.fetchone()[0]
        cur.execute("SELECT pg_database_size(current_database())")
        db_bytes = cur.fetchone()[0]
    return {
        "fill_s": round(time.monotonic() - started, 1),
        "analyze_s": round(analyze_s, 1),
        "rows_estimated": counts,
        "database_mb": round(db_bytes / 2**20),
    }


# --- the hot path -------------------------------------------------------------------------------


def hot_path_requests(branch_id: int) -> tuple[list[tuple[str, object]], object]:
    """(name, callable) pairs, each making one request and returning its response; and
    call-next on its own."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from accounts.models import Branch
    from queueing.links import ticket_status_token
    from queueing.live import live_token
    from queueing.models import Counter

    branch = Branch.objects.get(pk=branch_id)
    User = get_user_model()
    teller_ids = branch.memberships.filter(role="teller").values_list("user_id", flat=True)
    lobby_ids = branch.memberships.filter(role="lobby_manager").values_list("user_id", flat=True)
    teller_user = User.objects.filter(pk__in=teller_ids).order_by("pk").first()
    lobby_user = User.objects.filter(pk__in=lobby_ids).order_by("pk").first()
    counter = Counter.objects.filter(branch=branch).order_by("number").first()
    teller, lobby, public = Client(), Client(), Client()
    teller.force_login(teller_user)
    lobby.force_login(lobby_user)
    service = branch.services.order_by("sort_order").values_list("code", flat=True).first()
    opened = teller.post(f"/api/queue/counters/{counter.pk}/open/")
    # 400: open already (an earlier size's run, same database): the teller is seated there.
    if opened.status_code not in (200, 400):
        raise RuntimeError(f"open counter: HTTP {opened.status_code} {opened.content[:200]!r}")
    state: dict = {}

    def issue():
        response = lobby.post(
            "/api/queue/tickets/",
            {"service": service, "priority": "regular"},
            content_type="application/json",
        )
        state["issued"] = response.json()["id"]
        return response

    def call_next():
        response = teller.post(f"/api/queue/counters/{counter.pk}/call-next/")
        if response.status_code == 200:
            state["ticket"] = response.json()["id"]
        return response

    def start():
        return teller.post(f"/api/queue/tickets/{state['ticket']}/start/")

    def finish():
        return teller.post(
            f"/api/queue/tickets/{state['ticket']}/finish/",
            FINISH_CHECKLIST,
            content_type="application/json",
        )

    def board_state():
        return public.get(f"/queue/board/{branch.display_token}/state/")

    def status_state():
        return public.get(f"/queue/t/{ticket_status_token(state['issued'])}/state/")

    def version():
        return public.get(f"/queue/live/{live_token(branch.pk)}/v/")

    return [
        ("issue", issue),
        ("call_next", call_next),
        ("start", start),
        ("finish", finish),
        ("board_state", board_state),
        ("status_state", status_state),
        ("version", version),
    ], call_next


SKIP = re.compile(r"^\s*(SAVEPOINT|RELEASE|ROLLBACK|BEGIN|COMMIT|SET|SHOW)\b", re.I)


def walk(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from walk(child)


def explain(sql: str) -> dict:
    """EXPLAIN (ANALYZE, BUFFERS) in a transaction that is rolled back; without ANALYZE if the
    statement cannot run again (a unique key it already used, a row it already changed)."""
    from django.db import DatabaseError, connection, transaction

    analyzed = True
    try:
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql)
            document = cur.fetchone()[0]
            cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            text = "\n".join(row[0] for row in cur.fetchall())
            transaction.set_rollback(True)
    except DatabaseError:
        analyzed = False
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("EXPLAIN (FORMAT JSON) " + sql)
            document = cur.fetchone()[0]
            cur.execute("EXPLAIN " + sql)
            text = "\n".join(row[0] for row in cur.fetchall())
            transaction.set_rollback(True)
    if isinstance(document, str):
        document = json.loads(document)
    top = document[0]
    nodes = list(walk(top["Plan"]))
    seq_scans = sorted(
        {
            node.get("Relation Name", "")
            for node in nodes
            if node.get("Node Type") == "Seq Scan" and node.get("Relation Name") in BIG_TABLES
        }
    )
    indexes = sorted({node["Index Name"] for node in nodes if node.get("Index Name")})
    return {
        "node": top["Plan"]["Node Type"],
        "indexes": indexes,
        "seq_scan_big": seq_scans,
        "ms": round(top.get("Execution Time", 0.0), 3) if analyzed else None,
        "analyzed": analyzed,
        "text": text,
    }


def run_hot_path(branch_id: int, size: int) -> dict[str, dict]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    requests, call_next = hot_path_requests(branch_id)
    # A queue to call from: a few waiting tickets of today.
    issue = dict(requests)["issue"]
    for _ in range(5):
        issue()
    captured: list[tuple[str, int, str, float]] = []
    for round_ in ("warm", "measured"):
        for name, make in requests:
            with CaptureQueriesContext(connection) as ctx:
                response = make()
            if response.status_code >= 400:
                raise RuntimeError(
                    f"{name}: HTTP {response.status_code} {response.content[:300]!r}"
                )
            if round_ == "measured":
                for n, query in enumerate(ctx.captured_queries):
                    captured.append((name, n, query["sql"], float(query["time"]) * 1000))
    # Drain today's queue, then ask once more: call-next with nobody waiting.
    while call_next().status_code == 200:
        requests[2][1]()
        requests[3][1]()
    with CaptureQueriesContext(connection) as ctx:
        response = call_next()
    for n, query in enumerate(ctx.captured_queries):
        captured.append(("call_next_empty", n, query["sql"], float(query["time"]) * 1000))

    results: dict[str, dict] = {}
    print(f"\n===== {size:,} historic tickets =====\n")
    for name, n, sql, wall_ms in captured:
        if SKIP.match(sql):
            continue
        key = f"{name}#{n}"
        plan = explain(sql)
        flag = (
            f"  <-- SEQ SCAN on {', '.join(plan['seq_scan_big'])}" if plan["seq_scan_big"] else ""
        )
        ms = f"{plan['ms']:.3f} ms" if plan["ms"] is not None else "not run (EXPLAIN only)"
        print(f"--- {key} ({ms}; {wall_ms:.1f} ms in the request){flag}")
        print(sql if len(sql) <= 1500 else sql[:1500] + " ...")
        print(plan.pop("text"))
        print()
        results[key] = {"sql": sql[:120], **plan, "request_ms": round(wall_ms, 2)}
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    env = prepare_environment(args)
    if ensure_database(args.database_url):
        log("created the database")
    if args.redis_url:
        flush_redis(args.redis_url)
    subprocess.run(
        [venv_bin("python"), "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=600,
    )
    os.environ.update(env)
    import django

    django.setup()
    from accounts.models import Branch
    from bench.setup_bench import create_branches

    if not Branch.objects.filter(code="bench").exists():
        create_branches(
            branches=1 + args.other_branches,
            tellers=2 * (1 + args.other_branches),
            lobby=1 + args.other_branches,
            password=secrets.token_urlsafe(16),
        )
        log(f"created {1 + args.other_branches} branches")
    layout = bench_layout()
    hot_branch = layout["branches"][0]
    report: dict = {"sizes": args.sizes, "queries": {}, "fill": {}}
    for size in args.sizes:
        log(f"filling history to {size:,} tickets")
        report["fill"][str(size)] = fill_history(size, args, layout)
        log(f"running the hot path at {size:,}")
        for key, row in run_hot_path(hot_branch, size).items():
            entry = report["queries"].setdefault(key, {"sql": row.pop("sql"), "by_size": {}})
            row.pop("sql", None)
            entry["by_size"][str(size)] = row
    flagged = sorted(
        {
            key
            for key, entry in report["queries"].items()
            for row in entry["by_size"].values()
            if row["seq_scan_big"]
        }
    )
    report["seq_scans_on_big_tables"] = flagged
    print(f"Seq Scans on tickets / events / outbox: {flagged or 'none'}")
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
