"""The teller's "Next" key (issue 5, capacity): finish the customer being served and call the
next one in one request and one transaction (reception.services.
visit_complete_service_and_call_next), through the API and the counter screen."""

import pytest
from django.urls import reverse

from accounts.models import OutboxEvent
from queueing import events
from queueing import services as queue
from queueing.models import Ticket, TicketEvent
from queueing.states import TicketStatus
from reception import services as reception
from reception.models import Visit

from .factories import CounterFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

CHECKLIST = {"outcome": "completed", "identity_verified": True}


def url(pk: int) -> str:
    return reverse("api:reception-ticket-finish-and-call-next", args=[pk])


def register(branch, service, by, phone: str) -> Visit:
    return reception.visit_register(branch=branch, registered_by=by, phone=phone, service=service)


def being_served(branch, service, counter, teller, phone="13800138000") -> Visit:
    """A registered customer called to `counter` and served by `teller`."""
    visit = register(branch, service, teller, phone)
    called = queue.ticket_call_next(counter=counter, teller=teller)
    assert called.pk == visit.ticket_id
    queue.ticket_start(ticket_id=called.pk, by=teller)
    return visit


def trail() -> dict:
    """What a test compares before and after: every ticket's status, every history row, every
    outbox event."""
    return {
        "tickets": dict(Ticket.objects.values_list("pk", "status")),
        "events": TicketEvent.objects.count(),
        "outbox": OutboxEvent.objects.count(),
    }


# --- The API ----------------------------------------------------------------------------------


def test_it_finishes_the_customer_and_calls_the_next_in_one_request(
    as_user, branch, cash, counter, teller
):
    served = being_served(branch, cash, counter, teller)
    waiting = register(branch, cash, teller, "13800138001")

    response = as_user(teller).post(url(served.ticket_id), CHECKLIST, format="json")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"finished", "called"}
    assert body["finished"]["id"] == served.ticket_id
    assert body["finished"]["status"] == "done"
    assert body["finished"]["finished_at"] is not None
    assert body["called"]["id"] == waiting.ticket_id
    assert body["called"]["status"] == "called"
    assert body["called"]["counter"] == counter.number
    # The answers are the finish's and call-next's own shapes.
    finish_keys = set(body["finished"])
    assert set(body["called"]) == finish_keys
    served.refresh_from_db()
    assert served.outcome == "completed" and served.identity_verified
    assert served.served_by == teller
    assert Ticket.objects.get(pk=waiting.ticket_id).status == TicketStatus.CALLED


def test_it_records_the_same_history_and_events_as_a_finish_then_a_call(
    as_user, branch, cash, counter, teller, outbox_listeners
):
    """Separate requests first, then the combined one: the same history rows, the same outbox
    topics and payloads, the visit recorded the same way."""
    # Someone listens to calls, so call events are written to the outbox as well.
    outbox_listeners("test.on_call", lambda event: None, topics=(events.TICKET_CALLED,))
    client = as_user(teller)

    def served_then_next(combined: bool, phones: tuple[str, str]) -> tuple[list, list, Visit]:
        served = being_served(branch, cash, counter, teller, phone=phones[0])
        waiting = register(branch, cash, teller, phones[1])
        first_event = TicketEvent.objects.order_by("-pk").values_list("pk", flat=True)[0]
        first_outbox = OutboxEvent.objects.order_by("-pk").values_list("pk", flat=True)[0]
        if combined:
            assert client.post(url(served.ticket_id), CHECKLIST, format="json").status_code == 200
        else:
            finish = reverse("api:queue-ticket-finish", args=[served.ticket_id])
            assert client.post(finish, CHECKLIST, format="json").status_code == 200
            call = reverse("api:queue-counter-call-next", args=[counter.pk])
            assert client.post(call).json()["id"] == waiting.ticket_id
        history = [
            (e.ticket_id == served.ticket_id, e.action, e.from_status, e.to_status, e.by_id)
            for e in TicketEvent.objects.filter(pk__gt=first_event).order_by("pk")
        ]
        outbox_rows = [
            (
                o.topic,
                o.payload["ticket_id"] == served.ticket_id,
                o.payload["action"],
                sorted(o.deliveries.values_list("listener", flat=True)),
            )
            for o in OutboxEvent.objects.filter(pk__gt=first_outbox).order_by("pk")
        ]
        served.refresh_from_db()
        # Ready for the next round: the called customer is served and finished.
        queue.ticket_start(ticket_id=waiting.ticket_id, by=teller)
        reception.visit_complete_service(ticket=waiting.ticket_id, teller=teller, **CHECKLIST)
        return history, outbox_rows, served

    separate = served_then_next(False, ("13800138000", "13800138001"))
    combined = served_then_next(True, ("13800138002", "13800138003"))

    assert combined[0] == separate[0]
    assert [row[1] for row in combined[0]] == ["finish", "call"]
    assert combined[1] == separate[1]
    assert [row[0] for row in combined[1]] == [events.TICKET_FINISHED, events.TICKET_CALLED]
    for field in ("outcome", "identity_verified", "checked_points", "served_by_id"):
        assert getattr(combined[2], field) == getattr(separate[2], field), field


