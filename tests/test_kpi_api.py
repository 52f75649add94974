"""The KPI API (issue 9, item 7): a KPI as a series, the region ranking, the targets; scoping
(branch head: own branch; regional head: their region; teller: only self; lobby manager: no)
and bad parameters as 400 with field errors."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from accounts.models import Role
from kpi.models import KpiRollup, KpiTarget

from .factories import (
    BranchFactory,
    MembershipFactory,
    RegionFactory,
    RegionMembershipFactory,
    ServiceFactory,
    UserFactory,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI)
SERIES = reverse("api:kpi-series")
REGION = reverse("api:kpi-region")
TARGETS = reverse("api:kpi-targets")


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def rollup(branch, day, **sums):
    return KpiRollup.objects.create(branch=branch, day=day, hour=10, weekday=day.weekday(), **sums)


@pytest.fixture
def second_teller(branch):
    user = UserFactory(username="teller2")
    MembershipFactory(user=user, branch=branch, role=Role.TELLER)
    return user


@pytest.fixture
def figures(branch, cash, loans, teller, second_teller):
    """Nov 18: teller served 4 cash customers, 3 within target; teller2 2 loans, 0 within.
    Nov 19: teller 2 cash, 2 within. A target of 80 %."""
    rollup(branch, date(2026, 11, 18), service=cash, teller=teller, waited=4, wait_within_target=3)
    rollup(branch, date(2026, 11, 18), service=loans, teller=second_teller, waited=2)
    rollup(branch, date(2026, 11, 19), service=cash, teller=teller, waited=2, wait_within_target=2)
    KpiTarget.objects.create(branch=branch, metric="within_target_share", value=0.8)


def series(client, **params):
    params.setdefault("metric", "within_target_share")
    return client.get(SERIES, params)


def test_a_branch_head_gets_a_daily_series_with_the_target(as_user, branch_head, figures):
    response = series(as_user(branch_head), date_from="2026-11-17", date_to="2026-11-19")
    assert response.status_code == 200
    assert response.json() == [
        {"period": "2026-11-17", "value": None, "target": 0.8},
        {"period": "2026-11-18", "value": 0.5, "target": 0.8},
        {"period": "2026-11-19", "value": 1.0, "target": 0.8},
    ]


@pytest.mark.parametrize(
    ("granularity", "periods"),
    [
        ("week", ["2026-11-16"]),
        ("month", ["2026-11-01"]),
        ("quarter", ["2026-10-01"]),
        ("half", ["2026-07-01"]),
    ],
)
def test_longer_periods_sum_before_dividing(as_user, branch_head, figures, granularity, periods):
    body = series(
        as_user(branch_head),
        granularity=granularity,
        date_from="2026-11-17",
        date_to="2026-11-19",
    ).json()
    assert [point["period"] for point in body] == periods
    assert body[-1]["value"] == pytest.approx(5 / 8)


def test_service_and_teller_filters(as_user, branch_head, figures, loans, second_teller):
    client = as_user(branch_head)
    params = {"date_from": "2026-11-18", "date_to": "2026-11-18"}
    assert series(client, service=loans.pk, **params).json()[0]["value"] == 0.0
    assert series(client, teller=second_teller.pk, **params).json()[0]["value"] == 0.0


def test_a_teller_reads_only_their_own_figures(as_user, teller, second_teller, figures):
    client = as_user(teller)
    body = series(client, date_from="2026-11-18", date_to="2026-11-18").json()
    assert body[0]["value"] == 0.75  # their 3 of 4, not the branch's 3 of 6
    assert series(client, teller=teller.pk, date_from="2026-11-18").status_code == 200
    assert series(client, teller=second_teller.pk).status_code == 403


def test_a_lobby_manager_may_not_read_series(as_user, lobby_manager, figures):
    assert series(as_user(lobby_manager)).status_code == 403


def test_a_branch_head_may_not_read_another_branch(as_user, branch_head, figures):
    BranchFactory(code="elsewhere")
    assert series(as_user(branch_head), branch="elsewhere").status_code == 404


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"metric": "nonsense"}, "metric"),
        ({"granularity": "fortnight"}, "granularity"),
        ({"date_from": "31/12/2026"}, "date_from"),
        ({"date_from": "2026-11-20", "date_to": "2026-11-01"}, "date_to"),
        ({"date_from": "2024-01-01", "date_to": "2026-01-01"}, "date_to"),
        ({"date_from": "2020-01-01"}, "date_from"),  # to today: over 400 days
        ({"date_from": "0001-01-01", "date_to": "0001-01-02"}, "date_from"),
        ({"service": "abc"}, "service"),
        ({"service": "99999999999999999999999"}, "service"),
        ({"teller": "-3"}, "teller"),
    ],
)
def test_bad_parameters_are_400_with_field_errors(as_user, branch_head, figures, params, field):
    response = series(as_user(branch_head), **params)
    assert response.status_code == 400
    assert field in response.json()


def test_another_branchs_service_or_a_stranger_is_a_field_error(as_user, branch_head, figures):
    foreign = ServiceFactory(branch=BranchFactory())
    stranger = UserFactory()
    client = as_user(branch_head)
    assert "service" in series(client, service=foreign.pk).json()
    assert "teller" in series(client, teller=stranger.pk).json()


# --- a regional head --------------------------------------------------------------------------


@pytest.fixture
def region(branch):
    region = RegionFactory(code="east")
    branch.region = region
    branch.save(update_fields=["region"])
    return region


@pytest.fixture
def regional_head(region):
    user = UserFactory(username="regional")
    RegionMembershipFactory(user=user, region=region, role="head")
    return user


def test_a_regional_head_reads_any_branch_of_their_region(as_user, regional_head, region, figures):
    sibling = BranchFactory(code="sibling", region=region)
    rollup(sibling, date(2026, 11, 18), waited=2, wait_within_target=2)
    BranchFactory(code="foreign", region=RegionFactory())
    client = as_user(regional_head)
    # Several branches and none of their own: they must say which.
    assert "branch" in series(client).json()
    body = series(client, branch="main", date_from="2026-11-18", date_to="2026-11-18").json()
    assert body[0]["value"] == 0.5
    body = series(client, branch="sibling", date_from="2026-11-18", date_to="2026-11-18").json()
    assert body[0]["value"] == 1.0
    assert series(client, branch="foreign").status_code == 404


def test_the_region_api_ranks_the_branches(as_user, regional_head, region, figures):
    sibling = BranchFactory(code="sibling", region=region, name_en="Sibling")
    rollup(sibling, date(2026, 11, 18), waited=2, wait_within_target=2)
    BranchFactory(code="quiet", region=region)
    client = as_user(regional_head)
    client.cookies["django_language"] = "en"
    response = client.get(REGION, {"metric": "within_target_share"})
    assert response.status_code == 200
    body = response.json()
    assert [row["branch"] for row in body["rows"]] == ["sibling", "main", "quiet"]
    assert [row["rank"] for row in body["rows"]] == [1, 2, None]
    assert body["best"]["branch"] == "sibling" and body["worst"]["branch"] == "main"
    assert body["average"] == pytest.approx((1.0 + 5 / 8) / 2)
    assert body["higher_is_better"] is True and body["region"] == "east"
    assert body["date_to"] == "2026-11-20" and body["previous_to"] == "2026-10-21"


def test_the_region_api_is_for_regional_heads(as_user, branch_head, teller, lobby_manager):
    assert as_user(branch_head).get(REGION).status_code == 403
    assert as_user(teller).get(REGION).status_code == 403
    assert as_user(lobby_manager).get(REGION).status_code == 403
    assert as_user(None).get(REGION).status_code == 403


def test_the_region_api_refuses_bad_parameters(as_user, regional_head, figures):
    client = as_user(regional_head)
    assert "metric" in client.get(REGION, {"metric": "x"}).json()
    assert client.get(REGION, {"region": "west"}).status_code == 404
    assert (
        "date_to" in client.get(REGION, {"date_from": "2026-11-02", "date_to": "2026-11-01"}).json()
    )


# --- targets ----------------------------------------------------------------------------------


def test_a_branch_head_reads_and_sets_targets(as_user, branch_head, branch):
    client = as_user(branch_head)
    assert client.get(TARGETS).json() == []
    response = client.put(TARGETS, {"metric": "avg_wait_s", "value": 480}, format="json")
    assert response.status_code == 200
    assert response.json() == {
        "metric": "avg_wait_s",
        "value": 480.0,
        "unit": "seconds",
        "higher_is_better": False,
    }
    client.put(TARGETS, {"metric": "avg_wait_s", "value": 420}, format="json")
    assert KpiTarget.objects.get(branch=branch, metric="avg_wait_s").value == 420
    assert [target["value"] for target in client.get(TARGETS).json()] == [420.0]


def test_an_admin_sets_targets_too(as_user, branch):
    admin = UserFactory()
    MembershipFactory(user=admin, branch=branch, role=Role.ADMIN)
    response = as_user(admin).put(
        TARGETS, {"metric": "within_target_share", "value": 0.85}, format="json"
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"metric": "nonsense", "value": 1}, "metric"),
        ({"metric": "within_target_share", "value": 1.5}, "value"),
        ({"metric": "avg_wait_s", "value": -10}, "value"),
        ({"metric": "avg_wait_s", "value": "soon"}, "value"),
        ({"metric": "avg_wait_s"}, "value"),
        ({"value": 3}, "metric"),
    ],
)
def test_bad_targets_are_400_with_field_errors(as_user, branch_head, body, field):
    response = as_user(branch_head).put(TARGETS, body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not KpiTarget.objects.exists()


@pytest.mark.parametrize("who", ["teller", "lobby_manager", "outsider"])
def test_only_heads_and_admins_touch_targets(as_user, request, branch, who):
    user = request.getfixturevalue(who)
    client = as_user(user)
    assert client.get(TARGETS).status_code == 403
    response = client.put(TARGETS, {"metric": "avg_wait_s", "value": 300}, format="json")
    assert response.status_code == 403
    assert not KpiTarget.objects.filter(branch=branch).exists()
