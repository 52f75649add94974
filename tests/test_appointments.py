"""Appointments: booking rules, capacity under concurrency, cancel / reschedule, check-in per
the branch's late rule, the no-show sweep and reminder SMS (reception.services.appointments)."""

import os
import threading
from datetime import datetime, time, timedelta

import pytest
from django.db import connection

from accounts.models import BranchClosedDay, LateArrivalRule
from crm.models import Interaction
from feedback.sms import LocmemBackend
from queueing.routing import PriorityClass
from queueing.states import TicketStatus
from reception import services
from reception.models import Appointment, Visit
from reception.services import AppointmentError

from .factories import (
    AppointmentFactory,
    AppointmentPlanFactory,
    BranchFactory,
    CustomerFactory,
    ServiceFactory,
)

pytestmark = pytest.mark.django_db

PHONE = "13800138000"


@pytest.fixture
def plan(branch, loans):
    branch.opens_at, branch.closes_at = time(9), time(17)
    branch.save()
    return AppointmentPlanFactory(service=loans, slot_minutes=30, capacity=2, days_ahead=14)


def _tomorrow_at(branch, hour, minute=0) -> datetime:
    from django.utils import timezone

    today = timezone.localtime(timezone.now(), branch.tz).date()
    return datetime.combine(today + timedelta(days=1), time(hour, minute), tzinfo=branch.tz)


@pytest.fixture(autouse=True)
def _deliver_after_commit(request):
    """The outbox delivers after commit: run those callbacks as each service call commits
    (the test's own transaction never does)."""
    global _committing
    if "db" in request.fixturenames or request.node.get_closest_marker("django_db"):
        capture = request.getfixturevalue("django_capture_on_commit_callbacks")
        _committing = lambda: capture(execute=True)  # noqa: E731
    yield
    _committing = None


_committing = None


def _commit(fn, **kwargs):
    with _committing():
        return fn(**kwargs)


def _book(branch, loans, starts_at, phone=PHONE, **kwargs):
    kwargs.setdefault("channel", Appointment.Channel.CUSTOMER)
    return _commit(
        services.appointment_book,
        branch=branch,
        service=loans,
        phone=phone,
        starts_at=starts_at,
        **kwargs,
    )


# --- Booking ------------------------------------------------------------------------------------


def test_booking_a_free_slot_sends_a_confirmation_with_the_manage_link(branch, loans, plan):
    starts = _tomorrow_at(branch, 10)
    appointment = _book(branch, loans, starts)
    assert appointment.status == Appointment.Status.BOOKED
    assert appointment.ends_at - appointment.starts_at == timedelta(minutes=30)
    assert appointment.customer.phone == PHONE
    assert len(LocmemBackend.outbox) == 1
    sms = LocmemBackend.outbox[0]
    assert sms.to == PHONE
    assert sms.idempotency_key == f"appointment:{appointment.pk}:booked:0"
    assert "/visit/a/" in sms.body


def test_confirmation_is_in_the_customers_language(branch, loans, plan):
    CustomerFactory(phone=PHONE, preferred_language="en")
    _book(branch, loans, _tomorrow_at(branch, 10))
    assert "is booked for" in LocmemBackend.outbox[0].body


def test_capacity_is_never_exceeded(branch, loans, plan):
    starts = _tomorrow_at(branch, 10)
    _book(branch, loans, starts, phone="13800138001")
    _book(branch, loans, starts, phone="13800138002")
    with pytest.raises(AppointmentError) as error:
        _book(branch, loans, starts, phone="13800138003")
    assert error.value.code == "starts_at"
    assert Appointment.objects.count() == 2


