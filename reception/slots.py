"""Appointment slots (pure: no ORM, no clock; the caller passes `now`).

A day's slots run from the branch's opening time, one after another, each `slot_minutes` long,
as long as a slot ends by closing time. Slots are wall-clock times in the branch's zone (a
09:00 slot is at 09:00 local whatever the season); none are offered in the past, on a closed
day, or further ahead than the plan's `days_ahead` (today counts as day 0).
"""

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo


@dataclass(frozen=True, slots=True)
class PlanRules:
    slot_minutes: int
    capacity: int
    days_ahead: int


@dataclass(frozen=True, slots=True)
class Hours:
    opens_at: time
    closes_at: time
    tz: tzinfo


@dataclass(frozen=True, slots=True)
class Slot:
    starts_at: datetime
    ends_at: datetime
    capacity: int
    booked: int

    @property
    def remaining(self) -> int:
        return max(0, self.capacity - self.booked)

    @property
    def key(self) -> str:
        """How a form or URL names the slot: its start, in the branch's zone."""
        return self.starts_at.strftime("%Y-%m-%dT%H:%M")


def local_today(hours: Hours, now: datetime) -> date:
    return now.astimezone(hours.tz).date()


def bookable_days(
    *, plan: PlanRules, hours: Hours, closed_days: Collection[date], now: datetime
) -> list[date]:
    """The days a customer may book, today first (closed days left out)."""
    today = local_today(hours, now)
    days = (today + timedelta(days=n) for n in range(plan.days_ahead + 1))
    return [day for day in days if day not in closed_days]


def day_in_range(*, plan: PlanRules, hours: Hours, day: date, now: datetime) -> bool:
    today = local_today(hours, now)
    return today <= day <= today + timedelta(days=plan.days_ahead)


def slot_starts(*, plan: PlanRules, hours: Hours, day: date) -> list[datetime]:
    """Every slot start of the day by the opening hours alone (past or not)."""
    length = timedelta(minutes=plan.slot_minutes)
    start = datetime.combine(day, hours.opens_at)
    close = datetime.combine(day, hours.closes_at)
    starts = []
    while start + length <= close:
        starts.append(start.replace(tzinfo=hours.tz))
        start += length
    return starts


def day_slots(
    *,
    plan: PlanRules,
    hours: Hours,
    day: date,
    closed_days: Collection[date],
    now: datetime,
    booked: Mapping[datetime, int],
    include_past: bool = False,
) -> list[Slot]:
    """The slots of `day` with what each has left. `booked`: open bookings per slot start
    (aware datetimes: any zone, compared as instants). `include_past` is for the staff's day
    view, which shows the whole day; customers never see a past slot."""
    if day in closed_days:
        return []
    if not include_past and not day_in_range(plan=plan, hours=hours, day=day, now=now):
        return []
    length = timedelta(minutes=plan.slot_minutes)
    slots = []
    for start in slot_starts(plan=plan, hours=hours, day=day):
        if not include_past and start <= now:
            continue
        slots.append(
            Slot(
                starts_at=start,
                ends_at=start + length,
                capacity=plan.capacity,
                booked=booked.get(start, 0),
            )
        )
    return slots


def find_slot(slots: list[Slot], starts_at: datetime) -> Slot | None:
    return next((slot for slot in slots if slot.starts_at == starts_at), None)


def parse_slot_key(key: str, tz: tzinfo) -> datetime | None:
    """The aware start a slot key names ('2026-03-02T09:30', local time), or None."""
    try:
        return datetime.strptime(key or "", "%Y-%m-%dT%H:%M").replace(tzinfo=tz)
    except ValueError:
        return None