def test_a_refused_finish_is_the_finish_s_400_and_changes_nothing(
    as_user, branch, cash, counter, teller
):
    served = being_served(branch, cash, counter, teller)
    register(branch, cash, teller, "13800138001")
    client = as_user(teller)
    before = trail()

    # Field errors, as the finish gives them.
    fields = client.post(url(served.ticket_id), {"outcome": "bored"}, format="json")
    assert fields.status_code == 400
    assert set(fields.json()) == {"outcome"}
    reason = client.post(
        url(served.ticket_id), {"outcome": "incomplete", "incomplete_reason": "x"}, format="json"
    )
    assert reason.status_code == 400 and "incomplete_reason" in reason.json()
    # A refusal of the services (the required point not ticked): the finish's code.
    refused = client.post(url(served.ticket_id), {"outcome": "completed"}, format="json")
    assert refused.status_code == 400
    assert refused.json()["code"] == "identity"
    plain = client.post(
        reverse("api:queue-ticket-finish", args=[served.ticket_id]),
        {"outcome": "completed"},
        format="json",
    )
    assert plain.json() == refused.json()

    assert trail() == before  # nothing finished, nobody called, no event
    served.refresh_from_db()
    assert served.outcome == ""


def test_with_nobody_waiting_the_ticket_is_finished_and_nobody_called(
    as_user, branch, cash, counter, teller
):
    served = being_served(branch, cash, counter, teller)

    response = as_user(teller).post(url(served.ticket_id), CHECKLIST, format="json")

    assert response.status_code == 200
    body = response.json()
    assert body["called"] is None
    assert body["finished"]["status"] == "done"
    assert Ticket.objects.get(pk=served.ticket_id).status == TicketStatus.DONE
    served.refresh_from_db()
    assert served.outcome == "completed"


def test_with_nobody_waiting_the_answer_says_when_to_call_again_as_call_next_s_204(
    as_user, branch, cash, counter, teller, settings
):
    """The idle counter's protocol of call-next's 204: Retry-After, and the long poll that
    returns when a ticket this counter serves arrives after the answer."""
    from queueing import live
    from queueing import selectors as queue_selectors

    client = as_user(teller)
    settings.LIVE_SSE = False
    served = being_served(branch, cash, counter, teller)
    quiet = client.post(url(served.ticket_id), CHECKLIST, format="json")
    assert quiet.json()["called"] is None
    assert int(quiet["Retry-After"]) > 0
    assert "X-Queue-Wait" not in quiet

    settings.LIVE_SSE = True
    served = being_served(branch, cash, counter, teller, phone="13800138001")
    before = queue_selectors.queue_version(branch_id=branch.pk)
    idle = client.post(url(served.ticket_id), CHECKLIST, format="json")
    assert idle.json()["called"] is None
    # The version the call's look saw: the finish's own history row, in the same transaction.
    finished = queue_selectors.queue_version(branch_id=branch.pk)
    assert finished > before
    wait = reverse("queueing:wait", args=[live.live_token(branch.pk)])
    assert idle["X-Queue-Wait"].startswith(
        f"{wait}?after={finished}&on=arrival&counter={counter.pk}"
    )
    call_next = client.post(reverse("api:queue-counter-call-next", args=[counter.pk]))
    assert call_next.status_code == 204
    assert call_next["Retry-After"] == idle["Retry-After"]

    # Someone called: no advice to wait.
    being_served(branch, cash, counter, teller, phone="13800138002")
    register(branch, cash, teller, "13800138003")
    busy = client.post(url(Ticket.objects.get(status="serving").pk), CHECKLIST, format="json")
    assert busy.json()["called"] is not None
    assert "Retry-After" not in busy and "X-Queue-Wait" not in busy


