"""The branch head's dashboards (trends, heatmap, per service, per teller), a teller's own
figures, the live "today" block: figures from KpiRollup rows, exports, filters, roles, queries."""

import csv
import io
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from openpyxl import load_workbook

from accounts.models import RegionRole, Role
from kpi.definitions import GRANULARITY_LABELS, METRIC_LABELS
from kpi.forms import MAX_RANGE_DAYS, KpiFilterForm
from kpi.metrics import METRICS
from kpi.models import KpiRollup, KpiTarget
from kpi.selectors import heatmap_cells, trend_rows, weekday_counts
from queueing import services as queue
from reception.models import LobbyAlert, ServiceError

from .factories import (
    ErrorCategoryFactory,
    MembershipFactory,
    RegionFactory,
    RegionMembershipFactory,
    ServiceFactory,
    UserFactory,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)  # a Monday
TODAY = NOW.date()


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def rollup(branch, day: date, hour: int = 10, **sums) -> KpiRollup:
    return KpiRollup.objects.create(
        branch=branch, day=day, hour=hour, weekday=day.weekday(), **sums
    )


@pytest.fixture
def second_teller(branch):
    user = UserFactory(username="teller2", first_name="Li", last_name="Na")
    MembershipFactory(user=user, branch=branch, role=Role.TELLER)
    return user


@pytest.fixture
def history(branch, cash, loans, teller, second_teller):
    """Yesterday: cash served by `teller` (10 customers, 8 waited 300 s each, 6 within
    target); loans served by teller2 (4 customers, 4 waited 1200 s); a day in August."""
    yesterday = TODAY - timedelta(days=1)
    rollup(
        branch,
        yesterday,
        10,
        service=cash,
        teller=teller,
        customers=10,
        served=8,
        completed=6,
        waited=8,
        wait_sum_s=2400,
        wait_within_target=6,
        wait_b04=8,
        handled=8,
        handle_sum_s=2400,
        errors=2,
    )
    rollup(
        branch,
        yesterday,
        14,
        service=loans,
        teller=second_teller,
        customers=4,
        served=4,
        completed=4,
        waited=4,
        wait_sum_s=4800,
        wait_within_target=4,
        wait_b12=4,
    )
    rollup(branch, date(2026, 8, 3), 11, service=cash, teller=teller, customers=3, served=3)
    return yesterday


def head_client(client, user):
    client.force_login(user)
    client.cookies["django_language"] = "en"
    return client


# --- definitions, form, selectors -----------------------------------------------------------


def test_every_metric_has_a_label_and_every_granularity_is_offered():
    assert set(METRIC_LABELS) == set(METRICS)
    assert list(GRANULARITY_LABELS) == ["day", "week", "month", "quarter", "half"]


def test_filter_defaults_to_the_last_30_days_in_the_branch_zone(branch):
    form = KpiFilterForm({}, branch=branch)
    assert form.is_valid(), form.errors
    assert form.filter.date_to == TODAY
    assert form.filter.date_from == TODAY - timedelta(days=29)


@pytest.mark.parametrize(
    "data",
    [
        {"date_from": "yesterday"},
        {"date_from": "2026-11-20", "date_to": "2026-11-01"},
        {"date_from": "2024-01-01", "date_to": "2026-01-01"},
        {"service": "999999"},
    ],
)
def test_filter_refuses_bad_input_and_falls_back_to_the_default(branch, data):
    form = KpiFilterForm(data, branch=branch)
    assert not form.is_valid()
    assert form.filter.date_to == TODAY  # the default slice, shown under the errors


def test_filter_refuses_another_branchs_service_and_teller(branch, other_branch, outsider):
    theirs = ServiceFactory(branch=other_branch)
    form = KpiFilterForm({"service": theirs.pk, "teller": outsider.pk}, branch=branch)
    assert not form.is_valid()
    assert set(form.errors) == {"service", "teller"}


def test_max_range_is_allowed_and_one_more_day_is_not(branch):
    start = date(2025, 1, 1)
    ok = KpiFilterForm(
        {"date_from": start, "date_to": start + timedelta(days=MAX_RANGE_DAYS - 1)}, branch=branch
    )
    too_long = KpiFilterForm(
        {"date_from": start, "date_to": start + timedelta(days=MAX_RANGE_DAYS)}, branch=branch
    )
    assert ok.is_valid() and not too_long.is_valid()


