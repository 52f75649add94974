"""REST API of reception, CRM, feedback and KPIs, and branch isolation across every detail URL."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from crm.models import Customer, Interaction
from crm.services import interaction_record
from feedback.links import survey_token
from feedback.models import SurveyInvitation, SurveyResponse
from queueing import services as queue
from reception.models import Visit

from .factories import CounterFactory, CustomerFactory, MembershipFactory, ServiceFactory

PHONE = "13912345678"


def url(name: str, **kwargs) -> str:
    return reverse(f"api:{name}", kwargs=kwargs or None)


@pytest.fixture
def visit(as_user, lobby_manager, cash, counter):
    response = as_user(lobby_manager).post(
        url("reception-visit-list"),
        {"phone": PHONE, "service": "cash", "name": "王芳", "elderly": True},
        format="json",
    )
    assert response.status_code == 201, response.content
    return Visit.objects.select_related("ticket", "customer").get(pk=response.json()["id"])


@pytest.fixture
def customer(branch, teller):
    # The same person as the `visit` fixture's, when both are used.
    customer = Customer.objects.filter(phone=PHONE).first() or CustomerFactory(phone=PHONE)
    interaction_record(
        customer=customer,
        branch=branch,
        kind=Interaction.Kind.BRANCH_SERVICE,
        occurred_at=timezone.now() - timedelta(days=3),
        service_code="cash",
        staff=teller,
        source="ticket:test-1",
    )
    return customer


@pytest.fixture
def invitation(branch, customer):
    return SurveyInvitation.objects.create(
        customer=customer,
        branch=branch,
        interaction=customer.interactions.get(),
        status=SurveyInvitation.Status.SENT,
        sent_at=timezone.now(),
    )


@pytest.fixture
def outsider_head(other_branch):
    from .factories import UserFactory

    user = UserFactory(username="outsider-head")
    MembershipFactory(user=user, branch=other_branch, role=Role.BRANCH_HEAD)
    return user


# --- reception ---------------------------------------------------------------------------------


def test_it_registers_a_visit_with_a_ticket_and_a_masked_phone(as_user, lobby_manager, visit):
    response = as_user(lobby_manager).get(url("reception-visit-detail", pk=visit.pk))
    body = response.json()
    assert body["route"] == "queue"
    assert body["ticket"] == {"id": visit.ticket.pk, "code": "A001"}
    assert body["customer"]["masked_phone"] == "139****5678"
    assert PHONE not in response.content.decode()
    assert visit.ticket.priority == 3  # elderly -> care


def test_it_answers_a_registration_with_route_ticket_and_customer(as_user, lobby_manager, cash):
    response = as_user(lobby_manager).post(
        url("reception-visit-list"), {"phone": PHONE, "service": "cash"}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "route", "ticket", "customer"}
    assert set(body["customer"]) == {"id", "masked_phone", "name"}
    assert PHONE not in response.content.decode()


def test_it_diverts_a_small_cash_job_to_the_machines(as_user, lobby_manager, cash):
    response = as_user(lobby_manager).post(
        url("reception-visit-list"),
        {"phone": PHONE, "service": "cash", "amount": "500.00", "divert": True},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["route"] == "self_service"
    assert response.json()["ticket"] is None


def test_it_refuses_to_divert_a_large_amount(as_user, lobby_manager, cash):
    response = as_user(lobby_manager).post(
        url("reception-visit-list"),
        {"phone": PHONE, "service": "cash", "amount": "90000", "divert": True},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "divert"


def test_it_rejects_an_invalid_visit_body_with_field_errors(as_user, lobby_manager, cash):
    response = as_user(lobby_manager).post(
        url("reception-visit-list"), {"amount": "lots", "elderly": "maybe"}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()) == {"phone", "service", "amount", "elderly"}


def test_it_rejects_a_bad_phone_number(as_user, lobby_manager, cash):
    response = as_user(lobby_manager).post(
        url("reception-visit-list"), {"phone": "12345", "service": "cash"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "phone"


def test_it_forbids_a_teller_to_register_visits(as_user, teller, cash):
    response = as_user(teller).post(
        url("reception-visit-list"), {"phone": PHONE, "service": "cash"}, format="json"
    )
    assert response.status_code == 403


def test_it_lists_todays_visits(as_user, teller, visit):
    body = as_user(teller).get(url("reception-visit-list")).json()
    assert body["count"] == 1
    assert body["results"][0]["id"] == visit.pk
    assert body["results"][0]["service"] == "cash"


def test_it_completes_a_visit_and_finishes_its_ticket(as_user, teller, counter, visit):
    client = as_user(teller)
    client.post(url("queue-counter-call-next", pk=counter.pk))
    client.post(url("queue-ticket-start", pk=visit.ticket.pk))
    response = client.post(
        url("reception-visit-complete", pk=visit.pk),
        {"outcome": "completed", "identity_verified": True, "documents_signed": True},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["outcome"] == "completed"
    assert response.json()["ticket_status"] == "done"
    visit.refresh_from_db()
    assert visit.served_by == teller


def test_it_refuses_to_complete_without_identity_check(as_user, teller, counter, visit):
    client = as_user(teller)
    client.post(url("queue-counter-call-next", pk=counter.pk))
    client.post(url("queue-ticket-start", pk=visit.ticket.pk))
    response = client.post(
        url("reception-visit-complete", pk=visit.pk), {"outcome": "completed"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "identity"
    visit.refresh_from_db()
    assert visit.outcome == ""


def test_it_refuses_to_complete_a_visit_still_waiting(as_user, teller, visit):
    response = as_user(teller).post(
        url("reception-visit-complete", pk=visit.pk),
        {"outcome": "completed", "identity_verified": True},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_transition"


def test_it_rejects_a_bad_completion_body(as_user, teller, visit):
    response = as_user(teller).post(
        url("reception-visit-complete", pk=visit.pk), {"outcome": "great"}, format="json"
    )
    assert response.status_code == 400
    assert "outcome" in response.json()


def test_it_refuses_to_complete_a_diverted_visit(as_user, lobby_manager, teller, cash):
    created = as_user(lobby_manager).post(
        url("reception-visit-list"),
        {"phone": PHONE, "service": "cash", "amount": "100", "divert": True},
        format="json",
    )
    response = as_user(teller).post(
        url("reception-visit-complete", pk=created.json()["id"]),
        {"outcome": "completed", "identity_verified": True},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "no_ticket"


# --- crm ---------------------------------------------------------------------------------------


def test_it_finds_a_customer_by_phone_masked(as_user, teller, customer):
    client = as_user(teller)
    search = url("crm-customer-search")
    response = client.post(search, {"phone": "+86 139-1234-5678"}, format="json")
    assert response.status_code == 200
    assert [c["id"] for c in response.json()] == [customer.pk]
    assert response.json()[0]["masked_phone"] == "139****5678"
    assert PHONE not in response.content.decode()
    assert client.post(search, {"phone": "13900000000"}, format="json").json() == []
    assert client.post(search, {}, format="json").status_code == 400


def test_it_lists_only_customers_served_at_the_branch(as_user, teller, customer, other_branch):
    stranger = CustomerFactory()
    interaction_record(
        customer=stranger,
        branch=other_branch,
        kind=Interaction.Kind.BRANCH_SERVICE,
        occurred_at=timezone.now(),
    )
    body = as_user(teller).get(url("crm-customer-list")).json()
    assert [c["id"] for c in body["results"]] == [customer.pk]


def test_it_shows_a_customer_masked(as_user, lobby_manager, customer):
    customer.id_number = "110101199001011234"
    customer.save()
    response = as_user(lobby_manager).get(url("crm-customer-detail", pk=customer.pk))
    assert response.status_code == 200
    assert response.json()["masked_id_number"] == "1101**********1234"
    assert PHONE not in response.content.decode()
    assert customer.id_number not in response.content.decode()


def test_it_lists_only_this_branchs_interactions(as_user, teller, customer, other_branch):
    interaction_record(
        customer=customer,
        branch=other_branch,
        kind=Interaction.Kind.NOTE,
        occurred_at=timezone.now(),
        summary="elsewhere",
    )
    body = as_user(teller).get(url("crm-customer-interactions", pk=customer.pk)).json()
    assert [i["kind"] for i in body["results"]] == ["branch_service"]
    assert body["results"][0]["staff"] == "teller"


def test_it_adds_a_note_to_a_customer(as_user, teller, customer, branch):
    response = as_user(teller).post(
        url("crm-customer-note-create", pk=customer.pk), {"text": "prefers English"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["kind"] == "note"
    assert response.json()["summary"] == "prefers English"
    assert customer.interactions.filter(kind="note", branch=branch).count() == 1


def test_it_rejects_an_empty_note(as_user, teller, customer):
    response = as_user(teller).post(
        url("crm-customer-note-create", pk=customer.pk), {"text": ""}, format="json"
    )
    assert response.status_code == 400
    assert "text" in response.json()


# --- feedback ----------------------------------------------------------------------------------


def test_it_lists_invitations_for_the_branch_head_with_a_status_filter(
    as_user, branch_head, invitation
):
    client = as_user(branch_head)
    body = client.get(url("feedback-invitation-list")).json()
    assert [i["id"] for i in body["results"]] == [invitation.pk]
    assert body["results"][0]["customer"]["masked_phone"] == "139****5678"
    assert client.get(url("feedback-invitation-list"), {"status": "skipped"}).json()["count"] == 0
    assert client.get(url("feedback-invitation-list"), {"status": "bad"}).status_code == 400


def test_it_forbids_tellers_the_feedback_lists(as_user, teller, invitation):
    assert as_user(teller).get(url("feedback-invitation-list")).status_code == 403
    assert as_user(teller).get(url("feedback-response-list")).status_code == 403


def test_it_takes_a_public_survey_answer_once(as_user, branch_head, invitation):
    body = {"token": survey_token(invitation.pk), "satisfaction": 5, "recommend": 9}
    anonymous = as_user(None)
    first = anonymous.post(url("feedback-public-response-create"), body, format="json")
    assert first.status_code == 201
    assert first.json()["satisfaction"] == 5
    again = anonymous.post(url("feedback-public-response-create"), body, format="json")
    assert again.status_code == 400
    assert again.json()["code"] == "answered"
    listed = as_user(branch_head).get(url("feedback-response-list")).json()
    assert [(r["invitation"], r["recommend"]) for r in listed["results"]] == [(invitation.pk, 9)]


def test_it_rejects_a_forged_survey_token(as_user, invitation):
    response = as_user(None).post(
        url("feedback-public-response-create"),
        {"token": "forged", "satisfaction": 1},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "bad_link"
    assert not SurveyResponse.objects.exists()


def test_it_rejects_an_out_of_range_rating(as_user, invitation):
    response = as_user(None).post(
        url("feedback-public-response-create"),
        {"token": survey_token(invitation.pk), "satisfaction": 9, "recommend": 11},
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()) == {"satisfaction", "recommend"}


# --- kpi ---------------------------------------------------------------------------------------


def test_it_serves_todays_live_figures(as_user, branch_head, branch, cash):
    queue.ticket_issue(branch=branch, service=cash)
    response = as_user(branch_head).get(url("kpi-today"))
    assert response.status_code == 200
    assert response.json()["figures"]["issued"] == 1
    assert response.json()["figures"]["avg_wait_s"] is None
    assert response.json()["diverted"] == 0


def test_it_forbids_tellers_the_kpis(as_user, teller):
    assert as_user(teller).get(url("kpi-today")).status_code == 403


# --- anonymous callers and branch isolation ----------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "reception-visit-list",
        "crm-customer-list",
        "feedback-invitation-list",
        "feedback-response-list",
        "kpi-today",
    ],
)
def test_it_turns_away_anonymous_callers(as_user, db, name):
    # 403, not 401: session authentication comes first and names no challenge, so a browser
    # opening an API address is not met by a basic-auth password box.
    assert as_user(None).get(url(name)).status_code == 403


@pytest.fixture
def this_branch_rows(branch, cash, counter, teller, visit, customer):
    """One of everything at `branch`, by id."""
    return {
        "ticket": visit.ticket.pk,
        "counter": counter.pk,
        "visit": visit.pk,
        "customer": customer.pk,
    }


DETAIL_URLS = [
    ("get", "queue-ticket-detail", "ticket"),
    ("post", "queue-ticket-recall", "ticket"),
    ("post", "queue-ticket-start", "ticket"),
    ("post", "queue-ticket-finish", "ticket"),
    ("post", "queue-ticket-no-show", "ticket"),
    ("post", "queue-ticket-cancel", "ticket"),
    ("post", "queue-ticket-transfer", "ticket"),
    ("post", "queue-counter-open", "counter"),
    ("post", "queue-counter-close", "counter"),
    ("post", "queue-counter-pause", "counter"),
    ("post", "queue-counter-resume", "counter"),
    ("post", "queue-counter-call-next", "counter"),
    ("get", "reception-visit-detail", "visit"),
    ("post", "reception-visit-complete", "visit"),
    ("get", "crm-customer-detail", "customer"),
    ("get", "crm-customer-interactions", "customer"),
    ("post", "crm-customer-note-create", "customer"),
]


@pytest.mark.parametrize(("method", "name", "kind"), DETAIL_URLS)
def test_it_hides_this_branchs_objects_from_another_branchs_teller(
    as_user, outsider, this_branch_rows, method, name, kind
):
    # The outsider even has a service and counter of the same code/number at their own branch.
    ServiceFactory(branch=outsider.memberships.get().branch, code="loan", prefix="E")
    response = getattr(as_user(outsider), method)(
        url(name, pk=this_branch_rows[kind]),
        {"service": "loan", "outcome": "completed", "identity_verified": True, "text": "x"},
        format="json",
    )
    assert response.status_code == 404


def test_it_keeps_this_branchs_rows_out_of_another_branchs_lists(
    as_user, outsider, outsider_head, this_branch_rows, invitation
):
    CounterFactory(branch=outsider.memberships.get().branch, number=9)
    teller = as_user(outsider)
    assert teller.get(url("reception-visit-list")).json()["count"] == 0
    assert teller.get(url("crm-customer-list")).json()["count"] == 0
    assert teller.get(url("crm-customer-list"), {"phone": PHONE}).json()["count"] == 0
    assert [c["number"] for c in teller.get(url("queue-counter-list")).json()] == [9]
    head = as_user(outsider_head)
    assert head.get(url("feedback-invitation-list")).json()["count"] == 0
    assert head.get(url("feedback-response-list")).json()["count"] == 0
    assert head.get(url("kpi-today")).json()["figures"]["issued"] == 0