def test_a_ticket_without_a_visit_is_finished_and_the_next_called(
    as_user, branch, cash, loans, counter, teller
):
    first = queue.ticket_issue(branch=branch, service=cash)
    queue.ticket_call_next(counter=counter, teller=teller)
    queue.ticket_start(ticket_id=first.pk, by=teller)
    second = queue.ticket_issue(branch=branch, service=loans)

    body = as_user(teller).post(url(first.pk), CHECKLIST, format="json").json()

    assert (body["finished"]["id"], body["called"]["id"]) == (first.pk, second.pk)
    assert body["called"]["service"] == "loan"


def test_only_a_teller_may_use_it(as_user, branch, cash, counter, teller, lobby_manager):
    served = being_served(branch, cash, counter, teller)
    before = trail()
    response = as_user(lobby_manager).post(url(served.ticket_id), CHECKLIST, format="json")
    assert response.status_code == 403
    assert as_user(None).post(url(served.ticket_id), CHECKLIST, format="json").status_code == 403
    assert trail() == before


def test_another_branch_s_ticket_is_not_found(as_user, branch, cash, counter, teller, outsider):
    served = being_served(branch, cash, counter, teller)
    register(branch, cash, teller, "13800138001")
    before = trail()
    response = as_user(outsider).post(url(served.ticket_id), CHECKLIST, format="json")
    assert response.status_code == 404
    assert trail() == before


