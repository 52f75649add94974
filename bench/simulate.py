"""The branch simulator: routing, wait estimates and staffing advice on simulated days.

    .venv/bin/python bench/simulate.py validate [--seconds 60]   # M/M/c vs Erlang C, staffing
    .venv/bin/python bench/simulate.py routing [--days 40]       # FCFS, strict, ratio, ours
    .venv/bin/python bench/simulate.py eta [--days 20]           # ours, naive, QL, LES (+ floor)
    .venv/bin/python bench/simulate.py day [--weekday 0] [--base 60] [--counters 6] [--seed 1]

Pure simulation (queueing/simulation/, SimPy), no database: the model calls the production
functions queueing.routing.choose_next and queueing.eta.estimate_waits / estimate_interval.
Seeded: the same arguments print the same figures (except the timings). Each command prints a
table and ends with ONE JSON line of its figures. docs/benchmarks.md records a run.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kpi.staffing import agents_needed, erlang_c
from queueing.routing import PriorityClass, RoutingPolicy
from queueing.simulation.customers import (
    DayProfile,
    ExponentialHandling,
    demo_profile,
    draw_customers,
)
from queueing.simulation.model import (
    SimCounter,
    demo_counters,
    simulate_day,
    uniform_counters,
)
from queueing.simulation.policies import (
    DEFAULT_TARGET_WAITS,
    aging_urgent_v1,
    fcfs,
    make_policies,
    ours,
)
from queueing.simulation.predictors import (
    EtaRecorder,
    merge,
    score,
)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def quantile(values: Sequence[float], q: float) -> float:
    """The q-quantile, linear between order statistics (numpy's default)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def mmc_profile(rate_per_s: float, mean_s: float, hours: int) -> DayProfile:
    """One service, Poisson arrivals, exponential handling; nobody leaves, nobody is absent."""
    return DayProfile(
        hourly_arrivals=[rate_per_s * 3600.0] * hours,
        service_mix={"s": 1.0},
        handling={"s": ExponentialHandling(mean_s)},
        priority_mix={},
        appointment_share=0.0,
        remote_share=0.0,
        call_no_show=0.0,
        mean_patience_s=None,
    )


# --- validate ------------------------------------------------------------------------------------

VALIDATE_LOADS = (0.7, 0.85, 0.95)
VALIDATE_COUNTERS = 4
VALIDATE_MEAN_S = 300.0


def replication_hours(rho: float) -> tuple[int, int]:
    """(length, warm-up) in hours of one replication, a long steady "day".

    An M/M/c queue forgets its empty start over about mean / c / (1 - sqrt(rho))^2 (its
    relaxation time: 47 min at rho 0.7, 32 h at 0.95). Too short a day measures the empty
    start: 50-hour days gave -13 % at 0.95. So: discard 3 relaxation times, keep 30 more."""
    relaxation_h = VALIDATE_MEAN_S / VALIDATE_COUNTERS / (1 - math.sqrt(rho)) ** 2 / 3600
    warmup = max(5, math.ceil(3 * relaxation_h))
    return warmup + max(45, math.ceil(30 * relaxation_h)), warmup


def mmc_replication(rho: float, seed: int) -> tuple[float, float, float]:
    """(mean wait, mean handling - true mean, mean interarrival - true) of one long day,
    after the warm-up. The last two are control variates: known means, strongly correlated
    with the mean wait, so they remove most of the noise without biasing it."""
    rate = rho * VALIDATE_COUNTERS / VALIDATE_MEAN_S
    hours, warmup = replication_hours(rho)
    customers = draw_customers(mmc_profile(rate, VALIDATE_MEAN_S, hours), random.Random(seed))
    result = simulate_day(
        customers, uniform_counters(VALIDATE_COUNTERS, ["s"], hours), fcfs, recall_s=0.0
    )
    cut = warmup * 3600.0
    kept = [o for o in result.outcomes if o.customer.arrival_s >= cut]
    waits = [o.wait_s for o in kept]
    handles = [o.customer.handle_s for o in kept]
    gaps = [b.customer.arrival_s - a.customer.arrival_s for a, b in itertools.pairwise(kept)]
    return (
        sum(waits) / len(waits),
        sum(handles) / len(handles) - VALIDATE_MEAN_S,
        sum(gaps) / len(gaps) - 1 / rate,
    )


def control_variate_mean(rows: Sequence[tuple[float, float, float]]) -> tuple[float, float]:
    """Mean of y adjusted by least squares on the two zero-mean controls; and its std error."""
    n = len(rows)
    ys = [r[0] for r in rows]
    y_bar = sum(ys) / n
    if n < 5:
        return y_bar, math.nan
    x1 = [r[1] for r in rows]
    x2 = [r[2] for r in rows]
    m1, m2 = sum(x1) / n, sum(x2) / n
    s11 = sum((a - m1) ** 2 for a in x1)
    s22 = sum((b - m2) ** 2 for b in x2)
    s12 = sum((a - m1) * (b - m2) for a, b in zip(x1, x2, strict=True))
    s1y = sum((a - m1) * (y - y_bar) for a, y in zip(x1, ys, strict=True))
    s2y = sum((b - m2) * (y - y_bar) for b, y in zip(x2, ys, strict=True))
    det = s11 * s22 - s12 * s12
    if det <= 0:
        return y_bar, math.nan
    beta1 = (s1y * s22 - s2y * s12) / det
    beta2 = (s2y * s11 - s1y * s12) / det
    adjusted = [y - beta1 * a - beta2 * b for y, a, b in zip(ys, x1, x2, strict=True)]
    mean = sum(adjusted) / n
    var = sum((v - mean) ** 2 for v in adjusted) / (n - 3)
    return mean, math.sqrt(var / n)


def validate_load(
    rho: float, budget_s: float, first_seed: int = 0, min_replications: int = 8
) -> dict:
    """Replications of one load until about ``budget_s`` seconds are spent."""
    started = time.perf_counter()
    rows = [mmc_replication(rho, first_seed)]
    per_replication = time.perf_counter() - started
    replications = max(min_replications, int(budget_s / max(per_replication, 1e-3)))
    hours, warmup = replication_hours(rho)
    rows += [mmc_replication(rho, first_seed + k) for k in range(1, replications)]
    plain = sum(r[0] for r in rows) / len(rows)
    adjusted, stderr = control_variate_mean(rows)
    rate = rho * VALIDATE_COUNTERS / VALIDATE_MEAN_S
    reference = erlang_c(rate, VALIDATE_MEAN_S, VALIDATE_COUNTERS).asa_s
    return {
        "rho": rho,
        "counters": VALIDATE_COUNTERS,
        "mean_handle_s": VALIDATE_MEAN_S,
        "replications": replications,
        "hours_per_replication": hours,
        "warmup_hours": warmup,
        "customers": round(rate * (hours - warmup) * 3600 * replications),
        "simulated_mean_wait_s": round(adjusted, 1),
        "simulated_plain_mean_wait_s": round(plain, 1),
        "stderr_s": round(stderr, 1),
        "erlang_c_mean_wait_s": round(reference, 1),
        "erlang_c_source": "kpi.staffing",
        "relative_error": round(adjusted / reference - 1, 4),
    }


def staffing_week(target_share: float = 0.8, target_wait_s: float = 600.0) -> dict:
    """Issue 9's advice (kpi.staffing.agents_needed: the fewest counters per hour for
    ``target_share`` within ``target_wait_s`` by Erlang C) applied to a simulated week of the
    demo branch, every counter serving every service, FCFS. Returns the share the week really
    met; a walk-away counts as not within target."""
    met = counted = 0
    plan = []
    day_shares = []
    for weekday in range(7):
        day_met = day_counted = 0
        profile = demo_profile(weekday)
        mean = sum(profile.handling[c].mean_s * share for c, share in profile.service_mix.items())
        agents_per_hour = [
            agents_needed(expected / 3600.0, mean, target_share, target_wait_s)
            for expected in profile.hourly_arrivals
        ]
        plan.append(agents_per_hour)
        counters = [
            SimCounter(
                number,
                tuple(profile.service_mix),
                tuple(
                    (hour * 3600.0, (hour + 1) * 3600.0)
                    for hour, agents in enumerate(agents_per_hour)
                    if number <= agents
                ),
            )
            for number in range(1, max(agents_per_hour) + 1)
        ]
        result = simulate_day(
            draw_customers(profile, random.Random(500 + weekday)),
            [c for c in counters if c.periods],
            fcfs,
        )
        for outcome in result.outcomes:
            if outcome.wait_s is not None:
                day_counted += 1
                day_met += outcome.wait_s <= target_wait_s
            elif outcome.walked_away_s is not None:
                day_counted += 1
        day_shares.append(round(day_met / day_counted, 4))
        met += day_met
        counted += day_counted
    return {
        "target_share": target_share,
        "target_wait_s": target_wait_s,
        "counters_per_hour": plan,
        "customers": counted,
        "share_within_target": round(met / counted, 4),
        "share_per_weekday": day_shares,
        "met": met / counted >= target_share,
    }


def cmd_validate(args: argparse.Namespace) -> dict:
    started = time.perf_counter()
    # 0.95 converges slowest (correlation time ~ 1 / (1 - rho)^2): it gets most of the budget.
    share = {0.7: 0.15, 0.85: 0.25, 0.95: 0.6}
    loads = []
    for rho in VALIDATE_LOADS:
        loads.append(validate_load(rho, args.seconds * share[rho], first_seed=args.seed))
        log(f"rho {rho}: {loads[-1]}")
    staffing = staffing_week()
    print(f"{'rho':>5} {'simulated':>10} {'+-':>6} {'Erlang C':>9} {'error':>7}")
    for row in loads:
        print(
            f"{row['rho']:>5} {row['simulated_mean_wait_s']:>10} {row['stderr_s']:>6} "
            f"{row['erlang_c_mean_wait_s']:>9} {row['relative_error']:>+7.1%}"
        )
    print(
        f"staffing week: {staffing['share_within_target']:.1%} served within "
        f"{staffing['target_wait_s']:.0f} s (target {staffing['target_share']:.0%})"
    )
    return {
        "command": "validate",
        "loads": loads,
        "staffing": staffing,
        "elapsed_s": round(time.perf_counter() - started, 1),
    }


# --- routing -------------------------------------------------------------------------------------

PRIORITY_GROUP = {
    PriorityClass.REGULAR: "regular",
    PriorityClass.VIP: "priority",
    PriorityClass.CARE: "priority",
    PriorityClass.APPOINTMENT: "priority",
    PriorityClass.TRANSFERRED: "priority",
}


def routing_days(days: int, base: float, seed: int) -> list[tuple[list, list[SimCounter]]]:
    return [
        (
            draw_customers(demo_profile(day % 5, base_per_hour=base), random.Random(seed + day)),
            demo_counters(6),
        )
        for day in range(days)
    ]


def summarise(waits: Sequence[float]) -> dict:
    return {
        "n": len(waits),
        "mean_s": round(sum(waits) / len(waits), 1) if waits else None,
        "p95_s": round(quantile(waits, 0.95), 1) if waits else None,
        "max_s": round(max(waits), 1) if waits else None,
    }


def cmd_routing(args: argparse.Namespace) -> dict:
    started = time.perf_counter()
    days = routing_days(args.days, args.base, args.seed)
    targets = {code: wait.total_seconds() for code, wait in DEFAULT_TARGET_WAITS.items()}
    figures: dict[str, dict] = {}
    policies = make_policies()
    routing_policy_v1 = RoutingPolicy(max_bypass=3, target_waits=dict(DEFAULT_TARGET_WAITS))
    # A diagnostic, not a contender: ours without target waits (no aging), to separate what
    # the bypass bound and what aging do to regular customers' p95.
    no_targets = RoutingPolicy(max_bypass=3)
    policies["ours_no_targets"] = lambda: ours(no_targets)
    # Another: the first rule (aged tickets urgent, ahead of every priority class), for the
    # before/after in docs/benchmarks.md.
    policies["ours_v1_aging_urgent"] = lambda: aging_urgent_v1(routing_policy_v1)
    for name, factory in policies.items():
        by_class: dict[str, list[float]] = {}
        # Served waits only reward letting long waiters walk away (they drop out of the
        # sample); so also each regular's time at the branch until called OR until they left.
        regular_with_walkaways: list[float] = []
        within = served = walked = max_bypass = 0
        for customers, counters in days:
            result = simulate_day(customers, counters, factory())
            max_bypass = max(max_bypass, result.max_bypass)
            for outcome in result.outcomes:
                walked += outcome.walked_away_s is not None
                wait = outcome.wait_s
                customer = outcome.customer
                if customer.priority == PriorityClass.REGULAR:
                    if wait is not None:
                        regular_with_walkaways.append(wait)
                    elif outcome.walked_away_s is not None and outcome.checked_in_s is not None:
                        regular_with_walkaways.append(outcome.walked_away_s - outcome.checked_in_s)
                if wait is None:
                    continue
                by_class.setdefault(customer.priority.name.lower(), []).append(wait)
                group = PRIORITY_GROUP[customer.priority]
                if group != customer.priority.name.lower():  # "regular" is both: count once
                    by_class.setdefault(group, []).append(wait)
                served += 1
                within += wait <= targets[customer.service_code]
        figures[name] = {
            "classes": {klass: summarise(waits) for klass, waits in sorted(by_class.items())},
            "longest_regular_wait_s": round(max(by_class.get("regular", [0.0])), 1),
            "regular_p95_with_walkaways_s": round(quantile(regular_with_walkaways, 0.95), 1),
            "share_within_target": round(within / served, 4),
            "walked_away": walked,
            "max_bypass": max_bypass,
        }
    print(f"{'policy':<16} {'class':<12} {'n':>6} {'mean':>7} {'p95':>7} {'max':>7}  (minutes)")
    for name, row in figures.items():
        for klass, stats in row["classes"].items():
            print(
                f"{name:<16} {klass:<12} {stats['n']:>6} {stats['mean_s'] / 60:>7.1f} "
                f"{stats['p95_s'] / 60:>7.1f} {stats['max_s'] / 60:>7.1f}"
            )
        print(
            f"{name:<16} within target {row['share_within_target']:.1%}, walked away "
            f"{row['walked_away']}, most bypasses {row['max_bypass']}, regular p95 counting "
            f"walk-aways {row['regular_p95_with_walkaways_s'] / 60:.1f}"
        )
    fcfs_row, ours_row = figures["fcfs"]["classes"], figures["ours"]["classes"]
    checks = {
        "priority_mean_cut": ours_row["priority"]["mean_s"] < fcfs_row["priority"]["mean_s"],
        "regular_p95_ratio_to_fcfs": round(
            ours_row["regular"]["p95_s"] / fcfs_row["regular"]["p95_s"], 4
        ),
        "regular_p95_with_walkaways_ratio_to_fcfs": round(
            figures["ours"]["regular_p95_with_walkaways_s"]
            / figures["fcfs"]["regular_p95_with_walkaways_s"],
            4,
        ),
    }
    checks["regular_p95_within_10pct"] = checks["regular_p95_ratio_to_fcfs"] <= 1.10
    print(f"checks: {checks}")
    return {
        "command": "routing",
        "days": args.days,
        "base_per_hour": args.base,
        "policies": figures,
        "checks": checks,
        "elapsed_s": round(time.perf_counter() - started, 1),
    }


# --- eta -----------------------------------------------------------------------------------------

ETA_POLICY = RoutingPolicy(max_bypass=3, target_waits=dict(DEFAULT_TARGET_WAITS))
STEADY_RHO = 0.9
STEADY_COUNTERS = 4


def eta_days(kind: str, days: int, seed: int, base: float) -> dict:
    recorders = []
    for day in range(days):
        rng = random.Random(seed + day)
        if kind == "steady":
            rate = STEADY_RHO * STEADY_COUNTERS / VALIDATE_MEAN_S
            profile = mmc_profile(rate, VALIDATE_MEAN_S, 8)
            counters = uniform_counters(STEADY_COUNTERS, ["s"], 8)
            recorder = EtaRecorder(ETA_POLICY, {"s": VALIDATE_MEAN_S}, {"s": VALIDATE_MEAN_S})
        else:
            profile = demo_profile(day % 5, base_per_hour=base)
            counters = demo_counters(6)
            recorder = EtaRecorder(
                ETA_POLICY, {code: h.mean_s for code, h in profile.handling.items()}
            )
        simulate_day(draw_customers(profile, rng), counters, ours(ETA_POLICY), observer=recorder)
        recorders.append(recorder)
    scores = score(merge(recorders))
    return {
        name: {
            "n": s.n,
            "mae_s": round(s.mae_s, 1),
            "rmse_s": round(s.rmse_s, 1),
            **({"coverage": round(s.coverage, 4)} if s.coverage is not None else {}),
        }
        for name, s in scores.items()
    }


def cmd_eta(args: argparse.Namespace) -> dict:
    started = time.perf_counter()
    result = {
        "steady": eta_days("steady", args.days, args.seed, args.base),
        "time_varying": eta_days("time_varying", args.days, args.seed, args.base),
    }
    for kind, scores in result.items():
        print(f"{kind}: {'predictor':<8} {'n':>7} {'MAE s':>7} {'RMSE s':>7} {'cover':>6}")
        for name, row in scores.items():
            cover = f"{row['coverage']:.1%}" if "coverage" in row else ""
            print(
                f"{'':<{len(kind) + 2}}{name:<8} {row['n']:>7} {row['mae_s']:>7} "
                f"{row['rmse_s']:>7} {cover:>6}"
            )
    varying, steady = result["time_varying"], result["steady"]
    checks = {
        "mae_below_ql": round(1 - varying["ours"]["mae_s"] / varying["ql"]["mae_s"], 4),
        "mae_below_les": round(1 - varying["ours"]["mae_s"] / varying["les"]["mae_s"], 4),
        "coverage_time_varying": varying["ours"]["coverage"],
        "coverage_steady": steady["ours"]["coverage"],
        "steady_mae_over_floor": round(steady["ours"]["mae_s"] / steady["floor"]["mae_s"] - 1, 4),
    }
    checks["targets_met"] = {
        "mae_25pct_below_ql": checks["mae_below_ql"] >= 0.25,
        "mae_30pct_below_les": checks["mae_below_les"] >= 0.30,
        "coverage_78_82": all(
            0.78 <= checks[k] <= 0.82 for k in ("coverage_time_varying", "coverage_steady")
        ),
        "within_10pct_of_floor": checks["steady_mae_over_floor"] <= 0.10,
    }
    print(f"checks: {checks}")
    return {
        "command": "eta",
        "days": args.days,
        **result,
        "checks": checks,
        "elapsed_s": round(time.perf_counter() - started, 1),
    }


# --- day -----------------------------------------------------------------------------------------


def cmd_day(args: argparse.Namespace) -> dict:
    profile = demo_profile(args.weekday, base_per_hour=args.base)
    customers = draw_customers(profile, random.Random(args.seed))
    started = time.perf_counter()
    result = simulate_day(customers, demo_counters(args.counters), ours(ETA_POLICY))
    elapsed = time.perf_counter() - started
    waits = [o.wait_s for o in result.outcomes if o.wait_s is not None]
    figures = {
        "customers": len(customers),
        "served": len(waits),
        "walked_away": sum(o.walked_away_s is not None for o in result.outcomes),
        "no_show_when_called": sum(o.no_show for o in result.outcomes),
        "remote_expired": sum(o.remote_expired for o in result.outcomes),
        "wait": summarise(waits),
        "max_bypass": result.max_bypass,
        "last_counter_closed_s": round(result.end_s, 1),
    }
    print(json.dumps(figures, indent=2))
    print(f"simulated the day in {elapsed:.3f} s")
    return {"command": "day", "seed": args.seed, **figures, "elapsed_s": round(elapsed, 3)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    validate = sub.add_parser("validate", help="M/M/c against Erlang C; staffing advice")
    validate.add_argument("--seconds", type=float, default=60.0, help="time budget (about)")
    validate.add_argument("--seed", type=int, default=0)
    routing = sub.add_parser("routing", help="compare routing policies on the same days")
    routing.add_argument("--days", type=int, default=40)
    routing.add_argument("--base", type=float, default=30.0, help="arrivals per hour (base)")
    routing.add_argument("--seed", type=int, default=1000)
    eta = sub.add_parser("eta", help="wait estimate accuracy")
    eta.add_argument("--days", type=int, default=20)
    eta.add_argument("--base", type=float, default=35.0)
    eta.add_argument("--seed", type=int, default=2000)
    day = sub.add_parser("day", help="one busy day, timed")
    day.add_argument("--weekday", type=int, default=0)
    day.add_argument("--base", type=float, default=60.0)
    day.add_argument("--counters", type=int, default=6)
    day.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    command = {"validate": cmd_validate, "routing": cmd_routing, "eta": cmd_eta, "day": cmd_day}
    figures = command[args.command](args)
    print(json.dumps(figures, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
