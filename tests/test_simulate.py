"""The branch simulator (queueing/simulation, bench/simulate.py): pure, no database."""

from __future__ import annotations

import json
import math
import random

import pytest

from bench import simulate as bench
from kpi.staffing import erlang_c
from queueing.routing import PriorityClass, RoutingPolicy
from queueing.simulation import customers as customers_module
from queueing.simulation.customers import (
    DayProfile,
    ExponentialHandling,
    LognormalHandling,
    SimCustomer,
    demo_profile,
    draw_customers,
)
from queueing.simulation.model import (
    SimCounter,
    demo_counters,
    simulate_day,
    uniform_counters,
    waits_by_class,
)
from queueing.simulation.policies import (
    RatioProfile,
    fcfs,
    make_policies,
    ours,
    strict_priority,
)
from queueing.simulation.predictors import EtaRecorder, merge, score


def customer(key, arrival_s, handle_s=300.0, **fields):
    values = {
        "service_code": "s",
        "priority": PriorityClass.REGULAR,
        "patience_s": math.inf,
        "no_show_when_called": False,
    }
    values.update(fields)
    return SimCustomer(key=key, arrival_s=arrival_s, handle_s=handle_s, **values)


def one_counter(hours=2.0):
    return uniform_counters(1, ["s"], hours)


# --- the model ---------------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_day_and_another_seed_another():
    def figures(seed):
        out = json.dumps(bench.cmd_day(_args(weekday=0, base=60.0, counters=6, seed=seed)))
        return json.loads(out)

    first, again, other = figures(7), figures(7), figures(8)
    for row in (first, again, other):
        row.pop("elapsed_s")
    assert first == again
    assert first != other


def test_a_busy_day_runs_well_under_five_seconds():
    figures = bench.cmd_day(_args(weekday=0, base=60.0, counters=6, seed=1))
    assert figures["customers"] > 400
    assert figures["elapsed_s"] < 5


def test_a_customer_with_little_patience_walks_away():
    customers = [
        customer(1, 0.0, handle_s=600.0),
        customer(2, 10.0, patience_s=60.0),
        customer(3, 20.0),
    ]
    result = simulate_day(customers, one_counter(), fcfs)
    walker = result.outcomes[1]
    assert walker.walked_away_s == pytest.approx(70.0)
    assert walker.called_s is None and walker.wait_s is None
    assert result.outcomes[2].called_s == pytest.approx(600.0)  # served in the walker's place


def test_a_customer_absent_when_called_frees_the_counter_after_the_recall_time():
    customers = [customer(1, 0.0, no_show_when_called=True), customer(2, 5.0)]
    result = simulate_day(customers, one_counter(), fcfs, recall_s=90.0)
    assert result.outcomes[0].no_show
    assert result.outcomes[1].called_s == pytest.approx(90.0)


def test_a_remote_customer_keeps_a_place_but_is_called_only_after_checking_in():
    customers = [
        customer(1, 0.0, handle_s=100.0),
        customer(2, 10.0, remote=True, remote_arrives_after_s=500.0),  # checks in at 510
        customer(3, 20.0),
    ]
    result = simulate_day(customers, one_counter(), fcfs)
    assert result.outcomes[2].called_s == pytest.approx(100.0)  # not held up by the remote one
    remote = result.outcomes[1]
    assert remote.checked_in_s == pytest.approx(510.0)
    assert remote.called_s == pytest.approx(510.0)


def test_a_remote_customer_who_never_comes_expires_after_the_grace():
    customers = [
        customer(1, 0.0, handle_s=100.0),
        customer(2, 10.0, remote=True, remote_arrives_after_s=None),
        customer(3, 20.0),
    ]
    result = simulate_day(customers, one_counter(), fcfs, remote_grace_s=300.0)
    assert result.outcomes[1].remote_expired
    assert result.outcomes[1].called_s is None


def test_a_counter_serves_only_its_services_and_only_while_open():
    customers = [customer(1, 0.0, service_code="a"), customer(2, 0.0, service_code="b")]
    counters = [SimCounter(1, ("a",), ((0.0, 3600.0),)), SimCounter(2, ("b",), ((600.0, 3600.0),))]
    result = simulate_day(customers, counters, fcfs)
    assert (result.outcomes[0].counter_id, result.outcomes[0].called_s) == (1, 0.0)
    assert (result.outcomes[1].counter_id, result.outcomes[1].called_s) == (2, 600.0)


# --- policies ----------------------------------------------------------------------------------


