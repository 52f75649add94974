"""Appointment reads: plans, free slots, a day's bookings, a phone's appointments today."""

from datetime import date, datetime, timedelta

from django.db.models import Count, QuerySet

from accounts.models import Branch, BranchClosedDay
from accounts.timeutil import local_day_bounds
from crm.personal_data import normalise_phone
from queueing.models import Service

from ..models import Appointment, AppointmentPlan
from ..slots import Hours, PlanRules, Slot, bookable_days, day_in_range, day_slots
from ..triage import APPOINTMENT_LATE

__all__ = [
    "appointment_days",
    "appointment_detail",
    "appointment_plan_for",
    "appointment_plans",
    "appointment_slots",
    "appointments_due_soon",
    "appointments_on_day",
    "appointments_today_for_phone",
    "booked_counts",
    "branch_hours",
    "closed_days",
    "plan_rules",
]


def appointment_plans(*, branch: Branch) -> list[AppointmentPlan]:
    """The branch's bookable services (active plan, active service)."""
    return list(
        AppointmentPlan.objects.filter(branch=branch, is_active=True, service__is_active=True)
        .select_related("service")
        .order_by("service__prefix")
    )


def appointment_plan_for(*, service: Service) -> AppointmentPlan | None:
    return AppointmentPlan.objects.filter(
        service=service, is_active=True, service__is_active=True
    ).first()


def plan_rules(plan: AppointmentPlan) -> PlanRules:
    return PlanRules(
        slot_minutes=plan.slot_minutes, capacity=plan.capacity, days_ahead=plan.days_ahead
    )


def branch_hours(branch: Branch) -> Hours:
    return Hours(opens_at=branch.opens_at, closes_at=branch.closes_at, tz=branch.tz)


def closed_days(*, branch: Branch, start: date, end: date) -> set[date]:
    return set(
        BranchClosedDay.objects.filter(branch=branch, date__gte=start, date__lte=end).values_list(
            "date", flat=True
        )
    )


def booked_counts(
    *, service: Service, day: date, branch: Branch, exclude_pk: int | None = None
) -> dict[datetime, int]:
    """Open bookings (booked or checked in) per slot start on the branch's local day."""
    start, end = local_day_bounds(branch, day)
    rows = Appointment.objects.filter(
        service=service,
        starts_at__gte=start,
        starts_at__lt=end,
        status__in=[Appointment.Status.BOOKED, Appointment.Status.CHECKED_IN],
    )
    if exclude_pk is not None:
        rows = rows.exclude(pk=exclude_pk)
    counts = rows.values("starts_at").annotate(n=Count("pk")).values_list("starts_at", "n")
    return dict(counts)


def appointment_slots(
    *,
    plan: AppointmentPlan,
    day: date,
    now: datetime,
    include_past: bool = False,
    exclude_pk: int | None = None,
) -> list[Slot]:
    branch = plan.branch
    if not include_past and not day_in_range(
        plan=plan_rules(plan), hours=branch_hours(branch), day=day, now=now
    ):
        return []  # before reading bookings: a far day (date.max) must not reach the database
    return day_slots(
        plan=plan_rules(plan),
        hours=branch_hours(branch),
        day=day,
        closed_days=closed_days(branch=branch, start=day, end=day),
        now=now,
        booked=booked_counts(service=plan.service, day=day, branch=branch, exclude_pk=exclude_pk),
        include_past=include_past,
    )


def appointment_days(*, plan: AppointmentPlan, now: datetime) -> list[date]:
    branch = plan.branch
    today = now.astimezone(branch.tz).date()
    return bookable_days(
        plan=plan_rules(plan),
        hours=branch_hours(branch),
        closed_days=closed_days(
            branch=branch, start=today, end=today + timedelta(days=plan.days_ahead)
        ),
        now=now,
    )


def appointments_on_day(*, branch: Branch, day: date) -> QuerySet[Appointment]:
    start, end = local_day_bounds(branch, day)
    return (
        Appointment.objects.filter(branch=branch, starts_at__gte=start, starts_at__lt=end)
        .select_related("service", "customer", "visit__ticket")
        .order_by("service__prefix", "starts_at", "pk")
    )


def appointments_today_for_phone(*, branch: Branch, phone: str, now: datetime) -> list[Appointment]:
    """The phone's appointments at this branch today (any status: the page says which)."""
    day = now.astimezone(branch.tz).date()
    start, end = local_day_bounds(branch, day)
    return list(
        Appointment.objects.filter(
            branch=branch,
            customer__phone=normalise_phone(phone),
            starts_at__gte=start,
            starts_at__lt=end,
        )
        .select_related("service", "visit__ticket")
        .order_by("starts_at")
    )


def appointments_due_soon(
    *, branch: Branch, now: datetime, within: timedelta = timedelta(hours=1)
) -> list[Appointment]:
    """Booked, not yet arrived, starting in the next `within` (or already started and still
    in the on-time window): the lobby's "due in the next hour"."""
    return list(
        Appointment.objects.filter(
            branch=branch,
            status=Appointment.Status.BOOKED,
            starts_at__gte=now - APPOINTMENT_LATE,
            starts_at__lt=now + within,
        )
        .select_related("service", "customer")
        .order_by("starts_at")
    )


def appointment_detail(*, pk: int) -> Appointment | None:
    return (
        Appointment.objects.select_related("branch", "service", "customer", "visit__ticket")
        .filter(pk=pk)
        .first()
    )