def test_only_slots_of_the_plan_can_be_booked(branch, loans, plan, cash):
    with pytest.raises(AppointmentError) as error:
        _book(branch, loans, _tomorrow_at(branch, 10, 10))  # not a slot start
    assert error.value.code == "starts_at"
    with pytest.raises(AppointmentError):
        _book(branch, loans, _tomorrow_at(branch, 17))  # after closing
    with pytest.raises(AppointmentError) as error:
        _book(branch, cash, _tomorrow_at(branch, 10))  # no plan for cash
    assert error.value.code == "service"
    BranchClosedDay.objects.create(branch=branch, date=_tomorrow_at(branch, 10).date())
    with pytest.raises(AppointmentError):
        _book(branch, loans, _tomorrow_at(branch, 10))


def test_another_branchs_service_is_refused(branch, plan, other_branch):
    with pytest.raises(AppointmentError):
        _book(other_branch, plan.service, _tomorrow_at(branch, 10))


def test_one_open_booking_per_customer_service_and_day(branch, loans, plan):
    _book(branch, loans, _tomorrow_at(branch, 10))
    with pytest.raises(AppointmentError) as error:
        _book(branch, loans, _tomorrow_at(branch, 11))
    assert "already an appointment" in str(error.value.message)


def test_invalid_phone_is_a_field_error(branch, loans, plan):
    with pytest.raises(Exception) as error:
        _book(branch, loans, _tomorrow_at(branch, 10), phone="123")
    assert error.value.code == "phone"


def test_lobby_booking_records_the_arrival(branch, loans, plan, lobby_manager):
    _book(
        branch,
        loans,
        _tomorrow_at(branch, 10),
        channel=Appointment.Channel.STAFF,
        booked_by=lobby_manager,
        record_lobby_visit=True,
    )
    visit = Visit.objects.get()
    assert visit.route == Visit.Route.APPOINTMENT_BOOKED
    assert visit.channel == Visit.Channel.LOBBY
    assert visit.triaged_at is not None and visit.ticket is None


# --- Cancel and reschedule ----------------------------------------------------------------------


def test_cancel_frees_the_place_and_tells_the_customer(branch, loans, plan):
    starts = _tomorrow_at(branch, 10)
    appointment = _book(branch, loans, starts, phone="13800138001")
    _book(branch, loans, starts, phone="13800138002")
    _commit(services.appointment_cancel, appointment=appointment)
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CANCELLED
    assert LocmemBackend.outbox[-1].idempotency_key == f"appointment:{appointment.pk}:cancelled:0"
    _book(branch, loans, starts, phone="13800138003")  # the freed place
    with pytest.raises(AppointmentError) as error:
        services.appointment_cancel(appointment=appointment)
    assert error.value.code == "status"


def test_reschedule_moves_to_a_free_slot_only(branch, loans, plan):
    appointment = _book(branch, loans, _tomorrow_at(branch, 10))
    _book(branch, loans, _tomorrow_at(branch, 11), phone="13800138001")
    _book(branch, loans, _tomorrow_at(branch, 11), phone="13800138002")
    with pytest.raises(AppointmentError):
        services.appointment_reschedule(appointment=appointment, starts_at=_tomorrow_at(branch, 11))
    with pytest.raises(AppointmentError):
        services.appointment_reschedule(appointment=appointment, starts_at=_tomorrow_at(branch, 10))
    moved = _commit(
        services.appointment_reschedule,
        appointment=appointment,
        starts_at=_tomorrow_at(branch, 14, 30),
    )
    assert moved.starts_at == _tomorrow_at(branch, 14, 30)
    assert moved.reschedule_count == 1
    assert LocmemBackend.outbox[-1].idempotency_key == f"appointment:{moved.pk}:rescheduled:1"


def test_a_full_slot_keeps_its_own_booking_when_rescheduling_within_it(branch, loans, plan):
    """Rescheduling excludes the appointment itself from the count (capacity 1)."""
    plan.capacity = 1
    plan.save()
    appointment = _book(branch, loans, _tomorrow_at(branch, 10))
    services.appointment_reschedule(appointment=appointment, starts_at=_tomorrow_at(branch, 10, 30))
    _book(branch, loans, _tomorrow_at(branch, 10), phone="13800138001")  # the old place is free


# --- Check-in -----------------------------------------------------------------------------------