def priority_heavy_day(seed, per_hour=45.0):
    profile = DayProfile(
        hourly_arrivals=[per_hour] * 6,
        service_mix={"cash": 1.0},
        handling={"cash": LognormalHandling(300.0)},
        priority_mix={PriorityClass.VIP: 0.3, PriorityClass.CARE: 0.1},
        mean_patience_s=None,
    )
    return draw_customers(profile, random.Random(seed))


def test_ours_never_passes_a_regular_customer_over_more_than_the_bound():
    for seed in range(3):
        customers = priority_heavy_day(seed)
        counters = uniform_counters(3, ["cash"], 6)
        policy = RoutingPolicy(max_bypass=3)
        assert simulate_day(customers, counters, ours(policy)).max_bypass <= 3
        # the check can fail: strict priority has no bound
        assert simulate_day(customers, counters, strict_priority).max_bypass > 3


def test_priority_policies_cut_priority_waits_against_first_come_first_served():
    customers = priority_heavy_day(11, per_hour=30.0)  # rho about 0.83
    counters = uniform_counters(3, ["cash"], 6)

    def mean_priority_wait(policy):
        waits = waits_by_class(simulate_day(customers, counters, policy))
        vip = waits[PriorityClass.VIP] + waits[PriorityClass.CARE]
        return sum(vip) / len(vip)

    base = mean_priority_wait(fcfs)
    assert mean_priority_wait(strict_priority) < base
    assert mean_priority_wait(ours(RoutingPolicy())) < base
    assert mean_priority_wait(RatioProfile()) < base


def test_the_routing_command_compares_the_four_policies_on_the_same_days():
    figures = bench.cmd_routing(_args(days=3, base=30.0, seed=5))
    assert set(figures["policies"]) == {
        "fcfs",
        "strict_priority",
        "ratio_profile",
        "ours",
        "ours_no_targets",
        "ours_v1_aging_urgent",
    }
    served = {
        name: sum(c["n"] for k, c in row["classes"].items() if k in ("regular", "priority"))
        for name, row in figures["policies"].items()
    }
    assert min(served.values()) > 100
    assert figures["policies"]["ours"]["max_bypass"] <= 3
    assert set(make_policies()) | {"ours_no_targets", "ours_v1_aging_urgent"} == set(
        figures["policies"]
    )
    for row in figures["policies"].values():  # walk-aways only lengthen the tail
        regular = row["classes"]["regular"]
        assert row["regular_p95_with_walkaways_s"] >= regular["p95_s"] * 0.99


def test_aging_lifts_skill_order_but_not_priority_class():
    """The rule change of 2026-11-24 (docs/routing.md): on a branch where one counter prefers
    deposits, an aged loan customer is called before a newer deposit customer, but a VIP who
    arrived later still goes first (only the bound K lifts a regular above a priority class)."""
    from datetime import timedelta

    from queueing.routing import CounterSkills, WaitingTicket, choose_next
    from queueing.simulation.model import DEFAULT_START

    policy = RoutingPolicy(max_bypass=3, target_waits={"loan": timedelta(minutes=20)})
    counter = CounterSkills(1, ["dep", "loan"])
    loan = WaitingTicket(1, "loan", PriorityClass.REGULAR, DEFAULT_START)
    dep = WaitingTicket(2, "dep", PriorityClass.REGULAR, DEFAULT_START + timedelta(minutes=5))
    vip = WaitingTicket(3, "dep", PriorityClass.VIP, DEFAULT_START + timedelta(minutes=10))
    at_19 = DEFAULT_START + timedelta(minutes=19)
    at_21 = DEFAULT_START + timedelta(minutes=21)
    assert choose_next([loan, dep], counter, at_19, policy) is dep
    assert choose_next([loan, dep], counter, at_21, policy) is loan
    assert choose_next([loan, dep, vip], counter, at_21, policy) is vip


# --- validation against Erlang C ----------------------------------------------------------------


def test_erlang_c_matches_a_textbook_value():
    # The simulator's reference is kpi.staffing's Erlang C (one implementation for both).
    # 2 agents, load 1 Erlang, mean 1: P(wait) = 1/3, mean wait = 1/3 / (2 - 1)
    assert erlang_c(1.0, 1.0, 2).asa_s == pytest.approx(1 / 3)
    assert erlang_c(1.0, 1.0, 1).asa_s == math.inf


def test_simulated_mmc_mean_wait_is_within_5_percent_of_erlang_c_at_rho_07():
    row = bench.validate_load(0.7, budget_s=0.0, first_seed=100)  # 8 replications of 50 h
    assert row["erlang_c_mean_wait_s"] == pytest.approx(107.2, abs=0.1)
    assert abs(row["relative_error"]) < 0.05


