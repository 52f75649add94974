"""Seed the demo branch's reception set-up (after `seed_demo`): each area adds a function to
SEEDS. Idempotent: running it again changes nothing that is already right."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import Branch
from accounts.resilience import nudges_held

SEEDS: list = []  # functions (branch, stdout) -> None, run in order


def seed(function):
    SEEDS.append(function)
    return function


class Command(BaseCommand):
    help = "Seed the demo branch's appointments, remote queueing and pre-filled forms."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--code", default="demo", help="Branch code (default: demo).")

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        # Every row with an outbox event would queue a delivery task ahead of the worker's
        # heartbeat (a fresh `make run` then waited minutes at 2 tasks/s on the filesystem
        # broker); beat's relay delivers them instead, as when the broker is down.
        with nudges_held():
            self._seed(*args, **options)

    def _seed(self, *args, code: str, **options) -> None:
        branch = Branch.objects.filter(code=code).first()
        if branch is None:
            raise CommandError(f"No branch '{code}': run seed_demo first.")
        for function in SEEDS:
            function(branch, self.stdout)


# --- Appointments (H1) ---------------------------------------------------------------------------

# service code -> slot minutes, customers per slot, days ahead
APPOINTMENT_PLANS = {"loan": (30, 2, 14), "wealth": (30, 2, 14), "account": (20, 3, 7)}
# Today's demo bookings: service code, local time, phone, name
DEMO_APPOINTMENTS = [
    ("loan", "10:00", "13900000101", "周敏"),
    ("wealth", "14:00", "13900000102", "吴强"),
    ("account", "15:00", "13900000103", "郑丽"),
]


@seed
def seed_appointments(branch, stdout) -> None:
    """Appointment plans for loans, wealth and account opening, and a few bookings today (those
    whose time has not passed), so the day view and the lobby's "due soon" are not empty."""
    from datetime import datetime, time, timedelta

    from django.conf import settings
    from django.utils import timezone

    from crm.services import customer_find_or_create
    from queueing.models import Service
    from reception.models import Appointment, AppointmentPlan

    for code, (minutes, capacity, days) in APPOINTMENT_PLANS.items():
        service = Service.objects.filter(branch=branch, code=code).first()
        if service is None:
            continue
        AppointmentPlan.objects.update_or_create(
            service=service,
            defaults={
                "branch": branch,
                "slot_minutes": minutes,
                "capacity": capacity,
                "days_ahead": days,
                "is_active": True,
            },
        )
    now = timezone.now()
    today = timezone.localtime(now, branch.tz).date()
    booked = 0
    for code, at, phone, name in DEMO_APPOINTMENTS:
        plan = AppointmentPlan.objects.filter(service__branch=branch, service__code=code).first()
        if plan is None:
            continue
        starts_at = datetime.combine(today, time.fromisoformat(at), tzinfo=branch.tz)
        if starts_at <= now:
            continue
        customer, _ = customer_find_or_create(phone=phone, name=name, branch=branch)
        _appointment, created = Appointment.objects.get_or_create(
            branch=branch,
            service=plan.service,
            customer=customer,
            starts_at=starts_at,
            defaults={
                "ends_at": starts_at + timedelta(minutes=plan.slot_minutes),
                "channel": Appointment.Channel.STAFF,
                "created_at": now,
            },
        )
        booked += created
    from reception.links import branch_url

    stdout.write(
        f"Appointment plans: {len(APPOINTMENT_PLANS)}; demo bookings added today: {booked}\n"
        f"Branch QR poster page (customers): {branch_url(branch.pk, absolute=True)}\n"
        f"Book online: {settings.PUBLIC_BASE_URL.rstrip('/')}/visit/{branch.code}/book/"
    )


# --- Pre-filled forms (H3) ------------------------------------------------------------------------

# key, kind, Simplified, Traditional, English, required, sensitive, options
ACCOUNT_FORM_FIELDS = [
    ("full_name", "text", "姓名", "姓名", "Full name", True, False, ""),
    ("id_type", "id_type", "证件类型", "證件類型", "ID document type", True, False, ""),
    ("id_number", "text", "证件号码", "證件號碼", "ID number", True, True, ""),
    ("id_valid_until", "date", "证件有效期至", "證件有效期至", "ID valid until", False, False, ""),
    (
        "account_kind",
        "choice",
        "账户类型",
        "賬戶類型",
        "Account type",
        True,
        False,
        "debit | 借记卡 | 借記卡 | Debit card\n"
        "savings | 存折 | 存摺 | Passbook\n"
        "payroll | 工资卡 | 工資卡 | Payroll card",
    ),
    (
        "opening_deposit",
        "amount",
        "首存金额",
        "首存金額",
        "Opening deposit (CNY)",
        False,
        False,
        "",
    ),
    ("cards", "number", "申请卡数", "申請卡數", "Number of cards", False, False, ""),
    ("sms_alerts", "yes_no", "开通短信提醒", "開通短信提醒", "SMS alerts", True, False, ""),
]