def _due(branch, loans, **kwargs):
    from django.utils import timezone

    starts = kwargs.pop("starts_at", timezone.now().replace(second=0, microsecond=0))
    return AppointmentFactory(service=loans, starts_at=starts, **kwargs)


def test_on_time_check_in_gets_appointment_priority(branch, loans, lobby_manager):
    appointment = _due(branch, loans)
    ticket = services.appointment_check_in(
        appointment=appointment, by=lobby_manager, now=appointment.starts_at + timedelta(minutes=5)
    )
    assert ticket.priority == PriorityClass.APPOINTMENT
    assert ticket.status == TicketStatus.WAITING
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CHECKED_IN
    visit = appointment.visit
    assert visit.ticket == ticket
    assert visit.channel == Visit.Channel.CHECK_IN and visit.route == Visit.Route.QUEUE
    assert visit.arrived_at and visit.greeted_at and visit.triaged_at
    with pytest.raises(AppointmentError) as error:
        services.appointment_check_in(appointment=appointment, now=appointment.starts_at)
    assert error.value.code == "status"


def test_customer_check_in_by_qr(branch, loans):
    appointment = _due(branch, loans)
    services.appointment_check_in(
        appointment=appointment, channel=Visit.Channel.QR, now=appointment.starts_at
    )
    appointment.refresh_from_db()
    assert appointment.visit.channel == Visit.Channel.QR


def test_too_early_is_told_when_to_come_back(branch, loans):
    appointment = _due(branch, loans)
    with pytest.raises(AppointmentError) as error:
        services.appointment_check_in(
            appointment=appointment, now=appointment.starts_at - timedelta(minutes=16)
        )
    assert error.value.code == "too_early"
    assert "come back from" in str(error.value.message)
    # 15 minutes early is on time.
    ticket = services.appointment_check_in(
        appointment=appointment, now=appointment.starts_at - timedelta(minutes=15)
    )
    assert ticket.priority == PriorityClass.APPOINTMENT


@pytest.mark.parametrize(
    "rule,vip,expected",
    [
        (LateArrivalRule.REGULAR, False, PriorityClass.REGULAR),
        (LateArrivalRule.REGULAR, True, PriorityClass.VIP),
        (LateArrivalRule.KEEP, False, PriorityClass.APPOINTMENT),
    ],
)
def test_late_arrival_follows_the_branch_rule(branch, loans, rule, vip, expected):
    branch.late_arrival_rule = rule
    branch.save()
    appointment = _due(branch, loans, customer=CustomerFactory(is_vip=vip))
    ticket = services.appointment_check_in(
        appointment=appointment, now=appointment.starts_at + timedelta(minutes=31)
    )
    assert ticket.priority == expected


def test_late_arrival_at_a_rebook_branch_gets_no_ticket(branch, loans):
    branch.late_arrival_rule = LateArrivalRule.REBOOK
    branch.save()
    appointment = _due(branch, loans)
    with pytest.raises(AppointmentError) as error:
        services.appointment_check_in(
            appointment=appointment, now=appointment.starts_at + timedelta(minutes=31)
        )
    assert error.value.code == "late"
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.BOOKED
    assert not Visit.objects.exists()


def test_past_the_window_is_missed(branch, loans):
    appointment = _due(branch, loans)
    with pytest.raises(AppointmentError) as error:
        services.appointment_check_in(
            appointment=appointment, now=appointment.ends_at + timedelta(minutes=31)
        )
    assert error.value.code == "missed"


def test_cancelled_appointment_cannot_check_in(branch, loans):
    appointment = _due(branch, loans, status=Appointment.Status.CANCELLED)
    with pytest.raises(AppointmentError):
        services.appointment_check_in(appointment=appointment, now=appointment.starts_at)


# --- Sweeps -------------------------------------------------------------------------------------


