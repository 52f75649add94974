"""Create (or bring up to date) the demo branch, its services, counters and staff.

Idempotent: running it again changes nothing that is already right and duplicates nothing.
"""

from datetime import time, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.urls import reverse

from accounts.demo import DEMO_PASSWORD
from accounts.models import Branch, BranchClosedDay, Membership, Role
from accounts.resilience import nudges_held
from accounts.timeutil import branch_today
from queueing.models import Counter, CounterSkill, Service, Ticket

# code, Simplified, Traditional, English, prefix, target wait (min), standard handling (min),
# divertible
SERVICES = [
    ("cash", "现金存取", "現金存取", "Cash deposit / withdrawal", "A", 10, 5, True),
    ("transfer", "转账汇款", "轉賬匯款", "Transfer / remittance", "B", 15, 7, True),
    ("account", "开户", "開戶", "Account opening", "C", 20, 15, False),
    ("card", "银行卡业务", "銀行卡業務", "Card services", "D", 15, 8, False),
    ("loan", "个人贷款", "個人貸款", "Loans", "E", 20, 25, False),
    ("wealth", "理财业务", "理財業務", "Wealth management", "F", 15, 20, False),
    ("enquiry", "咨询", "諮詢", "Enquiry", "G", 10, 4, False),
    ("corporate", "对公业务", "對公業務", "Corporate banking", "H", 20, 18, False),
]

# counter number -> services it serves, in priority order
COUNTERS = {
    1: ["cash", "transfer", "enquiry"],
    2: ["cash", "transfer", "card"],
    3: ["account", "card", "cash"],
    4: ["transfer", "cash", "account"],
    5: ["loan", "wealth", "enquiry"],
    6: ["corporate", "transfer", "account"],
}

# user name, full name, role, counter (tellers sit at one)
# Names only: the role is shown beside them, translated (a title typed into the name would stay
# in one script whatever the reader's language).
STAFF = [
    ("lobby", "王芳", Role.LOBBY_MANAGER),
    ("teller1", "李明", Role.TELLER),
    ("teller2", "张伟", Role.TELLER),
    ("teller3", "刘洋", Role.TELLER),
    ("head", "陈静", Role.BRANCH_HEAD),
    ("admin", "赵磊", Role.ADMIN),
]


class Command(BaseCommand):
    help = "Create the demo branch with services, six counters and one user per role."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--code", default="demo", help="Branch code (default: demo).")
        parser.add_argument(
            "--simulate-days",
            type=int,
            default=0,
            help="Then simulate the past N business days (manage.py simulate_day) that have "
            "no tickets yet: history for the dashboards (default 0).",
        )

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        # Every row with an outbox event would queue a delivery task ahead of the worker's
        # heartbeat (a fresh `make run` then waited minutes at 2 tasks/s on the filesystem
        # broker); beat's relay delivers them instead, as when the broker is down.
        with nudges_held():
            self._seed(*args, **options)

    def _seed(self, *args, code: str, simulate_days: int = 0, **options) -> None:
        branch, _ = Branch.objects.get_or_create(
            code=code,
            defaults={
                "name": "BranchFlow 示范支行",
                "name_zh_hant": "BranchFlow 示範支行",
                "name_en": "BranchFlow Demo Branch",
                "time_zone": "Asia/Shanghai",
                "opens_at": time(9, 0),
                "closes_at": time(17, 0),
            },
        )
        if not branch.name_zh_hant:  # a demo branch seeded before names had a Traditional form
            branch.name_zh_hant = "BranchFlow 示範支行"
            branch.save(update_fields=["name_zh_hant"])
        services = {}
        for order, row in enumerate(SERVICES):
            svc_code, zh, zh_hant, en, prefix, target, standard, divertible = row
            services[svc_code], _ = Service.objects.update_or_create(
                branch=branch,
                code=svc_code,
                defaults={
                    "name_zh": zh,
                    "name_zh_hant": zh_hant,
                    "name_en": en,
                    "prefix": prefix,
                    "target_wait_minutes": target,
                    "standard_handle_minutes": standard,
                    "divertible": divertible,
                    "sort_order": order,
                },
            )
        for number, skills in COUNTERS.items():
            counter, _ = Counter.objects.get_or_create(branch=branch, number=number)
            for rank, svc_code in enumerate(skills):
                CounterSkill.objects.update_or_create(
                    counter=counter, service=services[svc_code], defaults={"rank": rank}
                )
        User = get_user_model()
        for username, full_name, role in STAFF:
            user, created = User.objects.get_or_create(
                username=username, defaults={"first_name": full_name}
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save()
            elif user.first_name != full_name:  # older demo databases had titles in names
                user.first_name = full_name
                user.save(update_fields=["first_name"])
            if role == Role.ADMIN and (not user.is_staff or user.is_superuser):
                # The branch administrator reaches the admin site (is_staff) but only for this
                # branch; superusers are for the platform operator. Older demo databases made
                # "admin" a superuser: this takes that back.
                user.is_staff, user.is_superuser = True, False
                user.save(update_fields=["is_staff", "is_superuser"])
            Membership.objects.get_or_create(user=user, branch=branch, role=role)

        self.stdout.write(self.style.SUCCESS(f"Demo branch '{branch.code}' ready: {branch.name}"))
        self.stdout.write(f"Password for every demo user: {DEMO_PASSWORD}")
        for username, full_name, role in STAFF:
            self.stdout.write(f"  {username:<10} {Role(role).label}  ({full_name})")
        # PUBLIC_BASE_URL: `make run PORT=8101` sets it to the port the server really uses.
        board = reverse("queueing:board", args=[branch.display_token])
        self.stdout.write(f"Display board: {settings.PUBLIC_BASE_URL.rstrip('/')}{board}")
        self.stdout.write(
            "Platform operator (superuser, every branch): python manage.py createsuperuser"
        )
        if simulate_days > 0:  # after the set-up is committed: each day is its own transaction
            transaction.on_commit(lambda: self.simulate_past_days(branch, simulate_days))

    def simulate_past_days(self, branch: Branch, days: int) -> None:
        """The past `days` business days (weekends and closed days skipped), oldest first;
        a day that already has tickets is kept as it is. simulate_day is reception's command:
        called by name, as queueing imports no other app."""
        today = branch_today(branch)
        closed = set(
            BranchClosedDay.objects.filter(
                branch=branch, date__lt=today, date__gte=today - timedelta(days=days * 2 + 60)
            ).values_list("date", flat=True)
        )
        day, chosen = today, []
        while len(chosen) < days:
            day -= timedelta(days=1)
            if day.weekday() < 5 and day not in closed:
                chosen.append(day)
        held = set(
            Ticket.objects.filter(branch=branch, business_date__in=chosen).values_list(
                "business_date", flat=True
            )
        )
        for day in reversed(chosen):
            if day in held:
                continue
            try:
                call_command(
                    "simulate_day", branch=branch.code, date=day.isoformat(), stdout=self.stdout
                )
            except CommandError as exc:  # e.g. the branch is in use: that day stays empty
                self.stderr.write(f"Simulation of {day} skipped: {exc}")
