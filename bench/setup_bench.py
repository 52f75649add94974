"""Prepare the queue load benchmark's branch: services, counters, tellers and lobby users.

Run by bench/load_queue.py as a subprocess with the venv's python and the same environment
gunicorn gets (DATABASE_URL, DJANGO_SECRET_KEY ...), after `manage.py migrate`:

    BENCH_PASSWORD=... .venv/bin/python bench/setup_bench.py --tellers 8 --lobby 4

It first removes what an earlier run left (the "bench" branch with its tickets, and the
"bench-*" users), so every run starts from an empty queue. Prints one JSON line: the branch,
the service codes, and the counter id of each teller.
"""

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.db import transaction  # noqa: E402
from django.db.models import ProtectedError  # noqa: E402

from accounts.models import Branch, Membership, Role  # noqa: E402
from crm.models import Customer  # noqa: E402
from queueing.models import Counter, CounterSkill, Service, Ticket  # noqa: E402

BRANCH_CODE = "bench"
USER_PREFIX = "bench-"
# code, Chinese, English, prefix, target wait (min), standard handling (min)
SERVICES = [
    ("cash", "现金存取", "Cash deposit / withdrawal", "A", 10, 5),
    ("transfer", "转账汇款", "Transfer / remittance", "B", 15, 7),
    ("enquiry", "咨询", "Enquiry", "G", 10, 4),
]


def wipe_previous_run() -> None:
    """Delete the bench branch and everything hanging off it, the customers who only visited it
    (so a new run's surveys are not held back by the last run's frequency cap), then the bench
    users."""
    branch = Branch.objects.filter(code=BRANCH_CODE).first()
    if branch is not None:
        customer_ids = set(
            Customer.objects.filter(visits__branch=branch).values_list("pk", flat=True)
        )
        # Every row another app attached to the branch (visits, interactions, outbox events,
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
                        rel.related_model._base_manager.filter(**{rel.field.name: branch}).delete()
                except ProtectedError:
                    blocked.append(rel)
            relations = blocked
            if not relations:
                break
        tickets = Ticket.objects.filter(branch=branch)
        tickets.update(transferred_from=None)
        tickets.delete()
        branch.delete()
        Customer.objects.filter(pk__in=customer_ids, visits__isnull=True).delete()
    get_user_model().objects.filter(username__startswith=USER_PREFIX).delete()


@transaction.atomic
def create_branch(
    *, tellers: int, lobby: int, password: str, time_zone: str = "Asia/Shanghai"
) -> dict:
    branch = Branch.objects.create(
        code=BRANCH_CODE,
        name="压测支行",
        name_en="Load test branch",
        time_zone=time_zone,
    )
    services = [
        Service.objects.create(
            branch=branch,
            code=code,
            name_zh=zh,
            name_en=en,
            prefix=prefix,
            target_wait_minutes=target,
            standard_handle_minutes=standard,
            sort_order=order,
        )
        for order, (code, zh, en, prefix, target, standard) in enumerate(SERVICES)
    ]
    # Hash once: PBKDF2 costs ~0.2 s per password and every bench user shares this one.
    password_hash = make_password(password)
    User = get_user_model()
    result: dict = {
        "branch_id": branch.pk,
        "branch_code": branch.code,
        "display_token": branch.display_token,
        "services": [s.code for s in services],
        "tellers": [],
        "lobby": [],
    }
    for number in range(1, tellers + 1):
        counter = Counter.objects.create(branch=branch, number=number)
        # Every counter serves every service (primary service rotates), so the queue can
        # always be drained and no ticket waits for a counter that cannot take it.
        for rank in range(len(services)):
            service = services[(number - 1 + rank) % len(services)]
            CounterSkill.objects.create(counter=counter, service=service, rank=rank)
        user = User.objects.create(username=f"{USER_PREFIX}teller-{number:02d}")
        user.password = password_hash
        user.save(update_fields=["password"])
        Membership.objects.create(user=user, branch=branch, role=Role.TELLER)
        result["tellers"].append({"username": user.username, "counter_id": counter.pk})
    for number in range(1, lobby + 1):
        user = User.objects.create(username=f"{USER_PREFIX}lobby-{number:02d}")
        user.password = password_hash
        user.save(update_fields=["password"])
        Membership.objects.create(user=user, branch=branch, role=Role.LOBBY_MANAGER)
        result["lobby"].append({"username": user.username})
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tellers", type=int, required=True)
    parser.add_argument("--lobby", type=int, required=True)
    parser.add_argument("--time-zone", default="Asia/Shanghai")
    args = parser.parse_args()
    password = os.environ.get("BENCH_PASSWORD", "")
    if not password:
        parser.error("set BENCH_PASSWORD in the environment")
    wipe_previous_run()
    result = create_branch(
        tellers=args.tellers, lobby=args.lobby, password=password, time_zone=args.time_zone
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
