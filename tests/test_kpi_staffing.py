"""Staffing advice: Erlang C / Erlang A (kpi/staffing.py), the forecast (kpi/forecast.py), the
page /kpi/staffing/ and GET /api/kpi/staffing/."""

import csv
import io
import math
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from accounts.models import BranchClosedDay, Role
from kpi import forecast, staffing
from kpi.models import KpiRollup
from kpi.selectors import staffing_week

from .factories import MembershipFactory, UserFactory

# --- Erlang C: the published example ----------------------------------------------------------
# 100 calls in 30 minutes, 180 s handling, 14 agents, 20 s target: P(wait) 0.1741,
# service level 0.888, ASA 7.84 s (e.g. the Erlang C worked example in callcentrehelper.com
# and Koole, "Call center mathematics", ch. 4).
RATE = 100 / 1800
AHT = 180


def test_erlang_c_matches_the_published_example():
    result = staffing.erlang_c(RATE, AHT, 14)
    assert result.offered_load == pytest.approx(10.0)
    assert result.p_wait == pytest.approx(0.1741, abs=5e-5)
    assert result.service_level(20) == pytest.approx(0.888, abs=5e-4)
    assert result.asa_s == pytest.approx(7.84, abs=5e-3)
    assert result.occupancy == pytest.approx(10 / 14)


def test_agents_needed_for_the_published_example():
    # The example's conclusion: 13 agents reach only 79.6 % within 20 s, so 80 % needs 14.
    assert staffing.erlang_c(RATE, AHT, 13).service_level(20) == pytest.approx(0.7956, abs=5e-4)
    assert staffing.agents_needed(RATE, AHT, 0.8, 20) == 14
    assert staffing.agents_needed(RATE, AHT, 0.88, 20) == 14
    assert staffing.agents_needed(RATE, AHT, 0.9, 20) == 15
    assert staffing.agents_needed(RATE, AHT, 0.6, 20) == 12


def test_erlang_b_recursion_is_stable_for_many_agents():
    result = staffing.erlang_c(180 / 3600 * 40, 300 / 10, 200)  # load 60 on 200 counters
    assert 0 <= result.p_wait < 1e-20
    big = staffing.erlang_c(1.0, 190, 200)  # load 190 on 200: heavy but stable
    assert 0 < big.p_wait < 1
    assert math.isfinite(big.asa_s)
    assert staffing.agents_needed(1.0, 190, 0.8, 20) > 190


def test_erlang_c_is_monotone_in_agents():
    levels = [staffing.erlang_c(RATE, AHT, c).service_level(20) for c in range(11, 30)]
    waits = [staffing.erlang_c(RATE, AHT, c).p_wait for c in range(11, 30)]
    assert levels == sorted(levels)
    assert waits == sorted(waits, reverse=True)
    assert levels[-1] > 0.999


@pytest.mark.parametrize("agents", [0, 5, 10])
def test_load_at_or_above_the_counters_waits_forever(agents):
    result = staffing.erlang_c(RATE, AHT, agents)
    assert not result.stable
    assert result.p_wait == 1.0
    assert result.asa_s == math.inf
    assert result.service_level(20) == 0.0
    assert staffing.agents_needed(RATE, AHT, 0.5, 3600) > 10


def test_nobody_coming_needs_no_counter():
    assert staffing.agents_needed(0.0, AHT, 0.8, 20) == 0
    assert staffing.erlang_c(0.0, AHT, 2).service_level(0) == 1.0


def test_unreachable_or_bad_targets_are_refused():
    with pytest.raises(ValueError):
        staffing.agents_needed(RATE, AHT, 0.8, 20, max_agents=11)
    for share in (0, 1, 1.5, -0.1):
        with pytest.raises(ValueError):
            staffing.agents_needed(RATE, AHT, share, 20)
    with pytest.raises(ValueError):
        staffing.agents_needed(RATE, AHT, 0.8, math.nan)
    with pytest.raises(ValueError):
        staffing.erlang_c(RATE, 0, 3)
    with pytest.raises(ValueError):
        staffing.erlang_c(-1, AHT, 3)


# --- Erlang A ----------------------------------------------------------------------------------
# Reference: a discrete-event simulation of M/M/9+M (lambda 1/18 s, 180 s handling, 300 s mean
# patience) over 2e7 s (1.1 million arrivals) gave P(wait) 0.7342, P(abandon) 0.1631, mean
# wait 48.96 s, served within 20 s 0.3671, within 120 s 0.7393 (run while writing this module).


