"""Pure rules of the lobby: when a queue raises an alert and what it suggests
(reception.alerts), the diversion amount bands and the greeting clock (reception.triage)."""

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from reception import alerts
from reception.alerts import ServiceLoad, alerts_for
from reception.triage import AMOUNT_BANDS, amount_band, greeted_within, greeting_started

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def load(**kw) -> ServiceLoad:
    base = {
        "service_id": 1,
        "waiting": 1,
        "longest_wait_s": 0.0,
        "target_wait_s": 600.0,
        "open_counters": 1,
        "handling_minutes": 5.0,
        "divertible": False,
        "closed_counters": 0,
    }
    base.update(kw)
    return ServiceLoad(**base)


def kinds(service_load: ServiceLoad) -> set[str]:
    return {alert.kind for alert in alerts_for(service_load)}


# --- WAIT_OVER_TARGET ---------------------------------------------------------------------------


def test_nobody_waiting_raises_nothing_whatever_else():
    assert alerts_for(load(waiting=0, longest_wait_s=9999, open_counters=0)) == []


def test_a_wait_exactly_at_the_target_is_not_over_it():
    assert kinds(load(longest_wait_s=600.0)) == set()


def test_a_wait_a_second_past_the_target_raises_the_wait_alert():
    assert kinds(load(longest_wait_s=601.0)) == {alerts.WAIT_OVER_TARGET}


# --- QUEUE_OUTGROWS -----------------------------------------------------------------------------


def test_the_last_in_line_served_exactly_at_the_target_is_not_an_alert():
    # 2 waiting × 5 min / 1 counter = 10 min = the target.
    assert kinds(load(waiting=2)) == set()


def test_one_more_customer_than_the_counters_can_serve_in_time_raises_the_queue_alert():
    # 3 × 5 min / 1 counter = 15 min > 10 min.
    assert kinds(load(waiting=3)) == {alerts.QUEUE_OUTGROWS}


def test_more_open_counters_absorb_the_same_queue():
    assert kinds(load(waiting=3, open_counters=2)) == set()  # 7.5 min


def test_people_waiting_with_no_counter_open_is_always_an_alert():
    assert alerts.expected_wait_of_last_s(load(open_counters=0)) == math.inf
    raised = alerts_for(load(waiting=1, open_counters=0))
    assert [(a.kind, a.suggestion) for a in raised] == [
        (alerts.QUEUE_OUTGROWS, alerts.OPEN_COUNTER)
    ]


def test_both_alerts_at_once_share_one_suggestion():
    raised = alerts_for(load(waiting=5, longest_wait_s=900, divertible=True))
    assert {a.kind for a in raised} == {alerts.WAIT_OVER_TARGET, alerts.QUEUE_OUTGROWS}
    assert {a.suggestion for a in raised} == {alerts.DIVERT}


# --- Suggestions --------------------------------------------------------------------------------


def test_too_few_counters_with_a_closed_one_available_suggests_opening_it():
    # 6 × 5 min = 30 min of work for a 10 min target: 3 counters needed, 1 open, 1 closed.
    overloaded = load(waiting=6, closed_counters=1, divertible=True)
    assert alerts.counters_needed(overloaded) == 3
    assert {a.suggestion for a in alerts_for(overloaded)} == {alerts.OPEN_COUNTER}


def test_a_divertible_service_with_no_counter_to_open_suggests_diverting():
    assert {a.suggestion for a in alerts_for(load(waiting=6, divertible=True))} == {alerts.DIVERT}


def test_otherwise_a_floating_teller_is_suggested():
    assert {a.suggestion for a in alerts_for(load(waiting=6))} == {alerts.FLOATING_TELLER}


def test_enough_counters_open_but_a_wait_over_target_does_not_ask_to_open_another():
    over = load(waiting=1, longest_wait_s=700, open_counters=2, closed_counters=3)
    assert [(a.kind, a.suggestion) for a in alerts_for(over)] == [
        (alerts.WAIT_OVER_TARGET, alerts.FLOATING_TELLER)
    ]


def test_branch_alerts_lists_each_service_s_alerts():
    raised = alerts.branch_alerts([load(service_id=1, waiting=0), load(service_id=2, waiting=9)])
    assert {a.service_id for a in raised} == {2}


# --- Amount bands -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "band"),
    [
        (None, ""),
        (Decimal("0.01"), "le5k"),
        (Decimal(5000), "le5k"),
        (Decimal("5000.01"), "le20k"),
        (Decimal(20000), "le20k"),
        (Decimal(50000), "le50k"),
        (Decimal("50000.01"), "gt50k"),
        (Decimal("99999999"), "gt50k"),
    ],
)
def test_amount_bands_include_their_upper_bound(amount, band):
    assert amount_band(amount) == band


def test_the_bands_are_ordered_and_the_last_is_open_ended():
    uppers = [upper for _code, upper in AMOUNT_BANDS]
    assert uppers[-1] is None and uppers[:-1] == sorted(uppers[:-1])


# --- Greeting clock -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("elapsed", "ago"),
    [
        (None, 0),
        (0, 0),
        (95, 95),
        (-30, 0),  # nonsense from a client: not in the future
        (1800, 1800),
        (1801, 1800),  # a form left open: capped at 30 minutes
        (10**9, 1800),
        (float("nan"), 0),
    ],
)
def test_the_greeting_starts_the_elapsed_seconds_ago_clamped(elapsed, ago):
    assert greeting_started(NOW, elapsed) == NOW - timedelta(seconds=ago)


def test_greeted_within_the_target_counts_the_boundary_as_in_time():
    assert greeted_within(NOW, NOW + timedelta(minutes=5), 5) is True
    assert greeted_within(NOW, NOW + timedelta(minutes=5, seconds=1), 5) is False
    assert greeted_within(None, NOW, 5) is None


# --- The day's greeting figures (triage.summarise_greeting) ------------------------------------


def test_greeting_summary_counts_arrivals_share_within_target_and_median_triage():
    from reception.triage import summarise_greeting

    t0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    minute = timedelta(minutes=1)
    summary = summarise_greeting(
        [
            (t0, t0, t0 + 2 * minute),  # greeted at once, 2 min to triage
            (t0, t0 + 5 * minute, t0 + 6 * minute),  # exactly at the 5-minute target: within
            (t0, t0 + 5 * minute + timedelta(seconds=1), t0 + 10 * minute),  # a second late
            (t0, None, None),  # arrived, never greeted: not within
            (None, None, t0),  # a remote ticket not here yet: no arrival
        ],
        target_minutes=5,
    )
    assert (summary.arrivals, summary.greeted_within) == (4, 2)
    assert summary.share_within == 0.5
    assert summary.median_triage_seconds == 360.0  # of 120, 360 and 600 s


def test_greeting_summary_of_an_empty_day_has_no_share():
    from reception.triage import summarise_greeting

    summary = summarise_greeting([], target_minutes=5)
    assert (summary.arrivals, summary.share_within, summary.median_triage_seconds) == (
        0,
        None,
        None,
    )
