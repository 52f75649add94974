"""Wait predictors scored on simulated days, and the textbook references they are held to.

EtaRecorder watches a BranchDay (model.Observer): at every change (a ticket issued, a call, a
walk-away) it asks each predictor for every waiting ticket's wait, and when that ticket is
called compares each prediction with the wait that really followed. Walk-aways are dropped
(their wait is censored). The predictors:

* ``ours``: eta.estimate_waits, the production function, on production-like inputs (handling
  means from eta.handling_mean over the last 100 finished cases of the service, counters busy
  for eta.expected_residual(mean, elapsed) as selectors.counter_states computes it), with the
  80 % interval of eta.estimate_interval. The walk-away rate is learnt from the day so far
  (eta.walkaway_rate over walk-aways and everyone's waiting time), as selectors.handling_stats
  does from today's tickets.
* ``naive``: people ahead x mean / open counters (eta.naive_estimate).
* ``ql``: the queue-length predictor of Ibrahim & Whitt, (position + 1) x mean / counters
  serving the queue, when no counter for the queue is free.
* ``les``: last-to-enter-service, the wait of the last customer called from the same queue.
* ``floor`` (only meaningful on M/M/c days): E[W | k ahead, f counters free] =
  max(0, k - f + 1) / (c mu) with the TRUE mean: the best any predictor can do there.

No Django. The Erlang C reference the simulator is validated against is kpi.staffing.erlang_c
(bench/simulate.py), the same code the staffing advice uses.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..eta import (
    HANDLING_CAP_FACTOR,
    CounterState,
    HandlingStats,
    estimate_interval,
    estimate_waits,
    expected_residual,
    handling_mean,
    naive_estimate,
    walkaway_rate,
)
from ..routing import RoutingPolicy

__all__ = [
    "PREDICTORS",
    "EtaRecorder",
    "PredictionScore",
    "score",
]

PREDICTORS = ("ours", "naive", "ql", "les", "floor")
RECENT_SAMPLE = 100  # finished cases per service the production estimate looks at


@dataclass(slots=True)
class _Pending:
    made_s: float
    predictions: dict[str, float]
    low_s: float
    high_s: float
    ahead: int


@dataclass(slots=True)
class EtaRecorder:
    policy: RoutingPolicy
    standard_s: Mapping[str, float]  # the services' standard handling times (the prior)
    true_mean_s: Mapping[str, float] = field(default_factory=dict)  # for the M/M/c floor
    # predictor -> list of (predicted, realised) seconds
    pairs: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    # ours: (estimate, people ahead, low, high, realised), for the interval and its calibration
    ours_rows: list[tuple[float, int, float, float, float]] = field(default_factory=list)
    _pending: dict[int, list[_Pending]] = field(default_factory=dict)
    _last_wait: dict[str, float] = field(default_factory=dict)
    _seen_walkaways: set[int] = field(default_factory=set)
    # Leave out the day's walk-away rate (ours as before 2026-11-24), for comparison.
    ignore_walkaways: bool = False

    def on_event(self, day, reason: str) -> None:
        now = day.now_s
        if reason == "call":
            self._realise(day, now)
        elif reason == "walkaway":
            for key in [k for k in self._pending if k not in day.waiting]:
                del self._pending[key]
        self._predict(day, now)

    def _realise(self, day, now: float) -> None:
        for key in [k for k in self._pending if k not in day.waiting]:
            outcome = day.outcomes[key]
            if outcome.called_s is None:  # walked away
                del self._pending[key]
                continue
            self._last_wait[outcome.customer.service_code] = outcome.wait_s
            for pending in self._pending.pop(key):
                realised = outcome.called_s - pending.made_s
                for name, predicted in pending.predictions.items():
                    self.pairs.setdefault(name, []).append((predicted, realised))
                self.ours_rows.append(
                    (
                        pending.predictions["ours"],
                        pending.ahead,
                        pending.low_s,
                        pending.high_s,
                        realised,
                    )
                )

    def _predict(self, day, now: float) -> None:
        if not day.waiting:
            return
        stats = HandlingStats(
            mean_s={
                code: handling_mean(
                    day.done_handles.get(code, [])[-RECENT_SAMPLE:],
                    standard,
                    cap_factor=HANDLING_CAP_FACTOR,
                )
                for code, standard in self.standard_s.items()
            },
            walkaway_rate_per_s=0.0 if self.ignore_walkaways else self._walkaway_rate(day, now),
        )
        states = []
        for counter in day.counters:
            if not day.open[counter.counter_id]:
                continue
            busy = 0.0
            serving = day.serving[counter.counter_id]
            if serving is not None:
                expected = stats.mean_s[serving[0]]
                busy = expected_residual(expected, now - serving[1])
            states.append(CounterState(counter.counter_id, counter.service_codes, busy))
        queue = list(day.waiting.values())
        ours = estimate_waits(queue, states, stats, day.at(now), self.policy)
        by_service: dict[str, list] = {}
        for ticket in queue:
            by_service.setdefault(ticket.service_code, []).append(ticket)
        for code, tickets in by_service.items():
            tickets.sort(key=lambda t: (t.arrived_at, t.id))
            serving_counters = [s for s in states if code in s.service_codes]
            free = sum(1 for s in serving_counters if s.busy_until_estimate_s == 0.0)
            mean = stats.mean_s[code]
            mine = [ours[t.id] for t in tickets]
            for position, ticket in enumerate(tickets):
                estimate = ours[ticket.id]
                if math.isinf(estimate):
                    continue  # "no counter open for this service": not a number to score
                ahead = sum(1 for other in mine if other < estimate)
                low, high = estimate_interval(estimate, ahead)
                c = len(serving_counters)
                queued = max(0, position - free + 1)
                predictions = {
                    "ours": estimate,
                    "naive": naive_estimate(position, mean, len(states)),
                    "ql": queued * mean / c,
                    "les": self._last_wait.get(code, 0.0),
                }
                if code in self.true_mean_s:
                    predictions["floor"] = queued * self.true_mean_s[code] / c
                self._pending.setdefault(ticket.id, []).append(
                    _Pending(now, predictions, low, high, ahead)
                )

    @staticmethod
    def _walkaway_rate(day, now: float) -> float:
        """The day so far, as production sees it: walk-aways over everyone's time waiting."""
        walkaways = 0
        waited_s = 0.0
        for outcome in day.outcomes.values():
            if outcome.checked_in_s is None or outcome.checked_in_s > now:
                continue
            if outcome.walked_away_s is not None:
                walkaways += 1
                waited_s += outcome.walked_away_s - outcome.checked_in_s
            elif outcome.called_s is not None:
                waited_s += outcome.called_s - outcome.checked_in_s
            else:
                waited_s += now - outcome.checked_in_s
        return walkaway_rate(walkaways, waited_s)


