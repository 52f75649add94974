"""Fill a PostgreSQL database with a long KPI history: tickets, their events, visits, surveys.

    .venv/bin/python bench/make_history.py [--database-url postgres://postgres@127.0.0.1:5432/bf_hist]
        [--tickets 1000000] [--branches 40] [--days 250] [--jobs 2] [--reset] [--no-rollups]

For the KPI speed benchmark (bench/kpi_load.py, issue 9 item 5). It creates the database if
missing and migrates it, then adds `--branches` branches (codes `hist-001` ...; Asia/Shanghai,
09:00-17:00, Monday to Saturday; Sundays closed) with three services, six counters and a teller
seated at each, a branch head `hist-head` of the first branch and a regional head
`hist-region` of a region holding them all (password from BENCH_PASSWORD, default "bench"),
and `--tickets` tickets spread over `--days` open days that end yesterday (branch time), with:

* statuses as a branch sees them: about 86 % served (7 % of those not completed), 7 % no-shows
  (called, did not come), 7 % walked away (cancelled while waiting); arrivals peak at 10:00
  and 14:30, Monday is busiest, Saturday quietest; waits grow with the hour's load;
* their TicketEvents (issue, call, start, finish / no-show / cancel: about 3.7 per ticket);
* a reception Visit per ticket (greeting and triage times, the outcome, the teller) and 8 % more
  visits sent to the self-service machines;
* customers, and for 30 % of the served a CRM interaction and a survey invitation, 40 % of
  which were answered (satisfaction 1-5, recommendation 0-10);
* counter events (each counter opened at 09:00 and closed at 17:00; counters 5 and 6 only on
  Mondays and Fridays).

Every table is filled by one INSERT ... SELECT over generate_series (no ORM row by row): a
million tickets take a few minutes on two cores. Then the rollups are built by
kpi.services.rollup_recompute_range (helper C's code), in `--jobs` processes. Prints timings on
stderr and ends with ONE JSON line on stdout: counts and seconds per step.

A database that already holds a history is refused unless `--reset` (drops and recreates it:
give the bench a database of its own).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bf_hist"
BRANCH_PREFIX = "hist-"
HEAD_USERNAME = "hist-head"
REGION_HEAD_USERNAME = "hist-region"
TIME_ZONE = "Asia/Shanghai"
COUNTERS = 6
# code, Chinese, English, prefix, target wait (min), standard handling (min), share of tickets
SERVICES = [
    ("cash", "现金存取", "Cash deposit / withdrawal", "A", 10, 5, 0.55),
    ("transfer", "转账汇款", "Transfer / remittance", "B", 15, 7, 0.30),
    ("enquiry", "咨询", "Enquiry", "G", 10, 4, 0.15),
]
# Monday .. Saturday volume relative to the mean (Sunday closed).
WEEKDAY_FACTOR = [1.25, 1.0, 0.95, 0.95, 1.1, 0.75]


def log(message: str) -> None:
    print(f"[make_history] {message}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or "")
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--branches", type=int, default=40)
    parser.add_argument("--days", type=int, default=250, help="open days (Mon-Sat)")
    parser.add_argument("--jobs", type=int, default=2, help="processes building rollups")
    parser.add_argument("--seed", type=float, default=0.42)
    parser.add_argument("--reset", action="store_true", help="drop and recreate the database")
    parser.add_argument("--no-rollups", action="store_true")
    parser.add_argument(
        "--rebuild-branches",
        type=int,
        default=2,
        help="branches whose rollups kpi.services rebuilds; the others get copies of theirs",
    )
    args = parser.parse_args(argv)
    args.database_url = args.database_url or DEFAULT_DATABASE_URL
    if args.tickets < 1 or args.branches < 1 or args.days < 1:
        parser.error("--tickets, --branches and --days must be positive")
    return args


def prepare_database(args: argparse.Namespace) -> None:
    """Create (or with --reset recreate) the database, then point Django at it and migrate."""
    import psycopg2
    from psycopg2 import sql

    parts = urlsplit(args.database_url)
    name = parts.path.lstrip("/")
    admin = psycopg2.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password or "",
        dbname="postgres",
    )
    admin.autocommit = True
    with admin.cursor() as cur:
        if args.reset:
            cur.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if not cur.fetchone():
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    admin.close()
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-make-history-not-secret")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def open_days(last: date, count: int) -> list[date]:
    """`count` Monday-Saturday days ending at `last` (oldest first)."""
    days: list[date] = []
    day = last
    while len(days) < count:
        if day.weekday() != 6:
            days.append(day)
        day -= timedelta(days=1)
    return days[::-1]


def _literal_defaults(model, given: set[str]) -> tuple[list[str], list[Any]]:
    """Columns of `model` not in `given` that need a value: (columns, values). Django's
    defaults live in Python, not in the table, so an INSERT ... SELECT must spell them out."""
    columns, values = [], []
    for field in model._meta.concrete_fields:
        if field.primary_key or field.column in given:
            continue
        if getattr(field, "auto_now_add", False) or getattr(field, "auto_now", False):
            columns.append(field.column)
            values.append(datetime.now().astimezone())
            continue
        default = field.get_default()
        if default is None and field.null:
            continue
        if isinstance(default, (dict, list)):
            default = json.dumps(default)
        columns.append(field.column)
        values.append(default)
    return columns, values


def insert_select(cursor, model, expressions: dict[str, str], from_sql: str, params=()) -> int:
    """INSERT INTO model's table (explicit expressions + defaults) SELECT ... FROM ...; rows."""
    default_columns, default_values = _literal_defaults(model, set(expressions))
    # Defaults first, so their placeholders come before any in the expressions or FROM.
    columns = [*default_columns, *expressions]
    selects = [*(["%s"] * len(default_values)), *expressions.values()]
    statement = (
        f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) "
        f"SELECT {', '.join(selects)} {from_sql}"
    )
    cursor.execute(statement, [*default_values, *params])
    return cursor.rowcount