def test_only_the_teller_seated_at_the_ticket_s_counter_may_use_it(
    as_user, branch, cash, loans, counter, teller
):
    """A colleague seated at another counter is refused as the finish refuses them, and so is
    the teller once they have left their seat."""
    served = being_served(branch, cash, counter, teller)
    register(branch, cash, teller, "13800138001")
    colleague = UserFactory(username="colleague")
    MembershipFactory(user=colleague, branch=branch, role="teller")
    CounterFactory(branch=branch, number=2, serves=[cash, loans], teller=colleague)
    before = trail()

    response = as_user(colleague).post(url(served.ticket_id), CHECKLIST, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "not_seated"
    assert trail() == before

    queue.counter_release_teller(teller=teller)  # signed out with the customer still there
    response = as_user(teller).post(url(served.ticket_id), CHECKLIST, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "not_seated"
    assert trail() == before


def test_a_paused_counter_finishes_nothing_and_calls_nobody(as_user, branch, cash, counter, teller):
    """The call would be refused (end the pause first), so the finish is not made either: one
    transaction. The counter screen greys the button out; the plain finish still works."""
    served = being_served(branch, cash, counter, teller)
    register(branch, cash, teller, "13800138001")
    queue.counter_set_paused(counter=counter, teller=teller, paused=True)
    before = trail()

    response = as_user(teller).post(url(served.ticket_id), CHECKLIST, format="json")

    assert response.status_code == 400
    assert set(response.json()) == {"detail", "code"}
    assert trail() == before


def test_a_second_press_is_refused_and_calls_nobody_else(as_user, branch, cash, counter, teller):
    served = being_served(branch, cash, counter, teller)
    waiting = [register(branch, cash, teller, f"1380013800{n}") for n in (1, 2)]
    client = as_user(teller)
    assert client.post(url(served.ticket_id), CHECKLIST, format="json").status_code == 200

    again = client.post(url(served.ticket_id), CHECKLIST, format="json")

    assert again.status_code == 400
    assert again.json()["code"] == "invalid_transition"
    statuses = dict(Ticket.objects.values_list("pk", "status"))
    assert statuses[waiting[0].ticket_id] == TicketStatus.CALLED
    assert statuses[waiting[1].ticket_id] == TicketStatus.WAITING


def test_the_service_takes_the_ticket_itself(branch, cash, counter, teller):
    served = being_served(branch, cash, counter, teller)
    waiting = register(branch, cash, teller, "13800138001")
    ticket = Ticket.objects.get(pk=served.ticket_id)

    result = reception.visit_complete_service_and_call_next(
        ticket=ticket, teller=teller, outcome="referred"
    )

    assert result.finished.pk == ticket.pk and result.finished.status == TicketStatus.DONE
    assert result.called.pk == waiting.ticket_id
    served.refresh_from_db()
    assert served.outcome == "referred"


def test_the_fast_answer_is_the_declared_one(branch, cash, counter, teller):
    """The answer is built directly (a hot request): it must equal what DRF would build from
    the declared fields, with someone called and with nobody."""
    from rest_framework import serializers as drf

    from reception.serializers import FinishAndCallNextOutputSerializer

    served = being_served(branch, cash, counter, teller)
    register(branch, cash, teller, "13800138001")
    both = reception.visit_complete_service_and_call_next(
        ticket=served.ticket_id, teller=teller, branch=branch, **CHECKLIST
    )
    queue.ticket_start(ticket_id=both.called.pk, by=teller)
    alone = reception.visit_complete_service_and_call_next(
        ticket=both.called.pk, teller=teller, branch=branch, **CHECKLIST
    )
    for result in (both, alone):
        fast = FinishAndCallNextOutputSerializer(result).data
        declared = drf.Serializer.to_representation(
            FinishAndCallNextOutputSerializer(result), result
        )
        assert dict(fast) == dict(declared)
    assert alone.called is None


def test_the_openapi_document_describes_it(db):
    from rest_framework.test import APIClient

    schema = APIClient().get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/reception/tickets/{id}/finish-and-call-next/"]["post"]
    assert {"200", "400", "403", "404"} <= set(operation["responses"])
    assert "VisitCompleteInput" in str(operation["requestBody"])
    answer = schema["components"]["schemas"]["TicketFinishAndCallNext"]
    assert set(answer["properties"]) == {"finished", "called"}
    assert answer["properties"]["called"].get("nullable") or "oneOf" in str(
        answer["properties"]["called"]
    )


# --- The counter screen -----------------------------------------------------------------------


def act(client, counter, action, **extra):
    return client.post(
        reverse("reception:counter_action", args=[counter.pk]),
        {"action": action, **extra},
        HTTP_HX_REQUEST="true",
    )


@pytest.fixture
def english(client):
    client.cookies["django_language"] = "en"
    return client


def test_the_counter_screen_offers_it_beside_finish(english, branch, cash, counter, teller):
    being_served(branch, cash, counter, teller)
    english.force_login(teller)
    html = english.get(reverse("reception:counter", args=[counter.pk])).content.decode()
    assert 'value="finish"' in html
    assert 'name="action" value="finish_next"' in html
    assert "Finish and call next" in html


def test_the_counter_button_finishes_and_shows_the_next_customer(
    english, branch, cash, counter, teller
):
    served = being_served(branch, cash, counter, teller)
    waiting = register(branch, cash, teller, "13800138001")
    english.force_login(teller)

    response = act(
        english, counter, "finish_next", outcome="completed", checked_points=["identity_verified"]
    )

    assert response.status_code == 200
    assert response["HX-Trigger"] == "queue-changed"
    html = response.content.decode()
    assert waiting.ticket.code in html
    assert 'value="start"' in html  # the next customer, called: "Start serving"
    assert Ticket.objects.get(pk=served.ticket_id).status == TicketStatus.DONE
    assert Ticket.objects.get(pk=waiting.ticket_id).status == TicketStatus.CALLED
    served.refresh_from_db()
    assert served.outcome == "completed"


def test_the_counter_button_shows_the_finish_s_errors_and_changes_nothing(
    english, branch, cash, counter, teller
):
    served = being_served(branch, cash, counter, teller)
    register(branch, cash, teller, "13800138001")
    english.force_login(teller)
    before = trail()

    html = act(english, counter, "finish_next", outcome="completed").content.decode()

    assert "Verify the customer&#x27;s identity" in html or "Verify the customer's identity" in html
    assert 'id="control-points"' in html  # the form is shown again, with its error
    assert served.ticket.code in html  # still the customer at the counter
    assert trail() == before


def test_the_counter_button_says_when_nobody_was_waiting(english, branch, cash, counter, teller):
    served = being_served(branch, cash, counter, teller)
    english.force_login(teller)

    html = act(
        english, counter, "finish_next", outcome="completed", checked_points=["identity_verified"]
    ).content.decode()

    assert "Nobody is waiting for your services." in html
    assert served.ticket.code in html
    assert 'value="call"' in html  # back to the idle counter's "Call next"
    assert Ticket.objects.get(pk=served.ticket_id).status == TicketStatus.DONE


def test_the_counter_button_is_greyed_out_while_paused(english, branch, cash, counter, teller):
    being_served(branch, cash, counter, teller)
    queue.counter_set_paused(counter=counter, teller=teller, paused=True)
    english.force_login(teller)
    html = english.get(reverse("reception:counter", args=[counter.pk])).content.decode()
    button = html[html.index('value="finish_next"') :].split(">", 1)[0]
    assert "disabled" in button
