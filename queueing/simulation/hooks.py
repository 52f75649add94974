"""What other apps add to a day simulated through the real services (`manage.py simulate_day`).

The simulator (reception.simulate_day) may not import every app that has something to add: a
customer rating the counter on its pad, or answering the survey texted after the visit, are
feedback's. Such an app registers a function here from its AppConfig.ready(); the simulator
calls them at the simulated moment, inside the day's transaction, with the day's seeded random
generator. Plain Python: this module imports nothing of Django or of any app.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

__all__ = ["FinishedTicket", "after_finish", "end_of_day", "run_after_finish", "run_end_of_day"]


@dataclass(frozen=True, slots=True)
class FinishedTicket:
    """A ticket the simulated teller has just finished (done) at a counter."""

    ticket_id: int
    branch_id: int
    counter_id: int
    rng: random.Random


AfterFinish = Callable[[FinishedTicket], None]
EndOfDay = Callable[[int, date, random.Random], None]  # branch id, the day, the generator

_after_finish: list[AfterFinish] = []
_end_of_day: list[EndOfDay] = []


def after_finish(fn: AfterFinish) -> AfterFinish:
    """Register `fn(finished)`: called after each simulated finish (e.g. a rating-pad tap)."""
    if fn not in _after_finish:
        _after_finish.append(fn)
    return fn


def end_of_day(fn: EndOfDay) -> EndOfDay:
    """Register `fn(branch_id, day, rng)`: called once the simulated day's counters closed."""
    if fn not in _end_of_day:
        _end_of_day.append(fn)
    return fn


def run_after_finish(finished: FinishedTicket) -> None:
    for fn in _after_finish:
        fn(finished)


def run_end_of_day(branch_id: int, day: date, rng: random.Random) -> None:
    for fn in _end_of_day:
        fn(branch_id, day, rng)
