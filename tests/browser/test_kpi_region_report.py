"""Issue 9, item 3: a regional head ranks the region's branches (bar chart drawn, best and
worst named) and opens a branch's monthly report, which prints without the navigation (print
stylesheet) from a button without inline JS. Saves docs/screenshots/journey-kpi-region.png and
journey-kpi-report.png."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from accounts.timeutil import branch_today
from kpi.models import KpiRollup, KpiTarget
from kpi.periods import previous_month

from ..factories import BranchFactory, RegionFactory, RegionMembershipFactory, UserFactory
from .conftest import login, screenshot

pytestmark = pytest.mark.browser


def rollup(branch, day, **sums):
    KpiRollup.objects.create(branch=branch, day=day, hour=10, weekday=day.weekday(), **sums)


@pytest.fixture
def region_head(branch, cash, teller):
    region = RegionFactory(code="east", name="华东片区", name_en="East")
    branch.region = region
    branch.save(update_fields=["region"])
    north = BranchFactory(code="north", name="北街支行", name_en="North Road", region=region)
    BranchFactory(code="quiet", name="新区支行", name_en="New Town", region=region)
    today = branch_today(branch)
    last_month = previous_month(today.replace(day=1))
    for day in (today - timedelta(days=3), last_month + timedelta(days=9)):
        rollup(
            branch,
            day,
            service=cash,
            teller=teller,
            customers=20,
            waited=20,
            wait_within_target=15,
            wait_sum_s=20 * 420,
            served=19,
            completed=18,
            handled=19,
            handle_sum_s=19 * 300,
            surveys_sent=8,
            responses=3,
            csat_count=3,
            csat_sum=13,
            csat_satisfied=2,
        )
        rollup(north, day, customers=12, waited=12, wait_within_target=11, wait_sum_s=12 * 200)
    KpiTarget.objects.create(branch=branch, metric="within_target_share", value=0.9)
    user = UserFactory(username="regional", first_name="Wang", last_name="Fang")
    RegionMembershipFactory(user=user, region=region, role="head")
    return user


def test_a_regional_head_ranks_branches_and_prints_a_monthly_report(open_page, region_head):
    page = open_page("/login/", locale="en-US")
    login(page, "regional", next_path="/kpi/region/")
    expect(page.locator(".kpi-best")).to_contain_text("North Road")
    expect(page.locator(".kpi-worst")).to_contain_text("Main Street Branch")
    expect(page.locator("table.kpi-table tbody tr").last).to_contain_text("no data")
    expect(page.locator(".kpi-chart canvas").first).to_be_visible()
    screenshot(page, "kpi-region")

    page.goto("/kpi/report/?branch=main")
    expect(page.locator("h1")).to_contain_text("monthly report")
    expect(page.locator(".report-section").first).to_contain_text("90%")
    # A stub for the print dialog (the expression ends in 0: Playwright would call a function).
    page.evaluate("window.__printed = 0; window.print = () => { window.__printed += 1; }; 0")
    page.locator("[data-print]").click()
    assert page.evaluate("window.__printed") == 1
    screenshot(page, "kpi-report")
    page.emulate_media(media="print")
    expect(page.locator(".topbar")).to_be_hidden()
    expect(page.locator(".report-tools")).to_be_hidden()
    expect(page.locator(".kpi-table__exports").first).to_be_hidden()
    expect(page.locator(".report-section").first).to_be_visible()
