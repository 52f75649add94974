"""KPI arithmetic over plain rows (pure, shared by the live page, the snapshot task and tests)."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class TicketRow:
    status: str
    service_code: str
    arrived_at: datetime
    called_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    target_wait_s: float


@dataclass(frozen=True, slots=True)
class Figures:
    issued: int
    served: int
    no_shows: int
    avg_wait_s: float | None
    avg_handle_s: float | None
    within_target_share: float | None


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def ticket_figures(rows: Iterable[TicketRow]) -> Figures:
    rows = list(rows)
    # A transfer's first ticket is not a separate customer; it is counted through its follow-up.
    issued = [r for r in rows if r.status != "transferred"]
    served = [r for r in rows if r.status == "done"]
    waits = [(r.called_at - r.arrived_at).total_seconds() for r in served if r.called_at]
    handles = [
        (r.finished_at - r.started_at).total_seconds()
        for r in served
        if r.started_at and r.finished_at
    ]
    within = [
        (r.called_at - r.arrived_at).total_seconds() <= r.target_wait_s
        for r in served
        if r.called_at
    ]
    return Figures(
        issued=len(issued),
        served=len(served),
        no_shows=sum(1 for r in rows if r.status == "no_show"),
        avg_wait_s=_mean(waits),
        avg_handle_s=_mean(handles),
        within_target_share=(sum(within) / len(within)) if within else None,
    )
