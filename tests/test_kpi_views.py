"""The branch head's "today" page: live figures, per service and per hour, branch-scoped."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from accounts.models import Role
from feedback.models import SurveyResponse
from kpi.selectors import figures_by_service_and_hour
from queueing import services as queue
from reception.services import visit_register

from .factories import MembershipFactory, ServiceFactory, UserFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
MORNING = datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)
URL = reverse("kpi:today")


@pytest.fixture
def clock():
    with time_machine.travel(MORNING, tick=False) as traveller:
        yield traveller


def serve(ticket, counter, teller, clock, *, wait_min: int, handle_min: int) -> None:
    clock.shift(timedelta(minutes=wait_min))
    queue.ticket_call_next(counter=counter, teller=teller)
    queue.ticket_start(ticket_id=ticket.pk, by=teller)
    clock.shift(timedelta(minutes=handle_min))
    queue.ticket_finish(ticket_id=ticket.pk, by=teller)


@pytest.fixture
def busy_morning(clock, branch, cash, loans, counter, teller, lobby_manager):
    """From 10:00 (Shanghai): two cash tickets served after 4 and 20 minutes (target 10),
    handled 6 and 2 minutes; a no-show; a loans ticket still waiting; at 11:05 one more cash
    ticket waiting; one customer sent to the machines; two survey answers (4 and 5)."""
    first = queue.ticket_issue(branch=branch, service=cash)
    second = queue.ticket_issue(branch=branch, service=cash)
    serve(first, counter, teller, clock, wait_min=4, handle_min=6)  # done 10:10
    serve(second, counter, teller, clock, wait_min=10, handle_min=2)  # called 10:20, done 10:22
    clock.move_to(MORNING + timedelta(minutes=30))
    gone = queue.ticket_issue(branch=branch, service=cash)
    queue.ticket_call_next(counter=counter, teller=teller)
    queue.ticket_no_show(ticket_id=gone.pk, by=teller)
    clock.move_to(MORNING + timedelta(minutes=40))
    queue.ticket_issue(branch=branch, service=loans)
    clock.move_to(MORNING + timedelta(hours=1, minutes=5))
    queue.ticket_issue(branch=branch, service=cash)
    visit_register(
        branch=branch,
        registered_by=lobby_manager,
        phone="13900001111",
        service=cash,
        amount=500,
        divert=True,
    )
    for stars in (4, 5):
        SurveyResponse.objects.create(
            branch=branch,
            channel=SurveyResponse.Channel.COUNTER_PAD,
            satisfaction=stars,
            submitted_at=MORNING + timedelta(minutes=50),
        )


def head_of(branch, username="head2"):
    user = UserFactory(username=username)
    MembershipFactory(user=user, branch=branch, role=Role.BRANCH_HEAD)
    return user


def test_it_sends_anonymous_visitors_to_the_login(client, db):
    response = client.get(URL)
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_it_forbids_a_teller(client, teller):
    client.force_login(teller)
    assert client.get(URL).status_code == 403


def test_it_forbids_a_teller_of_another_branch(client, outsider):
    client.force_login(outsider)
    assert client.get(URL).status_code == 403


def test_it_shows_todays_figures_to_the_branch_head(client, branch_head, busy_morning):
    client.force_login(branch_head)
    response = client.get(URL)
    assert response.status_code == 200
    context = response.context
    assert (context["figures"].issued, context["figures"].served) == (5, 2)
    assert context["figures"].no_shows == 1
    assert context["avg_wait"] == "12:00"
    assert context["avg_handle"] == "04:00"
    assert context["within_target"] == "50%"
    assert context["diverted"] == 1
    assert (context["avg_satisfaction"], context["responses"]) == (4.5, 2)
    assert context["waiting_total"] == 2
    html = response.content.decode()
    for shown in ("12:00", "04:00", "50%", "4.5"):
        assert shown in html


def test_it_breaks_today_down_per_service(client, branch_head, busy_morning, cash, loans):
    client.force_login(branch_head)
    rows = {row["service"].code: row for row in client.get(URL).context["services"]}
    assert rows["cash"] | {"service": None} == {
        "service": None,
        "waiting": 1,
        "issued": 4,
        "served": 2,
        "avg_wait": "12:00",
        "within_target": "50%",
        "target_minutes": 10,
    }
    assert (rows["loan"]["waiting"], rows["loan"]["served"], rows["loan"]["avg_wait"]) == (
        1,
        0,
        "—",
    )


def test_it_counts_tickets_per_local_hour(client, branch_head, busy_morning):
    client.force_login(branch_head)
    hours = {h["hour"]: h for h in client.get(URL).context["hours"]}
    # Opening hours 09–17 are always shown; the branch's local hours, not UTC (02h/03h).
    assert sorted(hours) == list(range(9, 17))
    assert (hours[10]["issued"], hours[10]["served"]) == (4, 2)
    assert (hours[11]["issued"], hours[11]["served"]) == (1, 0)
    assert hours[9]["issued"] == 0


def test_it_draws_the_hourly_chart_without_inline_styles(client, branch_head, busy_morning):
    client.force_login(branch_head)
    html = client.get(URL).content.decode()
    assert "<svg" in html
    assert len(re.findall(r'<rect class="bar bar-issued"', html)) == 8
    assert "style=" not in html and "<style" not in html
    for tag in re.findall(r"<script[^>]*>", html):
        assert "src=" in tag


def test_it_renders_an_empty_day(client, branch_head, clock):
    client.force_login(branch_head)
    response = client.get(URL)
    assert response.status_code == 200
    assert response.context["avg_wait"] == "—"
    assert response.context["avg_satisfaction"] is None


def test_it_shows_another_branchs_head_only_their_own_figures(client, busy_morning, other_branch):
    ServiceFactory(branch=other_branch, code="cash", prefix="A", name_en="Other cash")
    client.force_login(head_of(other_branch))
    response = client.get(URL)
    assert response.status_code == 200
    assert response.context["branch"] == other_branch
    assert (response.context["figures"].issued, response.context["figures"].served) == (0, 0)
    assert response.context["diverted"] == 0 and response.context["responses"] == 0
    assert [row["waiting"] for row in response.context["services"]] == [0]


def test_it_admits_a_branch_administrator(client, branch, busy_morning):
    admin = UserFactory(username="branch-admin")
    MembershipFactory(user=admin, branch=branch, role=Role.ADMIN)
    client.force_login(admin)
    response = client.get(URL)
    assert response.status_code == 200
    assert response.context["figures"].served == 2


def test_it_groups_the_days_figures_by_service_and_local_hour(branch, busy_morning):
    grouped = figures_by_service_and_hour(branch=branch, day=MORNING.date())
    assert sorted(grouped["hours"]) == [10, 11]
    ten = grouped["hours"][10]
    assert (ten.issued, ten.served, ten.no_shows) == (4, 2, 1)
    assert ten.avg_wait_s == 12 * 60  # waits of 4 and 20 minutes
    assert (grouped["services"]["cash"].issued, grouped["services"]["loan"].issued) == (4, 1)
    assert grouped["served_per_hour"] == {10: 2}


def test_it_shows_the_time_in_the_branch_s_own_zone(client, branch_head, branch, settings):
    settings.TIME_ZONE = "Asia/Shanghai"  # the server's zone
    branch.time_zone = "Europe/London"
    branch.save(update_fields=["time_zone"])
    client.force_login(branch_head)
    with time_machine.travel(datetime(2026, 11, 23, 2, 5, tzinfo=ZoneInfo("UTC")), tick=False):
        html = client.get(reverse("kpi:today")).content.decode()
    assert "02:05" in html and "(Europe/London)" in html  # London is on UTC in November
    assert "10:05" not in html  # Shanghai's clock
