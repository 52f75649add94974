"""Issue 9, item 7: the branch head opens the dashboard, filters a week, downloads a CSV and an
XLSX, and reads tomorrow's staffing advice. Saves docs/screenshots/journey-kpi-*.png."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.urls import NoReverseMatch, reverse
from openpyxl import load_workbook
from playwright.sync_api import expect

from accounts.timeutil import branch_today
from kpi.models import KpiRollup, KpiTarget

from .conftest import assert_htmx_loaded, login, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def last_weeks(branch, cash, loans, teller):
    """Three weeks of rollups: cash every day at 10:00 (12 customers, 10 waited 6 min each),
    loans on weekdays at 14:00 (3 customers); the week before last has twice the cash."""
    today = branch_today(branch)
    for offset in range(1, 22):
        day = today - timedelta(days=offset)
        busy = 2 if offset > 7 else 1
        KpiRollup.objects.create(
            branch=branch,
            day=day,
            hour=10,
            weekday=day.weekday(),
            service=cash,
            teller=teller,
            tickets=12 * busy,
            customers=12 * busy,
            teller_open_s=3600,
            served=10 * busy,
            completed=9 * busy,
            waited=10 * busy,
            wait_sum_s=3600 * busy,
            wait_within_target=8 * busy,
            wait_b05=10 * busy,
            handled=10 * busy,
            handle_sum_s=3000 * busy,
        )
        if day.weekday() < 5:
            KpiRollup.objects.create(
                branch=branch,
                day=day,
                hour=14,
                weekday=day.weekday(),
                service=loans,
                tickets=3,
                customers=3,
                served=3,
                waited=3,
                wait_sum_s=900,
                wait_within_target=3,
                wait_b05=3,
            )
    KpiTarget.objects.create(branch=branch, metric="within_target_share", value=0.85)
    return today


def test_head_filters_a_week_downloads_csv_and_xlsx_and_reads_staffing(
    open_page, branch, branch_head, last_weeks
):
    page = open_page("/login/", locale="en-US")
    login(page, branch_head.username)
    assert_htmx_loaded(page)
    expect(page.locator(".kpi-live")).to_be_visible()  # today, live
    expect(page.locator(".kpi-nav")).to_be_visible()
    screenshot(page, "kpi-today")

    # Trends: the chart is drawn (ECharts) with the target line.
    page.locator(".kpi-nav a", has_text="Trends").click()
    page.wait_for_function(
        "() => document.querySelector('.kpi-chart[data-chart-drawn]') !== null", timeout=5000
    )
    # A tooltip must not break the CSP (ECharts' HTML tooltips carry style attributes).
    page.locator(".kpi-chart").first.hover()
    page.wait_for_timeout(300)
    screenshot(page, "kpi-trends")

    # Weekday x hour: both heatmaps drawn.
    page.locator(".kpi-nav a", has_text="Weekday").click()
    page.wait_for_function(
        "() => document.querySelectorAll('.kpi-chart[data-chart-drawn]').length === 2",
        timeout=5000,
    )
    screenshot(page, "kpi-heatmap")

    # Per service, one week: last Monday to Sunday.
    page.locator(".kpi-nav a", has_text="Per service").click()
    week_end = last_weeks - timedelta(days=1)
    week_start = week_end - timedelta(days=6)
    page.locator("#id_date_from").fill(week_start.isoformat())
    page.locator("#id_date_to").fill(week_end.isoformat())
    page.locator(".kpi-filters button[type=submit]").click()
    page.wait_for_url(lambda url: "date_from=" + week_start.isoformat() in url)
    services_table = page.locator("section.kpi-table").first
    cash_row = services_table.locator("tbody tr", has_text="Cash")
    expect(cash_row).to_be_visible()
    expect(cash_row.locator("td").nth(1)).to_have_text("84")  # 7 days x 12 customers
    expect(cash_row.locator("td").nth(3)).to_have_text("06:00")
    screenshot(page, "kpi-services")

    with page.expect_download() as download_info:
        services_table.locator(".kpi-table__exports a", has_text="CSV").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    rows = list(csv.reader(io.StringIO(download.path().read_text(encoding="utf-8-sig"))))
    assert rows[0][:3] == ["Service", "Customers", "Served"]
    cash_csv = next(row for row in rows if row[0].endswith("Cash"))
    assert float(cash_csv[1]) == 84

    with page.expect_download() as download_info:
        services_table.locator(".kpi-table__exports a", has_text="XLSX").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx")
    sheet = load_workbook(io.BytesIO(download.path().read_bytes())).active
    values = {row[0]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    cash_xlsx = next(row for name, row in values.items() if name and name.endswith("Cash"))
    assert cash_xlsx[1] == 84 and cash_xlsx[2] == 70

    # Tomorrow's staffing advice (helper F's page).
    try:
        reverse("kpi:staffing")
    except NoReverseMatch:
        pytest.skip("kpi:staffing is not wired yet: the journey stops before the staffing step")
    page.locator(".kpi-nav a", has_text="Staffing").click()
    page.wait_for_url(lambda url: "/kpi/staffing/" in url)
    tomorrow = last_weeks + timedelta(days=1)
    advice = page.locator(".staffing-tomorrow")
    if not advice.count():  # the branch does not open tomorrow: the page says so
        expect(page.locator(".staffing-closed")).to_be_visible()
        return
    expect(advice).to_have_attribute("data-day", tomorrow.isoformat())
    # Every day of the history had cash customers at 10:00: counters are needed then.
    needed = advice.locator('tr.staffing-hour[data-hour="10"] .staffing-needed')
    expect(needed).to_have_text(re.compile(r"^[1-9][0-9]*$"))
    screenshot(page, "kpi-staffing")
