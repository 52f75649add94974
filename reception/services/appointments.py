"""Appointment use cases: book, cancel, reschedule, check in; the no-show and reminder sweeps.

Capacity: every booking and reschedule locks the service's AppointmentPlan row first, then
counts the slot's bookings, so two customers racing for the last place are served one after
the other and the slot is never oversold (tests/test_appointments.py, real threads on
PostgreSQL). The same lock makes "one open booking per customer, service and day" hold.

SMS: confirmations (booked, rescheduled, cancelled) and the reminder are published to the
outbox (APPOINTMENT_NOTICE) in the transaction that makes the change; reception's listener
sends them with an idempotency key `appointment:<id>:<kind>:<n>`, so a redelivery is one SMS.
"""

from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import formats, timezone, translation
from django.utils.translation import gettext_lazy as _

from accounts import outbox
from accounts.models import Branch, LateArrivalRule
from accounts.timeutil import local_day_bounds
from crm.models import Customer, Interaction
from crm.services import customer_find_or_create, interaction_record
from feedback.sms import SmsMessage, get_backend
from queueing.models import Service, Ticket
from queueing.routing import PriorityClass
from queueing.services import ticket_issue

from .. import selectors
from ..links import appointment_url, branch_url
from ..models import Appointment, AppointmentPlan, Visit
from ..slots import Slot, find_slot
from ..triage import (
    APPOINTMENT_EARLY,
    APPOINTMENT_LATE,
    SpecialNeeds,
    appointment_on_time,
    priority_for,
)
from .desk import ReceptionError

# payload: appointment_id, branch_id, kind (booked / rescheduled / cancelled / reminder), n
APPOINTMENT_NOTICE = "reception.appointment_notice"


class NoticeKind:
    BOOKED = "booked"
    RESCHEDULED = "rescheduled"
    CANCELLED = "cancelled"
    REMINDER = "reminder"


class AppointmentError(ReceptionError):
    pass


__all__ = [
    "APPOINTMENT_NOTICE",
    "AppointmentError",
    "NoticeKind",
    "appointment_book",
    "appointment_cancel",
    "appointment_check_in",
    "appointment_notice_send",
    "appointment_notice_text",
    "appointment_reminders_queue",
    "appointment_reschedule",
    "appointments_mark_no_show",
    "check_in_priority",
]


def _publish_notice(appointment: Appointment, kind: str, n: int = 0) -> None:
    outbox.publish(
        APPOINTMENT_NOTICE,
        {
            "appointment_id": appointment.pk,
            "branch_id": appointment.branch_id,
            "kind": kind,
            "n": n,
        },
        branch_id=appointment.branch_id,
    )


def _local(branch: Branch, moment: datetime) -> str:
    return formats.date_format(timezone.localtime(moment, branch.tz), "TIME_FORMAT")


def _lock_plan(service: Service) -> AppointmentPlan:
    plan = (
        AppointmentPlan.objects.select_for_update(of=("self",))
        .select_related("branch", "service")
        .filter(service=service, is_active=True, service__is_active=True)
        .first()
    )
    if plan is None:
        raise AppointmentError(_("This service cannot be booked."), code="service")
    return plan


def _free_slot(
    plan: AppointmentPlan, starts_at: datetime, now: datetime, *, exclude_pk: int | None = None
) -> Slot:
    """The slot starting at `starts_at` if it is bookable and has room (plan row locked)."""
    # No plan books further than 90 days: a far time (year 9999) is refused before any zone
    # conversion could overflow.
    if not now - timedelta(days=1) <= starts_at <= now + timedelta(days=91):
        raise AppointmentError(
            _("That time cannot be booked. Please choose one of the free slots."),
            code="starts_at",
        )
    day = timezone.localtime(starts_at, plan.branch.tz).date()
    slots = selectors.appointment_slots(plan=plan, day=day, now=now, exclude_pk=exclude_pk)
    slot = find_slot(slots, starts_at)
    if slot is None:
        raise AppointmentError(
            _("That time cannot be booked. Please choose one of the free slots."),
            code="starts_at",
        )
    if slot.remaining <= 0:
        raise AppointmentError(
            _("That slot has just been fully booked. Please choose another."), code="starts_at"
        )
    return slot


def _refuse_second_booking(
    *, customer: Customer, plan: AppointmentPlan, starts_at: datetime, exclude_pk: int | None
) -> None:
    day = timezone.localtime(starts_at, plan.branch.tz).date()
    start, end = local_day_bounds(plan.branch, day)
    others = Appointment.objects.filter(
        customer=customer,
        service=plan.service,
        status=Appointment.Status.BOOKED,
        starts_at__gte=start,
        starts_at__lt=end,
    )
    if exclude_pk is not None:
        others = others.exclude(pk=exclude_pk)
    if others.exists():
        raise AppointmentError(
            _("There is already an appointment for this service on that day."),
            code="starts_at",
        )


