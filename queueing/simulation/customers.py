"""Who comes to a simulated branch on one day: the exogenous inputs of a simulation.

Everything that does not depend on how the branch serves (arrival moments, what each customer
needs, how long their case takes, how long they are willing to wait, whether a remote customer
shows up) is drawn here, once per seeded day. The SimPy model (bench/simulate.py) and
`manage.py simulate_day` consume the same list, so "the same seeded day" means the same
customers whichever routing policy serves them.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from ..routing import PriorityClass

__all__ = [
    "DayProfile",
    "ExponentialHandling",
    "LognormalHandling",
    "SimCustomer",
    "demo_profile",
    "draw_customers",
    "with_fitted_handling",
]


@dataclass(frozen=True, slots=True)
class LognormalHandling:
    """Handling time of one service: lognormal with this mean and coefficient of variation."""

    mean_s: float
    cv: float = 0.6

    def __post_init__(self) -> None:
        if self.mean_s <= 0 or self.cv < 0:
            raise ValueError("handling mean must be positive and cv non-negative")

    @property
    def sigma(self) -> float:
        return math.sqrt(math.log1p(self.cv**2))

    @property
    def mu(self) -> float:
        return math.log(self.mean_s) - self.sigma**2 / 2

    def draw(self, rng: random.Random) -> float:
        if self.cv == 0:
            return self.mean_s
        return rng.lognormvariate(self.mu, self.sigma)

    @classmethod
    def fit(cls, durations_s: Sequence[float], fallback_mean_s: float) -> LognormalHandling:
        """Fitted from history by the moments of log(duration); the fallback with too few."""
        positive = [d for d in durations_s if d > 0]
        if len(positive) < 10:
            return cls(fallback_mean_s)
        logs = [math.log(d) for d in positive]
        mu = sum(logs) / len(logs)
        var = sum((x - mu) ** 2 for x in logs) / (len(logs) - 1)
        mean = math.exp(mu + var / 2)
        return cls(mean, math.sqrt(math.expm1(var)))


@dataclass(frozen=True, slots=True)
class ExponentialHandling:
    """Exponential handling time: the M/M/c textbook case the simulator is validated against."""

    mean_s: float

    def __post_init__(self) -> None:
        if self.mean_s <= 0:
            raise ValueError("handling mean must be positive")

    def draw(self, rng: random.Random) -> float:
        return rng.expovariate(1 / self.mean_s)


@dataclass(frozen=True, slots=True)
class DayProfile:
    """One weekday of a branch: arrivals per hour from opening, and who the customers are."""

    hourly_arrivals: Sequence[float]  # expected arrivals in each hour after opening
    service_mix: Mapping[str, float]  # service code -> share of customers (sums to 1)
    # service code -> handling time (anything with .mean_s and .draw(rng))
    handling: Mapping[str, LognormalHandling | ExponentialHandling]
    # Share of each priority class; REGULAR takes the rest.
    priority_mix: Mapping[PriorityClass, float] = field(
        default_factory=lambda: {PriorityClass.VIP: 0.05, PriorityClass.CARE: 0.05}
    )
    appointment_share: float = 0.05  # booked customers (APPOINTMENT priority when on time)
    remote_share: float = 0.0  # joined from their phone before coming
    remote_no_show: float = 0.15  # of the remote ones: never come
    call_no_show: float = 0.02  # of those called: not there when called
    # Patience (how long before walking away), exponential with this mean; None: never leave.
    mean_patience_s: float | None = 40 * 60.0
    remote_lead_s: float = 20 * 60.0  # how long before coming a remote customer joins

    def __post_init__(self) -> None:
        if any(rate < 0 for rate in self.hourly_arrivals):
            raise ValueError("arrival rates cannot be negative")
        if abs(sum(self.service_mix.values()) - 1) > 1e-6:
            raise ValueError("service_mix must sum to 1")
        missing = set(self.service_mix) - set(self.handling)
        if missing:
            raise ValueError(f"no handling time for {sorted(missing)}")
        if sum(self.priority_mix.values()) + self.appointment_share > 1:
            raise ValueError("priority shares exceed 1")

    @property
    def open_hours(self) -> int:
        return len(self.hourly_arrivals)


@dataclass(frozen=True, slots=True)
class SimCustomer:
    """One customer of a simulated day; times in seconds after opening."""

    key: int  # 1, 2, ... in order of arrival
    arrival_s: float  # when they take a ticket (a remote one: when they join from the phone)
    service_code: str
    priority: PriorityClass
    handle_s: float  # how long their case takes at the counter
    patience_s: float  # how long they wait before leaving (math.inf: never)
    no_show_when_called: bool  # not at the counter when called (gone to the machines, ...)
    remote: bool = False
    # A remote customer arrives at the branch this many seconds after joining; None: never.
    remote_arrives_after_s: float | None = None


def with_fitted_handling(
    profile: DayProfile, durations_s: Mapping[str, Sequence[float]]
) -> DayProfile:
    """The profile with each service's handling time fitted from history (seconds per finished
    case, by service code) where there is enough of it; the profile's own mean otherwise."""
    return replace(
        profile,
        handling={
            code: LognormalHandling.fit(durations_s.get(code, ()), handling.mean_s)
            if durations_s.get(code)
            else handling
            for code, handling in profile.handling.items()
        },
    )


