"""The monthly report (issue 9, item 3): a branch's month against its targets and the month
before, per service and per teller, top errors, complaints, survey, appointments, reminders and
alerts; every table downloads; it prints (print stylesheet, a button without inline JS); who may
read which branch."""

import csv
import io
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse
from openpyxl import load_workbook

from accounts.models import Role
from kpi.models import KpiRollup, KpiTarget
from reception.models import ServiceError

from .factories import (
    BranchFactory,
    ErrorCategoryFactory,
    MembershipFactory,
    RegionFactory,
    RegionMembershipFactory,
    UserFactory,
)
from .factories_kpi import make_ticket

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI)
URL = reverse("kpi:report")
OCTOBER = date(2026, 10, 14)
SEPTEMBER = date(2026, 9, 9)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def rollup(branch, day, **sums):
    return KpiRollup.objects.create(branch=branch, day=day, hour=10, weekday=day.weekday(), **sums)


@pytest.fixture
def month_of_work(branch, cash, loans, teller):
    """October: cash by `teller` (20 customers, 16 within target of 20 waits, 19 served, 18
    completed, 2 errors), loans without a teller (5 customers, 5 waits, 1 within target);
    complaints, survey, appointments, reminders, alerts; September: 10 waits, 5 within;
    a target of 90 % within target; two errors of one category, one of another."""
    rollup(
        branch,
        OCTOBER,
        service=cash,
        teller=teller,
        customers=20,
        waited=20,
        wait_sum_s=20 * 300,
        wait_within_target=16,
        served=19,
        completed=18,
        handled=19,
        handle_sum_s=19 * 240,
        errors=2,
        surveys_sent=10,
        responses=4,
        csat_count=4,
        csat_sum=18,
        csat_satisfied=3,
        nps_count=4,
        nps_promoters=2,
        nps_detractors=1,
    )
    rollup(branch, OCTOBER, service=loans, customers=5, waited=5, wait_within_target=1)
    rollup(
        branch,
        OCTOBER,
        complaints=2,
        complaints_acknowledged=2,
        acknowledge_sum_s=2 * 3600,
        complaints_overdue=1,
        appointments=4,
        appointments_kept=3,
        reminders_due=5,
        reminders_on_time=5,
        alerts=1,
        alerts_cleared=1,
        alert_recovery_sum_s=900,
    )
    rollup(branch, SEPTEMBER, service=cash, customers=10, waited=10, wait_within_target=5)
    KpiTarget.objects.create(branch=branch, metric="within_target_share", value=0.9)
    wrong_amount = ErrorCategoryFactory(branch=branch, code="amount", name_en="Wrong amount")
    signature = ErrorCategoryFactory(branch=branch, code="signature", name_en="No signature")
    at = datetime(2026, 10, 14, 11, 0, tzinfo=SHANGHAI)
    ticket = make_ticket(branch, cash, status="done", arrived=at, teller=teller)
    for category in (wrong_amount, wrong_amount, signature):
        ServiceError.objects.create(
            branch=branch,
            ticket=ticket,
            service=cash,
            teller=teller,
            category=category,
            severity="minor",
            recorded_at=at,
        )


def get(client, user, **params):
    client.force_login(user)
    client.cookies["django_language"] = "en"
    return client.get(URL, params)


def test_it_reports_the_month_against_target_and_the_month_before(
    client, branch_head, month_of_work
):
    response = get(client, branch_head, month="2026-10")
    assert response.status_code == 200
    text = response.content.decode()
    headline = {row["label"]: row for row in response.context["headline"]}
    within = headline["Served within target wait"]
    # October: 17 of 25 waits within target; September 5 of 10; target 90 %.
    assert within["value"] == "68%" and within["target"] == "90%" and within["previous"] == "50%"
    assert within["change"] == "+18%" and within["better"] is True
    assert within["meets_target"] is False
    assert headline["Customers"]["value"] == "25"
    services = response.context["services"]["rows"]
    assert [cells[0] for cells in services] == ["A Cash", "E Loans"]
    tellers = response.context["tellers"]["rows"]
    assert [cells[0] for cells in tellers] == ["teller"]
    errors = response.context["errors"]["rows"]
    assert [cells[:2] for cells in errors] == [["Wrong amount", "2"], ["No signature", "1"]]
    survey = {row["label"]: row["value"] for row in response.context["survey"]}
    assert survey["Average satisfaction (1-5)"] == "4.5"
    assert survey["Net promoter score"] == "25.0"
    assert survey["Survey response rate"] == "40%"
    complaints = {row["label"]: row["value"] for row in response.context["complaints"]}
    assert complaints["Complaints"] == "2" and complaints["Complaints overdue"] == "50%"
    care = {row["label"]: row["value"] for row in response.context["care"]}
    assert care["Appointments kept"] == "75%"
    assert care["Care reminders done on time"] == "100%"
    assert "Print / Save as PDF" in text
    assert "4 responses to 10 surveys sent" in text


