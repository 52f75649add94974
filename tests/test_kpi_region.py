"""The region view (issue 9, item 3): a regional head ranks the region's branches on one KPI,
best and worst named, branches without figures last; exports; who may open it; and the pure
ranking and calendar arithmetic behind it."""

import csv
import io
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from openpyxl import load_workbook

from accounts.models import Role
from kpi.metrics import METRICS
from kpi.models import KpiRollup
from kpi.periods import (
    month_bounds,
    next_month,
    parse_month,
    period_starts,
    previous_month,
    previous_period,
)
from kpi.ranking import rank, target_in_bounds, trend

from .factories import (
    BranchFactory,
    MembershipFactory,
    RegionFactory,
    RegionMembershipFactory,
    UserFactory,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI)
URL = reverse("kpi:region")
# The default range: the last 30 days, 2026-10-22 .. 2026-11-20; the previous: 09-22 .. 10-21.
IN_RANGE = date(2026, 11, 10)
BEFORE = date(2026, 10, 5)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def rollup(branch, day, **sums):
    return KpiRollup.objects.create(branch=branch, day=day, hour=10, weekday=day.weekday(), **sums)


def waits(branch, day, *, waited, within):
    rollup(branch, day, customers=waited, waited=waited, wait_within_target=within)


@pytest.fixture
def region(branch):
    region = RegionFactory(code="east", name="华东", name_en="East")
    branch.region = region
    branch.save(update_fields=["region"])
    return region


@pytest.fixture
def region_branches(region, branch):
    """main (80 % within target, was 50 %), north (90 %, was 95 %), south (60 %), quiet
    (no figures); and 'far' in another region with 100 %."""
    north = BranchFactory(code="north", name="北支行", name_en="North", region=region)
    south = BranchFactory(code="south", name="南支行", name_en="South", region=region)
    quiet = BranchFactory(code="quiet", name="静支行", name_en="Quiet", region=region)
    far = BranchFactory(code="far", name="远支行", name_en="Far", region=RegionFactory())
    waits(branch, IN_RANGE, waited=10, within=8)
    waits(branch, BEFORE, waited=10, within=5)
    waits(north, IN_RANGE, waited=10, within=9)
    waits(north, BEFORE, waited=20, within=19)
    waits(south, IN_RANGE, waited=5, within=3)
    waits(far, IN_RANGE, waited=10, within=10)
    return {"main": branch, "north": north, "south": south, "quiet": quiet, "far": far}


@pytest.fixture
def regional_head(region):
    user = UserFactory(username="regional")
    RegionMembershipFactory(user=user, region=region, role="head")
    return user


def page(client, user, **params):
    client.force_login(user)
    client.cookies["django_language"] = "en"
    return client.get(URL, params)


def test_it_ranks_the_regions_branches_and_names_the_best_and_the_worst(
    client, regional_head, region_branches
):
    response = page(client, regional_head)
    assert response.status_code == 200
    text = response.content.decode()
    rows = response.context["rows"]
    assert [row["branch"].code for row in rows] == ["north", "main", "south", "quiet"]
    assert [row["rank"] for row in rows] == [1, 2, 3, None]
    assert rows[0]["value"] == pytest.approx(0.9)
    assert rows[-1]["value"] is None and rows[-1]["value_text"] == "—"
    assert "far" not in [row["branch"].code for row in rows]  # another region
    # Region average: the mean of the branches with figures, (0.9 + 0.8 + 0.6) / 3.
    assert response.context["ranking"]["average"] == pytest.approx(2.3 / 3)
    assert rows[0]["vs_average_text"] == "+13%"
    # Trends against the 30 days before: main up from 50 %, north down from 95 %.
    assert rows[1]["trend"] == "up" and rows[1]["improved"] is True
    assert rows[0]["trend"] == "down" and rows[0]["improved"] is False
    assert rows[2]["trend"] is None  # nothing before
    assert "Best:" in text and "<strong>North</strong> (90%)" in text
    assert "Worst:" in text and "<strong>South</strong> (60%)" in text
    assert "no data" in text


def test_a_lower_is_better_metric_ranks_the_shortest_wait_first(
    client, regional_head, region, branch
):
    north = BranchFactory(code="north", name_en="North", region=region)
    south = BranchFactory(code="south", name_en="South", region=region)
    rollup(north, IN_RANGE, waited=2, wait_sum_s=1200)  # 10 min
    rollup(south, IN_RANGE, waited=2, wait_sum_s=240)  # 2 min
    response = page(client, regional_head, metric="avg_wait_s")
    rows = response.context["rows"]
    assert [row["branch"].code for row in rows] == ["south", "north", "main"]
    assert rows[-1]["rank"] is None  # main: nobody waited, no data (not 0)
    assert response.context["best"]["branch"].code == "south"
    assert response.context["worst"]["branch"].code == "north"


def test_it_reads_the_rollups_in_one_aggregate_query_whatever_the_region(
    client, regional_head, region, region_branches, django_assert_max_num_queries
):
    for index in range(6):
        extra = BranchFactory(code=f"x{index}", region=region)
        waits(extra, IN_RANGE, waited=4, within=index % 4)
    client.force_login(regional_head)
    client.get(URL)  # warm the session and the menu
    with django_assert_max_num_queries(12) as captured:
        response = client.get(URL)
    assert response.status_code == 200
    rollup_queries = [q for q in captured.captured_queries if "kpi_kpirollup" in q["sql"]]
    # Both periods in one GROUP BY, summing only what the KPI reads (within target / waited).
    assert len(rollup_queries) == 1
    assert '"wait_within_target"' in rollup_queries[0]["sql"]
    assert '"csat_sum"' not in rollup_queries[0]["sql"]