@dataclass(frozen=True, slots=True)
class PredictionScore:
    n: int
    mae_s: float
    rmse_s: float
    coverage: float | None = None  # share of realised waits inside the 80 % interval


def score(recorder: EtaRecorder) -> dict[str, PredictionScore]:
    result: dict[str, PredictionScore] = {}
    for name, pairs in recorder.pairs.items():
        if not pairs:
            continue
        errors = [predicted - realised for predicted, realised in pairs]
        coverage = None
        if name == "ours":
            rows = recorder.ours_rows
            coverage = sum(1 for *_, low, high, real in rows if low <= real <= high) / len(rows)
        result[name] = PredictionScore(
            n=len(errors),
            mae_s=math.fsum(abs(e) for e in errors) / len(errors),
            rmse_s=math.sqrt(math.fsum(e * e for e in errors) / len(errors)),
            coverage=coverage,
        )
    return result


def merge(recorders: Sequence[EtaRecorder]) -> EtaRecorder:
    """One recorder holding the scored pairs of several days."""
    merged = EtaRecorder(recorders[0].policy, recorders[0].standard_s)
    for recorder in recorders:
        for name, pairs in recorder.pairs.items():
            merged.pairs.setdefault(name, []).extend(pairs)
        merged.ours_rows.extend(recorder.ours_rows)
    return merged
