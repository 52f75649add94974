"""Who goes in which priority class, and who may use the self-service machines (pure)."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from queueing.routing import PriorityClass

# An appointment counts as on time from 15 minutes early to 30 minutes late.
APPOINTMENT_EARLY = timedelta(minutes=15)
APPOINTMENT_LATE = timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class SpecialNeeds:
    elderly: bool = False
    disabled: bool = False
    pregnant: bool = False
    vip: bool = False
    appointment_at: datetime | None = None


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
