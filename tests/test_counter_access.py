"""A teller acts only at the counter they are seated at (issue "Hardening", 2a and 3a/b/d).

Seen in real requests: teller3 opened teller1's counter and called a customer to it; teller2
paused, resumed, took over and completed teller1's work through the API; the API finished a
service without the teller's checklist; another branch's note showed on the counter screen; a
negative self-service threshold was saved. Each test here failed before the fix.
"""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from crm.models import Interaction
from crm.services import interaction_record
from queueing import services as queue
from queueing.models import Counter, CounterEvent, CounterSkill, Service, Ticket, TicketEvent
from queueing.states import TicketAction, TicketStatus
from reception import services as reception
from reception.models import Visit

from .factories import CounterFactory, MembershipFactory, ServiceFactory, UserFactory

PHONE = "13800138000"
CHECKLIST = {"outcome": "completed", "identity_verified": True}


def url(name: str, **kwargs) -> str:
    return reverse(f"api:{name}", kwargs=kwargs or None)


def act(client, counter, action, htmx=False, **extra):
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    return client.post(
        reverse("reception:counter_action", args=[counter.pk]),
        {"action": action, **extra},
        **headers,
    )


@pytest.fixture
def teller1(branch):
    user = UserFactory(username="teller1", first_name="Li", last_name="Wei")
    MembershipFactory(user=user, branch=branch, role=Role.TELLER)
    return user


@pytest.fixture
def teller2(branch):
    user = UserFactory(username="teller2")
    MembershipFactory(user=user, branch=branch, role=Role.TELLER)
    return user


@pytest.fixture
def desk(branch, cash, loans):
    """A closed counter of its own (whoever the shared `counter` fixture seats)."""
    return CounterFactory(branch=branch, number=3, serves=[cash, loans], is_open=False)


@pytest.fixture
def seated(desk, teller1):
    """The desk with teller1 seated at it."""
    return queue.counter_open(counter=desk, teller=teller1)


@pytest.fixture
def visit(branch, cash, lobby_manager):
    return reception.visit_register(
        branch=branch, registered_by=lobby_manager, phone=PHONE, service=cash
    )


@pytest.fixture
def serving(seated, teller1, visit):
    """teller1 serves the visit's customer at the desk."""
    called = queue.ticket_call_next(counter=seated, teller=teller1)
    return queue.ticket_start(ticket_id=called.pk, by=teller1)


# --- A. Seated teller only: services ------------------------------------------------------------


def test_another_teller_cannot_open_a_counter_someone_holds(seated, teller1, teller2):
    with pytest.raises(queue.QueueError) as refused:
        queue.counter_open(counter=seated, teller=teller2)
    assert refused.value.code == "counter_held"
    seated.refresh_from_db()
    assert seated.teller == teller1


def test_another_teller_cannot_call_next_at_someone_elses_counter(seated, teller2, visit):
    with pytest.raises(queue.QueueError) as refused:
        queue.ticket_call_next(counter=seated, teller=teller2)
    assert refused.value.code == "not_seated"
    visit.ticket.refresh_from_db()
    assert visit.ticket.status == TicketStatus.WAITING


@pytest.mark.parametrize(
    "action",
    [
        lambda counter, user: queue.counter_set_paused(counter=counter, teller=user, paused=True),
        lambda counter, user: queue.counter_close(counter=counter, teller=user),
    ],
    ids=["pause", "close"],
)
def test_only_the_seated_teller_pauses_or_closes(seated, teller2, action):
    with pytest.raises(queue.QueueError) as refused:
        action(seated, teller2)
    assert refused.value.code == "not_seated"
    seated.refresh_from_db()
    assert seated.is_open and not seated.is_paused


def test_nobody_acts_at_an_open_counter_nobody_sits_at(branch, teller, cash):
    # Open with nobody seated (as after a sign-out mid-service): sit down first.
    counter = CounterFactory(branch=branch, number=4, serves=[cash], is_open=True)
    queue.ticket_issue(branch=branch, service=cash)
    with pytest.raises(queue.QueueError) as refused:
        queue.ticket_call_next(counter=counter, teller=teller)
    assert refused.value.code == "not_seated"
    queue.counter_open(counter=counter, teller=teller)
    assert queue.ticket_call_next(counter=counter, teller=teller) is not None