def test_simulated_mmc_at_rho_085_is_near_erlang_c_on_a_short_run():
    row = bench.validate_load(0.85, budget_s=0.0, first_seed=200, min_replications=4)
    assert abs(row["relative_error"]) < 0.15


def test_exponential_handling_has_the_mean_it_says():
    rng = random.Random(3)
    draws = [ExponentialHandling(300.0).draw(rng) for _ in range(20000)]
    assert sum(draws) / len(draws) == pytest.approx(300.0, rel=0.03)


# --- wait estimates ------------------------------------------------------------------------------


def test_eta_predictors_are_scored_at_every_change_and_ours_beats_les():
    policy = RoutingPolicy(max_bypass=3)
    recorders = []
    for seed in range(3):
        profile = demo_profile(seed, base_per_hour=35.0)
        recorder = EtaRecorder(policy, {code: h.mean_s for code, h in profile.handling.items()})
        simulate_day(
            draw_customers(profile, random.Random(seed)),
            demo_counters(6),
            ours(policy),
            observer=recorder,
        )
        recorders.append(recorder)
    scores = score(merge(recorders))
    assert set(scores) == {"ours", "naive", "ql", "les"}
    assert scores["ours"].n > 1000  # many predictions per ticket, not one
    assert len({s.n for s in scores.values()}) == 1  # the same moments for every predictor
    assert scores["ours"].mae_s < scores["les"].mae_s
    assert scores["ours"].mae_s < scores["naive"].mae_s
    assert scores["ours"].rmse_s >= scores["ours"].mae_s
    assert 0.7 < scores["ours"].coverage < 0.9


def test_the_floor_predictor_is_exact_on_an_empty_mmc_queue():
    recorder = EtaRecorder(RoutingPolicy(), {"s": 300.0}, {"s": 300.0})
    customers = [customer(1, 0.0, 300.0), customer(2, 1.0, 300.0), customer(3, 2.0, 300.0)]
    simulate_day(customers, uniform_counters(2, ["s"], 1), fcfs, observer=recorder)
    floors = dict(recorder.pairs["floor"])
    # customer 3 arrives with both counters busy and nobody ahead: (0 + 1) x 300 / 2
    assert 150.0 in floors


def test_the_cli_ends_with_one_json_line(capsys):
    assert bench.main(["day", "--base", "20", "--seed", "3"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    figures = json.loads(last)
    assert figures["command"] == "day" and figures["customers"] > 50


def _args(**values):
    import argparse

    return argparse.Namespace(**values)


def test_handling_is_fitted_from_history_where_there_is_enough():
    rng = random.Random(4)
    history = {"cash": [rng.lognormvariate(math.log(400.0), 0.5) for _ in range(400)]}
    profile = demo_profile(0)
    fitted = customers_module.with_fitted_handling(profile, history)
    assert fitted.handling["cash"].mean_s == pytest.approx(400.0 * math.exp(0.125), rel=0.1)
    assert fitted.handling["wealth"] == profile.handling["wealth"]  # no history: unchanged
    thin = customers_module.with_fitted_handling(profile, {"cash": [100.0] * 3})
    assert thin.handling["cash"].mean_s == profile.handling["cash"].mean_s


def test_learning_todays_walkaways_makes_ours_closer():
    """Someone ahead who walks away takes no counter time: the replay with the day's learnt
    walk-away rate is closer on time-varying days, where people do leave."""
    policy = RoutingPolicy(max_bypass=3)
    mae = {}
    walkaways_per_day = []
    for ignore in (True, False):
        recorders = []
        for seed in range(2):
            profile = demo_profile(seed, base_per_hour=35.0)
            standard = {code: h.mean_s for code, h in profile.handling.items()}
            recorder = EtaRecorder(policy, standard, ignore_walkaways=ignore)
            day = simulate_day(
                draw_customers(profile, random.Random(seed)),
                demo_counters(6),
                ours(policy),
                observer=recorder,
            )
            if not ignore:
                walked = sum(1 for o in day.outcomes if o.walked_away_s is not None)
                walkaways_per_day.append(walked)
            recorders.append(recorder)
        mae[ignore] = score(merge(recorders))["ours"].mae_s
    assert all(
        walked > 0 for walked in walkaways_per_day
    )  # the days do have walk-aways to learn from
    assert mae[False] < mae[True] * 0.97