def test_half_years_merge_quarters_sums(branch, cash):
    rollup(branch, date(2026, 1, 5), service=cash, customers=5, waited=5, wait_sum_s=500)
    rollup(branch, date(2026, 5, 5), service=cash, customers=15, waited=15, wait_sum_s=4500)
    rollup(branch, date(2026, 8, 5), service=cash, customers=2, waited=2, wait_sum_s=200)
    rows = trend_rows(
        branch=branch, granularity="half", date_from=date(2026, 1, 1), date_to=date(2026, 11, 23)
    )
    assert [row["label"] for row in rows] == ["2026-H1", "2026-H2"]
    assert rows[0]["customers"] == 20
    # (500 + 4500) / 20 waits: a mean of the sums, not of the quarters' means (100 and 300)
    assert rows[0]["kpis"]["avg_wait_s"] == pytest.approx(250)
    assert rows[1]["kpis"]["avg_wait_s"] == pytest.approx(100)


def test_weekday_counts_and_heatmap_average_per_day_of_that_weekday(branch, cash):
    counts = weekday_counts(date(2026, 11, 2), date(2026, 11, 16))  # Mon 2nd .. Mon 16th
    assert counts[0] == 3 and counts[1] == 2 and sum(counts.values()) == 15
    rollup(branch, date(2026, 11, 2), 9, service=cash, customers=6)
    rollup(branch, date(2026, 11, 9), 9, service=cash, customers=3)
    cells = heatmap_cells(branch=branch, date_from=date(2026, 11, 2), date_to=date(2026, 11, 16))
    assert cells == [
        {
            "weekday": 0,
            "hour": 9,
            "customers": 9,
            "arrivals": 3.0,  # 9 customers over 3 Mondays
            "avg_wait_s": None,
            "waited": 0,
        }
    ]


# --- pages for the branch head ----------------------------------------------------------------


PAGES = ["kpi:trends", "kpi:heatmap", "kpi:services", "kpi:tellers"]


@pytest.mark.parametrize("name", PAGES)
def test_head_sees_each_page(client, branch_head, history, name):
    response = head_client(client, branch_head).get(reverse(name))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="kpi-nav"' in html
    assert "export=" in html and "format=xlsx" in html


def test_services_page_shows_the_figures(client, branch_head, history, cash, teller):
    category = ErrorCategoryFactory(branch=cash.branch, name_en="Wrong amount")
    ticket = queue.ticket_issue(branch=cash.branch, service=cash)
    for _ in range(2):
        ServiceError.objects.create(
            branch=cash.branch,
            ticket=ticket,
            service=cash,
            teller=teller,
            category=category,
            severity=ServiceError.Severity.MINOR,
            recorded_at=NOW - timedelta(days=1),
        )
    html = head_client(client, branch_head).get(reverse("kpi:services")).content.decode()
    assert "<td>A Cash</td>" in html and "<td>E Loans</td>" in html
    assert "05:00" in html  # cash: 2400 s over 8 waits
    assert "75%" in html  # cash: 6 of 8 within target; also resolution 6 of 8
    assert "All services" in html
    assert "Wrong amount" in html
    assert "17%" in html  # 2 errors / 12 served (both services)