def test_erlang_a_agrees_with_a_long_simulation():
    result = staffing.erlang_a(RATE, AHT, 9, 300)
    assert result.p_wait == pytest.approx(0.7342, abs=0.003)
    assert result.p_abandon == pytest.approx(0.1631, abs=0.002)
    assert result.mean_wait_s == pytest.approx(48.96, abs=0.5)
    assert result.service_level(20) == pytest.approx(0.3671, abs=0.003)
    assert result.service_level(120) == pytest.approx(0.7393, abs=0.003)


def test_erlang_a_tends_to_erlang_c_for_patient_customers():
    patient = staffing.erlang_a(RATE, AHT, 14, 1e9)
    exact = staffing.erlang_c(RATE, AHT, 14)
    assert patient.p_wait == pytest.approx(exact.p_wait, rel=1e-4)
    assert patient.mean_wait_s == pytest.approx(exact.asa_s, rel=1e-3)
    assert patient.service_level(20) == pytest.approx(exact.service_level(20), abs=1e-4)
    assert patient.p_abandon < 1e-6


def test_erlang_a_is_stable_above_full_load_and_never_asks_for_more_than_c():
    overloaded = staffing.erlang_a(RATE, AHT, 8, 300)  # load 10 on 8 counters
    assert 0 < overloaded.p_abandon < 1
    assert math.isfinite(overloaded.mean_wait_s)
    levels = [staffing.erlang_a(RATE, AHT, c, 300).service_level(20) for c in range(1, 25)]
    assert levels == sorted(levels)
    for share, wait in ((0.8, 20), (0.9, 60), (0.6, 300)):
        needed_a = staffing.agents_needed_a(RATE, AHT, 300, share, wait)
        assert needed_a <= staffing.agents_needed(RATE, AHT, share, wait)
        result = staffing.erlang_a(RATE, AHT, needed_a, 300)
        assert result.service_level(wait) >= share
        assert staffing.erlang_a(RATE, AHT, needed_a - 1, 300).service_level(wait) < share


def test_patience_comes_from_walk_aways_only_when_there_are_enough():
    assert staffing.patience_from_history(6000, 4) is None
    assert staffing.patience_from_history(6000, 10) == 600


def test_advise_per_hour():
    cells = [
        staffing.HourDemand(key="10", arrivals=200, mean_handle_s=AHT),
        staffing.HourDemand(key="11", arrivals=200, mean_handle_s=AHT, patience_s=300),
        staffing.HourDemand(key="12", arrivals=0, mean_handle_s=AHT),
        staffing.HourDemand(key="13", arrivals=5, mean_handle_s=None),
    ]
    ten, eleven, noon, one = staffing.advise(cells, target_share=0.8, target_wait_s=20)
    assert ten.needed_c == 14 and ten.needed_a is None
    assert ten.service_level_c >= 0.8
    assert eleven.needed_c == 14 and 0 < eleven.needed_a <= 14
    assert noon.needed_c == 0
    assert one.needed_c is None


# --- forecast ---------------------------------------------------------------------------------

MONDAY = date(2026, 11, 23)


def _row(day, hour, tickets, **extra):
    return {"day": day, "hour": hour, "tickets": tickets, **extra}


def test_forecast_weights_recent_weeks_and_skips_closed_days():
    start = MONDAY
    history = [
        _row(start - timedelta(days=7), 10, 40, handle_sum_s=4000, handled=40, teller_open_s=7200),
        _row(start - timedelta(days=14), 10, 20, handle_sum_s=2000, handled=20),
        _row(start - timedelta(days=21), 10, 999),  # a closed day's stray row: ignored
        _row(start - timedelta(days=28), 9, 5),  # open that day, nobody at 10:00
        _row(start - timedelta(days=6), 10, 77),  # a Tuesday: not Monday's history
    ]
    [cell] = forecast.forecast_week(
        history,
        start=start,
        hours=[10],
        days=1,
        closed_days=[start - timedelta(days=21)],
        alpha=0.5,
    )
    # weights 0.5, 0.25, (closed), 0.0625 -> (0.5*40 + 0.25*20 + 0.0625*0) / 0.8125
    assert cell.arrivals == pytest.approx(25 / 0.8125)
    assert cell.weeks_seen == 3
    assert cell.mean_handle_s == pytest.approx(100)
    assert cell.open_last_week == pytest.approx(2.0)