def test_no_show_sweep_marks_and_records_once(branch, loans):
    appointment = _due(branch, loans)
    on_time = _due(branch, loans, starts_at=appointment.starts_at + timedelta(hours=2))
    now = appointment.ends_at + timedelta(minutes=29)
    assert services.appointments_mark_no_show(now=now) == 0
    now = appointment.ends_at + timedelta(minutes=31)
    assert services.appointments_mark_no_show(now=now) == 1
    assert services.appointments_mark_no_show(now=now) == 0
    appointment.refresh_from_db()
    on_time.refresh_from_db()
    assert appointment.status == Appointment.Status.NO_SHOW and appointment.no_show_at == now
    assert on_time.status == Appointment.Status.BOOKED
    interaction = Interaction.objects.get()
    assert interaction.kind == Interaction.Kind.NO_SHOW
    assert interaction.source == f"appointment:{appointment.pk}:no_show"


def test_reminder_is_queued_once_within_the_lead_time(branch, loans):
    from django.utils import timezone

    branch.appointment_reminder_minutes = 120
    branch.save()
    now = timezone.now()
    soon = _due(branch, loans, starts_at=now + timedelta(minutes=90))
    later = _due(branch, loans, starts_at=now + timedelta(hours=5))
    booked_late = _due(
        branch, loans, starts_at=now + timedelta(minutes=60), created_at=now - timedelta(minutes=5)
    )
    assert _commit(services.appointment_reminders_queue, now=now) == 1
    assert _commit(services.appointment_reminders_queue, now=now) == 0
    keys = [sms.idempotency_key for sms in LocmemBackend.outbox]
    assert keys == [f"appointment:{soon.pk}:reminder:0"]
    for appointment in (soon, later, booked_late):
        appointment.refresh_from_db()
    assert soon.reminder_queued_at == now
    assert later.reminder_queued_at is None
    assert booked_late.reminder_queued_at == now  # its confirmation was the reminder


def test_reminder_notice_redelivered_is_one_sms(branch, loans):
    appointment = _due(branch, loans)
    for _ in range(2):
        services.appointment_notice_send(appointment_id=appointment.pk, kind="reminder", n=0)
    assert len(LocmemBackend.outbox) == 1
    # A reminder for a time since changed is dropped.
    assert not services.appointment_notice_send(appointment_id=appointment.pk, kind="reminder", n=3)


def test_tasks_call_the_sweeps(branch, loans, eager_celery):
    from reception import tasks

    assert tasks.mark_appointment_no_shows.delay().get() == 0
    assert tasks.queue_appointment_reminders.delay().get() == 0


# --- Capacity under real concurrency ------------------------------------------------------------

ON_POSTGRES = connection.vendor == "postgresql"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_customers_never_oversell_a_slot():
    if not ON_POSTGRES:
        if os.environ.get("CI"):
            pytest.fail("needs PostgreSQL")
        pytest.skip("needs PostgreSQL")
    branch = BranchFactory()
    service = ServiceFactory(branch=branch)
    AppointmentPlanFactory(service=service, capacity=3)
    starts = _tomorrow_at(branch, 10)
    count = 12
    barrier = threading.Barrier(count, timeout=30)
    results: list = [None] * count

    def work(i: int) -> None:
        try:
            barrier.wait()
            _book(branch, service, starts, phone=f"1380013{i:04d}")
            results[i] = "ok"
        except AppointmentError as error:
            results[i] = error.code
        except Exception as error:
            results[i] = repr(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count("ok") == 3, results
    assert results.count("starts_at") == count - 3, results
    assert Appointment.objects.filter(service=service).count() == 3


def test_demo_seed_adds_plans_idempotently():
    from io import StringIO

    from django.core.management import call_command

    from reception.models import AppointmentPlan

    call_command("seed_demo", stdout=StringIO())
    out = StringIO()
    call_command("seed_reception_demo", stdout=out)
    call_command("seed_reception_demo", stdout=StringIO())
    assert AppointmentPlan.objects.count() == 3
    assert "/visit/b/" in out.getvalue()
    count = Appointment.objects.count()
    call_command("seed_reception_demo", stdout=StringIO())
    assert Appointment.objects.count() == count
