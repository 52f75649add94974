"""Working-day arithmetic for complaint deadlines (pure: no ORM, no clock; callers pass `now`).

A branch works Monday to Friday, except its closed days (public holidays, works). A deadline of
N working days is the branch's closing time on the N-th working day after the day the complaint
was received, in the branch's own time zone. A complaint received after closing time, or on a
day the branch is closed, counts as received on the next working day: a complaint left in the
letterbox on Saturday has not used up any of Monday.

    received Tue 10:00, 1 working day  -> Wed at closing time
    received Fri 10:00, 1 working day  -> Mon at closing time (the weekend does not count)
    received Fri 18:00, 1 working day  -> Tue at closing time (received Monday)
    received Thu 10:00, 1 working day, Fri a holiday -> Mon at closing time

"Due soon" starts at closing time `remind_days_before` working days before the deadline's day.
"""

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKEND = (5, 6)  # Saturday, Sunday (date.weekday())
# No branch is closed for ten years in a row: beyond this the calendar is wrong, not the sum.
MAX_SEARCH_DAYS = 3660


@dataclass(frozen=True)
class BranchCalendar:
    """What the sums need to know about a branch: its zone, closing time and closed days."""

    tz: ZoneInfo
    closes_at: time
    closed_days: frozenset[date] = field(default_factory=frozenset)

    @classmethod
    def of(cls, *, tz: ZoneInfo, closes_at: time, closed_days: Collection[date] = ()):
        return cls(tz=tz, closes_at=closes_at, closed_days=frozenset(closed_days))

    def is_working_day(self, day: date) -> bool:
        return day.weekday() not in WEEKEND and day not in self.closed_days

    def end_of(self, day: date) -> datetime:
        """Closing time on `day`, timezone-aware (a DST gap or fold resolves as zoneinfo does)."""
        return datetime.combine(day, self.closes_at, tzinfo=self.tz)


def _step(calendar: BranchCalendar, day: date, direction: int) -> date:
    """The next (direction 1) or previous (-1) working day strictly after/before `day`."""
    for _ in range(MAX_SEARCH_DAYS):
        day += timedelta(days=direction)
        if calendar.is_working_day(day):
            return day
    raise ValueError("no working day within ten years: check the branch's closed days")


def received_on(moment: datetime, calendar: BranchCalendar) -> date:
    """The working day a complaint received at `moment` (aware) counts as received."""
    if moment.tzinfo is None:
        raise ValueError("moment must be timezone-aware")
    local = moment.astimezone(calendar.tz)
    day = local.date()
    if calendar.is_working_day(day) and local.time() < calendar.closes_at:
        return day
    return _step(calendar, day, 1)


def add_working_days(moment: datetime, days: int, calendar: BranchCalendar) -> datetime:
    """The deadline `days` working days after `moment`: closing time on that day (aware).

    0 days: closing time on the day it counts as received."""
    if days < 0:
        raise ValueError("days must not be negative")
    day = received_on(moment, calendar)
    for _ in range(days):
        day = _step(calendar, day, 1)
    return calendar.end_of(day)


def remind_from(deadline: datetime, days_before: int, calendar: BranchCalendar) -> datetime:
    """When a deadline becomes "due soon": closing time `days_before` working days before the
    deadline's day (0: only at the deadline itself, that is never "soon")."""
    if days_before < 0:
        raise ValueError("days_before must not be negative")
    day = deadline.astimezone(calendar.tz).date()
    if days_before == 0:
        return deadline
    for _ in range(days_before):
        day = _step(calendar, day, -1)
    return calendar.end_of(day)


def is_due_soon(
    now: datetime, deadline: datetime, days_before: int, calendar: BranchCalendar
) -> bool:
    """Not yet missed, but within `days_before` working days of the deadline."""
    return remind_from(deadline, days_before, calendar) <= now < deadline


def is_overdue(now: datetime, deadline: datetime, done_at: datetime | None = None) -> bool:
    """Missed: done after the deadline, or not done and the deadline has passed."""
    return (done_at or now) > deadline


def calendar_days_to_cover(working_days: int) -> int:
    """A generous number of calendar days that holds `working_days` working days for any
    ordinary calendar (weekends plus a week-long holiday): bounds a database window."""
    return working_days * 2 + 14