@seed
def seed_prefill_forms(branch, stdout) -> None:
    """The account-opening service's pre-filled form: one field of each kind, the ID number
    sensitive; published as a version (a new one only if the fields changed)."""
    from queueing.models import Service
    from reception.models import FormField, ServiceForm
    from reception.services import form_publish

    service = Service.objects.filter(branch=branch, code="account").first()
    if service is None:
        stdout.write("No account-opening service: pre-filled form not seeded.")
        return
    form, _created = ServiceForm.objects.update_or_create(
        service=service,
        defaults={
            "branch": branch,
            "title_zh": "开户预填单",
            "title_zh_hant": "開戶預填單",
            "title_en": "Account opening form",
            "is_active": True,
        },
    )
    for order, row in enumerate(ACCOUNT_FORM_FIELDS):
        key, kind, zh, zh_hant, en, required, sensitive, choices = row
        FormField.objects.update_or_create(
            form=form,
            key=key,
            defaults={
                "kind": kind,
                "label_zh": zh,
                "label_zh_hant": zh_hant,
                "label_en": en,
                "required": required,
                "sensitive": sensitive,
                "choices": choices,
                "sort_order": order,
            },
        )
    version = form_publish(form, None)
    stdout.write(f"Pre-filled form for '{service.code}': version {version.number}")


# --- Counter handling: control points and error categories (H5) ----------------------------------

# Error categories (差错): code, 中文, 中文（繁體）, English
ERROR_CATEGORIES = [
    ("wrong_amount", "金额错误", "金額錯誤", "Wrong amount"),
    ("wrong_account", "账户错误", "賬戶錯誤", "Wrong account"),
    ("missing_signature", "缺少签字", "缺少簽字", "Missing signature"),
    ("wrong_form", "单据错误", "單據錯誤", "Wrong form"),
    ("identity_not_checked", "未核实身份", "未核實身份", "Identity not checked"),
    ("other", "其他", "其他", "Other"),
]
# The cash service: a fourth point, optional (the load benchmarks finish with the identity check
# alone), so the report of missed optional points has something to show.
CASH_COUNTED = ("cash_counted", "当面点清现金", "當面點清現金", "Cash counted with the customer")


def seed_error_categories(branch) -> int:
    """The branch's error categories (idempotent); also used by tests."""
    from reception.models import ErrorCategory

    for order, (code, zh, zh_hant, en) in enumerate(ERROR_CATEGORIES):
        ErrorCategory.objects.update_or_create(
            branch=branch,
            code=code,
            defaults={
                "name_zh": zh,
                "name_zh_hant": zh_hant,
                "name_en": en,
                "sort_order": (order + 1) * 10,
            },
        )
    return len(ERROR_CATEGORIES)


CASH_CLAUSES = {
    "identity_verified": "SOP-CASH 3.1",
    "documents_signed": "SOP-CASH 3.2",
    "funds_handed_over": "SOP-CASH 3.3",
}


@seed
def seed_counter_handling(branch, stdout) -> None:
    """Every service's control points (the three defaults; the cash service also counting the
    cash with the customer), published as a version, and the error categories."""
    from queueing.models import Service
    from reception.models import ControlPoint
    from reception.services import control_points_publish

    for service in Service.objects.filter(branch=branch):
        # The extra point first: a service's first publish adds the defaults beside it.
        if service.code == "cash":
            key, zh, zh_hant, en = CASH_COUNTED
            ControlPoint.objects.update_or_create(
                service=service,
                key=key,
                defaults={
                    "label_zh": zh,
                    "label_zh_hant": zh_hant,
                    "label_en": en,
                    "required": False,
                    "sort_order": 40,
                },
            )
        version = control_points_publish(service, None)
        if service.code == "cash":
            # The cash standard's clauses (seed_quality_demo writes SOP-CASH): the counter links
            # each point to the rule it comes from. A new version only if a reference changed.
            for point_key, clause in CASH_CLAUSES.items():
                ControlPoint.objects.filter(service=service, key=point_key).update(
                    clause_ref=clause
                )
            version = control_points_publish(service, None)
        stdout.write(f"Control points for '{service.code}': version {version.number}")
    stdout.write(f"Error categories: {seed_error_categories(branch)}")