def test_forecast_of_a_closed_day_or_without_history():
    history = [_row(MONDAY - timedelta(days=7), 10, 12)]
    cells = forecast.forecast_week(
        history, start=MONDAY, hours=[10, 11], days=2, closed_days=[MONDAY], default_handle_s=300
    )
    assert [(c.day, c.hour) for c in cells] == [
        (MONDAY + timedelta(days=1), 10),
        (MONDAY + timedelta(days=1), 11),
    ]
    assert all(c.arrivals == 0 and c.weeks_seen == 0 for c in cells)
    assert all(c.mean_handle_s == 300 and c.open_last_week is None for c in cells)


# --- page and API -------------------------------------------------------------------------------

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 15, 0, tzinfo=SHANGHAI)  # a Monday: tomorrow is Tuesday 24th
TOMORROW = date(2026, 11, 24)
URL = reverse("kpi:staffing")
API = reverse("api:kpi-staffing")


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def history(branch, cash, teller):
    """Eight weeks, every weekday 9-16: 30 customers an hour at 10:00, 10 otherwise, 5
    minutes' handling; two counters open, four at 10:00 a week before tomorrow;
    walk-aways who waited 6000 s in all."""
    rows = []
    for back in range(1, 57):
        day = TOMORROW - timedelta(days=back)
        for hour in range(9, 17):
            tickets = 30 if hour == 10 else 10
            open_counters = 4 if (day == TOMORROW - timedelta(days=7) and hour == 10) else 2
            rows.append(
                KpiRollup(
                    branch=branch,
                    day=day,
                    hour=hour,
                    weekday=day.weekday(),
                    service=cash,
                    tickets=tickets,
                    customers=tickets,
                    handled=tickets,
                    handle_sum_s=tickets * 300.0,
                    teller_open_s=open_counters * 3600.0,
                    waited=tickets,
                    wait_sum_s=tickets * 100.0,
                    walkaways=1,
                )
            )
    KpiRollup.objects.bulk_create(rows)
    return rows


def test_staffing_week_forecasts_and_compares_with_last_week(clock, branch, history):
    week = staffing_week(branch=branch, target_share=0.8, target_wait_s=600)
    assert week["start"] == TOMORROW
    assert [d["day"] for d in week["days"]] == [TOMORROW + timedelta(days=i) for i in range(7)]
    ten = next(r for r in week["days"][0]["hours"] if r["hour"] == 10)
    assert ten["arrivals"] == pytest.approx(30)
    assert ten["mean_handle_s"] == pytest.approx(300)
    # load 2.5 counters, 80 % within 10 minutes: Erlang C says 4; 4 were open a week before.
    assert ten["needed"] == staffing.agents_needed(30 / 3600, 300, 0.8, 600) == 4
    assert ten["open_last_week"] == pytest.approx(4)
    assert ten["short"] is False
    # Patience: 8 weeks x 7 days x 8 hours of walk-aways 1 an hour, waits 100 s each.
    assert week["patience_s"] == pytest.approx(sum(r.wait_sum_s for r in history) / len(history))
    assert ten["needed_a"] is not None and ten["needed_a"] <= ten["needed"]


def test_a_stricter_target_asks_for_more_than_was_open(clock, branch, history):
    week = staffing_week(branch=branch, target_share=0.95, target_wait_s=60)
    ten = next(r for r in week["days"][0]["hours"] if r["hour"] == 10)
    assert ten["needed"] == staffing.agents_needed(30 / 3600, 300, 0.95, 60) > 4
    assert ten["short"] is True


def test_default_target_wait_is_the_services_weighted_by_use(clock, branch, cash, loans, history):
    week = staffing_week(branch=branch)
    assert week["target_share"] == 0.8
    assert week["target_wait_s"] == 600  # all the history is cash (10 min); loans unused


def test_closed_days_are_left_out(clock, branch, history):
    BranchClosedDay.objects.create(branch=branch, date=TOMORROW + timedelta(days=1))
    week = staffing_week(branch=branch)
    assert TOMORROW + timedelta(days=1) not in [d["day"] for d in week["days"]]
    assert week["closed"] == [TOMORROW + timedelta(days=1)]


@pytest.fixture
def head_client(client, branch_head):
    client.force_login(branch_head)
    client.cookies["django_language"] = "en"
    return client


