"""Complaints (issue 7): the workflow with its trail, who may take which step, the closed-loop
check, informing by SMS through the outbox, deadline reminders and escalation (once), the
pages and the API."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import BranchClosedDay, Role
from crm import services
from crm.models import Complaint, ComplaintDeadline, CustomerBranch
from feedback import services as feedback_services
from feedback.sms import LocmemBackend

from .factories import CustomerFactory, MembershipFactory, UserFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Tuesday 24 Nov 2026, 10:00 at the branch.
TUESDAY_10 = datetime(2026, 11, 24, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def _tuesday_morning():
    """The clock at the branch: Tuesday 10:00, ticking (the trail's order is real)."""
    with time_machine.travel(TUESDAY_10, tick=True):
        yield


def close_of(day: date) -> datetime:
    return datetime.combine(day, time(17, 0), tzinfo=SHANGHAI)


@pytest.fixture
def customer(branch):
    customer = CustomerFactory(phone="13912345678", preferred_language="en", name="Li Lei")
    CustomerBranch.objects.create(
        customer=customer, branch=branch, first_seen_at=TUESDAY_10, last_seen_at=TUESDAY_10
    )
    return customer


@pytest.fixture
def teller2(branch):
    user = UserFactory(username="teller2")
    MembershipFactory(user=user, branch=branch, role=Role.TELLER)
    return user


def log(branch, by, *, severity="high", customer=None, now=TUESDAY_10, **kwargs) -> Complaint:
    return services.complaint_log(
        branch=branch,
        channel=kwargs.pop("channel", Complaint.Channel.COUNTER),
        severity=severity,
        subject=kwargs.pop("subject", "Waited an hour for a card"),
        details=kwargs.pop("details", ""),
        customer=customer,
        by=by,
        now=now,
        **kwargs,
    )


def to_resolved(complaint, head, worker) -> Complaint:
    services.complaint_assign(complaint=complaint, assignee=worker, by=head)
    services.complaint_start(complaint=complaint, by=worker)
    return services.complaint_resolve(
        complaint=complaint, resolution="Card printer fixed; fee refunded.", by=worker
    )


def actions(complaint) -> list[str]:
    return list(complaint.events.order_by("at", "pk").values_list("action", flat=True))


# --- Logging and deadlines -------------------------------------------------------------------


def test_deadlines_follow_the_severity_defaults_in_working_days(branch, teller):
    high = log(branch, teller, severity="high")
    assert high.status == Complaint.Status.LOGGED
    assert high.acknowledge_due_at == close_of(date(2026, 11, 25))  # Wed
    assert high.resolve_due_at == close_of(date(2026, 11, 27))  # Fri
    low = log(branch, teller, severity="low")
    assert low.acknowledge_due_at == close_of(date(2026, 11, 26))  # Thu
    assert low.resolve_due_at == close_of(date(2026, 12, 8))  # 10 working days
    assert actions(high) == ["logged"]
    assert high.events.get().by == teller


def test_the_branchs_own_deadlines_and_closed_days_apply(branch, teller):
    ComplaintDeadline.objects.create(
        branch=branch, severity="medium", acknowledge_days=2, resolve_days=3
    )
    BranchClosedDay.objects.create(branch=branch, date=date(2026, 11, 26))  # Thursday
    complaint = log(branch, teller, severity="medium")
    assert complaint.acknowledge_due_at == close_of(date(2026, 11, 27))  # Wed, (Thu), Fri
    assert complaint.resolve_due_at == close_of(date(2026, 11, 30))  # Mon


def test_logging_is_idempotent_on_its_source(branch):
    first = log(branch, None, source="survey:7", channel=Complaint.Channel.SURVEY)
    again = log(branch, None, source="survey:7", channel=Complaint.Channel.SURVEY)
    assert again.pk == first.pk
    assert Complaint.objects.count() == 1
    assert actions(first) == ["logged"]


def test_logging_refuses_bad_input_and_outsiders(branch, teller, outsider):
    with pytest.raises(services.ComplaintError) as refused:
        log(branch, teller, subject="   ")
    assert refused.value.code == "subject"
    with pytest.raises(services.ComplaintError) as refused:
        log(branch, teller, severity="urgent")
    assert refused.value.code == "severity"
    with pytest.raises(PermissionDenied):
        log(branch, outsider)
    assert not Complaint.objects.exists()


# --- The workflow, roles, the closed loop ------------------------------------------------------


def test_a_complaint_runs_from_logged_to_closed_with_its_trail(
    branch, lobby_manager, teller, branch_head
):
    complaint = log(branch, lobby_manager)
    complaint = services.complaint_assign(complaint=complaint, assignee=teller, by=branch_head)
    assert complaint.status == Complaint.Status.ASSIGNED
    assert complaint.acknowledged_at is not None
    complaint = services.complaint_start(complaint=complaint, by=teller)
    assert complaint.status == Complaint.Status.INVESTIGATING
    complaint = services.complaint_resolve(complaint=complaint, resolution="Refunded.", by=teller)
    assert complaint.status == Complaint.Status.RESOLVED
    complaint = services.complaint_inform(
        complaint=complaint, by_how="call", note="Told her the fee is refunded.", by=teller
    )
    assert complaint.status == Complaint.Status.INFORMED
    assert complaint.informed_by == "call"
    complaint = services.complaint_close(complaint=complaint, by=branch_head)
    assert complaint.status == Complaint.Status.CLOSED
    assert complaint.closed_by == branch_head
    assert actions(complaint) == [
        "logged",
        "assigned",
        "started",
        "resolved",
        "informed",
        "closed",
    ]
    trail = list(complaint.events.order_by("at", "pk"))
    assert [(e.from_status, e.to_status) for e in trail[1:3]] == [
        ("logged", "assigned"),
        ("assigned", "investigating"),
    ]
    assert trail[4].note == "Told her the fee is refunded."


def test_only_the_branch_head_assigns_and_closes(branch, teller, teller2, branch_head):
    complaint = log(branch, teller)
    with pytest.raises(PermissionDenied):
        services.complaint_assign(complaint=complaint, assignee=teller, by=teller)
    to_resolved(complaint, branch_head, teller)
    services.complaint_inform(complaint=complaint, by_how="in_person", note="Told.", by=teller)
    with pytest.raises(PermissionDenied):
        services.complaint_close(complaint=complaint, by=teller)
    assert Complaint.objects.get().status == Complaint.Status.INFORMED


def test_only_the_assignee_or_the_head_works_on_it(branch, teller, teller2, branch_head):
    complaint = log(branch, teller)
    services.complaint_assign(complaint=complaint, assignee=teller, by=branch_head)
    with pytest.raises(PermissionDenied):
        services.complaint_start(complaint=complaint, by=teller2)
    services.complaint_start(complaint=complaint, by=branch_head)  # the head may step in
    with pytest.raises(PermissionDenied):
        services.complaint_resolve(complaint=complaint, resolution="x", by=teller2)


def test_the_assignee_must_work_at_the_branch(branch, branch_head, outsider):
    complaint = log(branch, branch_head)
    with pytest.raises(services.ComplaintError) as refused:
        services.complaint_assign(complaint=complaint, assignee=outsider, by=branch_head)
    assert refused.value.code == "assignee"


def test_a_step_out_of_order_is_refused_with_the_status(branch, teller, branch_head):
    complaint = log(branch, teller)
    with pytest.raises(services.ComplaintError) as refused:
        services.complaint_resolve(complaint=complaint, resolution="x", by=branch_head)
    assert refused.value.code == "status"


def test_it_cannot_close_until_the_customer_was_informed(branch, teller, branch_head):
    complaint = to_resolved(log(branch, teller), branch_head, teller)
    with pytest.raises(services.ComplaintError) as refused:
        services.complaint_close(complaint=complaint, by=branch_head)
    assert refused.value.code == "not_informed"
    assert "inform" in str(refused.value.message)
    assert Complaint.objects.get().status == Complaint.Status.RESOLVED


def test_a_call_needs_a_note_of_what_was_said(branch, teller, branch_head):
    complaint = to_resolved(log(branch, teller), branch_head, teller)
    with pytest.raises(services.ComplaintError) as refused:
        services.complaint_inform(complaint=complaint, by_how="call", note=" ", by=teller)
    assert refused.value.code == "note"


# --- Informing by SMS through the outbox --------------------------------------------------------


def test_the_customer_is_informed_by_sms_through_the_outbox(
    branch, teller, branch_head, customer, django_capture_on_commit_callbacks
):
    complaint = to_resolved(log(branch, teller, customer=customer), branch_head, teller)
    with django_capture_on_commit_callbacks(execute=True):
        services.complaint_inform(complaint=complaint, by_how="sms", by=teller)
    complaint.refresh_from_db()
    assert complaint.status == Complaint.Status.INFORMED
    assert complaint.informed_by == "sms"
    [sms] = LocmemBackend.outbox
    assert sms.to == "13912345678"
    assert sms.reference == f"complaint:{complaint.pk}"
    assert sms.idempotency_key == f"branchflow-complaint-informed-{complaint.pk}"
    assert "about your complaint of 2026-11-24" in sms.body  # the customer's language: English
    assert "fee refunded" in sms.body
    assert actions(complaint)[-2:] == ["inform_requested", "informed"]
    # The branch head can now close the loop.
    services.complaint_close(complaint=complaint, by=branch_head)


def test_the_sms_text_is_the_staff_note_in_the_customers_language(
    branch, teller, branch_head, customer, django_capture_on_commit_callbacks
):
    customer.preferred_language = "zh-hans"
    customer.save()
    complaint = to_resolved(log(branch, teller, customer=customer), branch_head, teller)
    with django_capture_on_commit_callbacks(execute=True):
        services.complaint_inform(
            complaint=complaint, by_how="sms", note="已退还手续费。", by=teller
        )
    [sms] = LocmemBackend.outbox
    assert "已退还手续费。" in sms.body
    assert "Card printer" not in sms.body


def test_a_redelivered_request_sends_one_sms(
    branch, teller, branch_head, customer, django_capture_on_commit_callbacks
):
    complaint = to_resolved(log(branch, teller, customer=customer), branch_head, teller)
    with django_capture_on_commit_callbacks(execute=True):
        services.complaint_inform(complaint=complaint, by_how="sms", by=teller)
    # Delivered again (at least once): already informed, nothing sent.
    assert feedback_services.complaint_inform_send(complaint_id=complaint.pk) is False
    # A crash between sending and recording: the row still says "resolved", the gateway gets
    # the same idempotency key and drops the second message.
    Complaint.objects.filter(pk=complaint.pk).update(status=Complaint.Status.RESOLVED)
    assert feedback_services.complaint_inform_send(complaint_id=complaint.pk) is True
    assert len(LocmemBackend.outbox) == 1
    assert Complaint.objects.get().status == Complaint.Status.INFORMED


@pytest.mark.parametrize("what", ["no_consent", "no_number"])
def test_without_consent_or_number_staff_are_asked_to_call_instead(
    what, client, branch, teller, branch_head, customer, django_capture_on_commit_callbacks
):
    if what == "no_consent":
        customer.sms_consent = False
    else:
        customer.phone = None
    customer.save()
    complaint = to_resolved(log(branch, teller, customer=customer), branch_head, teller)
    with django_capture_on_commit_callbacks(execute=True):
        services.complaint_inform(complaint=complaint, by_how="sms", by=teller)
    complaint.refresh_from_db()
    assert complaint.status == Complaint.Status.RESOLVED
    assert LocmemBackend.outbox == []
    failed = complaint.events.get(action="inform_failed")
    assert failed.note == what
    client.force_login(teller)
    client.cookies["django_language"] = "en"
    page = client.get(f"/crm/complaints/{complaint.pk}/").content.decode()
    assert "call the customer instead" in page
    # The call is recorded, and that informs the customer.
    services.complaint_inform(complaint=complaint, by_how="call", note="Called.", by=teller)
    assert Complaint.objects.get().status == Complaint.Status.INFORMED


def test_sms_needs_a_customer_on_the_complaint(branch, teller, branch_head):
    complaint = to_resolved(log(branch, teller), branch_head, teller)
    with pytest.raises(services.ComplaintError) as refused:
        services.complaint_inform(complaint=complaint, by_how="sms", by=teller)
    assert refused.value.code == "by_how"


# --- Deadlines in beat: reminders and escalation ------------------------------------------------


def test_it_reminds_once_before_a_deadline(branch, teller):
    complaint = log(branch, teller, severity="low")  # acknowledge by Thu 17:00
    assert services.complaints_check_deadlines(now=TUESDAY_10 + timedelta(hours=1)) == (0, 0)
    wednesday_evening = datetime(2026, 11, 25, 17, 30, tzinfo=SHANGHAI)
    assert services.complaints_check_deadlines(now=wednesday_evening) == (1, 0)
    assert services.complaints_check_deadlines(now=wednesday_evening + timedelta(hours=1)) == (
        0,
        0,
    )
    complaint.refresh_from_db()
    assert complaint.reminded_at == wednesday_evening
    assert complaint.events.get(action="reminded").note == "acknowledge"


def test_it_escalates_once_per_missed_deadline(branch, teller, branch_head):
    complaint = log(branch, teller, severity="high")  # ack Wed 17:00, resolve Fri 17:00
    thursday = datetime(2026, 11, 26, 9, 0, tzinfo=SHANGHAI)
    assert services.complaints_check_deadlines(now=thursday)[1] == 1
    assert services.complaints_check_deadlines(now=thursday + timedelta(minutes=15))[1] == 0
    complaint.refresh_from_db()
    assert complaint.escalation_level == 1
    assert complaint.escalated_at == thursday
    # Acknowledged late: the missed deadline is not escalated again.
    with time_machine.travel(thursday + timedelta(minutes=30), tick=False):
        services.complaint_assign(complaint=complaint, assignee=teller, by=branch_head)
    assert services.complaints_check_deadlines(now=thursday + timedelta(hours=1))[1] == 0
    saturday = datetime(2026, 11, 28, 9, 0, tzinfo=SHANGHAI)
    assert services.complaints_check_deadlines(now=saturday)[1] == 1
    assert services.complaints_check_deadlines(now=saturday + timedelta(days=3))[1] == 0
    complaint.refresh_from_db()
    assert complaint.escalation_level == 2
    notes = list(complaint.events.filter(action="escalated").values_list("note", flat=True))
    assert notes == ["acknowledge", "resolve"]


def test_closed_and_resolved_in_time_complaints_are_left_alone(branch, teller, branch_head):
    complaint = to_resolved(log(branch, teller), branch_head, teller)
    services.complaint_inform(complaint=complaint, by_how="call", note="Told.", by=teller)
    services.complaint_close(complaint=complaint, by=branch_head)
    assert services.complaints_check_deadlines(now=TUESDAY_10 + timedelta(days=30)) == (0, 0)


def _open_complaints(branch, count):
    for n in range(count):
        log(branch, None, severity=["high", "medium", "low"][n % 3], subject=f"Complaint {n}")


def _queries_for_a_sweep(now) -> int:
    with CaptureQueriesContext(connection) as queries:
        services.complaints_check_deadlines(now=now)
    return len(queries.captured_queries)


def test_the_sweep_costs_the_same_for_three_or_thirty_complaints(branch, other_branch):
    late = TUESDAY_10 + timedelta(days=20)
    _open_complaints(branch, 3)
    few = _queries_for_a_sweep(late)
    Complaint.objects.update(escalation_level=0, escalated_at=None, reminded_at=None)
    _open_complaints(branch, 15)
    _open_complaints(other_branch, 12)
    many = _queries_for_a_sweep(late)
    assert Complaint.objects.filter(escalation_level=2).count() == 30
    assert many == few
    assert many <= 8


# --- Pages ---------------------------------------------------------------------------------------


@pytest.fixture
def en_client(client):
    client.cookies["django_language"] = "en"
    return client


def test_staff_log_a_complaint_from_the_customer_page(en_client, branch, lobby_manager, customer):
    en_client.force_login(lobby_manager)
    form = en_client.get(f"/crm/complaints/new/?customer={customer.pk}&channel=phone")
    assert form.status_code == 200
    assert "Li Lei" in form.content.decode()
    response = en_client.post(
        "/crm/complaints/new/",
        {
            "customer": customer.pk,
            "channel": "phone",
            "severity": "medium",
            "subject": "Rude answer on the phone",
            "details": "",
        },
    )
    complaint = Complaint.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/crm/complaints/{complaint.pk}/"
    assert complaint.customer == customer
    assert complaint.logged_by == lobby_manager
    assert complaint.channel == "phone"


def test_the_log_form_shows_errors_not_500(en_client, branch, teller):
    en_client.force_login(teller)
    response = en_client.post(
        "/crm/complaints/new/", {"channel": "fax", "severity": "medium", "subject": ""}
    )
    assert response.status_code == 200
    assert not Complaint.objects.exists()
    assert "fax is not one of the available choices" in response.content.decode()
    assert en_client.get("/crm/complaints/new/?customer=abc").status_code == 404


def test_the_list_filters_and_scopes_to_the_branch(
    en_client, branch, other_branch, teller, branch_head, outsider
):
    overdue = log(branch, teller, subject="Old complaint", now=TUESDAY_10 - timedelta(days=30))
    log(branch, teller, subject="Fresh complaint", now=datetime.now(tz=SHANGHAI))
    log(other_branch, outsider, subject="Elsewhere")
    en_client.force_login(branch_head)
    page = en_client.get("/crm/complaints/").content.decode()
    assert "Old complaint" in page and "Fresh complaint" in page
    assert "Elsewhere" not in page
    page = en_client.get("/crm/complaints/?overdue=true").content.decode()
    assert "Old complaint" in page and "Fresh complaint" not in page
    services.complaints_check_deadlines()
    page = en_client.get("/crm/complaints/?escalated=true").content.decode()
    assert "Old complaint" in page and "Fresh complaint" not in page
    page = en_client.get("/crm/complaints/?logged_from=2026-10-01&logged_to=2026-10-31")
    assert "Old complaint" in page.content.decode()
    assert "Fresh complaint" not in page.content.decode()
    assert en_client.get("/crm/complaints/?severity=urgent").status_code == 200
    en_client.force_login(outsider)
    assert en_client.get(f"/crm/complaints/{overdue.pk}/").status_code == 404


def test_the_detail_shows_deadlines_and_only_allowed_steps(en_client, branch, teller, branch_head):
    complaint = log(branch, teller, now=TUESDAY_10 - timedelta(days=30))
    en_client.force_login(teller)
    page = en_client.get(f"/crm/complaints/{complaint.pk}/").content.decode()
    assert "is-overdue" in page
    assert "step-assign" not in page
    en_client.force_login(branch_head)
    page = en_client.get(f"/crm/complaints/{complaint.pk}/").content.decode()
    assert "step-assign" in page and "step-close" not in page


def test_the_pages_run_the_workflow_and_refuse_an_early_close(
    en_client, branch, teller, branch_head
):
    complaint = log(branch, teller)
    url = f"/crm/complaints/{complaint.pk}/"
    en_client.force_login(branch_head)
    assert en_client.post(url + "assign/", {"assignee": teller.pk}).status_code == 302
    en_client.force_login(teller)
    assert en_client.post(url + "close/").status_code == 403
    assert en_client.post(url + "start/").status_code == 302
    response = en_client.post(url + "resolve/", {"resolution": ""})
    assert response.status_code == 400
    assert en_client.post(url + "resolve/", {"resolution": "Refunded."}).status_code == 302
    en_client.force_login(branch_head)
    response = en_client.post(url + "close/", follow=True)
    assert "inform them before closing" in response.content.decode()
    assert Complaint.objects.get().status == Complaint.Status.RESOLVED
    response = en_client.post(url + "inform/", {"by_how": "in_person", "note": "Told him."})
    assert response.status_code == 302
    assert en_client.post(url + "close/").status_code == 302
    assert Complaint.objects.get().status == Complaint.Status.CLOSED
    assert en_client.post(url + "explode/").status_code == 404


def test_the_menu_offers_complaints_to_branch_staff(en_client, branch, lobby_manager):
    en_client.force_login(lobby_manager)
    page = en_client.get("/crm/complaints/").content.decode()
    assert 'href="/crm/complaints/"' in page


# --- API -----------------------------------------------------------------------------------------


def test_the_api_runs_the_workflow(as_user, branch, teller, branch_head, customer):
    api = as_user(teller)
    created = api.post(
        "/api/crm/complaints/",
        {"channel": "counter", "severity": "high", "subject": "Wrong fee", "customer": customer.pk},
        format="json",
    )
    assert created.status_code == 201
    pk = created.json()["id"]
    assert created.json()["status"] == "logged"
    assert created.json()["customer_masked_phone"] != "13912345678"
    assert api.post(f"/api/crm/complaints/{pk}/assign/", {"assignee": teller.pk}).status_code == 403
    head = as_user(branch_head)
    assigned = head.post(f"/api/crm/complaints/{pk}/assign/", {"assignee": teller.pk})
    assert assigned.status_code == 200
    assert assigned.json()["assignee"] == "teller"
    assert api.post(f"/api/crm/complaints/{pk}/start/").json()["status"] == "investigating"
    resolved = api.post(f"/api/crm/complaints/{pk}/resolve/", {"resolution": "Refunded."})
    assert resolved.json()["allowed_actions"] == ["inform"]
    refused = head.post(f"/api/crm/complaints/{pk}/close/")
    assert refused.status_code == 400
    assert refused.json()["code"] == "not_informed"
    informed = api.post(
        f"/api/crm/complaints/{pk}/inform/", {"by_how": "call", "note": "Called her."}
    )
    assert informed.json()["status"] == "informed"
    closed = head.post(f"/api/crm/complaints/{pk}/close/")
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed"
    assert [e["action"] for e in closed.json()["events"]] == [
        "logged",
        "assigned",
        "started",
        "resolved",
        "informed",
        "closed",
    ]
    listing = api.get("/api/crm/complaints/?status=closed").json()
    assert [row["id"] for row in listing["results"]] == [pk]
    assert api.get("/api/crm/complaints/?status=logged").json()["results"] == []


def test_the_api_answers_bad_input_with_field_errors(as_user, branch, teller, outsider):
    api = as_user(teller)
    response = api.post(
        "/api/crm/complaints/", {"channel": "fax", "severity": "high", "subject": ""}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()) == {"channel", "subject"}
    response = api.post(
        "/api/crm/complaints/",
        {"channel": "counter", "severity": "high", "subject": "x", "customer": 999999},
        format="json",
    )
    assert response.status_code == 400
    assert "customer" in response.json()
    assert api.get("/api/crm/complaints/?overdue=maybe").status_code == 400
    complaint = log(branch, teller)
    assert as_user(outsider).get(f"/api/crm/complaints/{complaint.pk}/").status_code == 404
    assert as_user(outsider).post(f"/api/crm/complaints/{complaint.pk}/start/").status_code == 404
    response = api.post(f"/api/crm/complaints/{complaint.pk}/inform/", {"by_how": "pigeon"})
    assert response.status_code == 400
    assert "by_how" in response.json()


def test_the_api_shows_times_in_the_branchs_zone(as_user, branch, teller):
    api = as_user(teller)
    created = api.post(
        "/api/crm/complaints/",
        {"channel": "letter", "severity": "high", "subject": "Letter"},
        format="json",
    ).json()
    assert created["acknowledge_due_at"] == "2026-11-25T17:00:00+08:00"


def test_a_regional_head_reads_the_regions_escalated_complaints_without_acting(
    en_client, as_user, branch, other_branch, teller, outsider
):
    from .factories import RegionFactory, RegionMembershipFactory

    region = RegionFactory()
    branch.region = region
    branch.save(update_fields=["region"])
    other_branch.region = region
    other_branch.save(update_fields=["region"])
    here = log(branch, teller, subject="Here", now=TUESDAY_10 - timedelta(days=30))
    log(other_branch, outsider, subject="There", now=TUESDAY_10 - timedelta(days=30))
    services.complaints_check_deadlines()
    regional = UserFactory(username="regional")
    RegionMembershipFactory(user=regional, region=region)
    en_client.force_login(regional)
    page = en_client.get("/crm/complaints/?escalated=true").content.decode()
    assert "Here" in page and "There" in page
    detail = en_client.get(f"/crm/complaints/{here.pk}/").content.decode()
    assert "complaint-trail" in detail and "complaint-step" not in detail
    assert en_client.post(f"/crm/complaints/{here.pk}/start/").status_code == 403
    listing = as_user(regional).get("/api/crm/complaints/?escalated=true").json()
    assert {row["subject"] for row in listing["results"]} == {"Here", "There"}
    assert as_user(regional).post("/api/crm/complaints/", {}).status_code == 403
