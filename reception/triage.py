"""Who goes in which priority class, and who may use the self-service machines (pure)."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from queueing.routing import PriorityClass

# An appointment counts as on time from 15 minutes early to 30 minutes late.
APPOINTMENT_EARLY = timedelta(minutes=15)
APPOINTMENT_LATE = timedelta(minutes=30)

# Appointment times the lobby may enter: back 12 hours (a customer late for a slot earlier the
# same day still comes in with it) and forward 90 days (further than any branch books).
APPOINTMENT_PAST_LIMIT = timedelta(hours=12)
APPOINTMENT_FUTURE_LIMIT = timedelta(days=90)
APPOINTMENT_WINDOW_MESSAGE = _("Enter an appointment time from 12 hours ago to 90 days ahead.")

# Times a screen can convert to any time zone: datetime stops at years 1 and 9999.
_SHOWABLE_FROM = datetime(2, 1, 1, tzinfo=UTC)
_SHOWABLE_UNTIL = datetime(9998, 12, 31, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class SpecialNeeds:
    elderly: bool = False
    disabled: bool = False
    pregnant: bool = False
    vip: bool = False
    appointment_at: datetime | None = None


def appointment_in_window(appointment_at: datetime, now: datetime) -> bool:
    """Whether an appointment time may be registered: from 12 hours ago to 90 days ahead.
    (Comparing aware times never overflows, whatever the year.)"""
    return now - APPOINTMENT_PAST_LIMIT <= appointment_at <= now + APPOINTMENT_FUTURE_LIMIT


def showable_appointment(appointment_at: datetime | None) -> datetime | None:
    """The time, or None where it cannot be shown (a year-1 or year-9999 time stored before
    the window above existed would overflow turning into the branch's time zone)."""
    if appointment_at is None or not _SHOWABLE_FROM <= appointment_at <= _SHOWABLE_UNTIL:
        return None
    return appointment_at


def appointment_on_time(appointment_at: datetime | None, arrived_at: datetime) -> bool:
    if appointment_at is None:
        return False
    return appointment_at - APPOINTMENT_EARLY <= arrived_at <= appointment_at + APPOINTMENT_LATE


def priority_for(needs: SpecialNeeds, arrived_at: datetime) -> PriorityClass:
    """The highest class the customer qualifies for; the routing bound stops abuse."""
    if appointment_on_time(needs.appointment_at, arrived_at):
        return PriorityClass.APPOINTMENT
    if needs.elderly or needs.disabled or needs.pregnant:
        return PriorityClass.CARE
    if needs.vip:
        return PriorityClass.VIP
    return PriorityClass.REGULAR


def may_divert(*, divertible: bool, amount: Decimal | None, threshold: Decimal) -> bool:
    """A small cash job may go to the machines; the lobby manager still makes the call."""
    return divertible and amount is not None and Decimal(0) < amount <= threshold
