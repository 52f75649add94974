"""The region's ranking: inspection score, KPIs (kpi.selectors) and satisfaction per branch,
with benchmark branches (标杆网点) and branches to improve (通报), and last quarter's rank."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db.models import Avg

import kpi.selectors
from accounts.models import Branch

from .. import scoring
from ..models import Inspection, InspectionKind

__all__ = ["MEASURES", "benchmark_table"]

# What the ranking may be by; "composite" weighs the others (QUALITY_BENCHMARK_WEIGHTS).
MEASURES = ("composite", "inspection", "within_target", "csat", "nps")
DEFAULT_WEIGHTS = {"inspection": 0.5, "within_target": 0.2, "csat": 0.2, "nps": 0.1}


def _inspection_scores(branches: list[Branch], year: int, quarter: int) -> dict[int, float]:
    """Average score of the quarter's submitted inspections per branch (self-checks are the
    branch's own view and do not count)."""
    first, last = scoring.quarter_bounds(year, quarter)
    return {
        row["branch_id"]: round(row["avg"], 1)
        for row in Inspection.objects.filter(
            branch__in=branches,
            status=Inspection.Status.SUBMITTED,
            visited_on__gte=first,
            visited_on__lte=last,
            score__isnull=False,
        )
        .exclude(kind=InspectionKind.SELF_CHECK)
        .values("branch_id")
        .annotate(avg=Avg("score"))
    }


def _kpis(branches: list[Branch], year: int, quarter: int) -> dict[int, dict]:
    first, last = scoring.quarter_bounds(year, quarter)
    rows = kpi.selectors.rollup_rows(
        branches=branches, date_from=first, date_to=last, group_by=("branch",)
    )
    return {row["branch"]: row["kpis"] for row in rows}


def _percent(value: float | None) -> float | None:
    return None if value is None else round(100.0 * value, 1)


def _measures(branch_id: int, scores: dict, kpis: dict) -> dict[str, float | None]:
    values = kpis.get(branch_id, {})
    nps = values.get("nps")
    return {
        "inspection": scores.get(branch_id),
        "within_target": _percent(values.get("within_target_share")),
        "csat": _percent(values.get("csat_share")),
        # NPS runs -100..100: put it on the 0..100 scale of the others for the composite.
        "nps": None if nps is None else round((nps + 100.0) / 2.0, 1),
        "nps_raw": None if nps is None else round(nps, 1),
    }


def _ranked(branches: list[Branch], year: int, quarter: int, measure: str):
    weights = getattr(settings, "QUALITY_BENCHMARK_WEIGHTS", DEFAULT_WEIGHTS)
    scores = _inspection_scores(branches, year, quarter)
    kpis = _kpis(branches, year, quarter)
    values = {b.pk: _measures(b.pk, scores, kpis) for b in branches}
    rows = [
        scoring.BenchmarkRow(
            branch_id=b.pk,
            measure=(
                scoring.composite(values[b.pk], weights)
                if measure == "composite"
                else values[b.pk][measure]
            ),
            inspection_score=values[b.pk]["inspection"],
        )
        for b in branches
    ]
    ranked = scoring.name_benchmark(
        rows,
        top_share=getattr(settings, "QUALITY_BENCHMARK_TOP_SHARE", 0.2),
        benchmark_min_score=getattr(settings, "QUALITY_BENCHMARK_MIN_SCORE", 90.0),
        bottom_share=getattr(settings, "QUALITY_IMPROVE_BOTTOM_SHARE", 0.2),
        improve_below=getattr(settings, "QUALITY_IMPROVE_BELOW", 70.0),
    )
    return ranked, values


def benchmark_table(
    *, branches: Iterable[Branch], year: int, quarter: int, measure: str = "composite"
) -> list[dict]:
    """The ranking for a quarter, best first, each row with its measures, label and last
    quarter's rank and measure (the trend). A fixed number of queries (2 per quarter)."""
    if measure not in MEASURES:
        raise ValueError(measure)
    branches = list(branches)
    by_id = {b.pk: b for b in branches}
    ranked, values = _ranked(branches, year, quarter, measure)
    previous, _ = _ranked(branches, *scoring.previous_quarter(year, quarter), measure)
    before = {row.branch_id: row for row in previous}
    table = []
    for row in ranked:
        prev = before.get(row.branch_id)
        trend = ""
        if prev and prev.rank and row.rank:
            trend = "up" if row.rank < prev.rank else "down" if row.rank > prev.rank else "same"
        table.append(
            {
                "branch": by_id[row.branch_id],
                "rank": row.rank,
                "measure": row.measure,
                "label": row.label,
                **values[row.branch_id],
                "previous_rank": prev.rank if prev else None,
                "previous_measure": prev.measure if prev else None,
                "trend": trend,
            }
        )
    return table
