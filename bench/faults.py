"""Fault run: a branch keeps serving while Redis is stopped and the Celery worker is killed.

    .venv/bin/python bench/faults.py [--database-url postgres://postgres@127.0.0.1:5432/bf_faults]
        [--duration 90] [--tellers 4] [--tablets 2] [--issue-rate 3]
        [--redis-down-at 20] [--redis-down-for 30] [--kill-worker-at 60]

It starts everything itself on this machine: a redis-server of its own on a free loopback port
(so it can stop it), the app's web service as production runs it (Granian, WSGI threads,
config/serve.py, on PostgreSQL), a Celery worker and beat. Lobby tablets register visits through the API, tellers
call, start, transfer (one in ten) and complete them, and a display board polls its version and
state. During the run it stops Redis for `--redis-down-for` seconds, and kills the worker with
SIGKILL at `--kill-worker-at`, restarting it 3 s later. Then the tablets stop, the tellers drain
the queue, and it waits for the outbox and the survey SMS to settle (bounded).

It then counts, from the database and the SMS file: every finished ticket must have exactly one
CRM interaction, every interaction one invitation, every consenting customer's invitation sent
exactly once, no outbox delivery left undelivered, and no HTTP 5xx. Prints a table; the last
line of stdout is one JSON object:
{"tickets", "finished", "interactions", "invitations_sent", "sent_twice", "lost_events",
 "http_5xx", ...}. Exit status 0 only when lost_events, sent_twice and http_5xx are all 0.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter as Tally
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import psycopg2

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.load_queue import (
    FINISH_CHECKLIST,
    Gunicorn,
    ensure_database,
    free_port,
    latency_row,
    login,
    machine_cpu,
    pg_params,
    process_tree_cpu,
    venv_bin,
)
from bench.load_queue import (
    app_environment as load_queue_environment,
)

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bf_faults"
MAX_DURATION_S = 600
SETTLE_TIMEOUT_S = 150
REQUEST_TIMEOUT_S = 15


def log(message: str) -> None:
    print(f"[faults] {message}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    parser.add_argument("--duration", type=float, default=90, help="load phase, seconds")
    parser.add_argument("--tellers", type=int, default=4)
    parser.add_argument("--tablets", type=int, default=2)
    parser.add_argument("--issue-rate", type=float, default=3, help="visits per second, in all")
    parser.add_argument("--redis-down-at", type=float, default=20)
    parser.add_argument("--redis-down-for", type=float, default=30)
    parser.add_argument("--kill-worker-at", type=float, default=60)
    parser.add_argument("--workers", type=int, default=2, help="web worker processes")
    args = parser.parse_args(argv)
    if not 5 <= args.duration <= MAX_DURATION_S:
        parser.error(f"--duration must be 5..{MAX_DURATION_S}")
    if not (1 <= args.tellers <= 32 and 1 <= args.tablets <= 16 and 0 < args.issue_rate <= 50):
        parser.error("--tellers 1..32, --tablets 1..16, --issue-rate up to 50")
    # What bench.load_queue.Gunicorn reads: production's web service.
    args.server, args.threads = "granian", 2
    return args


# --- processes -------------------------------------------------------------------------------


class RedisServer:
    """A redis-server of our own on a loopback port, so it can be stopped and started."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is not installed (apt-get install redis-server)")
        self.process = subprocess.Popen(
            [
                *(binary, "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", str(self.workdir)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        import redis

        while time.monotonic() < deadline:
            try:
                redis.Redis(port=self.port, socket_connect_timeout=0.2).ping()
                return
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()  # as a crash or a pulled cable: nothing is saved
            self.process.wait(timeout=10)


class Celery:
    def __init__(self, role: str, env: dict[str, str], workdir: Path) -> None:
        self.role, self.env, self.workdir = role, env, workdir
        self.log_path = workdir / f"celery-{role}.log"
        self.process: subprocess.Popen | None = None
        self.kills = 0

    def start(self) -> None:
        command = [venv_bin("celery"), "-A", "config", self.role, "--loglevel=INFO"]
        if self.role == "worker":
            command += ["--pool=threads", "--concurrency=4", "--without-gossip", "--without-mingle"]
            command += ["-n", f"faults-{os.getpid()}-{self.kills}@%h"]
        else:
            command += ["--schedule", str(self.workdir / "celerybeat-schedule")]
        with self.log_path.open("a") as out:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
            self.kills += 1

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
            except ProcessLookupError:
                pass


def zone_at_midday() -> str:
    """A whole-hour zone where it is 10:00-17:59 now: no quiet hours hold the survey SMS back."""
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    for offset in range(-12, 15):
        name = f"Etc/GMT{-offset:+d}" if offset else "Etc/UTC"
        if 10 <= now.astimezone(ZoneInfo(name)).hour < 18:
            return name
    raise AssertionError("some whole-hour zone is always at midday")


def app_environment(args: argparse.Namespace, redis_url: str, workdir: Path) -> dict[str, str]:
    """The queue benchmark's production environment (ASGI, DB_CONN_MAX_AGE=0), with our Redis,
    the file SMS backend, and sweeps short enough for the run to settle in minutes."""
    env = load_queue_environment(argparse.Namespace(**{**vars(args), "redis_url": redis_url}))
    env = {k: v for k, v in env.items() if not k.startswith("SMS_")}
    env.update(
        {
            "SMS_BACKEND": "feedback.sms.FileBackend",
            "SMS_FILE_PATH": str(workdir / "sms.jsonl"),
            "SURVEY_DELAY_MINUTES": "0",
            "OUTBOX_SWEEP_SECONDS": "3",
            "SURVEY_SWEEP_SECONDS": "5",
            "SURVEY_SEND_LEASE_SECONDS": "15",
            "STATIC_ROOT": str(workdir / "static"),
        }
    )
    return env


def setup(args: argparse.Namespace, env: dict[str, str], password: str) -> dict:
    python = venv_bin("python")
    for command in (["migrate", "--noinput"], ["collectstatic", "--noinput"]):
        subprocess.run(
            [python, "manage.py", *command],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            timeout=300,
        )
    done = subprocess.run(
        [
            *(python, "bench/setup_bench.py", f"--tellers={args.tellers}"),
            *(f"--lobby={args.tablets}", f"--time-zone={zone_at_midday()}"),
        ],
        cwd=ROOT,
        env={**env, "BENCH_PASSWORD": password},
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- load ----------------------------------------------------------------------------------------


@dataclass
class Tracker:
    base_url: str
    stop_issuing: threading.Event = field(default_factory=threading.Event)
    stop_all: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    visit_of_ticket: dict[int, int] = field(default_factory=dict)
    statuses: Tally = field(default_factory=Tally)
    server_errors: list[str] = field(default_factory=list)
    transport_errors: list[str] = field(default_factory=list)
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    phase: str = "before"

    def record(self, op: str, response: httpx.Response | None, seconds: float, error=None):
        with self.lock:
            if response is None:
                self.transport_errors.append(f"{op}: {error!r}")
                return
            self.statuses[response.status_code] += 1
            self.latencies[self.phase].append(seconds * 1000)
            if response.status_code >= 500:
                self.server_errors.append(f"{op}: {response.status_code} {response.text[:200]}")


def request(tracker: Tracker, client: httpx.Client, op: str, method: str, url: str, **kwargs):
    started = time.perf_counter()
    try:
        response = client.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        tracker.record(op, None, time.perf_counter() - started, exc)
        return None
    tracker.record(op, response, time.perf_counter() - started)
    return response


def make_client(tracker: Tracker, username: str | None, password: str) -> httpx.Client:
    client = httpx.Client(base_url=tracker.base_url, timeout=REQUEST_TIMEOUT_S)
    if username:
        login(client, username, password)
    return client


def tablet(tracker: Tracker, client: httpx.Client, services: list[str], interval: float, n: int):
    rng = random.Random(n)
    serial = 0
    next_at = time.monotonic()
    while not tracker.stop_issuing.is_set():
        serial += 1
        phone = f"139{n:02d}{serial:06d}"
        body = {"phone": phone, "service": rng.choice(services), "sms_consent": True}
        response = request(tracker, client, "register", "POST", "/api/reception/visits/", json=body)
        if response is not None and response.status_code == 201:
            visit = response.json()
            with tracker.lock:
                tracker.visit_of_ticket[visit["ticket"]["id"]] = visit["id"]
        next_at += interval
        time.sleep(max(0.0, next_at - time.monotonic()))


def teller(tracker: Tracker, client: httpx.Client, counter_id: int, services: list[str], n: int):
    rng = random.Random(1000 + n)
    request(tracker, client, "open", "POST", f"/api/queue/counters/{counter_id}/open/")
    while not tracker.stop_all.is_set():
        response = request(
            tracker, client, "call", "POST", f"/api/queue/counters/{counter_id}/call-next/"
        )
        if response is None or response.status_code != 200:
            empty = response is not None and response.status_code == 204
            if empty and tracker.stop_issuing.is_set():
                return  # the queue is empty and no more visits come
            time.sleep(0.5)
            continue
        ticket_id = response.json()["id"]
        request(tracker, client, "start", "POST", f"/api/queue/tickets/{ticket_id}/start/")
        with tracker.lock:
            visit_id = tracker.visit_of_ticket.get(ticket_id)
        if rng.random() < 0.1 and response.json().get("priority") != "transferred":
            moved = request(
                tracker,
                client,
                "transfer",
                "POST",
                f"/api/queue/tickets/{ticket_id}/transfer/",
                json={"service": rng.choice(services)},
            )
            if moved is not None and moved.status_code == 201 and visit_id is not None:
                with tracker.lock:
                    tracker.visit_of_ticket[moved.json()["id"]] = visit_id
            continue
        time.sleep(rng.uniform(0.2, 0.8))  # serving
        if visit_id is None:  # its registration answer was lost: finish the ticket itself
            request(
                tracker,
                client,
                "finish",
                "POST",
                f"/api/queue/tickets/{ticket_id}/finish/",
                json=FINISH_CHECKLIST,
            )
            continue
        request(
            tracker,
            client,
            "complete",
            "POST",
            f"/api/reception/visits/{visit_id}/complete/",
            json={"outcome": "completed", "identity_verified": True},
        )


def board(tracker: Tracker, client: httpx.Client, display_token: str) -> None:
    page = request(tracker, client, "board", "GET", f"/queue/board/{display_token}/")
    version_url = None
    if page is not None and page.status_code == 200:
        marker = 'data-live-version-url="'
        if marker in page.text:
            version_url = page.text.split(marker, 1)[1].split('"', 1)[0]
    last = None
    while not tracker.stop_all.is_set():
        if version_url:
            response = request(tracker, client, "version", "GET", version_url)
            current = (
                response.json().get("v") if response is not None and response.is_success else None
            )
            if current != last:
                request(
                    tracker, client, "board_state", "GET", f"/queue/board/{display_token}/state/"
                )
                last = current
        time.sleep(1)


# --- verification --------------------------------------------------------------------------------


def verify(database_url: str, branch_id: int, sms_file: Path) -> dict:
    with psycopg2.connect(**pg_params(database_url)) as conn, conn.cursor() as cur:

        def one(query: str, *params) -> int:
            cur.execute(query, params)
            return cur.fetchone()[0]

        tickets = one("SELECT count(*) FROM queueing_ticket WHERE branch_id = %s", branch_id)
        finished = one(
            "SELECT count(*) FROM queueing_ticket WHERE branch_id = %s AND status = 'done'",
            branch_id,
        )
        left_waiting = one(
            "SELECT count(*) FROM queueing_ticket WHERE branch_id = %s"
            " AND status IN ('waiting', 'called', 'serving')",
            branch_id,
        )
        interactions = one(
            "SELECT count(*) FROM crm_interaction WHERE branch_id = %s AND source LIKE 'ticket:%%'",
            branch_id,
        )
        finished_without_interaction = one(
            "SELECT count(*) FROM queueing_ticket t WHERE t.branch_id = %s AND t.status = 'done'"
            " AND NOT EXISTS (SELECT 1 FROM crm_interaction i WHERE i.source = 'ticket:' || t.id)",
            branch_id,
        )
        duplicate_interactions = one(
            "SELECT count(*) FROM (SELECT source FROM crm_interaction WHERE branch_id = %s"
            " AND source <> '' GROUP BY source HAVING count(*) > 1) d",
            branch_id,
        )
        interactions_without_invitation = one(
            "SELECT count(*) FROM crm_interaction i WHERE i.branch_id = %s"
            " AND i.kind = 'branch_service'"
            " AND NOT EXISTS (SELECT 1 FROM feedback_surveyinvitation s"
            " WHERE s.interaction_id = i.id)",
            branch_id,
        )
        cur.execute(
            "SELECT status, count(*) FROM feedback_surveyinvitation WHERE branch_id = %s"
            " GROUP BY status",
            (branch_id,),
        )
        invitations = dict(cur.fetchall())
        undelivered = one(
            "SELECT count(*) FROM accounts_outboxdelivery d JOIN accounts_outboxevent e"
            " ON e.id = d.event_id WHERE e.branch_id = %s AND d.status <> 'done'",
            branch_id,
        )
        retried_deliveries = one(
            "SELECT count(*) FROM accounts_outboxdelivery d JOIN accounts_outboxevent e"
            " ON e.id = d.event_id WHERE e.branch_id = %s AND d.attempts > 1",
            branch_id,
        )
        reclaimed_sms = one(
            "SELECT count(*) FROM feedback_surveyinvitation WHERE branch_id = %s AND attempts > 1",
            branch_id,
        )
    keys = []
    if sms_file.exists():
        for line in sms_file.read_text(encoding="utf-8").splitlines():
            try:
                keys.append(json.loads(line)["idempotency_key"])
            except (ValueError, KeyError):
                continue
    sent_twice = sum(count - 1 for count in Tally(keys).values() if count > 1)
    return {
        "tickets": tickets,
        "finished": finished,
        "left_in_queue": left_waiting,
        "interactions": interactions,
        "invitations_sent": invitations.get("sent", 0),
        "invitations": invitations,
        "sms_lines": len(keys),
        "sent_twice": sent_twice,
        "lost_events": finished_without_interaction
        + interactions_without_invitation
        + undelivered
        + duplicate_interactions
        + invitations.get("scheduled", 0)
        + invitations.get("sending", 0),
        "detail": {
            "finished_without_interaction": finished_without_interaction,
            "duplicate_interactions": duplicate_interactions,
            "interactions_without_invitation": interactions_without_invitation,
            "outbox_undelivered": undelivered,
            "outbox_deliveries_retried": retried_deliveries,
            "sms_reclaimed_or_retried": reclaimed_sms,
        },
    }


def settled(database_url: str, branch_id: int) -> bool:
    with psycopg2.connect(**pg_params(database_url)) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM accounts_outboxdelivery d JOIN accounts_outboxevent e"
            " ON e.id = d.event_id WHERE e.branch_id = %s AND d.status = 'pending'",
            (branch_id,),
        )
        pending = cur.fetchone()[0]
        cur.execute(
            "SELECT count(*) FROM feedback_surveyinvitation WHERE branch_id = %s"
            " AND status IN ('scheduled', 'sending')",
            (branch_id,),
        )
        unsent = cur.fetchone()[0]
        cur.execute(
            "SELECT count(*) FROM queueing_ticket t WHERE t.branch_id = %s AND t.status = 'done'"
            " AND NOT EXISTS (SELECT 1 FROM crm_interaction i WHERE i.source = 'ticket:' || t.id)",
            (branch_id,),
        )
        missing = cur.fetchone()[0]
    return pending == 0 and unsent == 0 and missing == 0


# --- the run -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="bf-faults-"))
    ensure_database(args.database_url)
    redis_server = RedisServer(workdir)
    redis_server.start()
    env = app_environment(args, redis_server.url, workdir)
    password = secrets.token_urlsafe(16)
    branch = setup(args, env, password)
    log(f"branch {branch['branch_code']} set up; Redis on port {redis_server.port}")
    gunicorn = Gunicorn(args, env, free_port())
    worker = Celery("worker", env, workdir)
    beat = Celery("beat", env, workdir)
    events: list[str] = []
    tracker = Tracker(base_url=gunicorn.base_url)
    cpu_before = machine_cpu()
    try:
        gunicorn.start()
        gunicorn.wait_healthy()
        worker.start()
        beat.start()
        clients = []
        threads = []
        interval = args.tablets / args.issue_rate
        for n, lobby in enumerate(branch["lobby"]):
            client = make_client(tracker, lobby["username"], password)
            clients.append(client)
            threads.append(
                threading.Thread(
                    target=tablet, args=(tracker, client, branch["services"], interval, n)
                )
            )
        for n, teller_info in enumerate(branch["tellers"]):
            client = make_client(tracker, teller_info["username"], password)
            clients.append(client)
            threads.append(
                threading.Thread(
                    target=teller,
                    args=(tracker, client, teller_info["counter_id"], branch["services"], n),
                )
            )
        board_client = make_client(tracker, None, password)
        clients.append(board_client)
        threads.append(
            threading.Thread(target=board, args=(tracker, board_client, branch["display_token"]))
        )
        started = time.monotonic()
        tracker.phase = "redis_up"
        for thread in threads:
            thread.start()

        redis_back_at = args.redis_down_at + args.redis_down_for
        schedule = sorted(
            [
                (args.redis_down_at, "stop redis"),
                (redis_back_at, "start redis"),
                (args.kill_worker_at, "kill worker"),
                (args.kill_worker_at + 3, "start worker"),
            ]
        )
        for at, what in schedule:
            if at >= args.duration:
                continue
            time.sleep(max(0.0, started + at - time.monotonic()))
            if what == "stop redis":
                redis_server.stop()
                tracker.phase = "redis_down"
            elif what == "start redis":
                redis_server.start()
                tracker.phase = "redis_up"
            elif what == "kill worker":
                worker.kill()
            else:
                worker.start()
            events.append(f"{time.monotonic() - started:5.1f}s {what}")
            log(events[-1])
        time.sleep(max(0.0, started + args.duration - time.monotonic()))
        if redis_server.process is None or redis_server.process.poll() is not None:
            redis_server.start()
        tracker.stop_issuing.set()
        tracker.phase = "drain"
        log("load phase over; tellers drain the queue")
        deadline = time.monotonic() + 90
        for thread in threads[: args.tablets + args.tellers]:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        tracker.stop_all.set()
        for thread in threads:
            thread.join(timeout=30)
        load_seconds = time.monotonic() - started
        settle_started = time.monotonic()
        while time.monotonic() - settle_started < SETTLE_TIMEOUT_S:
            if settled(args.database_url, branch["branch_id"]):
                break
            time.sleep(2)
        settle_seconds = time.monotonic() - settle_started
        cpu = {"gunicorn_s": round(process_tree_cpu(gunicorn.process.pid), 1)}
        for client in clients:
            client.close()
    finally:
        tracker.stop_issuing.set()
        tracker.stop_all.set()
        for process in (beat, worker):
            process.stop()
        gunicorn.stop()
        redis_server.stop()
    result = verify(args.database_url, branch["branch_id"], workdir / "sms.jsonl")
    busy, total = (b - a for a, b in zip(cpu_before, machine_cpu(), strict=True))
    phases = {phase: latency_row(values) for phase, values in tracker.latencies.items()}
    http_5xx = sum(count for status, count in tracker.statuses.items() if status >= 500)
    result |= {
        "http_5xx": http_5xx,
        "transport_errors": len(tracker.transport_errors),
        "requests": sum(tracker.statuses.values()),
        "status_counts": dict(sorted(tracker.statuses.items())),
        "latency_by_phase_ms": phases,
        "faults": events,
        "load_s": round(load_seconds, 1),
        "settle_s": round(settle_seconds, 1),
        "machine_cpu_busy_pct": round(100 * busy / total, 1) if total else None,
        **cpu,
        "settings": {
            "tellers": args.tellers,
            "tablets": args.tablets,
            "issue_rate": args.issue_rate,
            "duration_s": args.duration,
            "gunicorn_workers": args.workers,
        },
    }
    print_table(result, tracker)
    ok = result["lost_events"] == 0 and result["sent_twice"] == 0 and http_5xx == 0
    headline = {
        key: result[key]
        for key in (
            "tickets",
            "finished",
            "interactions",
            "invitations_sent",
            "sent_twice",
            "lost_events",
            "http_5xx",
        )
    }
    print(
        json.dumps(
            headline | {"ok": ok, "run": {k: v for k, v in result.items() if k not in headline}}
        )
    )
    if ok:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        log(f"logs kept in {workdir}")
    return 0 if ok else 1


def print_table(result: dict, tracker: Tracker) -> None:
    print("Fault run")
    for line in result["faults"]:
        print(f"  {line}")
    print(f"  load {result['load_s']} s, settled in {result['settle_s']} s")
    print(f"  requests {result['requests']}, status {result['status_counts']}")
    print(f"  transport errors {result['transport_errors']} (requests that got no answer)")
    print("  latency by phase (ms):")
    for phase, row in result["latency_by_phase_ms"].items():
        print(
            f"    {phase:<11} n={row['count']:<6} p50={row['p50_ms']:<7} p95={row['p95_ms']:<7}"
            f" p99={row['p99_ms']:<7} max={row['max_ms']}"
        )
    for key in (
        "tickets",
        "finished",
        "left_in_queue",
        "interactions",
        "invitations_sent",
        "sms_lines",
        "sent_twice",
        "lost_events",
        "http_5xx",
    ):
        print(f"  {key:<18} {result[key]}")
    print(f"  invitations by status {result['invitations']}")
    print(f"  detail {result['detail']}")
    for error in tracker.server_errors[:10]:
        print(f"  5xx: {error}")
    for error in tracker.transport_errors[:5]:
        print(f"  no answer: {error}")


if __name__ == "__main__":
    sys.exit(main())
