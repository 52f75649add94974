"""The queue's REST API: /api/queue/…"""

from datetime import timedelta

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from queueing import services
from queueing.routing import PriorityClass
from queueing.states import TicketStatus


def url(name: str, **kwargs) -> str:
    return reverse(f"api:{name}", kwargs=kwargs or None)


@pytest.fixture
def counter(counter, teller):
    """Counter 1 with the teller seated at it: only the seated teller may act at a counter."""
    services.counter_open(counter=counter, teller=teller)
    counter.refresh_from_db()
    return counter


# What the teller ticks before finishing (the API finishes through the counter's checklist).
CHECKLIST = {"outcome": "completed", "identity_verified": True}


@pytest.fixture
def waiting(branch, cash, counter):
    return services.ticket_issue(branch=branch, service=cash)


@pytest.fixture
def called(waiting, counter, teller):
    return services.ticket_call_next(counter=counter, teller=teller)


@pytest.fixture
def serving(called, teller):
    return services.ticket_start(ticket_id=called.pk, by=teller)


# --- services and counters ---------------------------------------------------------------------


def test_it_lists_the_branch_services(as_user, lobby_manager, cash, loans):
    response = as_user(lobby_manager).get(url("queue-service-list"))
    assert response.status_code == 200
    assert [s["code"] for s in response.json()] == ["cash", "loan"]
    assert response.json()[0] == {
        "id": cash.pk,
        "code": "cash",
        "name_zh": cash.name_zh,
        "name_en": "Cash",
        "prefix": "A",
        "target_wait_minutes": 10,
        "standard_handle_minutes": cash.standard_handle_minutes,
        "divertible": True,
        "is_active": True,
    }


def test_it_lists_counters_with_skills_in_rank_order_and_the_current_ticket(
    as_user, branch_head, teller, counter, called
):
    response = as_user(branch_head).get(url("queue-counter-list"))
    assert response.status_code == 200
    (row,) = response.json()
    assert row["number"] == 1
    assert row["services"] == ["cash", "loan"]
    assert row["current_ticket"] == {"id": called.pk, "code": called.code}
    assert row["is_open"] is True


def test_it_opens_pauses_resumes_and_closes_a_counter(as_user, teller, counter):
    client = as_user(teller)
    response = client.post(url("queue-counter-open", pk=counter.pk))
    assert response.status_code == 200
    assert response.json()["teller"] == "teller"
    assert response.json()["is_open"] is True
    assert client.post(url("queue-counter-pause", pk=counter.pk)).json()["is_paused"] is True
    assert client.post(url("queue-counter-resume", pk=counter.pk)).json()["is_paused"] is False
    closed = client.post(url("queue-counter-close", pk=counter.pk)).json()
    assert closed["is_open"] is False
    assert closed["teller"] is None


def test_it_refuses_to_pause_a_closed_counter_with_400(as_user, teller, counter):
    counter.is_open = False
    counter.save()
    response = as_user(teller).post(url("queue-counter-pause", pk=counter.pk))
    assert response.status_code == 400
    assert set(response.json()) == {"detail", "code"}


def test_it_answers_call_next_on_an_empty_queue_with_204(as_user, teller, counter):
    response = as_user(teller).post(url("queue-counter-call-next", pk=counter.pk))
    assert response.status_code == 204
    assert response.content == b""


def test_it_calls_the_next_ticket(as_user, teller, counter, waiting):
    response = as_user(teller).post(url("queue-counter-call-next", pk=counter.pk))
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == waiting.pk
    assert body["status"] == "called"
    assert body["counter"] == 1
    assert body["called_at"] is not None


def test_it_forbids_a_lobby_manager_to_call_next(as_user, lobby_manager, counter, waiting):
    response = as_user(lobby_manager).post(url("queue-counter-call-next", pk=counter.pk))
    assert response.status_code == 403
    waiting.refresh_from_db()
    assert waiting.status == TicketStatus.WAITING


def test_it_refuses_call_next_while_someone_is_at_the_counter(as_user, teller, counter, called):
    services.ticket_issue(branch=counter.branch, service=called.service)
    response = as_user(teller).post(url("queue-counter-call-next", pk=counter.pk))
    assert response.status_code == 400
    assert "detail" in response.json()


