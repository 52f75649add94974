"""Prepare the queue load benchmark's branches: services, counters, tellers and lobby users.

Run by bench/load_queue.py (and bench/faults.py) as a subprocess with the venv's python and the
same environment gunicorn gets (DATABASE_URL, DJANGO_SECRET_KEY ...), after `manage.py migrate`:

    BENCH_PASSWORD=... .venv/bin/python bench/setup_bench.py --tellers 8 --lobby 4
    BENCH_PASSWORD=... .venv/bin/python bench/setup_bench.py --branches 500 --tellers 500 \\
        --lobby 4 --sessions

It first removes what an earlier run left (every "bench*" branch with its tickets, and the
"bench-*" users), so every run starts from an empty queue. Then it creates `--branches` branches
(codes `bench`, `bench-0002`, ...), each with its own three services, counters, tellers and
lobby users. `--tellers` and `--lobby` are totals, spread evenly over the branches (branch i gets
one more while the remainder lasts), and every branch gets at least one of each, so every branch
can issue and be drained. Rows are created with bulk inserts: 500 branches take a few seconds.

With `--sessions` every user also gets a signed-in session (the same rows `/login/` writes, in
the configured session engine), so the load generator needs no 0.3 s PBKDF2 login per user.

Prints one JSON line: `branches` (id, code, display token, services, tellers with their counter
id, lobby users), and, for the first branch, the keys older callers read (`branch_id`,
`branch_code`, `display_token`, `services`, `tellers`, `lobby`).
"""

import argparse
import json
import os
import sys
from importlib import import_module
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import ProtectedError  # noqa: E402

from accounts.access import SESSION_BRANCH_KEY  # noqa: E402
from accounts.models import Branch, Membership, Role  # noqa: E402
from crm.models import Customer  # noqa: E402
from queueing.models import Counter, CounterSkill, Service, Ticket  # noqa: E402
from reception.services.handling import control_version_current  # noqa: E402

BRANCH_CODE = "bench"
USER_PREFIX = "bench-"
MAX_BRANCHES = 1000
# code, Chinese, English, prefix, target wait (min), standard handling (min)
SERVICES = [
    ("cash", "现金存取", "Cash deposit / withdrawal", "A", 10, 5),
    ("transfer", "转账汇款", "Transfer / remittance", "B", 15, 7),
    ("enquiry", "咨询", "Enquiry", "G", 10, 4),
]


def branch_code(index: int) -> str:
    """`bench` for the first branch (what older runs and bench/faults.py use), then bench-0002."""
    return BRANCH_CODE if index == 0 else f"{BRANCH_CODE}-{index + 1:04d}"


def wipe_previous_run() -> None:
    """Delete the bench branches and everything hanging off them, the customers who only visited
    them (so a new run's surveys are not held back by the last run's frequency cap), then the
    bench users. One set of deletes for all branches, not one per branch."""
    branches = Branch.objects.filter(code__startswith=BRANCH_CODE)
    branch_ids = list(branches.values_list("pk", flat=True))
    if branch_ids:
        customer_ids = set(
            Customer.objects.filter(visits__branch__in=branch_ids).values_list("pk", flat=True)
        )
        # Every row another app attached to the branches (visits, interactions, outbox events,
        # ticket events ...), hidden reverse relations included: delete in rounds, since some
        # of these protect each other. Tickets last; a transfer protects its origin ticket.
        relations = [
            field
            for field in Branch._meta.get_fields(include_hidden=True)
            if field.one_to_many and field.auto_created and field.related_model is not Ticket
        ]
        for _round in range(len(relations) + 1):
            blocked = []
            for rel in relations:
                try:
                    with transaction.atomic():
                        rel.related_model._base_manager.filter(
                            **{f"{rel.field.name}__in": branch_ids}
                        ).delete()
                except ProtectedError:
                    blocked.append(rel)
            relations = blocked
            if not relations:
                break
        tickets = Ticket.objects.filter(branch__in=branch_ids)
        tickets.update(transferred_from=None)
        tickets.delete()
        Branch.objects.filter(pk__in=branch_ids).delete()
        Customer.objects.filter(pk__in=customer_ids, visits__isnull=True).delete()
    get_user_model().objects.filter(username__startswith=USER_PREFIX).delete()