def draw_customers(profile: DayProfile, rng: random.Random) -> list[SimCustomer]:
    """The day's customers: a non-homogeneous Poisson process, piecewise constant per hour."""
    customers: list[SimCustomer] = []
    codes = list(profile.service_mix)
    weights = [profile.service_mix[code] for code in codes]
    for hour, expected in enumerate(profile.hourly_arrivals):
        t = 0.0
        while expected > 0:
            t += rng.expovariate(expected / 3600.0)
            if t >= 3600.0:
                break
            customers.append(_draw_one(profile, rng, hour * 3600.0 + t, codes, weights))
    customers.sort(key=lambda c: c.arrival_s)
    return [replace(c, key=key) for key, c in enumerate(customers, start=1)]


def _draw_one(
    profile: DayProfile,
    rng: random.Random,
    at_s: float,
    codes: list[str],
    weights: list[float],
) -> SimCustomer:
    code = rng.choices(codes, weights)[0]
    draw = rng.random()
    priority = PriorityClass.REGULAR
    cumulative = 0.0
    for klass, share in [
        (PriorityClass.APPOINTMENT, profile.appointment_share),
        *profile.priority_mix.items(),
    ]:
        cumulative += share
        if draw < cumulative:
            priority = klass
            break
    patience = rng.expovariate(1 / profile.mean_patience_s) if profile.mean_patience_s else math.inf
    remote = priority == PriorityClass.REGULAR and rng.random() < profile.remote_share
    remote_after: float | None = None
    if remote:
        remote_after = (
            None
            if rng.random() < profile.remote_no_show
            else rng.uniform(0.5, 1.5) * profile.remote_lead_s
        )
        at_s = max(0.0, at_s - profile.remote_lead_s)
    return SimCustomer(
        key=0,
        arrival_s=at_s,
        service_code=code,
        priority=priority,
        handle_s=profile.handling[code].draw(rng),
        patience_s=patience,
        no_show_when_called=rng.random() < profile.call_no_show,
        remote=remote,
        remote_arrives_after_s=remote_after,
    )


# A branch day as the demo branch sees it: a morning peak, a lunch dip, an afternoon peak;
# Monday and Friday busier (the profiles the banks' plans describe: ../shared/BRANCH-PLANS.md).
_WEEKDAY_FACTOR = (1.25, 1.0, 0.95, 1.0, 1.2, 0.8, 0.6)
_HOURLY_SHAPE = (0.8, 1.3, 1.2, 0.7, 0.8, 1.1, 1.0, 0.6)  # 09:00 .. 17:00


def demo_profile(weekday: int, *, base_per_hour: float = 40.0) -> DayProfile:
    """The demo branch's profile for a weekday (0 = Monday)."""
    factor = _WEEKDAY_FACTOR[weekday]
    return DayProfile(
        hourly_arrivals=[base_per_hour * factor * shape for shape in _HOURLY_SHAPE],
        service_mix={"cash": 0.5, "account": 0.3, "wealth": 0.2},
        handling={
            "cash": LognormalHandling(4 * 60.0, 0.6),
            "account": LognormalHandling(10 * 60.0, 0.7),
            "wealth": LognormalHandling(20 * 60.0, 0.8),
        },
        remote_share=0.1,
    )
