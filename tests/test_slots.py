"""Appointment slots (reception.slots, pure)."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from reception.slots import (
    Hours,
    PlanRules,
    bookable_days,
    day_slots,
    find_slot,
    parse_slot_key,
    slot_starts,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
HONG_KONG = ZoneInfo("Asia/Hong_Kong")
LONDON = ZoneInfo("Europe/London")
PLAN = PlanRules(slot_minutes=30, capacity=2, days_ahead=7)
HOURS = Hours(opens_at=time(9), closes_at=time(17), tz=SHANGHAI)
DAY = date(2026, 3, 2)  # a Monday
# 07:00 in Shanghai on DAY, before opening.
EARLY = datetime(2026, 3, 1, 23, 0, tzinfo=UTC)


def test_a_day_of_slots_within_opening_hours():
    slots = day_slots(plan=PLAN, hours=HOURS, day=DAY, closed_days=set(), now=EARLY, booked={})
    assert len(slots) == 16
    assert slots[0].starts_at == datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)
    assert slots[-1].ends_at == datetime(2026, 3, 2, 17, 0, tzinfo=SHANGHAI)
    assert all(slot.remaining == 2 for slot in slots)


def test_a_slot_that_would_run_past_closing_is_not_offered():
    plan = PlanRules(slot_minutes=45, capacity=1, days_ahead=7)
    starts = slot_starts(plan=plan, hours=HOURS, day=DAY)
    assert starts[-1] == datetime(2026, 3, 2, 15, 45, tzinfo=SHANGHAI)  # ends 16:30


def test_no_slot_in_the_past():
    now = datetime(2026, 3, 2, 10, 10, tzinfo=SHANGHAI)
    slots = day_slots(plan=PLAN, hours=HOURS, day=DAY, closed_days=set(), now=now, booked={})
    assert slots[0].starts_at == datetime(2026, 3, 2, 10, 30, tzinfo=SHANGHAI)
    # Yesterday: nothing at all.
    assert (
        day_slots(
            plan=PLAN,
            hours=HOURS,
            day=DAY - timedelta(days=1),
            closed_days=set(),
            now=now,
            booked={},
        )
        == []
    )
    # The staff's day view shows the whole day.
    all_day = day_slots(
        plan=PLAN, hours=HOURS, day=DAY, closed_days=set(), now=now, booked={}, include_past=True
    )
    assert len(all_day) == 16


def test_no_slot_on_a_closed_day_nor_beyond_days_ahead():
    assert day_slots(plan=PLAN, hours=HOURS, day=DAY, closed_days={DAY}, now=EARLY, booked={}) == []
    last = DAY + timedelta(days=7)
    assert day_slots(plan=PLAN, hours=HOURS, day=last, closed_days=set(), now=EARLY, booked={})
    assert (
        day_slots(
            plan=PLAN,
            hours=HOURS,
            day=last + timedelta(days=1),
            closed_days=set(),
            now=EARLY,
            booked={},
        )
        == []
    )
    days = bookable_days(plan=PLAN, hours=HOURS, closed_days={DAY + timedelta(days=1)}, now=EARLY)
    assert days[0] == DAY and DAY + timedelta(days=1) not in days and days[-1] == last
    assert len(days) == 7


def test_booked_counts_are_matched_as_instants_in_any_zone():
    nine_utc = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    slots = day_slots(
        plan=PLAN, hours=HOURS, day=DAY, closed_days=set(), now=EARLY, booked={nine_utc: 2}
    )
    assert slots[0].booked == 2 and slots[0].remaining == 0
    assert slots[1].remaining == 2
    assert find_slot(slots, nine_utc) is slots[0]
    assert find_slot(slots, nine_utc + timedelta(minutes=10)) is None


def test_a_branch_in_another_zone_has_its_own_local_day():
    hours = Hours(opens_at=time(9), closes_at=time(17), tz=HONG_KONG)
    # 23:30 UTC on 1 March is already 2 March, 07:30, in Hong Kong.
    now = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    days = bookable_days(plan=PLAN, hours=hours, closed_days=set(), now=now)
    assert days[0] == DAY
    slots = day_slots(plan=PLAN, hours=hours, day=DAY, closed_days=set(), now=now, booked={})
    assert slots[0].starts_at.utcoffset() == timedelta(hours=8)
    assert slots[0].starts_at == datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def test_wall_clock_slots_across_a_daylight_saving_change():
    hours = Hours(opens_at=time(9), closes_at=time(12), tz=LONDON)
    before = day_slots(
        plan=PLAN,
        hours=hours,
        day=date(2026, 3, 28),
        closed_days=set(),
        now=datetime(2026, 3, 27, tzinfo=UTC),
        booked={},
    )
    after = day_slots(
        plan=PLAN,
        hours=hours,
        day=date(2026, 3, 30),
        closed_days=set(),
        now=datetime(2026, 3, 27, tzinfo=UTC),
        booked={},
    )
    assert before[0].starts_at == datetime(2026, 3, 28, 9, 0, tzinfo=UTC)
    assert after[0].starts_at == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)  # 09:00 BST
    assert len(before) == len(after) == 6


def test_slot_keys_round_trip():
    slots = day_slots(plan=PLAN, hours=HOURS, day=DAY, closed_days=set(), now=EARLY, booked={})
    assert slots[2].key == "2026-03-02T10:00"
    assert parse_slot_key(slots[2].key, SHANGHAI) == slots[2].starts_at
    assert parse_slot_key("nonsense", SHANGHAI) is None
    assert parse_slot_key("", SHANGHAI) is None