def reclaim_dead_rows() -> None:
    """VACUUM (ANALYZE) the database after the wipe, so that every run starts from the same
    state. Each run deletes the last one's tickets, events and outbox rows; where autovacuum is
    off (this machine's CI PostgreSQL: conf.d/90-ci.conf) the dead rows piled up run after run,
    every index scan of the hot path walked them, and the same run cost 35 % more CPU per
    request by its tenth repetition (6.9 ms instead of 4.8 at 500 branches)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")


def spread(total: int, parts: int) -> list[int]:
    """`total` spread over `parts` as evenly as possible, at least one each."""
    total = max(total, parts)
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def _session_keys(users: list) -> dict[int, str]:
    """A signed-in session per user, as django.contrib.auth.login() would leave it."""
    engine = import_module(settings.SESSION_ENGINE)
    backend = "django.contrib.auth.backends.ModelBackend"
    if backend not in settings.AUTHENTICATION_BACKENDS:
        backend = settings.AUTHENTICATION_BACKENDS[-1]
    keys: dict[int, str] = {}
    for user in users:
        store = engine.SessionStore()
        store["_auth_user_id"] = str(user.pk)
        store["_auth_user_backend"] = backend
        store["_auth_user_hash"] = user.get_session_auth_hash()
        store[SESSION_BRANCH_KEY] = user.bench_branch_id
        store.set_expiry(24 * 3600)
        store.save(must_create=True)
        keys[user.pk] = store.session_key
    return keys


def forget_cached(user_ids: list[int], branch_ids: list[int]) -> None:
    """Drop cached copies of these users and branches (the app's shared and live caches, keyed
    by id). bulk_create sends no post_save signal, and when a database was dropped and created
    again the same ids come back, while the cache (Redis, or the file cache every database on
    this machine shares) may still hold the old rows' copies."""
    try:
        from accounts.receivers import forget_users
    except ImportError:  # an app without these caches: nothing to forget
        return
    forget_users(user_ids)
    try:
        from django.core.cache import caches

        from queueing.broadcast import version_key
        from queueing.selectors import branch_setup_key
    except ImportError:
        return
    caches["shared"].delete_many([branch_setup_key(pk) for pk in branch_ids])
    caches["live"].delete_many([version_key(pk) for pk in branch_ids])