@transaction.atomic
def appointment_book(
    *,
    branch: Branch,
    service: Service,
    phone: str,
    starts_at: datetime,
    channel: str,
    booked_by: AbstractBaseUser | None = None,
    name: str = "",
    note: str = "",
    record_lobby_visit: bool = False,
    now: datetime | None = None,
) -> Appointment:
    """Book the slot starting at `starts_at` for the customer with this mobile number (found
    or created). `record_lobby_visit`: the lobby manager booked for someone standing at the
    door, so their arrival is recorded as a visit ending in "appointment booked"."""
    now = now or timezone.now()
    if service.branch_id != branch.pk:
        raise AppointmentError(_("That service belongs to another branch."), code="service")
    if channel not in Appointment.Channel.values:
        raise AppointmentError(_("Unknown booking channel."), code="channel")
    plan = _lock_plan(service)
    slot = _free_slot(plan, starts_at, now)
    customer, _created = customer_find_or_create(phone=phone, name=name.strip(), branch=branch)
    _refuse_second_booking(customer=customer, plan=plan, starts_at=slot.starts_at, exclude_pk=None)
    appointment = Appointment.objects.create(
        branch=branch,
        service=service,
        customer=customer,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        channel=channel,
        booked_by=booked_by,
        note=note[:200],
        created_at=now,
    )
    if record_lobby_visit:
        Visit.objects.create(
            branch=branch,
            customer=customer,
            service=service,
            is_vip=customer.is_vip,
            appointment_at=slot.starts_at,
            registered_by=booked_by,
            registered_at=now,
            route=Visit.Route.APPOINTMENT_BOOKED,
            channel=Visit.Channel.LOBBY,
            arrived_at=now,
            greeted_at=now,
            triaged_at=now,
        )
    _publish_notice(appointment, NoticeKind.BOOKED)
    return appointment


def _lock_appointment(appointment_id: int) -> Appointment:
    return (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("branch", "service", "customer")
        .get(pk=appointment_id)
    )


def _require_booked(appointment: Appointment) -> None:
    if appointment.status != Appointment.Status.BOOKED:
        raise AppointmentError(
            _("This appointment is %(status)s: it cannot be changed.")
            % {"status": appointment.get_status_display().lower()},
            code="status",
        )


@transaction.atomic
def appointment_cancel(
    *, appointment: Appointment, by: AbstractBaseUser | None = None, now: datetime | None = None
) -> Appointment:
    now = now or timezone.now()
    appointment = _lock_appointment(appointment.pk)
    _require_booked(appointment)
    if appointment.ends_at <= now:
        raise AppointmentError(_("This appointment is over."), code="status")
    appointment.status = Appointment.Status.CANCELLED
    appointment.cancelled_at = now
    appointment.save(update_fields=["status", "cancelled_at"])
    _publish_notice(appointment, NoticeKind.CANCELLED)
    return appointment


@transaction.atomic
def appointment_reschedule(
    *,
    appointment: Appointment,
    starts_at: datetime,
    by: AbstractBaseUser | None = None,
    now: datetime | None = None,
) -> Appointment:
    """Move a booked appointment to another free slot of its service (same rules as booking;
    the old place is freed in the same transaction)."""
    now = now or timezone.now()
    plan = _lock_plan(appointment.service)  # plan first, as booking does: no deadlock
    appointment = _lock_appointment(appointment.pk)
    _require_booked(appointment)
    if appointment.ends_at <= now:
        raise AppointmentError(_("This appointment is over."), code="status")
    slot = _free_slot(plan, starts_at, now, exclude_pk=appointment.pk)
    if slot.starts_at == appointment.starts_at:
        raise AppointmentError(_("That is the time already booked."), code="starts_at")
    _refuse_second_booking(
        customer=appointment.customer,
        plan=plan,
        starts_at=slot.starts_at,
        exclude_pk=appointment.pk,
    )
    appointment.starts_at = slot.starts_at
    appointment.ends_at = slot.ends_at
    appointment.reschedule_count += 1
    appointment.reminder_queued_at = None  # a reminder for the new time
    appointment.save(
        update_fields=["starts_at", "ends_at", "reschedule_count", "reminder_queued_at"]
    )
    _publish_notice(appointment, NoticeKind.RESCHEDULED, appointment.reschedule_count)
    return appointment


