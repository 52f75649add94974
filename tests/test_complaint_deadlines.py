"""crm.deadlines: working days in the branch's zone, weekends and closed days skipped, the
deadline at closing time; "due soon" some working days before it. Pure: no database."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from crm import complaint_flow as flow
from crm.deadlines import (
    BranchCalendar,
    add_working_days,
    is_due_soon,
    is_overdue,
    received_on,
    remind_from,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
UTC = ZoneInfo("UTC")
PLAIN = BranchCalendar.of(tz=SHANGHAI, closes_at=time(17, 0))
# 2026-11-23 is a Monday.
MON, TUE, WED, THU, FRI, SAT, SUN = (date(2026, 11, 23 + i) for i in range(7))
NEXT_MON, NEXT_TUE = date(2026, 11, 30), date(2026, 12, 1)


def at(day: date, hour: int, minute: int = 0, tz=SHANGHAI) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=tz)


def close_of(day: date, tz=SHANGHAI, closes=time(17, 0)) -> datetime:
    return datetime.combine(day, closes, tzinfo=tz)


@pytest.mark.parametrize(
    ("received", "days", "due_day"),
    [
        (at(TUE, 10), 1, WED),
        (at(TUE, 10), 3, FRI),
        (at(TUE, 10), 5, NEXT_TUE),  # the weekend does not count
        (at(FRI, 10), 1, NEXT_MON),
        (at(THU, 10), 2, NEXT_MON),
        (at(SAT, 11), 1, NEXT_TUE),  # received Saturday counts as received Monday
        (at(SUN, 23), 1, NEXT_TUE),
        (at(FRI, 18), 1, NEXT_TUE),  # after closing: received Monday
        (at(FRI, 17), 1, NEXT_TUE),  # at closing time exactly: the day is over
        (at(MON, 7), 1, TUE),  # before opening still counts that day
        (at(TUE, 10), 0, TUE),  # 0 days: by closing time the same day
        (at(SAT, 10), 0, NEXT_MON),
        (at(MON, 9), 10, date(2026, 12, 7)),  # two weeks
    ],
)
def test_it_adds_working_days_skipping_weekends(received, days, due_day):
    assert add_working_days(received, days, PLAIN) == close_of(due_day)


def test_it_skips_the_branchs_closed_days():
    holidays = BranchCalendar.of(tz=SHANGHAI, closes_at=time(17, 0), closed_days={FRI, NEXT_MON})
    assert add_working_days(at(THU, 10), 1, holidays) == close_of(NEXT_TUE)
    # Received on a holiday: counts from the next working day.
    assert add_working_days(at(FRI, 10), 1, holidays) == close_of(date(2026, 12, 2))
    assert received_on(at(FRI, 10), holidays) == NEXT_TUE


def test_a_long_holiday_is_skipped_whole():
    golden_week = {date(2026, 10, d) for d in range(1, 8)}  # Thu 1 Oct to Wed 7 Oct
    calendar = BranchCalendar.of(tz=SHANGHAI, closes_at=time(17, 0), closed_days=golden_week)
    # Received Wed 30 Sep: 1 working day later is Thu 8 Oct.
    assert add_working_days(at(date(2026, 9, 30), 10), 1, calendar) == close_of(date(2026, 10, 8))


def test_it_counts_in_the_branchs_time_zone_not_the_servers():
    # 2026-11-27 01:00 UTC is Friday 09:00 in Shanghai, but still Thursday in UTC.
    moment = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)
    assert add_working_days(moment, 1, PLAIN) == close_of(NEXT_MON)
    # Friday 20:00 UTC is Saturday 04:00 in Shanghai: counts as received Monday there.
    late = datetime(2026, 11, 27, 20, 0, tzinfo=UTC)
    assert add_working_days(late, 1, PLAIN) == close_of(NEXT_TUE)
    assert add_working_days(late, 1, PLAIN).utcoffset().total_seconds() == 8 * 3600


def test_a_european_branch_keeps_its_closing_hour_across_daylight_saving():
    calendar = BranchCalendar.of(tz=BERLIN, closes_at=time(16, 30))
    # Fri 23 Oct 2026, summer time; clocks go back on Sun 25 Oct.
    due = add_working_days(at(date(2026, 10, 23), 10, tz=BERLIN), 1, calendar)
    assert due == close_of(date(2026, 10, 26), tz=BERLIN, closes=time(16, 30))
    assert due.astimezone(UTC).hour == 15  # 16:30 CET (+1)


def test_it_refuses_naive_moments_and_negative_days():
    with pytest.raises(ValueError):
        add_working_days(datetime(2026, 11, 23, 10), 1, PLAIN)
    with pytest.raises(ValueError):
        add_working_days(at(MON, 10), -1, PLAIN)


def test_a_calendar_with_no_working_day_is_an_error_not_a_hang():
    every_day = {
        date(2026, 1, 1).fromordinal(date(2026, 1, 1).toordinal() + i) for i in range(4000)
    }
    calendar = BranchCalendar.of(tz=SHANGHAI, closes_at=time(17, 0), closed_days=every_day)
    with pytest.raises(ValueError):
        add_working_days(at(date(2026, 1, 1), 10), 1, calendar)


def test_due_soon_starts_working_days_before_the_deadline():
    deadline = close_of(NEXT_TUE)
    # 1 working day before: from Monday's closing time (the weekend does not count).
    assert remind_from(deadline, 1, PLAIN) == close_of(NEXT_MON)
    assert remind_from(deadline, 2, PLAIN) == close_of(FRI)
    assert not is_due_soon(at(NEXT_MON, 16), deadline, 1, PLAIN)
    assert is_due_soon(at(NEXT_MON, 17), deadline, 1, PLAIN)
    assert is_due_soon(at(NEXT_TUE, 16, 59), deadline, 1, PLAIN)
    assert not is_due_soon(deadline, deadline, 1, PLAIN)  # at the deadline it is missed
    assert is_due_soon(at(SAT, 12), deadline, 2, PLAIN)
    # 0: never "soon".
    assert not is_due_soon(at(NEXT_TUE, 16, 59), deadline, 0, PLAIN)


def test_due_soon_skips_closed_days_backwards():
    calendar = BranchCalendar.of(tz=SHANGHAI, closes_at=time(17, 0), closed_days={NEXT_MON})
    assert remind_from(close_of(NEXT_TUE), 1, calendar) == close_of(FRI)


def test_overdue_means_done_late_or_not_done_in_time():
    deadline = close_of(TUE)
    assert not is_overdue(at(TUE, 16), deadline)
    assert is_overdue(at(TUE, 17, 1), deadline)
    assert not is_overdue(at(THU, 9), deadline, done_at=at(TUE, 12))
    assert is_overdue(at(THU, 9), deadline, done_at=at(WED, 9))


# --- crm.complaint_flow: who may take which step --------------------------------------------------


def test_the_branch_head_assigns_and_closes_the_assignee_works_it():
    head, teller = {"branch_head"}, {"teller"}
    assert flow.allowed_actions(status="logged", roles=head, is_assignee=False) == ["assign"]
    assert flow.allowed_actions(status="logged", roles=teller, is_assignee=False) == []
    assert flow.allowed_actions(status="assigned", roles=teller, is_assignee=True) == ["start"]
    assert flow.allowed_actions(status="assigned", roles=teller, is_assignee=False) == []
    assert flow.allowed_actions(status="investigating", roles=teller, is_assignee=True) == [
        "resolve"
    ]
    assert flow.allowed_actions(status="resolved", roles=teller, is_assignee=True) == ["inform"]
    # The head is offered "close" before the customer is informed: the refusal says why.
    assert flow.allowed_actions(status="resolved", roles=head, is_assignee=False) == [
        "inform",
        "close",
    ]
    assert flow.allowed_actions(status="informed", roles=teller, is_assignee=True) == []
    assert flow.allowed_actions(status="informed", roles=head, is_assignee=False) == ["close"]
    assert flow.allowed_actions(status="closed", roles=head, is_assignee=False) == []
    assert flow.may_log({"lobby_manager"}) and not flow.may_log(set())
    assert flow.is_head({"admin"})