def test_the_print_button_and_stylesheet_work_under_csp(client, branch_head, month_of_work):
    text = get(client, branch_head, month="2026-10").content.decode()
    assert "data-print" in text and "onclick" not in text and "<script>" not in text
    assert "js/kpi-print.js" in text and "css/kpi-print.css" in text
    static = Path(settings.BASE_DIR) / "static"
    assert "window.print()" in (static / "js/kpi-print.js").read_text()
    stylesheet = (static / "css/kpi-print.css").read_text()
    assert "@media print" in stylesheet and "A4" in stylesheet and ".topbar" in stylesheet


def test_it_defaults_to_the_last_whole_month(client, branch_head, month_of_work):
    response = get(client, branch_head)
    assert response.context["month"] == date(2026, 10, 1)


def test_a_bad_month_is_said_not_a_500(client, branch_head, month_of_work):
    response = get(client, branch_head, month="2026-13")
    assert response.status_code == 200
    assert "Give the month as YYYY-MM" in response.content.decode()
    assert response.context["month"] == date(2026, 10, 1)


@pytest.mark.parametrize(
    ("slug", "first_header"),
    [
        ("headline", "Figure"),
        ("services", "Service"),
        ("tellers", "Teller"),
        ("errors", "Error category"),
        ("complaints", "Figure"),
        ("survey", "Figure"),
        ("care", "Figure"),
    ],
)
def test_every_table_downloads_as_csv_and_xlsx(
    client, branch_head, month_of_work, slug, first_header
):
    response = get(client, branch_head, month="2026-10", export=slug, format="csv")
    assert response.status_code == 200
    assert f"{slug}-main-2026-10.csv" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][0] == first_header and len(rows) > 1
    response = get(client, branch_head, month="2026-10", export=slug, format="xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet["A1"].value == first_header


def test_the_headline_download_carries_numbers_and_units(client, branch_head, month_of_work):
    response = get(client, branch_head, month="2026-10", export="headline", format="csv")
    rows = {row[0]: row for row in csv.reader(io.StringIO(response.content.decode("utf-8-sig")))}
    within = rows["Served within target wait"]
    assert within[1] == "share (0–1)"
    assert float(within[2]) == pytest.approx(0.68) and float(within[3]) == pytest.approx(0.9)


def test_an_unknown_download_is_a_400(client, branch_head, month_of_work):
    assert get(client, branch_head, export="headline", format="pdf").status_code == 400
    assert get(client, branch_head, export="nothing", format="csv").status_code == 400


def test_it_answers_in_a_fixed_number_of_queries(
    client, branch_head, month_of_work, django_assert_max_num_queries
):
    client.force_login(branch_head)
    client.get(URL, {"month": "2026-10"})
    with django_assert_max_num_queries(20):
        assert client.get(URL, {"month": "2026-10"}).status_code == 200


# --- who reads which branch -------------------------------------------------------------------


def test_a_branch_head_may_not_read_another_branch(client, branch_head, month_of_work):
    BranchFactory(code="elsewhere")
    assert get(client, branch_head, branch="elsewhere").status_code == 404


def test_a_regional_head_reads_a_branch_of_their_region(client, branch, month_of_work):
    region = RegionFactory()
    branch.region = region
    branch.save(update_fields=["region"])
    BranchFactory(code="sibling", region=region)
    BranchFactory(code="foreign", region=RegionFactory())
    head = UserFactory(username="regional")
    RegionMembershipFactory(user=head, region=region, role="head")
    chooser = get(client, head)
    assert chooser.status_code == 200
    assert "?branch=main" in chooser.content.decode()
    assert "?branch=sibling" in chooser.content.decode()
    assert "foreign" not in chooser.content.decode()
    response = get(client, head, branch="main", month="2026-10")
    assert response.status_code == 200 and response.context["branch"] == branch
    assert get(client, head, branch="foreign").status_code == 404


@pytest.mark.parametrize("role", [Role.TELLER, Role.LOBBY_MANAGER])
def test_tellers_and_lobby_managers_may_not_read_it(client, branch, role):
    user = UserFactory()
    MembershipFactory(user=user, branch=branch, role=role)
    assert get(client, user).status_code == 403
