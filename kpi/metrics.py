"""KPI arithmetic over plain rows (pure, shared by the live page, the snapshot task and tests)."""

from collections.abc import Iterable, Mapping, Sequence
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


# --- Rollup arithmetic: from summed KpiRollup columns to the KPIs of docs/kpi.md -------------

# The additive columns of kpi.models.KpiRollup (kept here, not read off the model, so this
# module stays free of Django; tests/test_kpi_metrics.py checks the two agree).
WAIT_BUCKET_EDGES_MIN = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 15, 20, 25, 30, 40, 50, 60, 90, 120)
WAIT_BUCKET_FIELDS = tuple(f"wait_b{i:02d}" for i in range(len(WAIT_BUCKET_EDGES_MIN) + 1))
SUM_FIELDS = (
    "visits",
    "diverted",
    "greeted",
    "greeted_within_target",
    "tickets",
    "customers",
    "no_shows",
    "walkaways",
    "cancelled",
    "transferred",
    "waited",
    "wait_sum_s",
    "wait_within_target",
    "served",
    "completed",
    "handled",
    "handle_sum_s",
    "handle_over_standard",
    "teller_open_s",
    "teller_busy_s",
    "errors",
    "control_points_missed",
    "surveys_sent",
    "responses",
    "csat_count",
    "csat_sum",
    "csat_satisfied",
    "nps_count",
    "nps_promoters",
    "nps_detractors",
    "complaints",
    "complaints_acknowledged",
    "acknowledge_sum_s",
    "complaints_resolved",
    "resolve_sum_s",
    "complaints_overdue",
    "appointments",
    "appointments_kept",
    "reminders_due",
    "reminders_on_time",
    "alerts",
    "alerts_cleared",
    "alert_recovery_sum_s",
    *WAIT_BUCKET_FIELDS,
)
MAX_FIELDS = ("wait_max_s",)


def wait_bucket(wait_s: float) -> int:
    """Index of the histogram bucket a wait falls in (edges are upper bounds, inclusive)."""
    minutes = max(0.0, wait_s) / 60.0
    for index, edge in enumerate(WAIT_BUCKET_EDGES_MIN):
        if minutes <= edge:
            return index
    return len(WAIT_BUCKET_EDGES_MIN)


def percentile_from_histogram(counts: Sequence[float], q: float) -> float | None:
    """The q-quantile (0 < q < 1) of waits, in seconds, from bucket counts.

    Linear interpolation inside the bucket the quantile falls in (waits assumed spread evenly
    across it); the open last bucket is read as its lower edge, i.e. "at least"."""
    if not 0 < q < 1:
        raise ValueError("q must be between 0 and 1")
    if len(counts) != len(WAIT_BUCKET_EDGES_MIN) + 1:
        raise ValueError("one count per bucket expected")
    total = sum(counts)
    if total <= 0:
        return None
    rank = q * total
    seen = 0.0
    lower = 0.0
    for index, count in enumerate(counts):
        if count and seen + count >= rank:
            if index == len(WAIT_BUCKET_EDGES_MIN):
                return lower * 60.0
            upper = WAIT_BUCKET_EDGES_MIN[index]
            return (lower + (upper - lower) * (rank - seen) / count) * 60.0
        seen += count
        if index < len(WAIT_BUCKET_EDGES_MIN):
            lower = WAIT_BUCKET_EDGES_MIN[index]
    return lower * 60.0


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def kpi_values(sums: Mapping[str, float | None]) -> dict[str, float | None]:
    """Every KPI of docs/kpi.md from summed rollup columns (missing columns count as 0).

    Shares are fractions (0..1); times are seconds unless the name says hours or minutes;
    None where the denominator is 0 (no data is not 0 %)."""

    def v(name: str) -> float:
        return float(sums.get(name) or 0)

    histogram = [v(name) for name in WAIT_BUCKET_FIELDS]
    open_hours = v("teller_open_s") / 3600.0
    return {
        "customers": v("customers"),
        "served": v("served"),
        "avg_wait_s": _ratio(v("wait_sum_s"), v("waited")),
        "median_wait_s": percentile_from_histogram(histogram, 0.5),
        "p90_wait_s": percentile_from_histogram(histogram, 0.9),
        "max_wait_s": float(sums.get("wait_max_s") or 0) if v("waited") else None,
        "within_target_share": _ratio(v("wait_within_target"), v("waited")),
        "greeted_within_target_share": _ratio(v("greeted_within_target"), v("greeted")),
        "avg_handle_s": _ratio(v("handle_sum_s"), v("handled")),
        "over_standard_share": _ratio(v("handle_over_standard"), v("handled")),
        "no_show_rate": _ratio(v("no_shows"), v("customers")),
        "walkaway_rate": _ratio(v("walkaways"), v("customers")),
        "cancellation_rate": _ratio(v("cancelled"), v("customers")),
        "diversion_rate": _ratio(v("diverted"), v("visits")),
        "utilisation": _ratio(v("teller_busy_s"), v("teller_open_s")),
        "customers_per_teller_hour": _ratio(v("served"), open_hours),
        "resolution_rate": _ratio(v("completed"), v("served")),
        "error_rate": _ratio(v("errors"), v("served")),
        "errors": v("errors"),
        "control_points_missed": v("control_points_missed"),
        "csat_avg": _ratio(v("csat_sum"), v("csat_count")),
        "csat_share": _ratio(v("csat_satisfied"), v("csat_count")),
        "nps": (
            100.0 * (v("nps_promoters") - v("nps_detractors")) / v("nps_count")
            if v("nps_count")
            else None
        ),
        "response_rate": _ratio(v("responses"), v("surveys_sent")),
        "complaints": v("complaints"),
        "avg_acknowledge_h": _ratio(v("acknowledge_sum_s") / 3600.0, v("complaints_acknowledged")),
        "avg_resolve_h": _ratio(v("resolve_sum_s") / 3600.0, v("complaints_resolved")),
        "complaints_overdue_share": _ratio(v("complaints_overdue"), v("complaints")),
        "appointments_kept_share": _ratio(v("appointments_kept"), v("appointments")),
        "reminders_on_time_share": _ratio(v("reminders_on_time"), v("reminders_due")),
        "alerts": v("alerts"),
        "avg_alert_recovery_min": _ratio(v("alert_recovery_sum_s") / 60.0, v("alerts_cleared")),
    }