def test_ticket_actions_belong_to_the_teller_seated_at_the_tickets_counter(
    serving, teller2, branch, loans
):
    attempts = [
        lambda: queue.ticket_finish(ticket_id=serving.pk, by=teller2),
        lambda: queue.ticket_transfer(ticket_id=serving.pk, by=teller2, to_service=loans),
        lambda: reception.visit_complete_service(ticket=serving, teller=teller2, **CHECKLIST),
        lambda: reception.visit_transfer(
            ticket_id=serving.pk, by=teller2, branch=branch, to_service=loans
        ),
    ]
    for attempt in attempts:
        with pytest.raises(queue.QueueError) as refused:
            attempt()
        assert refused.value.code == "not_seated"
    serving.refresh_from_db()
    assert serving.status == TicketStatus.SERVING
    assert not Ticket.objects.filter(transferred_from=serving).exists()


def test_counter_actions_are_on_the_counters_audit_trail(desk, teller1):
    counter = desk
    queue.counter_open(counter=counter, teller=teller1)
    queue.counter_open(counter=counter, teller=teller1)  # a double click records nothing
    queue.counter_set_paused(counter=counter, teller=teller1, paused=True)
    queue.counter_set_paused(counter=counter, teller=teller1, paused=False)
    queue.counter_close(counter=counter, teller=teller1)
    trail = list(counter.events.order_by("pk").values_list("action", "by"))
    assert trail == [
        ("open", teller1.pk),
        ("pause", teller1.pk),
        ("resume", teller1.pk),
        ("close", teller1.pk),
    ]


# --- A. Seated teller only: through the API -------------------------------------------------------