@transaction.atomic
def create_branches(
    *,
    branches: int,
    tellers: int,
    lobby: int,
    password: str,
    time_zone: str = "Asia/Shanghai",
    sessions: bool = False,
) -> dict:
    created = Branch.objects.bulk_create(
        [
            Branch(
                code=branch_code(i),
                name="压测支行" if i == 0 else f"压测支行 {i + 1}",
                name_en="Load test branch" if i == 0 else f"Load test branch {i + 1}",
                time_zone=time_zone,
            )
            for i in range(branches)
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
                sort_order=order,
            )
            for branch in created
            for order, (code, zh, en, prefix, target, standard) in enumerate(SERVICES)
        ]
    )
    services_of = {branch.pk: [] for branch in created}
    for service in services:
        services_of[service.branch_id].append(service)
        # Its control points published, as a new service's first finish would do: a run then
        # measures a branch's working day, not 3 first finishes per branch (at 500 branches,
        # most of a 30 s run's finishes).
        control_version_current(service_id=service.pk)
    tellers_of = spread(tellers, branches)
    lobby_of = spread(lobby, branches)
    counters = Counter.objects.bulk_create(
        [
            Counter(branch=branch, number=number)
            for branch, count in zip(created, tellers_of, strict=True)
            for number in range(1, count + 1)
        ]
    )
    # Every counter serves every service (primary service rotates), so each branch's queue can
    # always be drained and no ticket waits for a counter that cannot take it.
    CounterSkill.objects.bulk_create(
        [
            CounterSkill(
                counter=counter,
                service=services_of[counter.branch_id][(counter.number - 1 + rank) % len(SERVICES)],
                rank=rank,
            )
            for counter in counters
            for rank in range(len(SERVICES))
        ]
    )
    # Hash once: PBKDF2 costs ~0.3 s per password and every bench user shares this one.
    password_hash = make_password(password)
    User = get_user_model()
    prefix_of = {branch.pk: f"{USER_PREFIX}{i + 1:04d}-" for i, branch in enumerate(created)}
    if branches == 1:
        prefix_of = {created[0].pk: USER_PREFIX}
    new_users = [
        User(username=f"{prefix_of[counter.branch_id]}teller-{counter.number:02d}")
        for counter in counters
    ] + [
        User(username=f"{prefix_of[branch.pk]}lobby-{number:02d}")
        for branch, count in zip(created, lobby_of, strict=True)
        for number in range(1, count + 1)
    ]
    for user in new_users:
        user.password = password_hash
    users = User.objects.bulk_create(new_users)
    teller_users = users[: len(counters)]
    lobby_users = users[len(counters) :]
    for user, counter in zip(teller_users, counters, strict=True):
        user.bench_branch_id = counter.branch_id
    lobby_branch_ids = [
        branch.pk
        for branch, count in zip(created, lobby_of, strict=True)
        for _number in range(count)
    ]
    for user, branch_id in zip(lobby_users, lobby_branch_ids, strict=True):
        user.bench_branch_id = branch_id
    Membership.objects.bulk_create(
        [Membership(user=u, branch_id=u.bench_branch_id, role=Role.TELLER) for u in teller_users]
        + [
            Membership(user=u, branch_id=u.bench_branch_id, role=Role.LOBBY_MANAGER)
            for u in lobby_users
        ]
    )
    transaction.on_commit(
        lambda: forget_cached([u.pk for u in users], [b.pk for b in created]), robust=True
    )
    session_of = _session_keys(users) if sessions else {}
    result_branches = []
    by_branch = {
        branch.pk: {
            "branch_id": branch.pk,
            "branch_code": branch.code,
            "display_token": branch.display_token,
            "services": [s.code for s in services_of[branch.pk]],
            "tellers": [],
            "lobby": [],
        }
        for branch in created
    }
    for user, counter in zip(teller_users, counters, strict=True):
        entry = {"username": user.username, "counter_id": counter.pk}
        if sessions:
            entry["session"] = session_of[user.pk]
        by_branch[counter.branch_id]["tellers"].append(entry)
    for user in lobby_users:
        entry = {"username": user.username}
        if sessions:
            entry["session"] = session_of[user.pk]
        by_branch[user.bench_branch_id]["lobby"].append(entry)
    result_branches = [by_branch[branch.pk] for branch in created]
    return {
        **result_branches[0],
        "branches": result_branches,
        "session_cookie": settings.SESSION_COOKIE_NAME,
        "csrf_cookie": settings.CSRF_COOKIE_NAME,
    }


def create_branch(
    *, tellers: int, lobby: int, password: str, time_zone: str = "Asia/Shanghai"
) -> dict:
    """One branch, as before --branches existed."""
    return create_branches(
        branches=1, tellers=tellers, lobby=lobby, password=password, time_zone=time_zone
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tellers", type=int, required=True, help="total, spread over branches")
    parser.add_argument("--lobby", type=int, required=True, help="total, spread over branches")
    parser.add_argument("--branches", type=int, default=1)
    parser.add_argument("--time-zone", default="Asia/Shanghai")
    parser.add_argument(
        "--sessions", action="store_true", help="create a signed-in session for every user"
    )
    args = parser.parse_args()
    password = os.environ.get("BENCH_PASSWORD", "")
    if not password:
        parser.error("set BENCH_PASSWORD in the environment")
    if not 1 <= args.branches <= MAX_BRANCHES:
        parser.error(f"--branches must be in [1, {MAX_BRANCHES}]")
    wipe_previous_run()
    reclaim_dead_rows()
    result = create_branches(
        branches=args.branches,
        tellers=args.tellers,
        lobby=args.lobby,
        password=password,
        time_zone=args.time_zone,
        sessions=args.sessions,
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