# The rollup columns each KPI of kpi_values reads (SUM_FIELDS, plus MAX_FIELDS for the longest
# wait), so a slice that needs one KPI sums a few columns instead of all ~65 (the region ranking
# over 40 branches: 505 ms -> see docs/benchmarks.md). tests/test_kpi_metrics.py checks each set
# against kpi_values itself, so the two cannot drift apart.
METRIC_FIELDS: dict[str, tuple[str, ...]] = {
    "customers": ("customers",),
    "served": ("served",),
    "avg_wait_s": ("wait_sum_s", "waited"),
    "median_wait_s": WAIT_BUCKET_FIELDS,
    "p90_wait_s": WAIT_BUCKET_FIELDS,
    "max_wait_s": ("wait_max_s", "waited"),
    "within_target_share": ("wait_within_target", "waited"),
    "greeted_within_target_share": ("greeted_within_target", "greeted"),
    "avg_handle_s": ("handle_sum_s", "handled"),
    "over_standard_share": ("handle_over_standard", "handled"),
    "no_show_rate": ("no_shows", "customers"),
    "walkaway_rate": ("walkaways", "customers"),
    "cancellation_rate": ("cancelled", "customers"),
    "diversion_rate": ("diverted", "visits"),
    "utilisation": ("teller_busy_s", "teller_open_s"),
    "customers_per_teller_hour": ("served", "teller_open_s"),
    "resolution_rate": ("completed", "served"),
    "error_rate": ("errors", "served"),
    "errors": ("errors",),
    "control_points_missed": ("control_points_missed",),
    "csat_avg": ("csat_sum", "csat_count"),
    "csat_share": ("csat_satisfied", "csat_count"),
    "nps": ("nps_promoters", "nps_detractors", "nps_count"),
    "response_rate": ("responses", "surveys_sent"),
    "complaints": ("complaints",),
    "avg_acknowledge_h": ("acknowledge_sum_s", "complaints_acknowledged"),
    "avg_resolve_h": ("resolve_sum_s", "complaints_resolved"),
    "complaints_overdue_share": ("complaints_overdue", "complaints"),
    "appointments_kept_share": ("appointments_kept", "appointments"),
    "reminders_on_time_share": ("reminders_on_time", "reminders_due"),
    "alerts": ("alerts",),
    "avg_alert_recovery_min": ("alert_recovery_sum_s", "alerts_cleared"),
}


@dataclass(frozen=True, slots=True)
class Metric:
    """How to read a KPI: its unit, and whether a higher value is better."""

    key: str
    unit: str  # "share" (0..1), "seconds", "hours", "minutes", "count", "score", "rate"
    higher_is_better: bool


METRICS: dict[str, Metric] = {
    metric.key: metric
    for metric in (
        Metric("customers", "count", True),
        Metric("served", "count", True),
        Metric("avg_wait_s", "seconds", False),
        Metric("median_wait_s", "seconds", False),
        Metric("p90_wait_s", "seconds", False),
        Metric("max_wait_s", "seconds", False),
        Metric("within_target_share", "share", True),
        Metric("greeted_within_target_share", "share", True),
        Metric("avg_handle_s", "seconds", False),
        Metric("over_standard_share", "share", False),
        Metric("no_show_rate", "share", False),
        Metric("walkaway_rate", "share", False),
        Metric("cancellation_rate", "share", False),
        Metric("diversion_rate", "share", True),
        Metric("utilisation", "share", True),
        Metric("customers_per_teller_hour", "rate", True),
        Metric("resolution_rate", "share", True),
        Metric("error_rate", "share", False),
        Metric("errors", "count", False),
        Metric("control_points_missed", "count", False),
        Metric("csat_avg", "score", True),
        Metric("csat_share", "share", True),
        Metric("nps", "score", True),
        Metric("response_rate", "share", True),
        Metric("complaints", "count", False),
        Metric("avg_acknowledge_h", "hours", False),
        Metric("avg_resolve_h", "hours", False),
        Metric("complaints_overdue_share", "share", False),
        Metric("appointments_kept_share", "share", True),
        Metric("reminders_on_time_share", "share", True),
        Metric("alerts", "count", False),
        Metric("avg_alert_recovery_min", "minutes", False),
    )
}
