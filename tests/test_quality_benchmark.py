"""Benchmarking (issue 10, item 5): the region's branches ranked by inspection score, KPIs and
satisfaction; benchmark branches and branches to improve; last quarter's rank."""

from datetime import date

import pytest
from django.urls import reverse
from django.utils import timezone

from kpi.models import KpiRollup
from quality import scoring, selectors
from quality.models import Inspection

from .factories import BranchFactory
from .factories_inspections import *  # noqa: F403
from .factories_inspections import ChecklistFactory

pytestmark = pytest.mark.django_db


def _scored(branch, inspector, checklist, day, score):
    return Inspection.objects.create(
        branch=branch,
        checklist=checklist,
        kind=checklist.kind,
        inspector=inspector,
        visited_on=day,
        started_at=timezone.now(),
        submitted_at=timezone.now(),
        status=Inspection.Status.SUBMITTED,
        score=score,
    )


def _kpi(branch, day, *, waited, within, csat_count, csat_satisfied):
    KpiRollup.objects.create(
        branch=branch,
        day=day,
        hour=10,
        weekday=day.weekday(),
        waited=waited,
        wait_within_target=within,
        csat_count=csat_count,
        csat_satisfied=csat_satisfied,
    )


@pytest.fixture
def region_of_five(branch, other_branch, q_region, q_inspector):
    checklist = ChecklistFactory()
    extra = [BranchFactory(code=f"e{i}", region=q_region) for i in range(3)]
    branches = [branch, other_branch, *extra]
    today = timezone.localdate()
    this_q = scoring.quarter_bounds(*scoring.quarter_of(today))[0]
    last_q = scoring.quarter_bounds(*scoring.previous_quarter(*scoring.quarter_of(today)))[0]
    for b, now, before in zip(branches, (95, 85, 80, 75, 60), (60, 95, 80, 75, 85), strict=True):
        _scored(b, q_inspector, checklist, this_q, now)
        _scored(b, q_inspector, checklist, last_q, before)
    return branches, this_q


def test_ranking_by_inspection_score_names_and_trends(region_of_five):
    branches, day = region_of_five
    year, quarter = scoring.quarter_of(day)
    table = selectors.benchmark_table(
        branches=branches, year=year, quarter=quarter, measure="inspection"
    )
    assert [row["branch"] for row in table] == branches
    assert table[0]["label"] == "benchmark" and table[0]["rank"] == 1
    assert table[0]["previous_rank"] == 5 and table[0]["trend"] == "up"
    assert table[-1]["label"] == "improve"  # bottom fifth, and below 70
    assert [row["label"] for row in table[1:4]] == ["", "", ""]


def test_composite_weighs_kpis_and_satisfaction(region_of_five, settings):
    branches, day = region_of_five
    settings.QUALITY_BENCHMARK_WEIGHTS = {"inspection": 0.5, "within_target": 0.25, "csat": 0.25}
    # The 60-point branch serves everyone in time and satisfies all: 0.5*60 + 0.25*100 + 0.25*100
    _kpi(branches[4], day, waited=10, within=10, csat_count=10, csat_satisfied=10)
    # The 95-point branch's customers wait and are unhappy: 0.5*95 + 0 + 0
    _kpi(branches[0], day, waited=10, within=0, csat_count=10, csat_satisfied=0)
    year, quarter = scoring.quarter_of(day)
    table = {
        row["branch"].pk: row
        for row in selectors.benchmark_table(branches=branches, year=year, quarter=quarter)
    }
    assert table[branches[4].pk]["measure"] == 80.0
    assert table[branches[0].pk]["measure"] == 47.5
    assert table[branches[4].pk]["within_target"] == 100.0
    assert table[branches[4].pk]["rank"] < table[branches[0].pk]["rank"]
    # A score under 70 is never a benchmark, whatever the composite.
    assert table[branches[4].pk]["label"] == "improve"


def test_page_for_inspectors_and_regional_heads_only(
    client, region_of_five, q_inspector, q_regional_head, q_head, django_assert_max_num_queries
):
    client.cookies["django_language"] = "en"
    client.force_login(q_regional_head)
    with django_assert_max_num_queries(12):
        html = client.get(reverse("quality:benchmark"), {"measure": "inspection"}).content.decode()
    assert "Benchmark branch" in html and "To improve" in html
    assert "95.0 %" in html
    assert client.get(reverse("quality:benchmark"), {"quarter": "9"}).status_code == 400
    client.force_login(q_head)
    assert client.get(reverse("quality:benchmark")).status_code == 403


def test_api(as_user, region_of_five, q_inspector, q_head):
    branches, day = region_of_five
    year, quarter = scoring.quarter_of(day)
    api = as_user(q_inspector)
    rows = api.get(
        "/api/quality/benchmark/", {"year": year, "quarter": quarter, "measure": "inspection"}
    ).json()
    assert [row["branch_code"] for row in rows] == [b.code for b in branches]
    assert rows[0]["label"] == "benchmark" and rows[0]["previous_rank"] == 5
    assert api.get("/api/quality/benchmark/", {"measure": "x"}).status_code == 400
    assert as_user(q_head).get("/api/quality/benchmark/").status_code == 403


def test_self_checks_do_not_count(branch, q_region, q_head, q_inspector):
    from quality.models import InspectionKind

    self_check = ChecklistFactory(kind=InspectionKind.SELF_CHECK)
    today = date(2026, 5, 5)
    _scored(branch, q_head, self_check, today, 100)
    table = selectors.benchmark_table(branches=[branch], year=2026, quarter=2)
    assert table[0]["inspection"] is None