def check_in_priority(appointment: Appointment, *, now: datetime) -> PriorityClass:
    """The ticket's class for arriving `now`, or AppointmentError (too early, or late at a
    branch whose rule is "book again", or past the window)."""
    branch = appointment.branch
    if now < appointment.starts_at - APPOINTMENT_EARLY:
        raise AppointmentError(
            _("Your appointment is at %(time)s. Please come back from %(from)s.")
            % {
                "time": _local(branch, appointment.starts_at),
                "from": _local(branch, appointment.starts_at - APPOINTMENT_EARLY),
            },
            code="too_early",
        )
    if appointment_on_time(appointment.starts_at, now):
        return PriorityClass.APPOINTMENT
    if now > appointment.ends_at + APPOINTMENT_LATE:
        raise AppointmentError(
            _("This appointment's time has passed. Please book again or take a ticket."),
            code="missed",
        )
    rule = branch.late_arrival_rule
    if rule == LateArrivalRule.KEEP:
        return PriorityClass.APPOINTMENT
    if rule == LateArrivalRule.REBOOK:
        raise AppointmentError(
            _(
                "You are more than %(minutes)s minutes late for your appointment. Please book "
                "another time or take a ticket."
            )
            % {"minutes": int(APPOINTMENT_LATE.total_seconds() // 60)},
            code="late",
        )
    # REGULAR: as triage says for what we know of the customer (no appointment priority).
    return priority_for(SpecialNeeds(vip=appointment.customer.is_vip), now)


@transaction.atomic
def appointment_check_in(
    *,
    appointment: Appointment,
    channel: str = Visit.Channel.CHECK_IN,
    by: AbstractBaseUser | None = None,
    now: datetime | None = None,
) -> Ticket:
    """The customer has arrived (the lobby manager checked them in, or they did on their phone
    from the branch's QR poster): their visit is recorded and a ticket issued, with appointment
    priority when on time. Returns the ticket."""
    if channel not in (Visit.Channel.CHECK_IN, Visit.Channel.QR):
        raise AppointmentError(_("Unknown check-in channel."), code="channel")
    appointment = _lock_appointment(appointment.pk)
    now = now or timezone.now()
    if appointment.status == Appointment.Status.CHECKED_IN:
        raise AppointmentError(_("This appointment is already checked in."), code="status")
    _require_booked(appointment)
    priority = check_in_priority(appointment, now=now)
    customer = appointment.customer
    ticket = ticket_issue(
        branch=appointment.branch,
        service=appointment.service,
        priority=priority,
        issued_by=by,
        arrived_at=now,
    )
    visit = Visit.objects.create(
        branch=appointment.branch,
        customer=customer,
        service=appointment.service,
        is_vip=customer.is_vip,
        appointment_at=appointment.starts_at,
        registered_by=by,
        registered_at=now,
        route=Visit.Route.QUEUE,
        channel=channel,
        arrived_at=now,
        greeted_at=now,
        triaged_at=now,
        ticket=ticket,
    )
    appointment.status = Appointment.Status.CHECKED_IN
    appointment.checked_in_at = now
    appointment.visit = visit
    appointment.save(update_fields=["status", "checked_in_at", "visit"])
    return ticket


@transaction.atomic
def _mark_no_show(appointment_id: int, now: datetime) -> bool:
    appointment = (
        Appointment.objects.select_for_update(of=("self",), skip_locked=True)
        .select_related("branch", "service", "customer")
        .filter(pk=appointment_id, status=Appointment.Status.BOOKED)
        .first()
    )
    if appointment is None or appointment.ends_at + APPOINTMENT_LATE > now:
        return False
    appointment.status = Appointment.Status.NO_SHOW
    appointment.no_show_at = now
    appointment.save(update_fields=["status", "no_show_at"])
    service = appointment.service
    # Idempotent by its source: a replayed sweep records nothing twice.
    interaction_record(
        customer=appointment.customer,
        branch=appointment.branch,
        kind=Interaction.Kind.NO_SHOW,
        occurred_at=appointment.ends_at,
        service_code=service.code,
        service_names=(service.name_zh, service.name_zh_hant, service.name_en),
        summary=str(_("Missed appointment")),
        outcome="appointment_no_show",
        source=f"appointment:{appointment.pk}:no_show",
    )
    return True


def appointments_mark_no_show(*, now: datetime | None = None) -> int:
    """Booked appointments whose window ended more than APPOINTMENT_LATE ago become no-shows,
    each recorded in the customer's CRM history. One transaction per appointment; rows another
    sweep holds are skipped. Returns how many were marked."""
    now = now or timezone.now()
    due = Appointment.objects.filter(
        status=Appointment.Status.BOOKED, ends_at__lt=now - APPOINTMENT_LATE
    ).values_list("pk", flat=True)[:2000]
    return sum(_mark_no_show(pk, now) for pk in list(due))


@transaction.atomic
def _queue_reminder(appointment_id: int, now: datetime) -> bool:
    marked = Appointment.objects.filter(
        pk=appointment_id, status=Appointment.Status.BOOKED, reminder_queued_at__isnull=True
    ).update(reminder_queued_at=now)
    if not marked:
        return False
    appointment = Appointment.objects.get(pk=appointment_id)
    _publish_notice(appointment, NoticeKind.REMINDER, appointment.reschedule_count)
    return True


def appointment_reminders_queue(*, now: datetime | None = None) -> int:
    """Queue the reminder SMS of every booked appointment starting within its branch's
    `appointment_reminder_minutes`: reminder_queued_at is set and the notice published in one
    transaction, so each appointment (each time it is rescheduled) is reminded once. A booking
    made inside that lead time already had its confirmation: no reminder. Returns the count."""
    now = now or timezone.now()
    candidates = (
        Appointment.objects.filter(
            status=Appointment.Status.BOOKED,
            reminder_queued_at__isnull=True,
            starts_at__gt=now,
            starts_at__lte=now + timedelta(minutes=2880),
        )
        .select_related("branch")
        .only("pk", "starts_at", "created_at", "branch__appointment_reminder_minutes")
    )
    queued = 0
    for appointment in candidates:
        lead = timedelta(minutes=appointment.branch.appointment_reminder_minutes)
        if appointment.starts_at - lead > now:
            continue
        if appointment.created_at >= appointment.starts_at - lead:
            # Booked within the lead time: the confirmation was the reminder.
            Appointment.objects.filter(pk=appointment.pk, reminder_queued_at__isnull=True).update(
                reminder_queued_at=now
            )
            continue
        queued += _queue_reminder(appointment.pk, now)
    return queued


def appointment_notice_text(appointment: Appointment, kind: str, link: str) -> str:
    """The SMS for a notice, in the customer's preferred language, with the manage link."""
    branch = appointment.branch
    language = appointment.customer.preferred_language or "zh-hans"
    with translation.override(language), timezone.override(branch.tz):
        when = formats.date_format(
            timezone.localtime(appointment.starts_at, branch.tz), "DATETIME_FORMAT"
        )
        params = {
            "branch": branch.local_name,
            "service": appointment.service.display_name,
            "when": when,
            "link": link,
        }
        if kind == NoticeKind.BOOKED:
            text = _(
                "%(branch)s: your appointment for %(service)s is booked for %(when)s. "
                "Change or cancel: %(link)s"
            )
        elif kind == NoticeKind.RESCHEDULED:
            text = _(
                "%(branch)s: your appointment for %(service)s is moved to %(when)s. "
                "Change or cancel: %(link)s"
            )
        elif kind == NoticeKind.CANCELLED:
            text = _(
                "%(branch)s: your appointment for %(service)s at %(when)s is cancelled. "
                "Book again: %(link)s"
            )
        else:
            text = _(
                "%(branch)s: reminder of your appointment for %(service)s at %(when)s. "
                "Scan the QR code at the branch to check in. Change or cancel: %(link)s"
            )
        return str(text) % params


def appointment_notice_send(*, appointment_id: int, kind: str, n: int = 0) -> bool:
    """Send one notice (the outbox listener calls this). Stale ones are dropped: a reminder or
    confirmation for a time since changed or an appointment no longer booked. The key makes a
    redelivery one SMS. Confirmations are what the customer asked for when booking: they go
    whatever the survey consent says; an anonymised customer (no number) gets nothing."""
    appointment = (
        Appointment.objects.select_related("branch", "service", "customer")
        .filter(pk=appointment_id)
        .first()
    )
    if appointment is None or not appointment.customer.phone:
        return False
    if kind != NoticeKind.CANCELLED and (
        appointment.status != Appointment.Status.BOOKED or n != appointment.reschedule_count
    ):
        return False
    if kind == NoticeKind.CANCELLED:
        link = branch_url(appointment.branch_id, absolute=True)
    else:
        link = appointment_url(appointment.pk, absolute=True)
    get_backend().send(
        SmsMessage(
            to=appointment.customer.phone,
            body=appointment_notice_text(appointment, kind, link),
            reference=f"appointment:{appointment.pk}",
            idempotency_key=f"appointment:{appointment.pk}:{kind}:{n}",
        )
    )
    return True