def test_the_ranking_downloads_as_csv_and_xlsx(client, regional_head, region_branches):
    response = page(client, regional_head, export="region-ranking", format="csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Rank", "Branch", "Served within target wait"]
    assert rows[1][0] == "1" and rows[1][1].startswith("north")
    assert float(rows[1][2]) == pytest.approx(0.9)
    assert rows[-1][1].startswith("quiet") and rows[-1][2] == "" and rows[-1][5] == "no data"

    response = page(client, regional_head, export="region-ranking", format="xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet["B2"].value.startswith("north")
    assert sheet["C2"].value == pytest.approx(0.9)
    assert sheet["C2"].number_format == "0.0%"


@pytest.mark.parametrize(
    "params", [{"export": "region-ranking", "format": "pdf"}, {"export": "nope", "format": "csv"}]
)
def test_an_unknown_download_is_a_400_page(client, regional_head, region_branches, params):
    assert page(client, regional_head, **params).status_code == 400


def test_bad_filters_are_form_errors_not_500s(client, regional_head, region_branches):
    response = page(client, regional_head, metric="nonsense", date_from="0001-01-01")
    assert response.status_code == 200
    assert response.context["metric_form"].errors
    response = page(client, regional_head, date_from="0001-01-01", date_to="0001-02-01")
    assert response.status_code == 200
    assert response.context["filter_form"].errors
    assert response.context["ranking"]["date_to"] == date(2026, 11, 20)  # the default range


def test_a_branch_head_without_a_region_gets_a_clear_403(client, branch_head, region_branches):
    response = page(client, branch_head)
    assert response.status_code == 403
    assert "The region view is for regional heads" in response.content.decode()


@pytest.mark.parametrize("role", [Role.TELLER, Role.LOBBY_MANAGER])
def test_tellers_and_lobby_managers_may_not_open_it(client, branch, region_branches, role):
    user = UserFactory()
    MembershipFactory(user=user, branch=branch, role=role)
    assert page(client, user).status_code == 403


def test_a_regional_head_sees_only_their_region(client, regional_head, region_branches):
    other = RegionFactory(code="west")
    assert page(client, regional_head, region=other.code).status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(client, db):
    response = client.get(URL)
    assert response.status_code == 302 and "login" in response["Location"]


# --- pure: ranking ----------------------------------------------------------------------------


def test_rank_shares_ranks_on_ties_and_keeps_no_data_last():
    metric = METRICS["within_target_share"]
    ranking = rank(["a", "b", "c", "d"], {"a": 0.5, "b": 0.9, "c": 0.5, "d": None}, {}, metric)
    assert [(row.key, row.rank) for row in ranking.rows] == [
        ("b", 1),
        ("a", 2),
        ("c", 2),
        ("d", None),
    ]
    assert ranking.best.key == "b" and ranking.worst.key == "c"
    assert ranking.average == pytest.approx(19 / 30)


def test_rank_with_one_branch_of_figures_names_no_worst():
    ranking = rank(["a", "b"], {"a": 10.0}, {"a": 12.0}, METRICS["avg_wait_s"])
    assert ranking.best.key == "a" and ranking.worst is None
    assert ranking.rows[0].trend == "down" and ranking.rows[0].improved is True  # shorter wait


def test_trend_is_flat_for_equal_values_and_unknown_without_both():
    assert trend(0.5, 0.5) == "flat"
    assert trend(None, 0.5) is None and trend(0.5, None) is None
    assert trend(2.0, 1.0) == "up"


@pytest.mark.parametrize(
    ("metric", "value", "ok"),
    [
        ("within_target_share", 0.9, True),
        ("within_target_share", 1.2, False),
        ("avg_wait_s", -1, False),
        ("avg_wait_s", 600, True),
        ("nps", -50, True),
        ("nps", 101, False),
        ("csat_avg", 0.5, False),
        ("avg_wait_s", float("nan"), False),
        ("avg_wait_s", float("inf"), False),
    ],
)
def test_target_bounds(metric, value, ok):
    assert target_in_bounds(METRICS[metric], value) is ok


# --- pure: calendar ---------------------------------------------------------------------------


def test_month_arithmetic():
    assert parse_month("2026-10") == date(2026, 10, 1)
    for bad in ("2026-13", "2026-1", "26-10", "", "2026-10-01", "0001-01"):
        assert parse_month(bad) is None
    assert month_bounds(date(2024, 2, 1)) == (date(2024, 2, 1), date(2024, 2, 29))
    assert previous_month(date(2026, 1, 1)) == date(2025, 12, 1)
    assert next_month(date(2026, 12, 1)) == date(2027, 1, 1)
    assert previous_period(date(2026, 11, 1), date(2026, 11, 30)) == (
        date(2026, 10, 2),
        date(2026, 10, 31),
    )


def test_period_starts_cover_the_range_without_holes():
    assert period_starts(date(2026, 11, 18), date(2026, 11, 20), "day") == [
        date(2026, 11, 18),
        date(2026, 11, 19),
        date(2026, 11, 20),
    ]
    assert period_starts(date(2026, 11, 18), date(2026, 11, 30), "week") == [
        date(2026, 11, 16),
        date(2026, 11, 23),
        date(2026, 11, 30),
    ]
    assert period_starts(date(2026, 2, 10), date(2026, 8, 1), "quarter") == [
        date(2026, 1, 1),
        date(2026, 4, 1),
        date(2026, 7, 1),
    ]
    assert period_starts(date(2026, 5, 1), date(2027, 1, 1), "half") == [
        date(2026, 1, 1),
        date(2026, 7, 1),
        date(2027, 1, 1),
    ]