def create_branches(args: argparse.Namespace) -> dict[str, Any]:
    """Branches, services, counters, tellers and the two heads (small: the ORM is fine)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    from accounts.models import Branch, Membership, Region, RegionMembership, RegionRole, Role
    from queueing.models import Counter, CounterSkill, Service

    if Branch.objects.filter(code__startswith=BRANCH_PREFIX).exists():
        raise SystemExit("this database already holds a history: use --reset (drops it)")
    user_model = get_user_model()
    password = make_password(os.environ.get("BENCH_PASSWORD", "bench"))
    region = Region.objects.create(code="hist", name="历史区域", name_en="History region")
    branches = Branch.objects.bulk_create(
        [
            Branch(
                code=f"{BRANCH_PREFIX}{i:03d}",
                name=f"历史支行{i:03d}",
                name_en=f"History branch {i:03d}",
                time_zone=TIME_ZONE,
                region=region,
            )
            for i in range(1, args.branches + 1)
        ]
    )
    services = Service.objects.bulk_create(
        [
            Service(
                branch=branch,
                code=code,
                name_zh=zh,
                name_en=en,
                prefix=prefix,
                target_wait_minutes=target,
                standard_handle_minutes=standard,
                sort_order=index,
            )
            for branch in branches
            for index, (code, zh, en, prefix, target, standard, _share) in enumerate(SERVICES)
        ]
    )
    tellers = user_model.objects.bulk_create(
        [
            user_model(username=f"hist-t{branch.pk}-{n}", password=password)
            for branch in branches
            for n in range(1, COUNTERS + 1)
        ]
    )
    counters = Counter.objects.bulk_create(
        [
            Counter(branch=branch, number=n, label="", teller=tellers[b * COUNTERS + n - 1])
            for b, branch in enumerate(branches)
            for n in range(1, COUNTERS + 1)
        ]
    )
    by_branch = {
        branch.pk: [s for s in services if s.branch_id == branch.pk] for branch in branches
    }
    CounterSkill.objects.bulk_create(
        [
            CounterSkill(counter=counter, service=service, rank=rank)
            for counter in counters
            for rank, service in enumerate(by_branch[counter.branch_id], start=1)
        ]
    )
    head = user_model.objects.create(username=HEAD_USERNAME, password=password)
    regional = user_model.objects.create(username=REGION_HEAD_USERNAME, password=password)
    Membership.objects.bulk_create(
        [
            Membership(user=teller, branch=counter.branch, role=Role.TELLER)
            for teller, counter in zip(tellers, counters, strict=True)
        ]
        + [Membership(user=head, branch=branches[0], role=Role.BRANCH_HEAD)]
        + [Membership(user=regional, branch=branches[0], role=Role.BRANCH_HEAD)]
    )
    RegionMembership.objects.create(user=regional, region=region, role=RegionRole.HEAD)
    return {"branches": branches, "services": services, "counters": counters}


def fill(args: argparse.Namespace, made: dict[str, Any], days: list[date], timings: dict) -> dict:
    from django.db import connection, transaction

    from crm.models import Customer, Interaction
    from feedback.models import SurveyInvitation, SurveyResponse
    from queueing.models import CounterEvent, Ticket, TicketEvent
    from reception.models import Visit

    branch_ids = [b.pk for b in made["branches"]]
    per_day = args.tickets / (len(branch_ids) * len(days))
    counts: dict[str, int] = {}

    def step(name: str, function) -> None:
        started = time.monotonic()
        with transaction.atomic(), connection.cursor() as cur:
            counts[name] = function(cur)
        timings[name] = round(time.monotonic() - started, 2)
        log(f"{name}: {counts[name]:,} rows in {timings[name]:.1f} s")

    def scaffolding(cur) -> int:
        cur.execute("SELECT setseed(%s)", [args.seed])
        cur.execute("CREATE TEMP TABLE h_day (day date, factor float) ON COMMIT PRESERVE ROWS")
        cur.executemany(
            "INSERT INTO h_day VALUES (%s, %s)",
            [(d, WEEKDAY_FACTOR[d.weekday()]) for d in days],
        )
        cur.execute(
            "CREATE TEMP TABLE h_service ON COMMIT PRESERVE ROWS AS "
            "SELECT id, branch_id, code, prefix, standard_handle_minutes * 60.0 AS std_s,"
            " ROW_NUMBER() OVER (PARTITION BY branch_id ORDER BY sort_order) AS rank "
            "FROM queueing_service WHERE branch_id = ANY(%s)",
            [branch_ids],
        )
        cur.execute(
            "CREATE TEMP TABLE h_counter ON COMMIT PRESERVE ROWS AS "
            "SELECT id, branch_id, number, teller_id FROM queueing_counter "
            "WHERE branch_id = ANY(%s)",
            [branch_ids],
        )
        # One row per ticket: branch, day, minute of arrival after opening, service, fate.
        cumulative = []
        running = 0.0
        for *_, share in SERVICES:
            running += share
            cumulative.append(running)
        cur.execute(
            """
            CREATE TEMP TABLE h_ticket ON COMMIT PRESERVE ROWS AS
            SELECT b AS branch_id, d.day,
                   -- Two peaks (10:00 and 14:30), opening 09:00, closing 17:00.
                   LEAST(479.0, GREATEST(0.0, CASE WHEN random() < 0.55
                        THEN 60 + (random() + random() + random() - 1.5) * 110
                        ELSE 330 + (random() + random() + random() - 1.5) * 130 END)) AS minute,
                   CASE WHEN r1 < %s THEN 1 WHEN r1 < %s THEN 2 ELSE 3 END AS service_rank,
                   CASE WHEN r2 < 0.86 THEN 'done' WHEN r2 < 0.93 THEN 'no_show'
                        ELSE 'cancelled' END AS status,
                   1 + floor(random() * %s)::int AS counter_number,
                   random() AS r3, random() AS r4, random() AS r5
            FROM unnest(%s::bigint[]) AS b
            CROSS JOIN h_day d
            CROSS JOIN LATERAL generate_series(1, GREATEST(1, round(%s * d.factor
                * (0.85 + 0.3 * random()))::int)) AS n
            CROSS JOIN LATERAL (SELECT random() AS r1, random() AS r2, n AS nn) AS r
            """,
            [cumulative[0], cumulative[1], COUNTERS - 2, branch_ids, per_day],
        )
        # Counters 5 and 6 open Monday and Friday only; tickets those days use them too.
        cur.execute(
            "UPDATE h_ticket SET counter_number = counter_number + 2 "
            "WHERE extract(isodow FROM day) IN (1, 5) AND r5 < 0.33"
        )
        cur.execute("SELECT count(*) FROM h_ticket")
        return cur.fetchone()[0]

    def tickets(cur) -> int:
        # Waits grow with the hour's load (peaks) and on busy weekdays.
        return insert_select(
            cur,
            Ticket,
            {
                "branch_id": "t.branch_id",
                "service_id": "s.id",
                "business_date": "t.day",
                "number": "t.number",
                "code": "s.prefix || lpad(t.number::text, 3, '0')",
                "status": "t.status",
                "issued_at": "t.arrived_at",
                "arrived_at": "t.arrived_at",
                "called_at": "CASE WHEN t.status <> 'cancelled' THEN t.arrived_at + t.wait END",
                "started_at": "CASE WHEN t.status = 'done' THEN t.arrived_at + t.wait"
                " + interval '40 seconds' END",
                "finished_at": "CASE WHEN t.status = 'done' THEN t.arrived_at + t.wait"
                " + interval '40 seconds' + hh.handle WHEN t.status = 'no_show' THEN"
                " t.arrived_at + t.wait + interval '3 minutes' END",
                "counter_id": "CASE WHEN t.status <> 'cancelled' THEN c.id END",
                "teller_id": "CASE WHEN t.status <> 'cancelled' THEN c.teller_id END",
            },
            """
            FROM (
              SELECT h.*, ROW_NUMBER() OVER (PARTITION BY h.branch_id, h.day, h.service_rank
                                            ORDER BY h.minute) AS number,
                     ((h.day + time '09:00' + h.minute * interval '1 minute')
                        AT TIME ZONE %s) AS arrived_at,
                     (-ln(1 - h.r3 * 0.999) * (240 + 420 * exp(-power((h.minute - 75) / 60.0, 2))
                        + 360 * exp(-power((h.minute - 330) / 70.0, 2)))) * interval '1 second'
                        AS wait,
                     h.r4 AS handle_r
              FROM h_ticket h
            ) t
            JOIN h_service s ON s.branch_id = t.branch_id AND s.rank = t.service_rank
            JOIN h_counter c ON c.branch_id = t.branch_id AND c.number = t.counter_number
            CROSS JOIN LATERAL (SELECT (s.std_s * (0.3 + -ln(1 - t.handle_r * 0.999) * 0.7))
                                * interval '1 second' AS handle) hh
            """,
            [TIME_ZONE],
        )

    def ticket_range(cur) -> tuple[int, int]:
        cur.execute(
            "SELECT min(id), max(id) FROM queueing_ticket WHERE branch_id = ANY(%s)", [branch_ids]
        )
        return cur.fetchone()

    def events(cur) -> int:
        low, high = ticket_range(cur)
        base = "FROM queueing_ticket t WHERE t.id BETWEEN %s AND %s"
        rows = 0
        for action, from_status, to_status, at, condition in (
            ("issue", "", "waiting", "t.arrived_at", "TRUE"),
            ("call", "waiting", "called", "t.called_at", "t.called_at IS NOT NULL"),
            ("start", "called", "serving", "t.started_at", "t.status = 'done'"),
            ("finish", "serving", "done", "t.finished_at", "t.status = 'done'"),
            ("no_show", "called", "no_show", "t.finished_at", "t.status = 'no_show'"),
            (
                "cancel",
                "waiting",
                "cancelled",
                "t.arrived_at + interval '9 minutes'",
                "t.status = 'cancelled'",
            ),
        ):
            rows += insert_select(
                cur,
                TicketEvent,
                {
                    "ticket_id": "t.id",
                    "branch_id": "t.branch_id",
                    "action": f"'{action}'",
                    "from_status": f"'{from_status}'",
                    "to_status": f"'{to_status}'",
                    "at": at,
                    "by_id": "t.teller_id" if action not in ("issue", "cancel") else "NULL",
                    "counter_id": "t.counter_id",
                },
                f"{base} AND {condition}",
                [low, high],
            )
        return rows

    customers_wanted = max(100, args.tickets // 20)

    def customers(cur) -> int:
        return insert_select(
            cur,
            Customer,
            {
                "phone": "'139' || lpad(g::text, 8, '0')",
                "name": "'客户' || g",
                "sms_consent": "TRUE",
                "sms_consent_at": "now() - interval '400 days'",
                "sms_consent_source": "'lobby'",
            },
            "FROM generate_series(1, %s) AS g",
            [customers_wanted],
        )

    def customer_range(cur) -> tuple[int, int]:
        cur.execute(
            "SELECT min(id), max(id) FROM crm_customer WHERE phone LIKE '139%%' AND name LIKE '客户%%'"
        )
        return cur.fetchone()

    def visits(cur) -> int:
        low, high = ticket_range(cur)
        c_low, c_high = customer_range(cur)
        rows = insert_select(
            cur,
            Visit,
            {
                "branch_id": "t.branch_id",
                "customer_id": f"{c_low} + (t.id * 7919) %% {c_high - c_low + 1}",
                "service_id": "t.service_id",
                "route": "'queue'",
                "channel": "'lobby'",
                "arrived_at": "t.arrived_at - interval '2 minutes'",
                "greeted_at": "t.arrived_at - interval '2 minutes'"
                " + ((t.id %% 420) * interval '1 second')",
                "triaged_at": "t.arrived_at - interval '10 seconds'",
                "registered_at": "t.arrived_at - interval '10 seconds'",
                "ticket_id": "t.id",
                "outcome": "CASE WHEN t.status <> 'done' THEN ''"
                " WHEN t.id %% 14 = 0 THEN 'incomplete' ELSE 'completed' END",
                "incomplete_reason": "CASE WHEN t.status = 'done' AND t.id %% 14 = 0"
                " THEN 'documents' ELSE '' END",
                "identity_verified": "t.status = 'done'",
                "served_by_id": "CASE WHEN t.status = 'done' THEN t.teller_id END",
            },
            "FROM queueing_ticket t WHERE t.id BETWEEN %s AND %s",
            [low, high],
        )
        # Sent to the machines: a visit with no ticket, 8 % on top.
        rows += insert_select(
            cur,
            Visit,
            {
                "branch_id": "t.branch_id",
                "customer_id": f"{c_low} + (t.id * 104729) %% {c_high - c_low + 1}",
                "service_id": "t.service_id",
                "route": "'self_service'",
                "channel": "'lobby'",
                "arrived_at": "t.arrived_at - interval '1 minute'",
                "greeted_at": "t.arrived_at - interval '30 seconds'",
                "triaged_at": "t.arrived_at",
                "registered_at": "t.arrived_at",
            },
            "FROM queueing_ticket t WHERE t.id BETWEEN %s AND %s AND t.id %% 25 < 2",
            [low, high],
        )
        return rows

    def surveys(cur) -> int:
        low, high = ticket_range(cur)
        cur.execute(
            "CREATE TEMP TABLE h_survey ON COMMIT DROP AS "
            "SELECT t.id AS ticket_id, t.branch_id, t.finished_at, t.teller_id, s.code,"
            " v.customer_id FROM queueing_ticket t JOIN queueing_service s ON s.id = t.service_id"
            " JOIN reception_visit v ON v.ticket_id = t.id"
            " WHERE t.id BETWEEN %s AND %s AND t.status = 'done' AND t.id %% 10 < 3",
            [low, high],
        )
        rows = insert_select(
            cur,
            Interaction,
            {
                "customer_id": "h.customer_id",
                "branch_id": "h.branch_id",
                "kind": "'branch_service'",
                "service_code": "h.code",
                "staff_id": "h.teller_id",
                "occurred_at": "h.finished_at",
                "source": "'ticket:' || h.ticket_id",
            },
            "FROM h_survey h",
        )
        rows += insert_select(
            cur,
            SurveyInvitation,
            {
                "customer_id": "h.customer_id",
                "branch_id": "h.branch_id",
                "interaction_id": "i.id",
                "status": "CASE WHEN h.ticket_id %% 5 < 2 THEN 'answered' ELSE 'sent' END",
                "scheduled_for": "h.finished_at + interval '30 minutes'",
                "sent_at": "h.finished_at + interval '30 minutes'",
                "answered_at": "CASE WHEN h.ticket_id %% 5 < 2"
                " THEN h.finished_at + interval '2 hours' END",
                "attempts": "1",
                "created_at": "h.finished_at",
            },
            "FROM h_survey h JOIN crm_interaction i ON i.source = 'ticket:' || h.ticket_id",
        )
        rows += insert_select(
            cur,
            SurveyResponse,
            {
                "invitation_id": "inv.id",
                "branch_id": "h.branch_id",
                "channel": "'sms_link'",
                "satisfaction": "CASE WHEN h.ticket_id %% 23 = 0 THEN 2"
                " WHEN h.ticket_id %% 7 = 0 THEN 3 WHEN h.ticket_id %% 3 = 0 THEN 4 ELSE 5 END",
                "recommend": "CASE WHEN h.ticket_id %% 11 = 0 THEN 5"
                " WHEN h.ticket_id %% 4 = 0 THEN 8 ELSE 10 END",
                "submitted_at": "h.finished_at + interval '2 hours'",
                "ticket_id": "h.ticket_id",
                "service_code": "h.code",
                "teller_id": "h.teller_id",
            },
            "FROM h_survey h JOIN crm_interaction i ON i.source = 'ticket:' || h.ticket_id"
            " JOIN feedback_surveyinvitation inv ON inv.interaction_id = i.id"
            " WHERE inv.status = 'answered'",
        )
        return rows

    def counter_events(cur) -> int:
        rows = 0
        for action, at in (("open", "09:00"), ("close", "17:00")):
            rows += insert_select(
                cur,
                CounterEvent,
                {
                    "counter_id": "c.id",
                    "branch_id": "c.branch_id",
                    "action": f"'{action}'",
                    "at": f"(d.day + time '{at}') AT TIME ZONE %s",
                    "by_id": "c.teller_id",
                },
                "FROM h_counter c CROSS JOIN h_day d"
                " WHERE c.number <= 4 OR extract(isodow FROM d.day) IN (1, 5)",
                [TIME_ZONE],
            )
        return rows

    step("scaffolding", scaffolding)
    step("tickets", tickets)
    step("ticket_events", events)
    step("customers", customers)
    step("visits", visits)
    step("surveys", surveys)
    step("counter_events", counter_events)
    started = time.monotonic()
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    timings["analyze"] = round(time.monotonic() - started, 2)
    return counts


def _rollup_worker(branch_id: int, days: list[date]) -> int:
    from django.db import connection

    from accounts.models import Branch
    from kpi.services import rollup_recompute_day

    connection.close()  # a fresh connection in this process, not the parent's
    if os.environ.get("BENCH_ROLLUP_JIT", "off") == "off":
        # PostgreSQL's JIT compiles the rebuild's long wait expressions for minutes per day
        # (measured: 219 s with JIT, 0.18 s without, for one day's ticket query); see
        # docs/benchmarks.md. BENCH_ROLLUP_JIT=on measures the server's default.
        with connection.cursor() as cursor:
            cursor.execute("SET jit = off")
    branch = Branch.objects.get(pk=branch_id)
    return sum(rollup_recompute_day(branch=branch, day=day) for day in days)


def _copy_rollups(source_id: int, target_ids: list[int]) -> int:
    """The source branch's rollup rows for every target branch (services matched by code,
    tellers by counter number): the same shape and size as rebuilt ones, in seconds."""
    from django.db import connection

    from kpi.models import KpiDay, KpiRollup

    skip = {"id", "branch_id", "service_id", "teller_id"}
    columns = [f.column for f in KpiRollup._meta.concrete_fields if f.column not in skip]
    listed = ", ".join(columns)
    picked = ", ".join(f"r.{c}" for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {KpiRollup._meta.db_table} (branch_id, service_id, teller_id, {listed})"  # noqa: S608
            f" SELECT t.id, s2.id, c2.teller_id, {picked}"
            f" FROM {KpiRollup._meta.db_table} r"
            " CROSS JOIN unnest(%s::bigint[]) AS t(id)"
            " LEFT JOIN queueing_service s1 ON s1.id = r.service_id"
            " LEFT JOIN queueing_service s2 ON s2.branch_id = t.id AND s2.code = s1.code"
            " LEFT JOIN queueing_counter c1 ON c1.branch_id = r.branch_id"
            "  AND c1.teller_id = r.teller_id"
            " LEFT JOIN queueing_counter c2 ON c2.branch_id = t.id AND c2.number = c1.number"
            " WHERE r.branch_id = %s",
            [target_ids, source_id],
        )
        rows = cursor.rowcount
        cursor.execute(
            f"INSERT INTO {KpiDay._meta.db_table} (branch_id, day, dirty, marked_at,"  # noqa: S608
            " computed_at, rows) SELECT t.id, d.day, d.dirty, d.marked_at, d.computed_at, d.rows"
            f" FROM {KpiDay._meta.db_table} d CROSS JOIN unnest(%s::bigint[]) AS t(id)"
            " WHERE d.branch_id = %s ON CONFLICT DO NOTHING",
            [target_ids, source_id],
        )
    return rows


def build_rollups(args: argparse.Namespace, made: dict, days: list[date]) -> dict[str, Any]:
    """Helper C's kpi.services.rollup_recompute_day for every day of the first
    `--rebuild-branches` branches (in --jobs processes), then those rows copied to the others.

    Why copies: the rebuild takes about 1.2 s per branch-day here (most of it Django compiling
    one 490 KB query), so 10,000 branch-days would take hours; the dashboards' speed depends on
    the rollup table's size and shape, which the copies have."""
    try:
        from kpi.services import rollup_recompute_day  # noqa: F401
    except ImportError as exc:
        log(f"rollups not built: {exc}")
        return {"rollups": None, "rollup_error": str(exc)}
    import multiprocessing

    from django.db import connection

    branch_ids = [b.pk for b in made["branches"]]
    rebuilt = branch_ids[: max(1, min(args.rebuild_branches, len(branch_ids)))]
    # Every calendar day of the range (closed Sundays too: their rebuild writes no rows).
    calendar = [days[0] + timedelta(days=i) for i in range((days[-1] - days[0]).days + 1)]
    jobs = max(1, args.jobs)
    work = [(b, calendar[i::jobs]) for b in rebuilt for i in range(jobs)]
    connection.close()
    started = time.monotonic()
    if jobs == 1:
        rows = sum(_rollup_worker(b, chunk) for b, chunk in work)
    else:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            rows = sum(pool.starmap(_rollup_worker, work))
    rebuild_s = time.monotonic() - started
    log(
        f"rollups rebuilt: {rows:,} rows for {len(rebuilt)} branch(es) x {len(calendar)} days"
        f" in {rebuild_s:.1f} s"
    )
    started = time.monotonic()
    copied = 0
    targets = branch_ids[len(rebuilt) :]
    for index in range(0, len(targets), len(rebuilt)):
        chunk = targets[index : index + len(rebuilt)]
        for source, target in zip(rebuilt, chunk, strict=False):
            copied += _copy_rollups(source, [target])
    copy_s = time.monotonic() - started
    if targets:
        log(f"rollups copied: {copied:,} rows for {len(targets)} branches in {copy_s:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE kpi_kpirollup")
    return {
        "rollup_rows": rows + copied,
        "rollup_rows_rebuilt": rows,
        "rollup_branches_rebuilt": len(rebuilt),
        "rollup_rebuild_s_per_branch_day": round(rebuild_s / (len(rebuilt) * len(calendar)), 3),
        "rollups_s": round(rebuild_s + copy_s, 2),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    timings: dict[str, float] = {}
    started = time.monotonic()
    prepare_database(args)
    timings["migrate"] = round(time.monotonic() - started, 2)
    from zoneinfo import ZoneInfo

    from django.utils import timezone

    yesterday = timezone.localtime(timezone.now(), ZoneInfo(TIME_ZONE)).date() - timedelta(days=1)
    days = open_days(yesterday, args.days)
    step_started = time.monotonic()
    made = create_branches(args)
    timings["branches"] = round(time.monotonic() - step_started, 2)
    log(f"{args.branches} branches, {len(days)} open days {days[0]} .. {days[-1]}")
    counts = fill(args, made, days, timings)
    result: dict[str, Any] = {
        "tickets": counts.get("tickets", 0),
        "branches": args.branches,
        "days": len(days),
        "date_from": days[0].isoformat(),
        "date_to": days[-1].isoformat(),
        "counts": counts,
    }
    if not args.no_rollups:
        result.update(build_rollups(args, made, days))
    timings["total"] = round(time.monotonic() - started, 2)
    result["seconds"] = timings
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