@pytest.mark.parametrize("name", ["pause", "resume", "close", "call-next"])
def test_the_api_refuses_counter_actions_to_a_teller_not_seated(
    as_user, seated, teller2, visit, name
):
    response = as_user(teller2).post(url(f"queue-counter-{name}", pk=seated.pk))
    assert response.status_code == 400
    assert response.json()["code"] == "not_seated"
    visit.ticket.refresh_from_db()
    assert visit.ticket.status == TicketStatus.WAITING


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("queue-ticket-start", {}),
        ("queue-ticket-recall", {}),
        ("queue-ticket-no-show", {}),
        ("queue-ticket-finish", CHECKLIST),
        ("queue-ticket-transfer", {"service": "loan"}),
    ],
)
def test_the_api_refuses_ticket_actions_to_a_teller_not_seated(
    as_user, seated, teller1, teller2, visit, loans, name, body
):
    called = queue.ticket_call_next(counter=seated, teller=teller1)
    if name in ("queue-ticket-finish", "queue-ticket-transfer"):
        queue.ticket_start(ticket_id=called.pk, by=teller1)
    before = Ticket.objects.get(pk=called.pk).status
    response = as_user(teller2).post(url(name, pk=called.pk), body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "not_seated"
    assert Ticket.objects.get(pk=called.pk).status == before


def test_the_api_refuses_a_visit_completion_to_a_teller_not_seated(
    as_user, serving, teller2, visit
):
    response = as_user(teller2).post(
        url("reception-visit-complete", pk=visit.pk), CHECKLIST, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "not_seated"
    visit.refresh_from_db()
    assert visit.outcome == "" and visit.served_by is None


# --- A. Take over ----------------------------------------------------------------------------


def test_a_teller_takes_over_with_a_reason_and_the_trail_keeps_both_names(
    as_user, serving, teller1, teller2, seated
):
    counter = seated
    client = as_user(teller2)
    missing = client.post(url("queue-counter-take-over", pk=counter.pk), {}, format="json")
    assert missing.status_code == 400 and "reason" in missing.json()
    response = client.post(
        url("queue-counter-take-over", pk=counter.pk),
        {"reason": "Li Wei was taken ill"},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["teller"] == "teller2"
    assert response.json()["current_ticket"]["id"] == serving.pk  # the customer stays
    event = CounterEvent.objects.get(counter=counter, action=CounterEvent.Action.TAKE_OVER)
    assert (event.by, event.previous_teller, event.reason) == (
        teller2,
        teller1,
        "Li Wei was taken ill",
    )
    # Now teller2 finishes, and teller1 can no longer act here.
    with pytest.raises(queue.QueueError):
        queue.ticket_finish(ticket_id=serving.pk, by=teller1)
    finished = client.post(url("queue-ticket-finish", pk=serving.pk), CHECKLIST, format="json")
    assert finished.status_code == 200 and finished.json()["status"] == "done"


def test_a_blank_reason_is_refused_by_the_service(seated, teller2):
    with pytest.raises(queue.QueueError) as refused:
        queue.counter_take_over(counter=seated, by=teller2, reason="   ")
    assert refused.value.code == "reason"


def test_the_branch_head_may_take_over_and_a_lobby_manager_may_not(
    as_user, seated, branch_head, lobby_manager
):
    body = {"reason": "teller left without signing out"}
    refused = as_user(lobby_manager).post(
        url("queue-counter-take-over", pk=seated.pk), body, format="json"
    )
    assert refused.status_code == 403
    with pytest.raises(queue.QueueError) as forbidden:
        queue.counter_take_over(counter=seated, by=lobby_manager, reason="x")
    assert forbidden.value.code == "forbidden"
    taken = as_user(branch_head).post(
        url("queue-counter-take-over", pk=seated.pk), body, format="json"
    )
    assert taken.status_code == 200 and taken.json()["teller"] == "head"


def test_taking_over_a_counter_nobody_else_holds_is_refused(desk, teller1):
    counter = desk
    queue.counter_open(counter=counter, teller=teller1)
    with pytest.raises(queue.QueueError) as refused:
        queue.counter_take_over(counter=counter, by=teller1, reason="mine")
    assert refused.value.code == "not_held"
    queue.counter_close(counter=counter, teller=teller1)
    with pytest.raises(queue.QueueError):
        queue.counter_take_over(counter=counter, by=teller1, reason="closed")


# --- A. The counter screen ----------------------------------------------------------------------


def test_the_counter_screen_offers_only_a_take_over_to_another_teller(
    client, seated, teller2, visit
):
    client.force_login(teller2)
    html = client.get(reverse("reception:counter", args=[seated.pk])).content.decode()
    assert "Li Wei is seated at this counter" in html
    assert 'value="take_over"' in html
    assert 'value="call"' not in html and 'value="close"' not in html
    # A hand-made POST is refused by the service all the same.
    response = act(client, seated, "call", htmx=True)
    assert "only the teller seated there may act at it" in response.content.decode()
    visit.ticket.refresh_from_db()
    assert visit.ticket.status == TicketStatus.WAITING


def test_the_counter_screen_take_over_needs_a_reason_and_a_confirmation(client, seated, teller2):
    client.force_login(teller2)
    unconfirmed = act(client, seated, "take_over", htmx=True, reason="ill")
    assert "Tick the box to confirm the take-over." in unconfirmed.content.decode()
    no_reason = act(client, seated, "take_over", htmx=True, confirm="on")
    assert no_reason.status_code == 200
    seated.refresh_from_db()
    assert seated.teller.username == "teller1"
    done = act(client, seated, "take_over", reason="Li Wei went home ill", confirm="on")
    assert done.status_code == 302
    seated.refresh_from_db()
    assert seated.teller == teller2
    assert CounterEvent.objects.filter(
        counter=seated, action="take_over", reason="Li Wei went home ill"
    ).exists()


# --- A. Signing out ---------------------------------------------------------------------------


def test_signing_out_closes_the_tellers_idle_counter(client, seated, teller1):
    client.force_login(teller1)
    client.post(reverse("logout"))
    seated.refresh_from_db()
    assert (seated.is_open, seated.teller) == (False, None)
    assert seated.events.filter(action=CounterEvent.Action.SIGN_OUT, by=teller1).exists()


def test_signing_out_mid_service_frees_the_seat_and_finishes_nothing(
    client, serving, teller1, teller2, seated
):
    counter = seated
    client.force_login(teller1)
    client.post(reverse("logout"))
    counter.refresh_from_db()
    serving.refresh_from_db()
    assert serving.status == TicketStatus.SERVING  # the customer is still there
    assert (counter.is_open, counter.is_paused, counter.teller) == (True, True, None)
    assert counter.events.filter(action=CounterEvent.Action.LEAVE, by=teller1).exists()
    # A colleague sits down (no take-over needed: nobody holds it) and finishes.
    queue.counter_open(counter=counter, teller=teller2)
    reception.visit_complete_service(ticket=serving, teller=teller2, **CHECKLIST)
    serving.refresh_from_db()
    assert serving.status == TicketStatus.DONE


# --- B. The API finish records the checklist ------------------------------------------------------


def test_the_api_finish_needs_the_checklist_and_records_it_on_the_visit(
    as_user, serving, teller1, visit, django_capture_on_commit_callbacks
):
    client = as_user(teller1)
    bare = client.post(url("queue-ticket-finish", pk=serving.pk), {}, format="json")
    assert bare.status_code == 400 and "outcome" in bare.json()
    unchecked = client.post(
        url("queue-ticket-finish", pk=serving.pk), {"outcome": "completed"}, format="json"
    )
    assert unchecked.status_code == 400 and unchecked.json()["code"] == "identity"
    serving.refresh_from_db()
    assert serving.status == TicketStatus.SERVING
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url("queue-ticket-finish", pk=serving.pk),
            {**CHECKLIST, "documents_signed": True},
            format="json",
        )
    assert response.status_code == 200 and response.json()["status"] == "done"
    visit.refresh_from_db()
    assert (visit.outcome, visit.identity_verified, visit.documents_signed) == (
        Visit.Outcome.COMPLETED,
        True,
        True,
    )
    assert visit.served_by == teller1
    interaction = Interaction.objects.get(source=f"ticket:{serving.pk}")
    assert interaction.outcome == "completed"


def test_a_ticket_without_a_visit_is_finished_under_the_same_rules(
    as_user, seated, teller1, branch, cash
):
    ticket = queue.ticket_issue(branch=branch, service=cash)  # issued at the API: no visit
    queue.ticket_call_next(counter=seated, teller=teller1)
    queue.ticket_start(ticket_id=ticket.pk, by=teller1)
    client = as_user(teller1)
    refused = client.post(
        url("queue-ticket-finish", pk=ticket.pk), {"outcome": "completed"}, format="json"
    )
    assert refused.status_code == 400 and refused.json()["code"] == "identity"
    response = client.post(
        url("queue-ticket-finish", pk=ticket.pk),
        {"outcome": "incomplete", "error_note": "missing ID card"},
        format="json",
    )
    # Issue 7: "not completed" needs its reason from the list.
    assert response.status_code == 400 and response.json()["code"] == "incomplete_reason"
    response = client.post(
        url("queue-ticket-finish", pk=ticket.pk),
        {
            "outcome": "incomplete",
            "incomplete_reason": "documents",
            "error_note": "missing ID card",
        },
        format="json",
    )
    assert response.status_code == 200 and response.json()["status"] == "done"
    note = TicketEvent.objects.get(ticket=ticket, action=TicketAction.FINISH).note
    assert note.startswith("incomplete identity=no") and "missing ID card" in note


# --- C. The counter card shows this branch's history only --------------------------------------


def test_the_counter_card_shows_no_other_branchs_history_or_notes(
    client, serving, teller1, visit, other_branch, branch
):
    now = timezone.now()
    interaction_record(
        customer=visit.customer,
        branch=other_branch,
        kind=Interaction.Kind.NOTE,
        occurred_at=now,
        summary="written at the other branch",
    )
    interaction_record(
        customer=visit.customer,
        branch=branch,
        kind=Interaction.Kind.NOTE,
        occurred_at=now,
        summary="written here",
    )
    client.force_login(teller1)
    html = client.get(reverse("reception:counter", args=[serving.counter_id])).content.decode()
    assert "written here" in html
    assert "written at the other branch" not in html


# --- D. Configuration: validated models, and the admin ------------------------------------------


def test_impossible_settings_are_refused_by_the_models(branch, cash, desk, other_branch):
    branch.self_service_threshold = Decimal("-100")
    branch.max_recalls = 99
    with pytest.raises(ValidationError) as error:
        branch.full_clean()
    assert {"self_service_threshold", "max_recalls"} <= set(error.value.message_dict)
    cash.target_wait_minutes = 0
    cash.standard_handle_minutes = 0
    with pytest.raises(ValidationError) as error:
        cash.full_clean()
    assert {"target_wait_minutes", "standard_handle_minutes"} <= set(error.value.message_dict)
    foreign = ServiceFactory(branch=other_branch, code="fx", prefix="F")
    with pytest.raises(ValidationError) as error:
        CounterSkill(counter=desk, service=foreign, rank=5).full_clean()
    assert "service" in error.value.message_dict


@pytest.fixture
def superuser_client(client, db):
    admin_user = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    return client


@pytest.mark.parametrize(
    "name",
    [
        "admin:queueing_service_changelist",
        "admin:queueing_service_add",
        "admin:queueing_counter_changelist",
        "admin:queueing_counter_add",
        "admin:queueing_counterevent_changelist",
    ],
)
def test_the_admin_pages_open(superuser_client, seated, name):
    assert superuser_client.get(reverse(name)).status_code == 200


def test_the_admin_refuses_a_zero_target_wait(superuser_client, branch):
    response = superuser_client.post(
        reverse("admin:queueing_service_add"),
        {
            "branch": branch.pk,
            "code": "fx",
            "name_zh": "外汇",
            "name_en": "Foreign exchange",
            "prefix": "F",
            "target_wait_minutes": 0,
            "standard_handle_minutes": 5,
            "sort_order": 0,
            "is_active": "on",
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert "Ensure this value is greater than or equal to 1." in response.content.decode()
    assert not Service.objects.filter(code="fx").exists()


def test_the_admin_adds_a_counter_with_skills_of_its_own_branch_only(
    superuser_client, branch, cash, other_branch
):
    foreign = ServiceFactory(branch=other_branch, code="fx", prefix="F")
    form = {
        "branch": branch.pk,
        "number": 7,
        "label": "VIP",
        "skills-TOTAL_FORMS": 1,
        "skills-INITIAL_FORMS": 0,
        "skills-0-rank": 0,
    }
    refused = superuser_client.post(
        reverse("admin:queueing_counter_add"), {**form, "skills-0-service": foreign.pk}
    )
    assert refused.status_code == 200
    assert "That service belongs to another branch than the counter." in refused.content.decode()
    assert not Counter.objects.filter(number=7).exists()
    added = superuser_client.post(
        reverse("admin:queueing_counter_add"), {**form, "skills-0-service": cash.pk}
    )
    assert added.status_code == 302
    counter = Counter.objects.get(branch=branch, number=7)
    assert [s.service for s in counter.skills.all()] == [cash]
    assert (counter.is_open, counter.teller) == (False, None)  # opened at the counter only


def test_a_teller_sits_at_one_counter_at_a_time(branch, cash, counter, teller):
    """Seen: one teller held two counters; a customer called to the second found nobody."""
    from queueing import services as queue
    from tests.factories import CounterFactory

    second = CounterFactory(branch=branch, number=2, serves=[cash], is_open=False)
    with pytest.raises(queue.QueueError) as refused:
        queue.counter_open(counter=second, teller=teller)
    assert refused.value.code == "seated_elsewhere"
    second.refresh_from_db()
    assert (second.is_open, second.teller_id) == (False, None)
    queue.counter_close(counter=counter, teller=teller)
    assert queue.counter_open(counter=second, teller=teller).teller_id == teller.pk
