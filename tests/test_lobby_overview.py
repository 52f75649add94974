"""The lobby overview (issue 6, item 5): per service the queue, its counters, who is on the way,
appointments due, and alerts that are recorded, cleared, and acknowledged."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from queueing import services as queue
from queueing.models import Ticket
from queueing.states import TicketStatus
from reception import selectors
from reception import services as reception
from reception.models import LobbyAlert, Visit
from reception.tasks import refresh_lobby_alerts

from .factories import AppointmentFactory, CounterFactory, MembershipFactory, UserFactory


def waiting_since(branch, service, minutes: float, n: int = 1) -> list[Ticket]:
    tickets = [queue.ticket_issue(branch=branch, service=service) for _ in range(n)]
    Ticket.objects.filter(pk__in=[t.pk for t in tickets]).update(
        arrived_at=timezone.now() - timedelta(minutes=minutes)
    )
    return tickets


def arrivals_on(branch, *, days_ago: int = 0, greeted_after_min: float = 1, triage_min: float = 2):
    """A walk-in recorded by the lobby that many days ago (no ticket: answered on the spot)."""
    arrived = timezone.now() - timedelta(days=days_ago, minutes=10)
    return Visit.objects.create(
        branch=branch,
        route=Visit.Route.ANSWERED,
        registered_at=arrived + timedelta(minutes=triage_min),
        arrived_at=arrived,
        greeted_at=arrived + timedelta(minutes=greeted_after_min),
        triaged_at=arrived + timedelta(minutes=triage_min),
    )


def row_for(overview, service) -> dict:
    return next(row for row in overview["services"] if row["service"] == service)


# --- What it shows ------------------------------------------------------------------------------


def test_it_shows_each_service_s_queue_counters_remote_and_appointments(
    branch, cash, loans, counter, teller
):
    waiting_since(branch, cash, 12, n=2)
    Ticket.objects.filter(pk=waiting_since(branch, cash, 1)[0].pk).update(
        status=TicketStatus.REMOTE, is_remote=True
    )
    CounterFactory(branch=branch, number=2, serves=[loans], is_open=False)
    now = timezone.now()
    AppointmentFactory(service=loans, starts_at=now + timedelta(minutes=40))
    AppointmentFactory(service=loans, starts_at=now + timedelta(minutes=90))  # later
    AppointmentFactory(service=loans, starts_at=now, status="checked_in")  # already here
    overview = selectors.lobby_overview(branch=branch, now=now)
    cash_row, loans_row = row_for(overview, cash), row_for(overview, loans)
    assert cash_row["waiting"] == 2 and cash_row["remote"] == 1
    assert cash_row["longest_wait_min"] == 12 and cash_row["over_target"]  # target 10
    assert [c.teller for c in cash_row["open_counters"]] == [teller]
    assert loans_row["waiting"] == 0 and not loans_row["over_target"]
    assert [c.number for c in loans_row["open_counters"]] == [1]  # counter 2 is closed
    assert loans_row["appointments_due"] == 1 and len(overview["appointments"]) == 1


# --- Recording alerts ---------------------------------------------------------------------------


def test_a_wait_past_its_target_raises_one_alert_and_refreshing_again_keeps_it(
    branch, cash, counter
):
    waiting_since(branch, cash, 11)
    first = reception.lobby_alerts_refresh(branch=branch)
    again = reception.lobby_alerts_refresh(branch=branch)
    assert [(a.kind, a.suggestion) for a in first] == [("wait", "divert")]  # cash is divertible
    assert [a.pk for a in again] == [a.pk for a in first]
    alert = LobbyAlert.objects.get()
    assert alert.waiting == 1 and alert.open_counters == 1
    assert alert.target_wait_seconds == 600 and alert.longest_wait_seconds >= 660


def test_an_alert_is_cleared_when_the_queue_is_back_within_target_and_kept(
    branch, cash, counter, teller
):
    (ticket,) = waiting_since(branch, cash, 11)
    reception.lobby_alerts_refresh(branch=branch)
    queue.ticket_cancel(ticket_id=ticket.pk, by=teller, branch=branch)
    assert reception.lobby_alerts_refresh(branch=branch) == []
    alert = LobbyAlert.objects.get()
    assert alert.cleared_at is not None  # kept for the reports
    waiting_since(branch, cash, 11)
    reception.lobby_alerts_refresh(branch=branch)
    assert LobbyAlert.objects.count() == 2  # a new episode, a new row
    assert LobbyAlert.objects.filter(cleared_at__isnull=True).count() == 1


def test_people_waiting_with_no_counter_open_suggest_opening_one(branch, loans):
    waiting_since(branch, loans, 1)
    (alert,) = reception.lobby_alerts_refresh(branch=branch)
    assert (alert.kind, alert.suggestion) == ("queue", "open_counter")


def test_the_database_allows_one_open_alert_per_service_and_kind(branch, cash):
    now = timezone.now()
    fields = {
        "branch": branch,
        "service": cash,
        "kind": "wait",
        "suggestion": "divert",
        "raised_at": now,
        "waiting": 1,
        "longest_wait_seconds": 700,
        "target_wait_seconds": 600,
        "open_counters": 1,
    }
    LobbyAlert.objects.create(**fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        LobbyAlert.objects.create(**fields)
    LobbyAlert.objects.update(cleared_at=now)
    LobbyAlert.objects.create(**fields)  # the earlier one ended


def test_a_refresh_racing_another_skips_the_alert_it_already_raised(branch, cash, counter):
    """Two refreshes that both read "no open alert": the second insert is skipped, not an
    error (ON CONFLICT DO NOTHING on the partial unique constraint)."""
    waiting_since(branch, cash, 11)
    reception.lobby_alerts_refresh(branch=branch)
    from unittest import mock

    with mock.patch("reception.services.overview.open_lobby_alerts", side_effect=[[], []]):
        reception.lobby_alerts_refresh(branch=branch)
    assert LobbyAlert.objects.count() == 1


def test_the_beat_task_refreshes_every_branch(branch, other_branch, cash, counter):
    waiting_since(branch, cash, 11)
    assert refresh_lobby_alerts() == 1
    assert LobbyAlert.objects.filter(branch=branch).count() == 1


def test_the_beat_schedule_runs_it_every_minute(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["reception-lobby-alerts"]
    assert entry["task"] == "reception.tasks.refresh_lobby_alerts" and entry["schedule"] == 60.0


# --- The page -----------------------------------------------------------------------------------


def test_the_page_shows_the_alert_with_its_suggestion_and_records_it(
    client, lobby_manager, branch, cash, counter
):
    waiting_since(branch, cash, 11)
    client.force_login(lobby_manager)
    html = client.get(reverse("reception:overview")).content.decode()
    assert "Longest wait over target" in html
    assert "Divert small cash jobs to the machines" in html
    assert 'data-live-event="queue-changed"' in html
    assert 'hx-trigger="queue-changed from:body' in html
    assert LobbyAlert.objects.filter(cleared_at__isnull=True).count() == 1
    assert "<script>" not in html and 'style="' not in html


def test_it_shows_today_s_share_greeted_within_target(client, lobby_manager, branch):
    branch.greeting_target_minutes = 5
    branch.save()
    arrivals_on(branch, greeted_after_min=1, triage_min=2)
    arrivals_on(branch, greeted_after_min=7, triage_min=8)  # greeted late
    arrivals_on(branch, days_ago=1, greeted_after_min=9)  # yesterday: not today's figure
    client.force_login(lobby_manager)
    client.cookies["django_language"] = "en"
    html = client.get(reverse("reception:overview")).content.decode()
    assert "Today: 2 arrivals, 1 greeted within 5 min (50%)." in html
    assert "Median time to triage: 300 s." in html  # of 120 and 480 s


def test_acknowledging_records_who_and_when_once(client, lobby_manager, branch, cash, counter):
    waiting_since(branch, cash, 11)
    (alert,) = reception.lobby_alerts_refresh(branch=branch)
    client.force_login(lobby_manager)
    url = reverse("reception:alert_acknowledge", args=[alert.pk])
    assert client.get(url).status_code == 405
    response = client.post(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Acknowledged by lobby" in response.content.decode()
    alert.refresh_from_db()
    first = alert.acknowledged_at
    assert alert.acknowledged_by == lobby_manager and first is not None
    client.post(url)
    alert.refresh_from_db()
    assert alert.acknowledged_at == first


def test_another_branch_s_alert_cannot_be_acknowledged(client, branch, other_branch, cash, counter):
    waiting_since(branch, cash, 11)
    (alert,) = reception.lobby_alerts_refresh(branch=branch)
    manager = UserFactory(username="other-lobby")
    MembershipFactory(user=manager, branch=other_branch, role=Role.LOBBY_MANAGER)
    client.force_login(manager)
    response = client.post(reverse("reception:alert_acknowledge", args=[alert.pk]))
    assert response.status_code == 404
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.LOBBY_MANAGER, 200), (Role.BRANCH_HEAD, 200), (Role.ADMIN, 200), (Role.TELLER, 403)],
)
def test_who_may_open_the_overview(client, branch, role, status):
    user = UserFactory(username=f"u-{role}")
    MembershipFactory(user=user, branch=branch, role=role)
    client.force_login(user)
    assert client.get(reverse("reception:overview")).status_code == status
    assert client.get(reverse("reception:overview_live")).status_code == status


def test_the_fragment_s_queries_do_not_grow_with_history(
    client, lobby_manager, branch, cash, loans, counter, django_assert_max_num_queries
):
    client.force_login(lobby_manager)
    url = reverse("reception:overview_live")
    waiting_since(branch, cash, 11)
    client.get(url)  # the alert is raised: the steady state follows
    # Services, waiting and remote counts, counters + skills + their services, appointments
    # due, the open alerts (in a savepoint), today's greeting figures: 11, whatever the history.
    budget = 11
    with django_assert_max_num_queries(budget):
        assert client.get(url).status_code == 200
    # A long history: finished tickets, cleared alerts, past appointments, more queue.
    for _ in range(3):
        for ticket in waiting_since(branch, loans, 2, n=5):
            Ticket.objects.filter(pk=ticket.pk).update(status=TicketStatus.DONE)
    for n in range(20):
        LobbyAlert.objects.create(
            branch=branch,
            service=loans,
            kind="queue",
            suggestion="floating",
            raised_at=timezone.now() - timedelta(days=n + 1),
            cleared_at=timezone.now() - timedelta(days=n),
            waiting=3,
            longest_wait_seconds=1,
            target_wait_seconds=1200,
            open_counters=1,
        )
    for n in range(10):
        AppointmentFactory(service=loans, starts_at=timezone.now() - timedelta(days=n + 1))
        arrivals_on(branch, days_ago=n + 1)
    waiting_since(branch, cash, 11, n=5)  # raises "queue outgrows" too
    client.get(url)
    with django_assert_max_num_queries(budget):
        assert client.get(url).status_code == 200


# --- The API ------------------------------------------------------------------------------------


def test_the_api_gives_the_overview_and_the_alerts(as_user, lobby_manager, branch, cash, counter):
    waiting_since(branch, cash, 11)
    api = as_user(lobby_manager)
    overview = api.get(reverse("api:reception-overview")).json()
    cash_row = next(row for row in overview["services"] if row["service"] == "cash")
    assert cash_row["waiting"] == 1 and cash_row["over_target"] is True
    assert cash_row["open_counters"][0]["number"] == 1
    assert [a["kind"] for a in overview["alerts"]] == ["wait"]
    alerts = api.get(reverse("api:reception-alert-list"), {"open": "true"}).json()
    assert alerts["count"] == 1
    alert_id = alerts["results"][0]["id"]
    acked = api.post(reverse("api:reception-alert-acknowledge", args=[alert_id])).json()
    assert acked["acknowledged_by"] == "lobby" and acked["acknowledged_at"]
    assert api.post(reverse("api:reception-alert-acknowledge", args=[999999])).status_code == 404


def test_a_teller_may_not_read_the_overview_api(as_user, teller):
    assert as_user(teller).get(reverse("api:reception-overview")).status_code == 403