def test_page_shows_tomorrow_first_with_its_10_oclock_advice(
    clock, head_client, history, django_assert_max_num_queries
):
    with django_assert_max_num_queries(14):
        response = head_client.get(URL, {"share": "95", "wait_minutes": "1"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Tomorrow, Tuesday 24 November" in html
    tomorrow = html[html.index('class="staffing-tomorrow"') : html.index('class="staffing-week"')]
    row = tomorrow[tomorrow.index('data-hour="10"') :]
    row = row[: row.index("</tr>")]
    needed = staffing.agents_needed(30 / 3600, 300, 0.95, 60)
    assert f'staffing-needed">{needed}</td>' in row
    assert "too few" in row
    assert "is-short" in tomorrow[tomorrow.index('data-hour="10"') - 60 :][:80]


def test_bad_target_is_a_form_error_not_a_500(clock, head_client, history):
    response = head_client.get(URL, {"share": "120", "wait_minutes": "soon"})
    assert response.status_code == 200
    assert "The target is not valid" in response.content.decode()
    bad_export = head_client.get(URL, {"share": "120", "export": "staffing", "format": "csv"})
    assert bad_export.status_code == 400
    assert head_client.get(URL, {"export": "staffing", "format": "pdf"}).status_code == 400
    assert head_client.get(URL, {"export": "nope", "format": "csv"}).status_code == 400


def test_export_csv_and_xlsx(clock, head_client, history):
    response = head_client.get(URL, {"export": "staffing", "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('staffing-2026-11-24.csv"')
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:2] == ["Day", "Hour"]
    ten = next(r for r in rows[1:] if r[0] == "2026-11-24" and r[1] == "10:00")
    assert int(ten[4]) == 4
    assert len(rows) == 1 + 7 * 8
    xlsx = head_client.get(URL, {"export": "staffing", "format": "xlsx"})
    assert xlsx.status_code == 200
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet.max_row == 1 + 7 * 8


def test_only_the_branch_head_sees_staffing(clock, client, branch, teller, outsider, history):
    client.force_login(teller)
    assert client.get(URL).status_code == 403
    client.force_login(outsider)
    assert client.get(URL).status_code == 403


def test_api_returns_the_week(clock, as_user, branch_head, history):
    response = as_user(branch_head).get(API, {"share": "0.8", "target_wait_s": "600"})
    assert response.status_code == 200
    data = response.json()
    assert data["start"] == "2026-11-24"
    ten = next(h for h in data["days"][0]["hours"] if h["hour"] == 10)
    assert ten["needed"] == 4
    assert ten["open_last_week"] == pytest.approx(4)


@pytest.mark.parametrize(
    "params", [{"share": "2"}, {"share": "nan"}, {"target_wait_s": "-1"}, {"target_wait_s": "x"}]
)
def test_api_bad_input_is_400(clock, as_user, branch_head, history, params):
    assert as_user(branch_head).get(API, params).status_code == 400


def test_api_refuses_tellers_and_other_branches(clock, as_user, teller, outsider):
    assert as_user(teller).get(API).status_code == 403
    assert as_user(outsider).get(API).status_code == 403


def test_a_new_branch_without_history_gets_an_empty_but_valid_week(clock, branch, cash):
    week = staffing_week(branch=branch)
    assert len(week["days"]) == 7
    assert all(
        r["needed"] == 0 and r["open_last_week"] is None for d in week["days"] for r in d["hours"]
    )


def test_an_admin_of_the_branch_may_read_it(clock, client, branch, history):
    admin = UserFactory(username="boss")
    MembershipFactory(user=admin, branch=branch, role=Role.ADMIN)
    client.force_login(admin)
    assert client.get(URL).status_code == 200


def test_hours_follow_the_opening_time(branch):
    branch.opens_at, branch.closes_at = time(8, 30), time(17, 30)
    from kpi.selectors import staffing_hours

    assert staffing_hours(branch) == list(range(8, 18))


def test_a_weekday_never_open_in_the_window_is_shown_closed(clock, branch, cash):
    sunday_free = [
        KpiRollup(branch=branch, day=day, hour=10, weekday=day.weekday(), service=cash, tickets=5)
        for back in range(1, 57)
        if (day := TOMORROW - timedelta(days=back)).weekday() != 6
    ]
    KpiRollup.objects.bulk_create(sunday_free)
    week = staffing_week(branch=branch)
    sunday = date(2026, 11, 29)
    assert sunday not in [d["day"] for d in week["days"]]
    assert sunday in week["closed"]
    assert len(week["days"]) == 6


def test_the_form_starts_with_the_defaults_the_advice_used(clock, head_client, history):
    html = head_client.get(URL).content.decode()
    assert 'name="share" value="80"' in html
    assert 'name="wait_minutes" value="10.0"' in html
    assert "80 % of customers are called within 10.0 minutes" in html