# --- tickets -----------------------------------------------------------------------------------


def test_it_issues_a_ticket(as_user, lobby_manager, cash):
    response = as_user(lobby_manager).post(
        url("queue-ticket-list"), {"service": "cash", "priority": "vip"}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["code"] == "A001"
    assert body["service"] == "cash"
    assert body["priority"] == "vip"
    assert body["status"] == "waiting"
    assert body["counter"] is None


def test_it_defaults_the_priority_to_regular(as_user, teller, cash):
    response = as_user(teller).post(url("queue-ticket-list"), {"service": "cash"}, format="json")
    assert response.status_code == 201
    assert response.json()["priority"] == "regular"


def test_it_rejects_an_invalid_ticket_body_with_field_errors(as_user, lobby_manager, cash):
    response = as_user(lobby_manager).post(
        url("queue-ticket-list"), {"priority": "emperor"}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()) == {"service", "priority"}


def test_it_rejects_an_unknown_service_code(as_user, lobby_manager, cash):
    response = as_user(lobby_manager).post(
        url("queue-ticket-list"), {"service": "nope"}, format="json"
    )
    assert response.status_code == 400
    assert "service" in response.json()


def test_it_refuses_to_issue_for_an_inactive_service(as_user, lobby_manager, cash):
    cash.is_active = False
    cash.save()
    response = as_user(lobby_manager).post(
        url("queue-ticket-list"), {"service": "cash"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_it_forbids_a_branch_head_to_issue_tickets(as_user, branch_head, cash):
    response = as_user(branch_head).post(
        url("queue-ticket-list"), {"service": "cash"}, format="json"
    )
    assert response.status_code == 403


def test_it_lists_todays_tickets_paginated_and_filtered(as_user, branch_head, branch, cash, loans):
    first = services.ticket_issue(branch=branch, service=cash)
    services.ticket_issue(branch=branch, service=loans, priority=PriorityClass.CARE)
    services.ticket_cancel(ticket_id=first.pk, by=None)
    client = as_user(branch_head)

    everything = client.get(url("queue-ticket-list")).json()
    assert everything["count"] == 2
    assert {t["code"] for t in everything["results"]} == {"A001", "E001"}

    loans_only = client.get(url("queue-ticket-list"), {"service": "loan"}).json()
    assert [(t["code"], t["priority"]) for t in loans_only["results"]] == [("E001", "care")]

    cancelled = client.get(url("queue-ticket-list"), {"status": "cancelled"}).json()
    assert [t["code"] for t in cancelled["results"]] == ["A001"]

    page = client.get(url("queue-ticket-list"), {"limit": 1}).json()
    assert len(page["results"]) == 1
    assert page["next"] is not None


def test_it_filters_tickets_by_business_date(as_user, teller, branch, cash):
    ticket = services.ticket_issue(branch=branch, service=cash)
    client = as_user(teller)
    yesterday = (ticket.business_date - timedelta(days=1)).isoformat()
    assert client.get(url("queue-ticket-list"), {"date": yesterday}).json()["count"] == 0
    today = ticket.business_date.isoformat()
    assert client.get(url("queue-ticket-list"), {"date": today}).json()["count"] == 1


def test_it_rejects_bad_ticket_filters(as_user, teller, cash):
    response = as_user(teller).get(url("queue-ticket-list"), {"status": "x", "date": "soon"})
    assert response.status_code == 400
    assert set(response.json()) == {"status", "date"}


def test_it_shows_one_ticket(as_user, lobby_manager, waiting):
    response = as_user(lobby_manager).get(url("queue-ticket-detail", pk=waiting.pk))
    assert response.status_code == 200
    assert response.json()["code"] == waiting.code
    assert response.json()["recall_count"] == 0


def test_it_walks_a_ticket_through_recall_start_and_finish(as_user, teller, called):
    client = as_user(teller)
    recalled = client.post(url("queue-ticket-recall", pk=called.pk))
    assert recalled.status_code == 200
    assert recalled.json()["recall_count"] == 1
    started = client.post(url("queue-ticket-start", pk=called.pk))
    assert started.json()["status"] == "serving"
    finished = client.post(url("queue-ticket-finish", pk=called.pk), CHECKLIST, format="json")
    assert finished.status_code == 200
    assert finished.json()["status"] == "done"
    assert finished.json()["finished_at"] is not None


def test_it_refuses_to_finish_a_waiting_ticket(as_user, teller, waiting):
    response = as_user(teller).post(
        url("queue-ticket-finish", pk=waiting.pk), CHECKLIST, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_transition"
    assert waiting.code in response.json()["detail"]


def test_it_stops_recalls_at_the_branch_limit(as_user, teller, branch, called):
    branch.max_recalls = 0
    branch.save()
    response = as_user(teller).post(url("queue-ticket-recall", pk=called.pk))
    assert response.status_code == 400
    assert response.json()["code"] == "recall_limit"


def test_it_marks_a_no_show(as_user, teller, called):
    response = as_user(teller).post(url("queue-ticket-no-show", pk=called.pk))
    assert response.status_code == 200
    assert response.json()["status"] == "no_show"


def test_it_lets_the_lobby_manager_cancel_a_waiting_ticket(as_user, lobby_manager, waiting):
    response = as_user(lobby_manager).post(url("queue-ticket-cancel", pk=waiting.pk))
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"


def test_it_forbids_a_lobby_manager_to_start_a_ticket(as_user, lobby_manager, called):
    assert as_user(lobby_manager).post(url("queue-ticket-start", pk=called.pk)).status_code == 403


def test_it_transfers_to_another_service_and_answers_with_the_new_ticket(as_user, teller, serving):
    response = as_user(teller).post(
        url("queue-ticket-transfer", pk=serving.pk),
        {"service": "loan", "note": "needs a loan officer"},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["id"] != serving.pk
    assert body["service"] == "loan"
    assert body["priority"] == "transferred"
    assert body["status"] == "waiting"
    serving.refresh_from_db()
    assert serving.status == TicketStatus.TRANSFERRED


def test_it_transfers_to_a_named_counter(as_user, teller, branch, cash, serving):
    from tests.factories import CounterFactory

    CounterFactory(branch=branch, number=2, serves=[cash])
    response = as_user(teller).post(
        url("queue-ticket-transfer", pk=serving.pk), {"counter": 2}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["service"] == "cash"


def test_it_rejects_a_transfer_without_a_target(as_user, teller, serving):
    response = as_user(teller).post(url("queue-ticket-transfer", pk=serving.pk), {}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "no_target"


def test_it_rejects_a_transfer_to_an_unknown_counter_or_bad_body(as_user, teller, serving):
    client = as_user(teller)
    unknown = client.post(
        url("queue-ticket-transfer", pk=serving.pk), {"counter": 42}, format="json"
    )
    assert unknown.status_code == 400
    assert "counter" in unknown.json()
    bad = client.post(url("queue-ticket-transfer", pk=serving.pk), {"counter": "x"}, format="json")
    assert bad.status_code == 400
    assert "counter" in bad.json()


def test_it_refuses_to_transfer_a_waiting_ticket(as_user, teller, waiting):
    response = as_user(teller).post(
        url("queue-ticket-transfer", pk=waiting.pk), {"service": "loan"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_transition"


# --- who may ask -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "name"),
    [
        ("get", "queue-service-list"),
        ("get", "queue-counter-list"),
        ("get", "queue-ticket-list"),
        ("post", "queue-ticket-list"),
    ],
)
def test_it_turns_away_anonymous_callers(as_user, cash, method, name):
    response = getattr(as_user(None), method)(url(name))
    assert response.status_code == 403  # session auth first: no challenge, so 403 (not 401)


def test_it_turns_away_a_user_without_a_branch(as_user, cash):
    from tests.factories import UserFactory

    assert as_user(UserFactory()).get(url("queue-service-list")).status_code == 403


def test_it_shows_an_outsider_only_their_own_branch(as_user, outsider, counter, waiting):
    client = as_user(outsider)
    assert client.get(url("queue-service-list")).json() == []
    assert client.get(url("queue-counter-list")).json() == []
    assert client.get(url("queue-ticket-list")).json()["count"] == 0
    unknown = client.post(url("queue-ticket-list"), {"service": "cash"}, format="json")
    assert unknown.status_code == 400


def test_it_accepts_http_basic_auth(teller, counter, waiting):
    import base64

    credentials = base64.b64encode(b"teller:pw").decode()
    client = APIClient(HTTP_AUTHORIZATION=f"Basic {credentials}")
    response = client.post(url("queue-counter-call-next", pk=counter.pk))
    assert response.status_code == 200
    assert response.json()["code"] == waiting.code
    wrong = APIClient(HTTP_AUTHORIZATION="Basic " + base64.b64encode(b"teller:no").decode())
    assert wrong.get(url("queue-service-list")).status_code == 403


def test_a_transfer_through_the_api_moves_the_visit_in_the_same_transaction(
    as_user, branch, cash, counter, teller
):
    from reception import services as reception
    from reception.models import Visit

    visit = reception.visit_register(
        branch=branch, registered_by=teller, phone="13800138000", service=cash
    )
    services.counter_open(counter=counter, teller=teller)
    services.ticket_call_next(counter=counter, teller=teller)
    services.ticket_start(ticket_id=visit.ticket_id, by=teller)
    # No commit hooks run in this test: only the transfer's own transaction can move the visit.
    response = as_user(teller).post(
        url("queue-ticket-transfer", pk=visit.ticket_id), {"service": "loan"}, format="json"
    )
    assert response.status_code == 201
    assert Visit.objects.get(pk=visit.pk).ticket_id == response.json()["id"]


@pytest.mark.django_db
def test_the_fast_ticket_output_is_what_the_declared_fields_would_give(
    branch, cash, counter, teller
):
    """TicketOutputSerializer builds its dict by hand (speed); the declared fields are the
    documented shape: both must agree, null times and the counter included."""
    from django.utils import timezone
    from rest_framework import serializers as drf

    from queueing.serializers import TicketOutputSerializer

    waiting = services.ticket_issue(branch=branch, service=cash)
    services.counter_open(counter=counter, teller=teller)
    called = services.ticket_call_next(counter=counter, teller=teller)
    for ticket in (waiting, called):
        ticket.refresh_from_db()
        with timezone.override(branch.tz):
            fast = TicketOutputSerializer(ticket).data
            declared = drf.Serializer.to_representation(TicketOutputSerializer(ticket), ticket)
        assert dict(fast) == dict(declared)
    assert fast["counter"] == counter.number and fast["called_at"] is not None


@pytest.mark.django_db
def test_an_idle_counter_is_told_when_to_ask_again_not_left_to_poll(
    as_user, branch, cash, counter, teller, settings, django_capture_on_commit_callbacks
):
    """Nobody waiting: 204 with Retry-After and, where a live service answers long polls, the
    URL of one that returns as soon as the branch's queue changes after this answer."""
    from queueing import broadcast, live, selectors

    desk = as_user(teller)
    desk.post(reverse("api:queue-counter-open", args=[counter.pk]))
    call_next = reverse("api:queue-counter-call-next", args=[counter.pk])

    settings.LIVE_SSE = False
    quiet = desk.post(call_next)
    assert quiet.status_code == 204 and int(quiet["Retry-After"]) > 0
    assert "X-Queue-Wait" not in quiet

    settings.LIVE_SSE = True
    idle = desk.post(call_next)
    # The database's version (the cached copy is written after commit, which this test's
    # transaction never reaches): the one the call read with the waiting tickets.
    version = selectors.queue_version(branch_id=branch.pk)
    token = live.live_token(branch.pk)
    assert idle.status_code == 204
    wait = reverse("queueing:wait", args=[token])
    serves = ",".join(selectors.counter_skills(counter=counter).service_codes)
    assert serves  # the counter serves something: the wait names it
    assert idle["X-Queue-Wait"] == (
        f"{wait}?after={version}&on=arrival&counter={counter.pk}&serves={serves.replace(',', '%2C')}"
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_issue(branch=branch, service=cash)
    assert broadcast.current_version(branch.pk) > version  # so the long poll returns at once
