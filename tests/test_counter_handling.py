"""The counter's handling (issue 7, items 1 and 2): control points per service with versions,
outcomes (follow-up, not completed with a reason), and errors (差错) counted per teller and
service."""

import re
from datetime import timedelta
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts import outbox
from accounts.models import Role
from accounts.timeutil import branch_today
from queueing import services as queue
from queueing.states import TicketStatus
from reception import controls
from reception import selectors as reception_selectors
from reception import services as reception
from reception.models import ControlPoint, ControlPointVersion, ServiceError, Visit

from .factories import (
    ControlPointFactory,
    CounterFactory,
    ErrorCategoryFactory,
    MembershipFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

PHONE = "13800138000"


def url(name: str, **kwargs) -> str:
    return reverse(f"api:{name}", kwargs=kwargs or None)


def act(client, counter, action, htmx=False, **extra):
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    return client.post(
        reverse("reception:counter_action", args=[counter.pk]),
        {"action": action, **extra},
        **headers,
    )


def serve(branch, service, counter, teller, phone=PHONE) -> Visit:
    """A registered customer called to `counter` and being served by `teller`."""
    visit = reception.visit_register(
        branch=branch, registered_by=teller, phone=phone, service=service, name="张三"
    )
    called = queue.ticket_call_next(counter=counter, teller=teller)
    assert called.pk == visit.ticket_id
    queue.ticket_start(ticket_id=called.pk, by=teller)
    visit.ticket.refresh_from_db()
    return visit


@pytest.fixture
def signature(cash):
    """The cash service's points: the three defaults plus a required signature check."""
    reception.control_points_publish(cash)  # the defaults first (a service created now)
    ControlPointFactory(
        service=cash, key="signature_checked", label_en="Signature checked", required=True
    )
    return reception.control_points_publish(cash)


@pytest.fixture
def categories(branch):
    return {
        "amount": ErrorCategoryFactory(branch=branch, code="wrong_amount", name_en="Wrong amount"),
        "signature": ErrorCategoryFactory(
            branch=branch, code="missing_signature", name_en="Missing signature"
        ),
    }


@pytest.fixture
def english(client):
    client.cookies["django_language"] = "en"
    return client


# --- 1. Control points: defaults, versions, enforcement -----------------------------------------


def test_a_service_without_points_gets_the_three_defaults_at_its_first_finish(
    branch, cash, counter, teller
):
    assert not ControlPoint.objects.filter(service=cash).exists()
    visit = serve(branch, cash, counter, teller)
    reception.visit_complete_service(
        ticket=visit.ticket, teller=teller, outcome="completed", identity_verified=True
    )
    version = ControlPointVersion.objects.get(service=cash)
    assert version.number == 1
    assert [(p["key"], p["required"]) for p in version.points] == [
        ("identity_verified", True),
        ("documents_signed", False),
        ("funds_handed_over", False),
    ]
    visit.refresh_from_db()
    assert visit.control_version == version
    assert visit.checked_points == ["identity_verified"]


def test_the_finish_writes_every_outcome_field_and_announces_the_visit(
    branch, cash, counter, teller
):
    """The outcome is written by one UPDATE (reception.services.desk._record_outcome): each
    field as save() would write it, and the announced event names the visit and its branch."""
    visit = serve(branch, cash, counter, teller)
    with mock.patch.object(outbox, "publish", wraps=outbox.publish) as published:
        reception.visit_complete_service(
            ticket=visit.ticket,
            teller=teller,
            outcome="incomplete",
            incomplete_reason="documents",
            error_note="ID card expired",
            checked_points=["documents_signed"],
        )
    visit.refresh_from_db()
    assert (visit.outcome, visit.incomplete_reason) == ("incomplete", "documents")
    assert visit.error_note == "ID card expired" and visit.served_by == teller
    assert visit.checked_points == ["documents_signed"]
    assert visit.documents_signed and not visit.identity_verified
    assert visit.control_version == ControlPointVersion.objects.get(service=cash)
    announced = [c for c in published.call_args_list if c.args[0] == reception.VISIT_COMPLETED]
    assert [(c.args[1], c.kwargs) for c in announced] == [
        (
            {
                "visit_id": visit.pk,
                "ticket_id": visit.ticket_id,
                "branch_id": branch.pk,
                "outcome": "incomplete",
            },
            {"branch_id": branch.pk},
        )
    ]


def test_completed_is_refused_until_every_required_point_is_ticked(
    branch, cash, counter, teller, signature
):
    visit = serve(branch, cash, counter, teller)
    with pytest.raises(reception.ReceptionError) as refused:
        reception.visit_complete_service(
            ticket=visit.ticket,
            teller=teller,
            outcome="completed",
            checked_points=["identity_verified"],
        )
    assert refused.value.code == "checked_points"
    assert "Signature checked" in str(refused.value.message)
    visit.ticket.refresh_from_db()
    assert visit.ticket.status == TicketStatus.SERVING  # the finish was rolled back
    reception.visit_complete_service(
        ticket=visit.ticket,
        teller=teller,
        outcome="completed",
        checked_points=["signature_checked", "identity_verified"],
    )
    visit.refresh_from_db()
    assert visit.ticket.status == TicketStatus.DONE
    # Kept in the version's order, with the version they were checked against.
    assert visit.checked_points == ["identity_verified", "signature_checked"]
    assert visit.control_version == signature and signature.number == 2
    assert visit.identity_verified and not visit.documents_signed


def test_another_outcome_needs_no_required_point(branch, cash, counter, teller, signature):
    visit = serve(branch, cash, counter, teller)
    reception.visit_complete_service(
        ticket=visit.ticket, teller=teller, outcome="incomplete", incomplete_reason="documents"
    )
    visit.refresh_from_db()
    assert (visit.outcome, visit.incomplete_reason, visit.checked_points) == (
        "incomplete",
        "documents",
        [],
    )


def test_not_completed_needs_a_reason_from_the_list(branch, cash, counter, teller):
    visit = serve(branch, cash, counter, teller)
    for reason in ("", "bored"):
        with pytest.raises(reception.ReceptionError) as refused:
            reception.visit_complete_service(
                ticket=visit.ticket, teller=teller, outcome="incomplete", incomplete_reason=reason
            )
        assert refused.value.code == "incomplete_reason"
    # Another outcome keeps no reason.
    reception.visit_complete_service(
        ticket=visit.ticket,
        teller=teller,
        outcome="completed",
        identity_verified=True,
        incomplete_reason="documents",
    )
    visit.refresh_from_db()
    assert visit.incomplete_reason == ""


def test_editing_the_points_publishes_a_new_version_and_old_visits_keep_theirs(
    branch, cash, counter, teller
):
    first = reception.control_points_publish(cash)
    assert reception.control_points_publish(cash) == first  # nothing changed: no new version
    visit = serve(branch, cash, counter, teller)
    reception.visit_complete_service(
        ticket=visit.ticket, teller=teller, outcome="completed", identity_verified=True
    )
    ControlPoint.objects.filter(service=cash, key="documents_signed").update(
        required=True, label_en="Every document signed"
    )
    second = reception.control_points_publish(cash)
    assert second.number == 2
    assert {p["key"]: p["required"] for p in second.points}["documents_signed"] is True
    # The new version is what the next finish checks against (the cached copy was dropped).
    assert reception_selectors.control_version_for_service(service_id=cash.pk)["id"] == second.pk
    visit.refresh_from_db()
    assert visit.control_version == first
    later = serve(branch, cash, counter, teller, phone="13800138001")
    with pytest.raises(reception.ReceptionError):
        reception.visit_complete_service(
            ticket=later.ticket, teller=teller, outcome="completed", identity_verified=True
        )


def test_retiring_a_point_publishes_a_version_without_it(cash):
    reception.control_points_publish(cash)
    ControlPoint.objects.filter(service=cash, key="funds_handed_over").update(is_active=False)
    version = reception.control_points_publish(cash)
    assert [p["key"] for p in version.points] == ["identity_verified", "documents_signed"]


def test_optional_points_may_be_missed_and_are_reported_per_service_and_teller(
    branch, cash, counter, teller
):
    for n, checked in enumerate(
        (["identity_verified"], ["identity_verified", "documents_signed"], ["identity_verified"])
    ):
        visit = serve(branch, cash, counter, teller, phone=f"1380013800{n}")
        reception.visit_complete_service(
            ticket=visit.ticket, teller=teller, outcome="completed", checked_points=checked
        )
    today = branch_today(branch)
    rows = reception_selectors.missed_optional_points(
        branch=branch, start=today, end=today, language="en"
    )
    by_key = {row["key"]: row for row in rows}
    assert by_key["funds_handed_over"]["missed"] == 3
    assert by_key["documents_signed"]["missed"] == 2
    assert by_key["documents_signed"]["visits"] == 3
    assert by_key["documents_signed"]["service"] == "Cash"
    assert by_key["documents_signed"]["teller_id"] == teller.pk
    assert rows[0]["key"] == "funds_handed_over"  # most missed first
    # Another range: nothing.
    earlier = today - timedelta(days=3)
    assert not reception_selectors.missed_optional_points(branch=branch, start=earlier, end=earlier)


def test_a_transfer_keeps_the_points_already_ticked(branch, cash, loans, counter, teller):
    visit = serve(branch, cash, counter, teller)
    new = reception.visit_transfer(
        ticket_id=visit.ticket_id,
        by=teller,
        branch=branch,
        to_service=loans,
        identity_verified=True,
        checked_points=["documents_signed"],
    )
    visit.refresh_from_db()
    assert visit.ticket == new
    assert visit.checked_points == ["documents_signed", "identity_verified"]
    assert visit.handovers.get().identity_verified


def test_pure_control_point_rules():
    points = [dict(p) for p in controls.DEFAULT_POINTS]
    assert controls.ticked_keys(["a"], {"identity_verified": True, "funds_handed_over": False}) == [
        "a",
        "identity_verified",
    ]
    assert [p["key"] for p in controls.missing_required(points, [])] == ["identity_verified"]
    assert [p["key"] for p in controls.missed_optional(points, ["documents_signed"])] == [
        "funds_handed_over"
    ]
    assert controls.unknown_keys(points, ["nope", "funds_handed_over"]) == ["nope"]
    assert controls.point_label(points[0], "en") == "Identity verified"
    assert controls.point_label(points[0], "zh-hant") == "核實客戶身份"


# --- The API: legacy booleans and checked_points -----------------------------------------------


def test_the_api_maps_the_legacy_booleans_onto_the_points(
    as_user, branch, cash, counter, teller, signature
):
    visit = serve(branch, cash, counter, teller)
    client = as_user(teller)
    refused = client.post(
        url("reception-visit-complete", pk=visit.pk),
        {"outcome": "completed", "identity_verified": True},
        format="json",
    )
    assert refused.status_code == 400 and refused.json()["code"] == "checked_points"
    response = client.post(
        url("reception-visit-complete", pk=visit.pk),
        {
            "outcome": "completed",
            "identity_verified": True,
            "funds_handed_over": True,
            "checked_points": ["signature_checked"],
        },
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["checked_points"] == ["identity_verified", "funds_handed_over", "signature_checked"]
    assert body["control_version"] == signature.pk
    assert (body["identity_verified"], body["documents_signed"], body["funds_handed_over"]) == (
        True,
        False,
        True,
    )


def test_the_api_refuses_an_unknown_point_and_a_bad_reason(as_user, branch, cash, counter, teller):
    visit = serve(branch, cash, counter, teller)
    client = as_user(teller)
    unknown = client.post(
        url("queue-ticket-finish", pk=visit.ticket_id),
        {"outcome": "completed", "identity_verified": True, "checked_points": ["made_up"]},
        format="json",
    )
    assert unknown.status_code == 400 and unknown.json()["code"] == "checked_points"
    bad = client.post(
        url("queue-ticket-finish", pk=visit.ticket_id),
        {"outcome": "incomplete", "incomplete_reason": "bored"},
        format="json",
    )
    assert bad.status_code == 400 and "incomplete_reason" in bad.json()
    visit.ticket.refresh_from_db()
    assert visit.ticket.status == TicketStatus.SERVING


# --- The counter screen -----------------------------------------------------------------------


@pytest.fixture
def at_the_counter(english, branch, cash, counter, teller, signature):
    visit = reception.visit_register(
        branch=branch, registered_by=teller, phone=PHONE, service=cash, name="张三"
    )
    english.force_login(teller)
    for action in ("call", "start"):
        assert act(english, counter, action).status_code == 302
    return visit


def test_the_counter_lists_the_service_s_points_and_refuses_a_finish_without_the_required(
    english, at_the_counter, counter
):
    html = english.get(reverse("reception:counter", args=[counter.pk])).content.decode()
    for label in (
        "Identity verified",
        "Documents signed",
        "Funds handed over",
        "Signature checked",
    ):
        assert label in html
    assert html.count('class="badge badge-required"') == 2
    response = act(
        english,
        counter,
        "finish",
        htmx=True,
        outcome="completed",
        checked_points=["identity_verified", "documents_signed"],
    )
    html = response.content.decode()
    assert "Tick every required control point" in html and "Signature checked" in html
    # Shown at the points, with what was ticked kept ticked.
    assert re.search(
        r'id="control-points"[^>]*>\s*<legend[^>]*>[^<]*</legend>\s*<div class="alert', html
    )
    assert re.search(r'value="documents_signed"[^>]* checked[ >]', html)
    assert not re.search(r'value="signature_checked"[^>]* checked[ >]', html)
    response = act(
        english,
        counter,
        "finish",
        outcome="completed",
        checked_points=["identity_verified", "signature_checked"],
    )
    assert response.status_code == 302
    visit = Visit.objects.get(pk=at_the_counter.pk)
    assert visit.outcome == "completed"
    assert visit.checked_points == ["identity_verified", "signature_checked"]


def test_the_counter_explains_referred_and_asks_the_reason_not_completed(
    english, at_the_counter, counter
):
    html = act(english, counter, "finish", htmx=True, outcome="referred").content.decode()
    assert "use Transfer" in html
    assert re.search(r'<details class="card transfer" open>', html)
    html = act(english, counter, "finish", htmx=True, outcome="incomplete").content.decode()
    assert "Choose why the service could not be completed." in html
    at_the_counter.ticket.refresh_from_db()
    assert at_the_counter.ticket.status == TicketStatus.SERVING
    assert (
        act(
            english, counter, "finish", outcome="incomplete", incomplete_reason="system"
        ).status_code
        == 302
    )
    visit = Visit.objects.get(pk=at_the_counter.pk)
    assert (visit.outcome, visit.incomplete_reason) == ("incomplete", "system")


def test_the_timer_runs_against_the_service_s_standard_time(english, at_the_counter, counter):
    html = english.get(reverse("reception:counter", args=[counter.pk])).content.decode()
    standard_s = at_the_counter.service.standard_handle_minutes * 60
    assert f'data-standard-s="{standard_s}"' in html
    assert 'class="timer" data-started-at="' in html


# --- Follow-up: a care reminder, once ---------------------------------------------------------


def _reminders():
    from crm.models import CareReminder

    return CareReminder.objects.all()


requires_reminders = pytest.mark.skipif(
    not hasattr(__import__("crm.services", fromlist=["x"]), "reminder_create"),
    reason="crm.services.reminder_create (H7) not exported yet",
)


@requires_reminders
def test_follow_up_needed_creates_one_care_reminder_for_the_teller(branch, cash, counter, teller):
    from crm import services as crm_services

    visit = serve(branch, cash, counter, teller)
    reception.visit_complete_service(
        ticket=visit.ticket, teller=teller, outcome="follow_up", error_note="call back re card"
    )
    reminder = _reminders().get()
    assert (reminder.kind, reminder.assignee, reminder.customer) == (
        "follow_up",
        teller,
        visit.customer,
    )
    assert reminder.source == f"visit:{visit.pk}"
    assert reminder.due_on == branch_today(branch) + timedelta(days=1)
    assert "call back re card" in reminder.title
    # Idempotent: the same source again returns the same reminder.
    again = crm_services.reminder_create(
        customer=visit.customer,
        branch=branch,
        kind="follow_up",
        title="x",
        due_on=reminder.due_on,
        source=f"visit:{visit.pk}",
    )
    assert again == reminder and _reminders().count() == 1


@requires_reminders
def test_a_refused_follow_up_leaves_no_reminder(as_user, branch, cash, counter, teller):
    ticket = queue.ticket_issue(branch=branch, service=cash)  # no visit, no customer
    queue.ticket_call_next(counter=counter, teller=teller)
    queue.ticket_start(ticket_id=ticket.pk, by=teller)
    response = as_user(teller).post(
        url("queue-ticket-finish", pk=ticket.pk), {"outcome": "follow_up"}, format="json"
    )
    assert response.status_code == 400 and response.json()["code"] == "outcome"
    assert not _reminders().exists()
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.SERVING


# --- 2. Errors --------------------------------------------------------------------------------


def test_the_seated_teller_records_errors_on_the_customer_at_the_counter(
    branch, cash, counter, teller, categories
):
    visit = serve(branch, cash, counter, teller)
    with mock.patch.object(outbox, "publish", wraps=outbox.publish) as published:
        first = reception.service_error_record(
            ticket=visit.ticket,
            by=teller,
            branch=branch,
            category=categories["amount"],
            severity="major",
            note="¥100 short",
        )
    reception.service_error_record(
        ticket=visit.ticket.pk,
        by=teller,
        branch=branch,
        category=categories["signature"].pk,
        severity="minor",
    )
    assert (first.visit, first.teller, first.service, first.recorded_by) == (
        visit,
        teller,
        cash,
        teller,
    )
    assert ServiceError.objects.filter(visit=visit).count() == 2
    topic, payload = published.call_args.args
    assert topic == "reception.service_error_recorded"
    assert payload["error_id"] == first.pk and payload["teller_id"] == teller.pk
    assert payload["category"] == "wrong_amount" and payload["severity"] == "major"


def test_only_the_seated_teller_may_record_while_serving(
    branch, cash, counter, teller, branch_head, categories, outsider, other_branch
):
    visit = serve(branch, cash, counter, teller)
    other = UserFactory(username="teller2")
    MembershipFactory(user=other, branch=branch, role=Role.TELLER)
    for by in (other, branch_head):
        with pytest.raises(reception.HandlingError):
            reception.service_error_record(
                ticket=visit.ticket,
                by=by,
                branch=branch,
                category=categories["amount"],
                severity="minor",
            )
    # Another branch's user, with their branch: the ticket is not found there.
    with pytest.raises(reception.HandlingError) as refused:
        reception.service_error_record(
            ticket=visit.ticket,
            by=outsider,
            branch=other_branch,
            category=categories["amount"],
            severity="minor",
        )
    assert refused.value.code == "ticket"
    # Another branch's category.
    foreign = ErrorCategoryFactory(branch=other_branch, code="wrong_amount")
    with pytest.raises(reception.HandlingError) as refused:
        reception.service_error_record(
            ticket=visit.ticket, by=teller, branch=branch, category=foreign, severity="minor"
        )
    assert refused.value.code == "category"
    assert not ServiceError.objects.exists()


def test_after_the_finish_the_teller_or_the_branch_head_may_record_the_same_day(
    branch, cash, counter, teller, branch_head, categories
):
    visit = serve(branch, cash, counter, teller)
    reception.visit_complete_service(
        ticket=visit.ticket, teller=teller, outcome="completed", identity_verified=True
    )
    other = UserFactory(username="teller2")
    MembershipFactory(user=other, branch=branch, role=Role.TELLER)
    with pytest.raises(reception.HandlingError):
        reception.service_error_record(
            ticket=visit.ticket,
            by=other,
            branch=branch,
            category=categories["amount"],
            severity="minor",
        )
    for by in (teller, branch_head):
        error = reception.service_error_record(
            ticket=visit.ticket,
            by=by,
            branch=branch,
            category=categories["amount"],
            severity="minor",
        )
        assert error.teller == teller and error.recorded_by == by  # counted on who served
    # Not on a later day.
    visit.ticket.__class__.objects.filter(pk=visit.ticket_id).update(
        business_date=branch_today(branch) - timedelta(days=1)
    )
    with pytest.raises(reception.HandlingError):
        reception.service_error_record(
            ticket=visit.ticket,
            by=teller,
            branch=branch,
            category=categories["amount"],
            severity="minor",
        )


def test_errors_are_counted_per_teller_and_service(
    branch, cash, loans, counter, teller, categories
):
    second = UserFactory(username="teller2", first_name="Wang")
    MembershipFactory(user=second, branch=branch, role=Role.TELLER)
    desk2 = CounterFactory(branch=branch, number=2, serves=[loans], teller=second)
    a = serve(branch, cash, counter, teller)
    b = serve(branch, loans, desk2, second, phone="13800138009")
    for ticket, by, n in ((a.ticket, teller, 2), (b.ticket, second, 1)):
        for _ in range(n):
            reception.service_error_record(
                ticket=ticket, by=by, branch=branch, category=categories["amount"], severity="minor"
            )
    counts = reception_selectors.error_counts(
        reception_selectors.service_errors(branch=branch), "en"
    )
    assert [(row["teller_id"], row["count"]) for row in counts["by_teller"]] == [
        (teller.pk, 2),
        (second.pk, 1),
    ]
    assert [(row["service"], row["count"]) for row in counts["by_service"]] == [
        ("Cash", 2),
        ("Loans", 1),
    ]
    assert counts["total"] == 3


def test_the_counter_records_an_error_for_the_current_ticket(
    english, at_the_counter, counter, teller, categories
):
    html = english.get(reverse("reception:counter", args=[counter.pk])).content.decode()
    assert "Record an error" in html and "Wrong amount" in html
    refused = act(
        english, counter, "record_error", htmx=True, **{"err-ticket": at_the_counter.ticket_id}
    )
    assert refused.status_code == 200 and not ServiceError.objects.exists()
    response = act(
        english,
        counter,
        "record_error",
        **{
            "err-ticket": at_the_counter.ticket_id,
            "err-category": categories["signature"].pk,
            "err-severity": "critical",
            "err-note": "no signature on slip",
        },
    )
    assert response.status_code == 302
    error = ServiceError.objects.get()
    assert (error.ticket_id, error.severity, error.teller) == (
        at_the_counter.ticket_id,
        "critical",
        teller,
    )


def test_the_errors_api_lists_filters_and_records(
    as_user, branch, cash, counter, teller, branch_head, categories, outsider
):
    visit = serve(branch, cash, counter, teller)
    client = as_user(teller)
    created = client.post(
        url("reception-error-list"),
        {"ticket": visit.ticket_id, "category": "wrong_amount", "severity": "major"},
        format="json",
    )
    assert created.status_code == 201
    assert created.json()["teller"] == "teller" and created.json()["service"] == "cash"
    bad = client.post(
        url("reception-error-list"),
        {"ticket": visit.ticket_id, "category": "nope", "severity": "major"},
        format="json",
    )
    assert bad.status_code == 400 and "category" in bad.json()
    head = as_user(branch_head)
    listed = head.get(url("reception-error-list"), {"category": categories["amount"].pk})
    assert listed.status_code == 200 and listed.json()["count"] == 1
    none = head.get(url("reception-error-list"), {"severity": "minor"})
    assert none.json()["count"] == 0
    assert head.get(url("reception-error-list"), {"teller": "x"}).status_code == 400
    # Another branch's teller sees none of these and cannot record on the ticket.
    stranger = as_user(outsider)
    assert stranger.get(url("reception-error-list")).json()["count"] == 0
    refused = stranger.post(
        url("reception-error-list"),
        {"ticket": visit.ticket_id, "category": "wrong_amount", "severity": "major"},
        format="json",
    )
    assert refused.status_code == 400
    assert as_user(None).get(url("reception-error-list")).status_code == 403


def test_the_lobby_manager_may_not_use_the_errors_api(as_user, lobby_manager):
    assert as_user(lobby_manager).get(url("reception-error-list")).status_code == 403


def test_the_errors_page_is_the_branch_head_s(
    english, branch, cash, counter, teller, branch_head, categories
):
    visit = serve(branch, cash, counter, teller)
    reception.service_error_record(
        ticket=visit.ticket,
        by=teller,
        branch=branch,
        category=categories["amount"],
        severity="major",
    )
    english.force_login(teller)
    assert english.get(reverse("reception:errors")).status_code == 403
    english.force_login(branch_head)
    html = english.get(reverse("reception:errors")).content.decode()
    assert (
        "Wrong amount" in html and "Per teller" in html and "Missed optional control points" in html
    )
    filtered = english.get(reverse("reception:errors"), {"category": categories["signature"].pk})
    assert "No errors recorded." in filtered.content.decode()
    bad = english.get(reverse("reception:errors"), {"date_from": "not-a-date"})
    assert bad.status_code == 200
    # An error found after the finish, recorded by the branch head on today's ticket.
    reception.visit_complete_service(
        ticket=visit.ticket, teller=teller, outcome="completed", identity_verified=True
    )
    response = english.post(
        reverse("reception:errors"),
        {
            "err-ticket": visit.ticket_id,
            "err-category": categories["signature"].pk,
            "err-severity": "minor",
        },
    )
    assert response.status_code == 302
    assert ServiceError.objects.filter(recorded_by=branch_head, teller=teller).count() == 1


def test_the_admin_publishes_a_version_when_a_point_is_saved(client, branch, cash):
    admin = UserFactory(username="branch-admin", is_staff=True)
    MembershipFactory(user=admin, branch=branch, role=Role.ADMIN)
    client.force_login(admin)
    response = client.post(
        reverse("admin:reception_controlpoint_add"),
        {
            "service": cash.pk,
            "key": "cash_counted",
            "label_zh": "当面点清",
            "label_zh_hant": "",
            "label_en": "Cash counted",
            "required": "on",
            "sort_order": 40,
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    version = ControlPointVersion.objects.filter(service=cash).order_by("-number").first()
    # Never published before: the defaults come with it, so nothing enforced is lost.
    assert version.number == 1
    assert [p["key"] for p in version.points] == [*controls.LEGACY_KEYS, "cash_counted"]
    assert timezone.now() - version.created_at < timedelta(minutes=1)
    assert version.created_by == admin


def test_the_seed_gives_points_and_error_categories_once(branch, cash, loans):
    from io import StringIO

    from reception.management.commands.seed_reception_demo import (
        ERROR_CATEGORIES,
        seed_counter_handling,
    )
    from reception.models import ErrorCategory

    seed_counter_handling(branch, StringIO())
    versions = ControlPointVersion.objects.filter(service=cash).count()
    seed_counter_handling(branch, StringIO())  # idempotent: no new version the second time
    assert ControlPointVersion.objects.filter(service=cash).count() == versions
    assert ErrorCategory.objects.filter(branch=branch).count() == len(ERROR_CATEGORIES)
    cash_version = ControlPointVersion.objects.filter(service=cash).latest("number")
    assert [p["key"] for p in cash_version.points] == [*controls.LEGACY_KEYS, "cash_counted"]
    # The cash points name the clause of the cash standard they come from (seed_quality_demo).
    clauses = {p["key"]: p.get("clause_ref", "") for p in cash_version.points}
    assert clauses["identity_verified"] == "SOP-CASH 3.1"
    assert ControlPointVersion.objects.get(service=loans).number == 1
