"""Who goes in which priority class, who may use the self-service machines, and how quickly
arrivals were greeted (pure)."""

import statistics
from collections.abc import Iterable
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


# --- Greeting and triage times (branch plans: greeted within Branch.greeting_target_minutes) ---

# The tablet sends how long ago the manager first tapped for this customer (seconds on its own
# clock: a duration, never a timestamp, so a tablet whose clock is off cannot skew the record).
# Longer than this is a form left open, not a greeting: it is capped.
GREETING_MAX = timedelta(minutes=30)


def greeting_started(now: datetime, elapsed_seconds: float | None) -> datetime:
    """When the manager first tapped for this customer: `now` less the elapsed seconds the
    tablet measured, clamped to 0 … 30 minutes (nothing sent or nonsense: now)."""
    if elapsed_seconds is None or elapsed_seconds != elapsed_seconds:  # None or NaN
        return now
    seconds = min(max(float(elapsed_seconds), 0.0), GREETING_MAX.total_seconds())
    return now - timedelta(seconds=seconds)


def greeted_within(
    arrived_at: datetime | None, greeted_at: datetime | None, target_minutes: int
) -> bool | None:
    """Whether the customer was greeted within the target; None when either time is missing."""
    if arrived_at is None or greeted_at is None:
        return None
    return greeted_at - arrived_at <= timedelta(minutes=target_minutes)


@dataclass(frozen=True, slots=True)
class GreetingSummary:
    """The day's arrivals at the door: how many, the share greeted within the target, and
    the median time from arrival to triage (the decision: ticket, machines, redirect …)."""

    arrivals: int
    greeted_within: int
    median_triage_seconds: float | None

    @property
    def share_within(self) -> float | None:
        return self.greeted_within / self.arrivals if self.arrivals else None


def summarise_greeting(
    visits: Iterable[tuple[datetime | None, datetime | None, datetime | None]],
    target_minutes: int,
) -> GreetingSummary:
    """(arrived_at, greeted_at, triaged_at) per visit; a visit without an arrival (a remote
    ticket not here yet) is not an arrival. A visit greeted but with no greeting time counts
    as not within the target: unrecorded is not on time."""
    arrivals = within = 0
    triage: list[float] = []
    for arrived_at, greeted_at, triaged_at in visits:
        if arrived_at is None:
            continue
        arrivals += 1
        if greeted_within(arrived_at, greeted_at, target_minutes):
            within += 1
        if triaged_at is not None and triaged_at >= arrived_at:
            triage.append((triaged_at - arrived_at).total_seconds())
    return GreetingSummary(
        arrivals=arrivals,
        greeted_within=within,
        median_triage_seconds=statistics.median(triage) if triage else None,
    )


# --- Amount bands of self-service diversions: the one place they are defined ---------------------

# (band code, upper bound in CNY, inclusive); the last band has no upper bound.
AMOUNT_BANDS: tuple[tuple[str, Decimal | None], ...] = (
    ("le5k", Decimal(5_000)),
    ("le20k", Decimal(20_000)),
    ("le50k", Decimal(50_000)),
    ("gt50k", None),
)
AMOUNT_BAND_LABELS = {
    "le5k": _("up to ¥5,000"),
    "le20k": _("¥5,000 to ¥20,000"),
    "le50k": _("¥20,000 to ¥50,000"),
    "gt50k": _("over ¥50,000"),
}


def amount_band(amount: Decimal | None) -> str:
    """The band of an amount ("" for none): diversions are reported by band, not by sum."""
    if amount is None:
        return ""
    for code, upper in AMOUNT_BANDS:
        if upper is None or amount <= upper:
            return code
    return AMOUNT_BANDS[-1][0]  # pragma: no cover - the last band is unbounded