def test_trends_page_draws_the_metric_and_the_target(client, branch_head, branch, history):
    KpiTarget.objects.create(branch=branch, metric="avg_wait_s", value=600)
    response = head_client(client, branch_head).get(
        reverse("kpi:trends"), {"metric": "avg_wait_s", "granularity": "day"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "data-chart=" in html and "&quot;target&quot;: 600" in html
    assert str(history) in html  # the period of yesterday's row
    assert "10:00" in html  # the target shown as a time; (2400 + 4800) / 12 = 600 s too


def test_trends_refuses_an_unknown_metric_with_a_form_error(client, branch_head, history):
    response = head_client(client, branch_head).get(
        reverse("kpi:trends"), {"metric": "drop table", "granularity": "fortnight"}
    )
    assert response.status_code == 200
    assert 'class="kpi-errors"' in response.content.decode()


@pytest.mark.parametrize("name", PAGES)
def test_bad_dates_are_a_form_error_not_a_500(client, branch_head, name):
    response = head_client(client, branch_head).get(
        reverse(name), {"date_from": "2026-13-45", "date_to": "x", "teller": "abc"}
    )
    assert response.status_code == 200
    assert 'class="kpi-errors"' in response.content.decode()


def test_heatmap_page_has_both_charts(client, branch_head, history):
    html = head_client(client, branch_head).get(reverse("kpi:heatmap")).content.decode()
    assert html.count('class="kpi-chart"') == 2
    assert "&quot;type&quot;: &quot;heatmap&quot;" in html


def test_filters_narrow_the_slice(client, branch_head, history, cash):
    html = (
        head_client(client, branch_head)
        .get(reverse("kpi:services"), {"service": cash.pk})
        .content.decode()
    )
    assert "<td>A Cash</td>" in html and "<td>E Loans</td>" not in html
    html = client.get(
        reverse("kpi:services"), {"date_from": "2026-08-01", "date_to": "2026-08-31"}
    ).content.decode()
    assert "<td>E Loans</td>" not in html and "<td>A Cash</td>" in html


# --- exports --------------------------------------------------------------------------------


def test_csv_export_has_the_header_and_the_values(client, branch_head, history):
    response = head_client(client, branch_head).get(
        reverse("kpi:services"), {"export": "services", "format": "csv"}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Service", "Customers", "Served"]
    cash_row = next(row for row in rows if row[0] == "A Cash")
    assert cash_row[1] == "10" and cash_row[2] == "8"  # counts as integers
    assert float(cash_row[3]) == pytest.approx(300)  # average wait, seconds


def test_xlsx_export_opens_and_holds_numbers(client, branch_head, history):
    response = head_client(client, branch_head).get(
        reverse("kpi:tellers"), {"export": "tellers", "format": "xlsx"}
    )
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    header = [cell.value for cell in sheet[1]]
    assert header[:3] == ["Teller", "Customers", "Served"]
    values = {row[0]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert values["teller"][1] == 10  # August is outside the default 30 days
    assert values["Li Na"][2] == 4


def test_trend_and_heatmap_and_errors_export(client, branch_head, history):
    c = head_client(client, branch_head)
    for name, slug in [
        ("kpi:trends", "trend"),
        ("kpi:heatmap", "heatmap"),
        ("kpi:services", "errors-by-category"),
    ]:
        response = c.get(reverse(name), {"export": slug, "format": "csv"})
        assert response.status_code == 200, name
        assert response.content.decode("utf-8-sig").splitlines()[0]


@pytest.mark.parametrize(
    "params",
    [
        {"export": "services", "format": "pdf"},
        {"export": "nothing", "format": "csv"},
        {"export": "services", "format": "csv", "date_from": "bad"},
    ],
)
def test_unknown_export_is_a_400(client, branch_head, params):
    response = head_client(client, branch_head).get(reverse("kpi:services"), params)
    assert response.status_code == 400


# --- roles --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [*PAGES, "kpi:today"])
def test_teller_and_lobby_manager_are_refused_branch_pages(client, teller, lobby_manager, name):
    for user in (teller, lobby_manager):
        client.force_login(user)
        assert client.get(reverse(name)).status_code == 403


@pytest.mark.parametrize("name", PAGES)
def test_another_branchs_head_sees_only_their_own_branch(client, history, other_branch, name):
    head = UserFactory(username="otherhead")
    MembershipFactory(user=head, branch=other_branch, role=Role.BRANCH_HEAD)
    html = head_client(client, head).get(reverse(name)).content.decode()
    assert "<td>A Cash</td>" not in html and "Li Na" not in html and "teller2" not in html


def test_teller_sees_only_their_own_row_whatever_the_parameters(
    client, teller, second_teller, history
):
    client.force_login(teller)
    client.cookies["django_language"] = "en"
    for params in ({}, {"teller": second_teller.pk}, {"teller": "x"}):
        response = client.get(reverse("kpi:mine"), params)
        html = response.content.decode()
        assert response.status_code == 200
        assert "is-mine" in html
        assert "Li Na" not in html
        assert "20:00" not in html  # teller2's average wait (1200 s)
        assert "05:00" in html  # their own
    export = client.get(
        reverse("kpi:mine"), {"teller": second_teller.pk, "export": "my-figures", "format": "csv"}
    )
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert len(rows) == 2 and rows[1][1] == "10"


def test_a_branch_head_without_a_teller_role_has_no_my_figures_page(client, branch_head):
    client.force_login(branch_head)
    assert client.get(reverse("kpi:mine")).status_code == 403


def test_a_tellers_nav_shows_only_their_page(client, teller):
    html = head_client(client, teller).get(reverse("kpi:mine")).content.decode()
    assert reverse("kpi:mine") in html
    assert reverse("kpi:tellers") not in html


# --- today live -----------------------------------------------------------------------------


def test_today_live_fragment_shows_queue_alerts_and_refreshes(client, branch_head, branch, cash):
    queue.ticket_issue(branch=branch, service=cash)
    LobbyAlert.objects.create(
        branch=branch,
        service=cash,
        kind=LobbyAlert.Kind.WAIT_OVER_TARGET,
        suggestion=LobbyAlert.Suggestion.OPEN_COUNTER,
        raised_at=NOW,
        waiting=7,
        longest_wait_seconds=900,
        target_wait_seconds=600,
        open_counters=1,
    )
    c = head_client(client, branch_head)
    page = c.get(reverse("kpi:today")).content.decode()
    assert f'hx-get="{reverse("kpi:today-live")}"' in page and "every 30s" in page
    fragment = c.get(reverse("kpi:today-live"))
    html = fragment.content.decode()
    assert fragment.status_code == 200
    assert "<html" not in html
    assert "Open a counter" in html and "7 waiting" in html
    assert 'data-live="waiting">1<' in html


def test_today_live_refused_to_a_teller(client, teller):
    client.force_login(teller)
    assert client.get(reverse("kpi:today-live")).status_code == 403


# --- query budgets --------------------------------------------------------------------------


@pytest.mark.parametrize("name", [*PAGES, "kpi:today", "kpi:today-live"])
def test_query_budget_does_not_grow_with_rollup_rows(
    client, branch_head, branch, cash, teller, django_assert_max_num_queries, name
):
    c = head_client(client, branch_head)
    c.get(reverse(name))  # warm the caches (staff access, branch setup)
    for offset in range(40):
        for hour in (9, 10, 11):
            rollup(branch, TODAY - timedelta(days=offset), hour, service=cash, teller=teller)
    with django_assert_max_num_queries(12):
        assert c.get(reverse(name)).status_code == 200


def test_query_budget_of_my_figures(client, teller, branch, cash, django_assert_max_num_queries):
    client.force_login(teller)
    client.get(reverse("kpi:mine"))
    for offset in range(40):
        rollup(branch, TODAY - timedelta(days=offset), 10, service=cash, teller=teller)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("kpi:mine")).status_code == 200


def test_the_region_link_is_for_regional_heads_only(client, branch_head, branch):
    c = head_client(client, branch_head)
    assert reverse("kpi:region") not in c.get(reverse("kpi:trends")).content.decode()
    region = RegionFactory()
    branch.region = region
    branch.save(update_fields=["region"])
    RegionMembershipFactory(user=branch_head, region=region, role=RegionRole.HEAD)
    assert reverse("kpi:region") in c.get(reverse("kpi:trends")).content.decode()


# --- targets' admin (kpi/admin_targets.py, imported by kpi/admin.py) ------------------------------


def test_a_branch_admin_sets_their_own_branchs_targets_only(client, branch, other_branch):
    KpiTarget.objects.create(branch=branch, metric="avg_wait_s", value=600)
    theirs = KpiTarget.objects.create(branch=other_branch, metric="avg_wait_s", value=900)
    admin_user = UserFactory(username="branch-admin", is_staff=True)
    MembershipFactory(user=admin_user, branch=branch, role=Role.ADMIN)
    client.force_login(admin_user)
    listing = client.get(reverse("admin:kpi_kpitarget_changelist"))
    assert listing.status_code == 200
    assert {t.branch_id for t in listing.context["cl"].result_list} == {branch.pk}
    assert client.get(reverse("admin:kpi_kpitarget_change", args=[theirs.pk])).status_code == 404
    added = client.post(
        reverse("admin:kpi_kpitarget_add"),
        {"branch": branch.pk, "metric": "within_target_share", "value": "0.85"},
    )
    assert added.status_code == 302
    assert KpiTarget.objects.get(branch=branch, metric="within_target_share").value == 0.85
    refused = client.post(
        reverse("admin:kpi_kpitarget_add"),
        {"branch": branch.pk, "metric": "not_a_kpi", "value": "1"},
    )
    assert refused.status_code == 200 and not KpiTarget.objects.filter(metric="not_a_kpi")
