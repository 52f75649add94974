"""How many counters an hour needs: Erlang C and Erlang A (pure, no Django).

Erlang C (M/M/c): customers arrive at random (Poisson, `arrival_rate_per_s`), are served in a
mean `mean_handle_s` (exponential), by `agents` counters, and wait as long as it takes.
Offered load A = arrival rate x handling time (in "busy counters"); with A >= c the queue grows
without bound. The probability of waiting is computed from Erlang B by its recursion
B(0) = 1, B(k) = A B(k-1) / (k + A B(k-1)), then C = c B / (c - A (1 - B)): no factorials, no
powers, so 200 counters (or 2,000) do not overflow.

Erlang A (M/M/c+M, Palm 1943; Garnett, Mandelbaum and Reiman, "Designing a call center with
impatient customers", MSOM 4(3), 2002; Mandelbaum and Zeltyn, "Service engineering in action:
the Palm/Erlang-A queue", 2007): the same, but each waiting customer walks away after an
exponential patience of mean `patience_s`. The queue is then stable at any load. We compute it
exactly from its birth-death chain: p(k) ~ A^k / k! up to c, then
p(c+n) = p(c) * prod_{j=1..n} lambda / (c mu + j theta); the infinite tail is cut where its
terms no longer count (1e-13 of the mass). A customer arriving behind n others waits
V = sum_{j=0..n} Exp(c mu + j theta) to reach a counter (the ones ahead are served or walk
away); with a = c mu / theta that sum is -ln(U) / theta for U ~ Beta(a, n + 1), whose tail has
a finite sum for integer n + 1: P(V <= t) = 1 - x^a sum_{k=0..n} (a)_k / k! (1 - x)^k,
x = exp(-theta t). The customer's own patience keeps them only with probability e^{-theta V},
and E[U; U >= x] = a / (a + n + 1) P(Beta(a + 1, n + 1) >= x): the same sum with a + 1.
So the service level of Erlang A counts a customer as "within target" only if they are served
within the target wait, never a walk-away (conservative: walking away is not good service).

`agents_needed` / `agents_needed_a`: the fewest counters for which at least `target_share` of
customers start being served within `target_wait_s`. `advise` applies them to forecast cells
(kpi/forecast.py). The queueing simulator (queueing/simulation) imports `erlang_c` and
`agents_needed`: keep those names and signatures.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "ErlangAResult",
    "ErlangCResult",
    "HourAdvice",
    "HourDemand",
    "advise",
    "agents_needed",
    "agents_needed_a",
    "erlang_a",
    "erlang_b",
    "erlang_c",
    "patience_from_history",
]

DEFAULT_MAX_AGENTS = 1000
_TAIL_EPSILON = 1e-13
_TAIL_MAX_TERMS = 200_000


def erlang_b(offered_load: float, agents: int) -> float:
    """Blocking probability of M/M/c/c, by the stable recursion (no factorials)."""
    if agents < 0:
        raise ValueError("agents must be >= 0")
    if offered_load < 0:
        raise ValueError("offered load must be >= 0")
    blocking = 1.0
    for k in range(1, agents + 1):
        blocking = offered_load * blocking / (k + offered_load * blocking)
    return blocking


@dataclass(frozen=True, slots=True)
class ErlangCResult:
    """Erlang C figures of one hour. `p_wait` 1.0 and infinite waits when load >= agents."""

    arrival_rate_per_s: float
    mean_handle_s: float
    agents: int
    offered_load: float  # arrivals x handling: counters' worth of work
    occupancy: float  # offered_load / agents (may exceed 1: then nothing is stable)
    p_wait: float
    asa_s: float  # mean wait of all customers (Average Speed of Answer)

    @property
    def stable(self) -> bool:
        return self.offered_load < self.agents or self.offered_load == 0

    def service_level(self, target_s: float) -> float:
        """Share of customers whose wait is at most `target_s` seconds."""
        if target_s < 0:
            raise ValueError("target must be >= 0")
        if self.offered_load == 0:
            return 1.0
        if not self.stable:
            return 0.0
        decay = (self.agents - self.offered_load) * target_s / self.mean_handle_s
        return max(0.0, min(1.0, 1.0 - self.p_wait * math.exp(-decay)))


def _check_rates(arrival_rate_per_s: float, mean_handle_s: float, agents: int) -> None:
    if arrival_rate_per_s < 0 or not math.isfinite(arrival_rate_per_s):
        raise ValueError("arrival rate must be a finite number >= 0")
    if mean_handle_s <= 0 or not math.isfinite(mean_handle_s):
        raise ValueError("mean handling time must be a finite number > 0")
    if agents < 0:
        raise ValueError("agents must be >= 0")


def erlang_c(arrival_rate_per_s: float, mean_handle_s: float, agents: int) -> ErlangCResult:
    """Erlang C for `agents` counters (see the module's docstring)."""
    _check_rates(arrival_rate_per_s, mean_handle_s, agents)
    load = arrival_rate_per_s * mean_handle_s
    occupancy = load / agents if agents else math.inf if load else 0.0
    if load == 0:
        p_wait, asa = 0.0, 0.0
    elif load >= agents:
        p_wait, asa = 1.0, math.inf
    else:
        blocking = erlang_b(load, agents)
        p_wait = agents * blocking / (agents - load * (1.0 - blocking))
        asa = p_wait * mean_handle_s / (agents - load)
    return ErlangCResult(
        arrival_rate_per_s=arrival_rate_per_s,
        mean_handle_s=mean_handle_s,
        agents=agents,
        offered_load=load,
        occupancy=occupancy,
        p_wait=p_wait,
        asa_s=asa,
    )


def agents_needed(
    arrival_rate_per_s: float,
    mean_handle_s: float,
    target_share: float,
    target_wait_s: float,
    max_agents: int = DEFAULT_MAX_AGENTS,
) -> int:
    """Fewest counters so that `target_share` (0..1) of customers wait at most `target_wait_s`
    (Erlang C). 0 when nobody comes. ValueError if even `max_agents` do not reach it."""
    _check_target(target_share, target_wait_s)
    _check_rates(arrival_rate_per_s, mean_handle_s, 0)
    load = arrival_rate_per_s * mean_handle_s
    if load == 0:
        return 0
    # Below the load the queue is unstable; start at the first stable count.
    for agents in range(max(1, math.floor(load) + 1), max_agents + 1):
        if (
            erlang_c(arrival_rate_per_s, mean_handle_s, agents).service_level(target_wait_s)
            >= target_share - 1e-12
        ):
            return agents
    raise ValueError(f"more than {max_agents} counters needed")


def _check_target(target_share: float, target_wait_s: float) -> None:
    if not 0 < target_share < 1:
        raise ValueError("target share must be between 0 and 1 (exclusive)")
    if target_wait_s < 0 or not math.isfinite(target_wait_s):
        raise ValueError("target wait must be a finite number >= 0")


# --- Erlang A --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ErlangAResult:
    """Erlang A figures of one hour (see the module's docstring)."""

    arrival_rate_per_s: float
    mean_handle_s: float
    patience_s: float
    agents: int
    offered_load: float
    p_wait: float  # share of arrivals who find every counter busy
    p_abandon: float  # share of arrivals who walk away
    mean_wait_s: float  # all arrivals, until served or gone (Little: E[queue] / lambda)
    # Distribution of the number waiting ahead of an arrival who must wait: probabilities of
    # the states c, c+1, ... (relative to all states), cut where the tail no longer counts.
    _queue_probabilities: tuple[float, ...] = ()
    _p_no_wait: float = 1.0

    def service_level(self, target_s: float) -> float:
        """Share of arrivals served within `target_s` seconds (walk-aways never count)."""
        if target_s < 0:
            raise ValueError("target must be >= 0")
        if self.offered_load == 0:
            return 1.0
        if self.agents == 0:
            return 0.0
        served_rate = self.agents / self.mean_handle_s
        theta = 1.0 / self.patience_s
        a = served_rate / theta + 1.0  # +1: the customer's own patience (see docstring)
        log_x = -theta * target_s
        within = self._p_no_wait
        # Running sum S_n = sum_{k<=n} (a)_k / k! (1-x)^k, kept in logs of its terms.
        one_minus_x = -math.expm1(log_x)
        log_term = 0.0
        partial = 0.0  # S_n scaled: sum of exp(log_term_k - log_scale)
        log_scale = 0.0
        for n, probability in enumerate(self._queue_probabilities):
            if n > 0:
                log_term += math.log((a - 1.0 + n) / n) + (
                    math.log(one_minus_x) if one_minus_x > 0 else -math.inf
                )
            if log_term > log_scale:
                partial = partial * math.exp(log_scale - log_term) + 1.0
                log_scale = log_term
            elif log_term > -math.inf:
                partial += math.exp(log_term - log_scale)
            log_tail = a * log_x + log_scale + math.log(partial)
            beyond = 1.0 - math.exp(min(0.0, log_tail))
            within += probability * (a - 1.0) / (a + n) * beyond
        return max(0.0, min(1.0, within))


def erlang_a(
    arrival_rate_per_s: float, mean_handle_s: float, agents: int, patience_s: float
) -> ErlangAResult:
    """Erlang A for `agents` counters and a mean patience of `patience_s` seconds."""
    _check_rates(arrival_rate_per_s, mean_handle_s, agents)
    if patience_s <= 0 or not math.isfinite(patience_s):
        raise ValueError("patience must be a finite number > 0")
    load = arrival_rate_per_s * mean_handle_s
    if load == 0:
        return ErlangAResult(
            arrival_rate_per_s, mean_handle_s, patience_s, agents, 0.0, 0.0, 0.0, 0.0
        )
    served_rate = agents / mean_handle_s
    theta = 1.0 / patience_s
    # Unnormalised state weights relative to p(c) = 1: below c, p(k-1)/p(k) = k / A.
    below = 0.0
    weight = 1.0
    for k in range(agents, 0, -1):
        weight *= k / load
        below += weight
        if weight < _TAIL_EPSILON * (below + 1.0) and k < load:
            break
    queue: list[float] = [1.0]
    total_queue = 1.0
    weight = 1.0
    n = 0
    while n < _TAIL_MAX_TERMS:
        n += 1
        weight *= arrival_rate_per_s / (served_rate + n * theta)
        queue.append(weight)
        total_queue += weight
        if served_rate + n * theta > arrival_rate_per_s and weight < _TAIL_EPSILON * total_queue:
            break
    normaliser = below + total_queue
    probabilities = tuple(w / normaliser for w in queue)
    expected_queue = sum(n * p for n, p in enumerate(probabilities))
    p_wait = total_queue / normaliser
    return ErlangAResult(
        arrival_rate_per_s=arrival_rate_per_s,
        mean_handle_s=mean_handle_s,
        patience_s=patience_s,
        agents=agents,
        offered_load=load,
        p_wait=p_wait,
        p_abandon=theta * expected_queue / arrival_rate_per_s,
        mean_wait_s=expected_queue / arrival_rate_per_s,
        _queue_probabilities=probabilities,
        _p_no_wait=below / normaliser,
    )


def agents_needed_a(
    arrival_rate_per_s: float,
    mean_handle_s: float,
    patience_s: float,
    target_share: float,
    target_wait_s: float,
    max_agents: int = DEFAULT_MAX_AGENTS,
) -> int:
    """Fewest counters so that `target_share` of arrivals are served within `target_wait_s`
    when impatient customers walk away (Erlang A). Never more than Erlang C asks for."""
    _check_target(target_share, target_wait_s)
    _check_rates(arrival_rate_per_s, mean_handle_s, 0)
    if arrival_rate_per_s * mean_handle_s == 0:
        return 0
    for agents in range(1, max_agents + 1):
        result = erlang_a(arrival_rate_per_s, mean_handle_s, agents, patience_s)
        if result.service_level(target_wait_s) >= target_share - 1e-12:
            return agents
    raise ValueError(f"more than {max_agents} counters needed")


def patience_from_history(wait_sum_s: float, walkaways: float, *, min_walkaways: int = 5):
    """Mean patience estimated as total time waited / walk-aways (the maximum-likelihood
    estimate for exponential patience with served customers as censored observations; see
    Mandelbaum and Zeltyn). None with too few walk-aways to say anything."""
    if walkaways < min_walkaways or wait_sum_s <= 0:
        return None
    return wait_sum_s / walkaways


# --- Per hour of a week -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HourDemand:
    """What one hour of a coming day expects (kpi/forecast.py)."""

    key: object  # e.g. (date, hour): opaque here
    arrivals: float  # customers in the hour
    mean_handle_s: float | None
    patience_s: float | None = None  # known only where walk-aways were seen


@dataclass(frozen=True, slots=True)
class HourAdvice:
    key: object
    arrivals: float
    mean_handle_s: float | None
    offered_load: float
    needed_c: int | None  # None: nobody expected or no handling time known
    needed_a: int | None  # None: no walk-away data
    service_level_c: float | None  # at needed_c
    p_abandon_a: float | None  # at needed_a


def advise(
    demands: Iterable[HourDemand],
    *,
    target_share: float,
    target_wait_s: float,
    hour_s: float = 3600.0,
    max_agents: int = DEFAULT_MAX_AGENTS,
) -> list[HourAdvice]:
    """Erlang C (and Erlang A where patience is known) for each hour."""
    _check_target(target_share, target_wait_s)
    advice: list[HourAdvice] = []
    for demand in demands:
        rate = max(0.0, demand.arrivals) / hour_s
        handle = demand.mean_handle_s
        if not handle or handle <= 0 or rate == 0:
            advice.append(
                HourAdvice(
                    demand.key,
                    demand.arrivals,
                    handle,
                    0.0,
                    0 if rate == 0 else None,
                    None,
                    None,
                    None,
                )
            )
            continue
        needed_c = agents_needed(rate, handle, target_share, target_wait_s, max_agents)
        needed_a = p_abandon = None
        if demand.patience_s:
            needed_a = agents_needed_a(
                rate, handle, demand.patience_s, target_share, target_wait_s, max_agents
            )
            p_abandon = erlang_a(rate, handle, needed_a, demand.patience_s).p_abandon
        advice.append(
            HourAdvice(
                key=demand.key,
                arrivals=demand.arrivals,
                mean_handle_s=handle,
                offered_load=rate * handle,
                needed_c=needed_c,
                needed_a=needed_a,
                service_level_c=erlang_c(rate, handle, needed_c).service_level(target_wait_s),
                p_abandon_a=p_abandon,
            )
        )
    return advice
