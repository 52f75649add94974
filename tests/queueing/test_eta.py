"""Wait estimates: the replay of the routing policy, the shrunk handling mean, the naive formula."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from queueing.eta import (
    CounterState,
    HandlingStats,
    estimate_waits,
    handling_mean,
    naive_estimate,
    walkaway_rate,
)
from queueing.routing import (
    CounterSkills,
    PriorityClass,
    RoutingPolicy,
    WaitingTicket,
    routing_order,
)

NOW = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)
NO_AGING = RoutingPolicy(aging_enabled=False)
FIVE_MINUTES = HandlingStats({"A": 300.0, "B": 300.0})


def ticket(
    ticket_id: int,
    service: str = "A",
    priority: PriorityClass = PriorityClass.REGULAR,
    minutes_ago: float = 0,
    **fields: object,
) -> WaitingTicket:
    arrived = NOW - timedelta(minutes=minutes_ago)
    return WaitingTicket(ticket_id, service, priority, arrived, **fields)  # type: ignore[arg-type]


def free(counter_id: int, *services: str, busy_s: float = 0.0) -> CounterState:
    return CounterState(counter_id, services, busy_s)


# --- estimate_waits -------------------------------------------------------------------------


def test_one_counter_serves_in_turn() -> None:
    queue = [ticket(1, minutes_ago=3), ticket(2, minutes_ago=2), ticket(3, minutes_ago=1)]
    waits = estimate_waits(queue, [free(1, "A")], FIVE_MINUTES, NOW, NO_AGING)
    assert waits == {1: 0.0, 2: 300.0, 3: 600.0}


def test_empty_queue_gives_no_estimates() -> None:
    assert estimate_waits([], [free(1, "A")], FIVE_MINUTES, NOW, NO_AGING) == {}


def test_counters_only_take_their_own_services() -> None:
    queue = [ticket(1, "A", minutes_ago=3), ticket(2, "A", minutes_ago=2), ticket(3, "B")]
    counters = [free(1, "A"), free(2, "B")]
    waits = estimate_waits(queue, counters, FIVE_MINUTES, NOW, NO_AGING)
    # The naive formula would say ticket 3 waits 2 people x 300 s / 2 counters = 300 s.
    assert waits == {1: 0.0, 2: 300.0, 3: 0.0}


def test_a_busy_counter_starts_late() -> None:
    queue = [ticket(1, minutes_ago=2), ticket(2, minutes_ago=1)]
    waits = estimate_waits(queue, [free(1, "A", busy_s=120)], FIVE_MINUTES, NOW, NO_AGING)
    assert waits == {1: 120.0, 2: 420.0}


def test_the_counter_that_frees_first_takes_the_next_customer() -> None:
    queue = [ticket(i, minutes_ago=10 - i) for i in range(1, 5)]
    counters = [free(1, "A", busy_s=200), free(2, "A", busy_s=50)]
    waits = estimate_waits(queue, counters, FIVE_MINUTES, NOW, NO_AGING)
    # counter 2: 50 -> ticket 1, 350 -> ticket 3; counter 1: 200 -> ticket 2, 500 -> ticket 4
    assert waits == {1: 50.0, 2: 200.0, 3: 350.0, 4: 500.0}


def test_services_take_their_own_time() -> None:
    stats = HandlingStats({"A": 600.0, "B": 60.0})
    queue = [ticket(1, "A", minutes_ago=2), ticket(2, "B", minutes_ago=1), ticket(3, "A")]
    # B is this counter's first skill, so the B customer goes first, then the A ones.
    waits = estimate_waits(queue, [free(1, "B", "A")], stats, NOW, NO_AGING)
    assert waits == {2: 0.0, 1: 60.0, 3: 660.0}


def test_priority_customer_is_estimated_ahead_of_earlier_regulars() -> None:
    queue = [ticket(1, minutes_ago=5), ticket(2, priority=PriorityClass.VIP)]
    waits = estimate_waits(queue, [free(1, "A")], FIVE_MINUTES, NOW, NO_AGING)
    assert waits == {2: 0.0, 1: 300.0}


def test_aging_during_the_replay_moves_a_regular_ahead() -> None:
    # The counter prefers B. The A regular has waited 25 of its 30 minutes. The first B
    # customer starts now; 5 minutes later the A regular is overdue, ranks as the counter's
    # primary line and, being older, goes before the second B customer, as the real counter will.
    policy = RoutingPolicy(max_bypass=5, target_waits={"A": timedelta(minutes=30)})
    queue = [
        ticket(1, minutes_ago=25),
        ticket(2, "B", minutes_ago=1),
        ticket(3, "B"),
    ]
    waits = estimate_waits(queue, [free(1, "B", "A")], FIVE_MINUTES, NOW, policy)
    assert waits == {2: 0.0, 1: 300.0, 3: 600.0}


def test_named_transfer_waits_for_its_counter() -> None:
    queue = [ticket(1, "B", PriorityClass.TRANSFERRED, minutes_ago=30, target_counter_id=2)]
    counters = [free(1, "B"), free(2, "A", busy_s=400)]
    waits = estimate_waits(queue, counters, FIVE_MINUTES, NOW, NO_AGING)
    assert waits == {1: 400.0}


def test_no_open_counter_for_the_service_gives_infinity() -> None:
    queue = [
        ticket(1, "A"),
        ticket(2, "FX"),
        ticket(3, "A", PriorityClass.TRANSFERRED, target_counter_id=9),
    ]
    waits = estimate_waits(queue, [free(1, "A")], FIVE_MINUTES, NOW, NO_AGING)
    assert waits == {1: 0.0, 2: math.inf, 3: math.inf}


def test_no_counters_at_all_gives_infinity() -> None:
    waits = estimate_waits([ticket(1)], [], FIVE_MINUTES, NOW, NO_AGING)
    assert waits == {1: math.inf}


def test_missing_handling_mean_is_an_error_not_a_guess() -> None:
    with pytest.raises(KeyError, match="'C'"):
        estimate_waits([ticket(1, "C")], [free(1, "C")], FIVE_MINUTES, NOW, NO_AGING)


def test_missing_mean_for_a_service_nobody_serves_is_fine() -> None:
    waits = estimate_waits([ticket(1, "C")], [free(1, "A")], FIVE_MINUTES, NOW, NO_AGING)
    assert waits == {1: math.inf}


def test_five_hundred_tickets() -> None:
    """A busy day's queue: all four identical counters stay busy, so the i-th call starts
    after i // 4 full handling times; also a smoke test that the replay is not too slow."""
    rng = random.Random(2025)
    priorities = list(PriorityClass)
    queue = [
        ticket(i, rng.choice("AB"), rng.choice(priorities), minutes_ago=rng.uniform(0, 90))
        for i in range(1, 501)
    ]
    counters = [free(c, "A", "B") for c in range(1, 5)]
    waits = estimate_waits(queue, counters, FIVE_MINUTES, NOW, RoutingPolicy())
    assert len(waits) == 500
    assert sorted(waits.values()) == [(i // 4) * 300.0 for i in range(500)]


# --- agreement with routing -----------------------------------------------------------------


@st.composite
def single_counter_queues(draw: st.DrawFn) -> tuple[list[WaitingTicket], list[str]]:
    skills = draw(st.lists(st.sampled_from("ABC"), min_size=1, max_size=3, unique=True))
    count = draw(st.integers(0, 25))
    queue = [
        ticket(
            i,
            draw(st.sampled_from("ABC")),
            draw(st.sampled_from(list(PriorityClass))),
            minutes_ago=draw(st.integers(0, 60)),
            bypass_count=draw(st.integers(0, 4)),
        )
        for i in range(1, count + 1)
    ]
    return queue, skills


@settings(max_examples=200, deadline=None)
@given(case=single_counter_queues(), max_bypass=st.integers(0, 5))
def test_one_counter_estimates_follow_the_routing_order(
    case: tuple[list[WaitingTicket], list[str]], max_bypass: int
) -> None:
    """Without aging the clock does not change the choice, so one counter's estimates must
    line up with routing_order: the n-th customer starts after the n-1 before them."""
    queue, skills = case
    policy = RoutingPolicy(max_bypass=max_bypass, aging_enabled=False)
    stats = HandlingStats({"A": 100.0, "B": 200.0, "C": 400.0})
    waits = estimate_waits(queue, [CounterState(1, skills, 30.0)], stats, NOW, policy)

    start = 30.0
    for served in routing_order(queue, CounterSkills(1, skills), NOW, policy):
        assert waits.pop(served.id) == start
        start += stats.mean_s[served.service_code]
    assert all(wait == math.inf for wait in waits.values())  # the ones it cannot serve


# --- handling_mean and naive_estimate -------------------------------------------------------


def test_handling_mean_without_samples_is_the_standard_time() -> None:
    assert handling_mean([], 300.0) == 300.0
    assert handling_mean([], 300.0, prior_weight=0) == 300.0


def test_handling_mean_moves_toward_the_data_as_samples_grow() -> None:
    assert handling_mean([600.0] * 5, 300.0) == pytest.approx(450.0)  # prior_weight 5: halfway
    assert handling_mean([600.0] * 45, 300.0) == pytest.approx(570.0)  # 90 % data
    assert handling_mean([600.0], 300.0, prior_weight=0) == pytest.approx(600.0)


def test_one_long_case_does_not_blow_up_the_mean() -> None:
    assert handling_mean([3600.0], 300.0) == pytest.approx(850.0)


@pytest.mark.parametrize(
    ("durations", "standard", "weight"),
    [([], 0.0, 5.0), ([], 300.0, -1.0), ([-1.0], 300.0, 5.0)],
)
def test_handling_mean_refuses_nonsense(
    durations: list[float], standard: float, weight: float
) -> None:
    with pytest.raises(ValueError):
        handling_mean(durations, standard, prior_weight=weight)


def test_naive_estimate() -> None:
    assert naive_estimate(6, 300.0, 2) == 900.0
    assert naive_estimate(0, 300.0, 1) == 0.0
    assert naive_estimate(3, 300.0, 0) == math.inf


# --- "About 19 min with 1 ahead, still 19 min after they were called" (4 of 11, item 6) -------
# The first day's one finished case had its "Finish" pressed 89 minutes late. Shrinkage alone
# made the cash mean (5 × 300 + 5340) / 6 = 1140 s = 19 min: one person ahead at an idle
# counter was "about 19 min", and calling that person left it at 19 (their service now took
# the counter for the same 19 min). Each case now counts for at most 3 × the usual time.

from queueing.eta import HANDLING_CAP_FACTOR  # noqa: E402

FORGOTTEN_FINISH = [89 * 60.0]


def first_day_mean(capped: bool = True) -> float:
    cap = HANDLING_CAP_FACTOR if capped else None
    return handling_mean(FORGOTTEN_FINISH, 300.0, cap_factor=cap)


def test_the_seen_numbers_one_ahead_was_19_minutes() -> None:
    queue = [ticket(1, minutes_ago=2), ticket(2, minutes_ago=1)]
    seen = estimate_waits(
        queue, [free(1, "A")], HandlingStats({"A": first_day_mean(False)}), NOW, NO_AGING
    )
    assert seen[2] == pytest.approx(19 * 60.0)
    waits = estimate_waits(
        queue, [free(1, "A")], HandlingStats({"A": first_day_mean()}), NOW, NO_AGING
    )
    # The late case counts as 15 minutes: (5 × 300 + 900) / 6 = 400 s, "about 7 min".
    assert waits[2] == pytest.approx(400.0)


def test_after_the_person_ahead_is_called_the_estimate_drops() -> None:
    stats = HandlingStats({"A": first_day_mean()})
    # Before: the counter's current customer has about 3 minutes left; 1 ahead, then ticket 2.
    before = estimate_waits(
        [ticket(1, minutes_ago=2), ticket(2, minutes_ago=1)],
        [free(1, "A", busy_s=180.0)],
        stats,
        NOW,
        NO_AGING,
    )
    # Ticket 1 is called: the counter is busy with it (a full handling), nobody is ahead.
    after = estimate_waits(
        [ticket(2, minutes_ago=1)], [free(1, "A", busy_s=stats.mean_s["A"])], stats, NOW, NO_AGING
    )
    assert before[2] == pytest.approx(580.0)
    assert after[2] == pytest.approx(400.0)
    assert after[2] < before[2]


def test_a_capped_mean_ignores_no_ordinary_case() -> None:
    ordinary = [240.0, 300.0, 420.0, 600.0, 900.0]  # all within 3 × the usual time
    assert handling_mean(ordinary, 300.0, cap_factor=HANDLING_CAP_FACTOR) == pytest.approx(
        handling_mean(ordinary, 300.0)
    )


def test_a_standard_set_too_short_is_still_learnt_past() -> None:
    # Every case takes 20 minutes against a 5-minute standard: with enough samples the cap
    # follows their median, so the mean climbs to the data, not to 3 × the standard.
    slow = [1200.0] * 45
    assert handling_mean(slow, 300.0, cap_factor=HANDLING_CAP_FACTOR) == pytest.approx(
        handling_mean(slow, 300.0)
    )
    # One late "Finish" among them is still cut to 3 × their median.
    late = [*slow[:-1], 5 * 3600.0]
    assert handling_mean(late, 300.0, cap_factor=HANDLING_CAP_FACTOR) == pytest.approx(
        (5 * 300.0 + 44 * 1200.0 + 3600.0) / 50
    )


def test_a_cap_below_one_is_refused() -> None:
    with pytest.raises(ValueError):
        handling_mean([300.0], 300.0, cap_factor=0.5)


def test_the_walkaway_rate_is_walkaways_over_waiting_with_a_prior() -> None:
    assert walkaway_rate(0, 0.0) == 0.0
    # 3 walk-aways over 5 hours of waiting, plus the prior's hour without any: 1 per 2 hours.
    assert walkaway_rate(3, 5 * 3600.0) == pytest.approx(1 / 7200)
    with pytest.raises(ValueError):
        walkaway_rate(-1, 10.0)
    with pytest.raises(ValueError):
        walkaway_rate(1, -10.0)


def test_customers_ahead_who_may_walk_away_shorten_the_wait() -> None:
    queue = [ticket(n, minutes_ago=10 - n) for n in range(1, 5)]
    counters = [free(1, "A")]
    rate = 1 / 2400  # patience of 40 minutes on average
    stays = estimate_waits(queue, counters, FIVE_MINUTES, NOW, NO_AGING)
    leaves = estimate_waits(
        queue, counters, HandlingStats(FIVE_MINUTES.mean_s, walkaway_rate_per_s=rate), NOW, NO_AGING
    )
    assert stays == {1: 0.0, 2: 300.0, 3: 600.0, 4: 900.0}
    # Ticket 1 is called at once (it cannot have left); ticket 2, called at 300 s, is still
    # there with probability exp(-300 / 2400), and its expected handling shrinks accordingly.
    assert leaves[1] == 0.0
    assert leaves[2] == pytest.approx(300.0)
    assert leaves[3] == pytest.approx(300.0 + 300.0 * math.exp(-300 * rate))
    # Nobody's order changes, only the times, and each later one gains more.
    gains = [stays[n] - leaves[n] for n in range(1, 5)]
    assert gains[:2] == [0.0, 0.0] and 0 < gains[2] < gains[3]
