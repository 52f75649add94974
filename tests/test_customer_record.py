"""The customer record (issue 7): profile and consent evidence, the single timeline, duplicates
and merge (every history row kept), logged reveals, regions, the lists and their API."""

from datetime import date, timedelta

import pytest
from auditlog.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.access import branches_readable_by
from accounts.models import Role
from crm import services
from crm.models import (
    Complaint,
    ConsentSource,
    Customer,
    CustomerBranch,
    Interaction,
    RevealLog,
)
from crm.selectors import customer_duplicates, customer_timeline
from feedback.models import SurveyInvitation, SurveyResponse
from reception.models import Appointment, Visit
from reception.services import visit_record_outcome, visit_register

from .factories import (
    AppointmentFactory,
    BranchFactory,
    CareReminderFactory,
    CustomerFactory,
    DepositFactory,
    MembershipFactory,
    RegionFactory,
    RegionMembershipFactory,
    UserFactory,
)

PHONE = "13912345678"
OTHER = "13787654321"


@pytest.fixture
def customer(branch):
    found = CustomerFactory(phone=PHONE, name="王芳", id_number="110101199001011234")
    services.customer_mark_known(customer=found, branch=branch, at=timezone.now())
    return found


def known(branch, **kwargs) -> Customer:
    found = CustomerFactory(**kwargs)
    services.customer_mark_known(customer=found, branch=branch, at=timezone.now())
    return found


def note(customer, branch, text, at=None) -> Interaction:
    return services.interaction_record(
        customer=customer,
        branch=branch,
        kind=Interaction.Kind.NOTE,
        occurred_at=at or timezone.now(),
        summary=text,
    )


def page(customer) -> str:
    return reverse("crm:customer", args=[customer.pk])


def english(client):
    client.cookies["django_language"] = "en"
    return client


# --- Profile and consent ---------------------------------------------------------------------


def test_editing_the_profile_records_consent_with_source_time_and_wording(
    client, teller, branch, settings
):
    settings.SMS_CONSENT_WORDING_VERSION = "2026-07"
    found = known(branch, phone=PHONE, sms_consent=False)
    client.force_login(teller)
    form_page = english(client).get(reverse("crm:customer_edit", args=[found.pk]))
    assert form_page.status_code == 200
    assert "wording version 2026-07" in form_page.content.decode()
    response = client.post(
        reverse("crm:customer_edit", args=[found.pk]),
        {
            "name": "王芳",
            "tier": "gold",
            "is_vip": "on",
            "preferred_language": "en",
            "birth_date": "1990-01-01",
            "new_other_phone": OTHER,
            "new_id_number": "110101199001011234",
            "id_expires_on": "2030-01-01",
            "sms_consent": "on",
            "consent_source": ConsentSource.PAPER,
        },
    )
    assert response.status_code == 302
    found.refresh_from_db()
    assert (found.tier, found.is_vip, found.preferred_language) == ("gold", True, "en")
    assert found.other_phone == OTHER
    assert found.birth_date == date(1990, 1, 1)
    assert found.sms_consent is True
    assert found.sms_consent_source == ConsentSource.PAPER
    assert found.sms_consent_wording == "2026-07"
    assert found.sms_consent_at is not None
    html = english(client).get(page(found)).content.decode()
    assert "Signed form" in html
    assert "wording 2026-07" in html
    assert OTHER not in html  # masked: 137****4321
    assert "137****4321" in html


def test_the_audit_trail_keeps_profile_changes_with_numbers_masked(teller, branch, customer):
    services.customer_update_profile(
        customer=customer, by=teller, branch=branch, other_phone=OTHER, tier="platinum"
    )
    entry = LogEntry.objects.get_for_object(customer).order_by("-pk").first()
    assert "tier" in entry.changes_dict
    assert "other_phone" in entry.changes_dict
    assert OTHER not in str(entry.changes)


def test_a_bad_other_phone_is_a_field_error_not_a_change(client, teller, customer):
    client.force_login(teller)
    response = english(client).post(
        reverse("crm:customer_edit", args=[customer.pk]),
        {"preferred_language": "zh-hans", "new_other_phone": "12ab", "consent_source": "counter"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["new_other_phone"]
    customer.refresh_from_db()
    assert customer.other_phone == ""


def test_the_lobby_records_where_consent_was_given(lobby_manager, branch, cash):
    visit = visit_register(
        branch=branch, registered_by=lobby_manager, phone=PHONE, service=cash, sms_consent=True
    )
    assert visit.customer.sms_consent_source == ConsentSource.LOBBY
    assert visit.customer.sms_consent_wording == "2026-01"


def test_registering_through_the_api_records_consent_given_through_it(as_user, lobby_manager, cash):
    response = as_user(lobby_manager).post(
        reverse("api:reception-visit-list"),
        {"phone": PHONE, "service": "cash", "sms_consent": True},
        format="json",
    )
    assert response.status_code == 201
    found = Customer.objects.get(phone=PHONE)
    assert (found.sms_consent, found.sms_consent_source) == (True, ConsentSource.API)


def test_the_api_records_consent_given_through_it(as_user, teller, customer):
    Customer.objects.filter(pk=customer.pk).update(sms_consent=False)
    response = as_user(teller).patch(
        f"/api/crm/customers/{customer.pk}/profile/",
        {"sms_consent": True, "tier": "gold"},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["sms_consent_source"] == "api"
    customer.refresh_from_db()
    assert customer.sms_consent_source == ConsentSource.API


def test_the_profile_api_refuses_bad_input_with_field_errors(as_user, teller, customer):
    response = as_user(teller).patch(
        f"/api/crm/customers/{customer.pk}/profile/", {"tier": "diamond"}, format="json"
    )
    assert response.status_code == 400
    assert "tier" in response.json()


# --- Timeline ---------------------------------------------------------------------------------


def test_the_timeline_merges_visits_notes_reminders_complaints_and_surveys(
    client, branch_head, lobby_manager, branch, customer
):
    base = timezone.now() - timedelta(days=3)
    visit = visit_record_outcome(
        branch=branch, registered_by=lobby_manager, route=Visit.Route.ANSWERED, phone=PHONE
    )
    Visit.objects.filter(pk=visit.pk).update(registered_at=base)
    note(customer, branch, "Prefers mornings", at=base + timedelta(hours=1))
    CareReminderFactory(
        branch=branch, customer=customer, title="Card renewal", created_at=base + timedelta(hours=2)
    )
    Complaint.objects.create(
        branch=branch,
        customer=customer,
        channel="counter",
        severity="low",
        subject="Queue too long",
        logged_at=base + timedelta(hours=3),
        acknowledge_due_at=base + timedelta(days=1),
        resolve_due_at=base + timedelta(days=5),
    )
    interaction = Interaction.objects.get(source=f"visit:{visit.pk}")
    invitation = SurveyInvitation.objects.filter(interaction=interaction).first() or (
        SurveyInvitation.objects.create(
            customer=customer, branch=branch, interaction=interaction, status="answered"
        )
    )
    SurveyResponse.objects.create(
        invitation=invitation,
        branch=branch,
        channel="sms_link",
        satisfaction=4,
        submitted_at=base + timedelta(hours=4),
    )
    SurveyInvitation.objects.filter(pk=invitation.pk).update(
        created_at=base + timedelta(hours=3, minutes=30), sent_at=None
    )
    entries, has_more = customer_timeline(customer=customer, branch=branch)
    kinds = [e.kind for e in entries]
    assert kinds == ["survey_answer", "survey", "complaint", "reminder", "note", "visit"]
    # The visit's own interaction is not listed twice.
    assert "interaction" not in kinds
    assert has_more is False
    client.force_login(branch_head)
    html = english(client).get(page(customer)).content.decode()
    assert "Prefers mornings" in html
    assert "Complaint: Queue too long" in html
    assert "Care reminder: Card renewal" in html


def test_the_timeline_is_the_branch_s_own(branch, other_branch, customer):
    note(customer, other_branch, "elsewhere")
    note(customer, branch, "here")
    entries, _more = customer_timeline(customer=customer, branch=branch)
    assert [e.detail for e in entries] == ["here"]


def test_the_timeline_costs_the_same_queries_whatever_the_history(branch, lobby_manager, customer):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            customer_timeline(customer=customer, branch=branch)
        return len(queries)

    def add_history() -> None:
        note(customer, branch, "one")
        CareReminderFactory(branch=branch, customer=customer)
        visit_record_outcome(
            branch=branch, registered_by=lobby_manager, route=Visit.Route.ANSWERED, phone=PHONE
        )

    add_history()  # one row of each: a prefetch runs only when there are rows to prefetch for
    few = count()
    for n in range(30):
        note(customer, branch, f"note {n}")
        CareReminderFactory(branch=branch, customer=customer)
        visit_record_outcome(
            branch=branch, registered_by=lobby_manager, route=Visit.Route.ANSWERED, phone=PHONE
        )
    assert count() == few


def test_show_more_pages_the_timeline(client, teller, branch, customer):
    start = timezone.now() - timedelta(days=1)
    for n in range(30):
        note(customer, branch, f"note-{n:02d}", at=start + timedelta(minutes=n))
    client.force_login(teller)
    first = client.get(page(customer))
    assert len(first.context["timeline"]) == 20
    assert first.context["has_more"] is True
    more = client.get(page(customer), {"shown": first.context["show_more"]})
    assert len(more.context["timeline"]) == 30
    assert more.context["has_more"] is False
    assert client.get(page(customer), {"shown": "lots"}).status_code == 200


# --- Duplicates and merge ---------------------------------------------------------------------


@pytest.fixture
def duplicate(branch, customer):
    """The same person registered again with their other number, and the same ID."""
    return known(branch, phone=OTHER, name="王芳", id_number=customer.id_number)


def test_duplicates_are_found_by_phone_or_id(branch, other_branch, customer, duplicate):
    by_phone = known(branch, phone="13600000001", other_phone=PHONE)
    known(branch, phone="13600000002")  # a stranger
    elsewhere = CustomerFactory(id_number=customer.id_number)  # not known at this branch
    CustomerBranch.objects.create(
        customer=elsewhere,
        branch=other_branch,
        first_seen_at=timezone.now(),
        last_seen_at=timezone.now(),
    )
    assert set(customer_duplicates(customer=customer, branch=branch)) == {duplicate, by_phone}


def test_merging_keeps_every_history_row(
    branch,
    other_branch,
    branch_head,
    lobby_manager,
    cash,
    customer,
    duplicate,
    django_capture_on_commit_callbacks,
):
    interaction = note(duplicate, branch, "from the duplicate")
    CustomerBranch.objects.create(
        customer=duplicate,
        branch=other_branch,
        first_seen_at=timezone.now(),
        last_seen_at=timezone.now(),
    )
    reminder = CareReminderFactory(branch=branch, customer=duplicate)
    complaint = Complaint.objects.create(
        branch=branch,
        customer=duplicate,
        channel="phone",
        severity="low",
        subject="x",
        logged_at=timezone.now(),
        acknowledge_due_at=timezone.now(),
        resolve_due_at=timezone.now(),
    )
    deposit = DepositFactory(branch=branch, customer=duplicate)
    reveal = RevealLog.objects.create(
        customer=duplicate,
        branch=branch,
        field="phone",
        reason="call",
        by=branch_head,
        at=timezone.now(),
    )
    visit = visit_register(branch=branch, registered_by=lobby_manager, phone=OTHER, service=cash)
    appointment = AppointmentFactory(service=cash, customer=duplicate)
    invitation = SurveyInvitation.objects.create(
        customer=duplicate, branch=branch, interaction=interaction, status="skipped"
    )
    rows_before = (Interaction.objects.count(), Visit.objects.count())

    with django_capture_on_commit_callbacks(execute=True):
        services.customer_merge(source=duplicate, target=customer, by=branch_head, branch=branch)

    for row in (interaction, reminder, complaint, deposit, reveal, visit, appointment, invitation):
        row.refresh_from_db()
        assert row.customer_id == customer.pk, row
    assert (Interaction.objects.count(), Visit.objects.count()) == rows_before
    assert set(
        CustomerBranch.objects.filter(customer=customer).values_list("branch", flat=True)
    ) == {branch.pk, other_branch.pk}
    duplicate.refresh_from_db()
    customer.refresh_from_db()
    assert duplicate.merged_into == customer and duplicate.merged_at is not None
    assert duplicate.phone is None
    assert customer.other_phone == OTHER  # the duplicate's number still finds the customer
    assert Customer.objects.filter(pk=duplicate.pk).exists()


def test_the_merge_listeners_are_idempotent(branch, branch_head, cash, customer, duplicate):
    from reception.services import customer_rows_repoint

    AppointmentFactory(service=cash, customer=duplicate)
    assert customer_rows_repoint(source_id=duplicate.pk, target_id=customer.pk) == 1
    assert customer_rows_repoint(source_id=duplicate.pk, target_id=customer.pk) == 0
    assert Appointment.objects.get().customer_id == customer.pk


def test_a_merged_record_is_hidden_from_search_and_redirects(
    client, branch, branch_head, customer, duplicate
):
    services.customer_merge(source=duplicate, target=customer, by=branch_head, branch=branch)
    client.force_login(branch_head)
    response = client.post(reverse("crm:search"), {"phone": OTHER})
    assert response.context["results"] == []
    assert client.get(page(duplicate)).url == page(customer)
    listed = client.get(reverse("crm:customers"))
    assert duplicate not in listed.context["page"].object_list


def test_only_the_branch_head_merges(client, teller, branch_head, customer, duplicate):
    url = reverse("crm:customer_merge", args=[customer.pk])
    client.force_login(teller)
    assert client.post(url, {"source": duplicate.pk, "confirm": "on"}).status_code == 403
    client.force_login(branch_head)
    assert client.post(url, {"source": duplicate.pk}).status_code == 400  # not confirmed
    response = client.post(url, {"source": duplicate.pk, "confirm": "on"})
    assert response.status_code == 302
    duplicate.refresh_from_db()
    assert duplicate.merged_into_id == customer.pk


def test_a_customer_is_not_merged_into_itself(branch, branch_head, customer):
    with pytest.raises(services.CustomerRecordError):
        services.customer_merge(source=customer, target=customer, by=branch_head, branch=branch)


def test_the_merge_api(as_user, branch_head, teller, customer, duplicate):
    url = f"/api/crm/customers/{customer.pk}/merge/"
    assert as_user(teller).post(url, {"source": duplicate.pk}, format="json").status_code == 403
    assert as_user(branch_head).post(url, {"source": "x"}, format="json").status_code == 400
    response = as_user(branch_head).post(url, {"source": duplicate.pk}, format="json")
    assert response.status_code == 200
    assert response.json()["id"] == customer.pk


# --- Reveal -----------------------------------------------------------------------------------


def test_revealing_needs_a_reason_and_is_logged(client, teller, branch, customer):
    client.force_login(teller)
    url = reverse("crm:customer_reveal", args=[customer.pk])
    refused = client.post(url, {"field": "phone", "reason": "  "})
    assert refused.status_code == 400
    assert PHONE not in refused.content.decode()
    assert not RevealLog.objects.exists()
    response = client.post(url, {"field": "phone", "reason": "Customer asked to confirm"})
    assert response.status_code == 200
    assert PHONE in response.content.decode()
    assert (
        response["Cache-Control"].startswith("max-age=0") or "no-cache" in response["Cache-Control"]
    )
    log = RevealLog.objects.get()
    assert (log.by, log.branch, log.field, log.reason) == (
        teller,
        branch,
        "phone",
        "Customer asked to confirm",
    )
    # The next page shows it masked again.
    assert PHONE not in client.get(page(customer)).content.decode()


def test_revealing_with_htmx_answers_the_value_only(client, lobby_manager, customer):
    client.force_login(lobby_manager)
    response = client.post(
        reverse("crm:customer_reveal", args=[customer.pk]),
        {"field": "id_number", "reason": "Checking the ID card"},
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "110101199001011234" in html
    assert "<html" not in html


def test_the_reveal_api(as_user, teller, customer):
    url = f"/api/crm/customers/{customer.pk}/reveal/"
    assert as_user(teller).post(url, {"field": "phone"}, format="json").status_code == 400
    response = as_user(teller).post(url, {"field": "phone", "reason": "callback"}, format="json")
    assert response.status_code == 200
    assert response.json() == {"field": "phone", "value": PHONE}
    assert response["Cache-Control"] == "no-store"
    assert RevealLog.objects.count() == 1


def test_an_outsider_cannot_reveal(as_user, outsider, customer):
    url = f"/api/crm/customers/{customer.pk}/reveal/"
    response = as_user(outsider).post(url, {"field": "phone", "reason": "x"}, format="json")
    assert response.status_code == 404
    assert not RevealLog.objects.exists()


def test_the_branch_head_lists_reveals_filtered_by_date_and_user(
    client, branch, teller, lobby_manager, branch_head, other_branch, customer
):
    now = timezone.now()
    mine = RevealLog.objects.create(
        customer=customer, branch=branch, field="phone", reason="a", by=teller, at=now
    )
    RevealLog.objects.create(
        customer=customer,
        branch=branch,
        field="phone",
        reason="b",
        by=lobby_manager,
        at=now - timedelta(days=10),
    )
    RevealLog.objects.create(
        customer=customer, branch=other_branch, field="phone", reason="c", by=teller, at=now
    )
    client.force_login(branch_head)
    url = reverse("crm:reveals")
    assert len(client.get(url).context["page"].object_list) == 2
    by_teller = client.get(url, {"by": teller.pk})
    assert list(by_teller.context["page"].object_list) == [mine]
    recent = client.get(url, {"at_after": (now - timedelta(days=1)).date().isoformat()})
    assert list(recent.context["page"].object_list) == [mine]
    assert client.get(url, {"at_after": "yesterday"}).status_code == 400
    client.force_login(teller)
    assert client.get(url).status_code == 403


# --- Regions and lists ------------------------------------------------------------------------


@pytest.fixture
def region(branch, other_branch):
    region = RegionFactory()
    branch.region = region
    branch.save(update_fields=["region"])
    other_branch.region = region
    other_branch.save(update_fields=["region"])
    return region


@pytest.fixture
def regional_head(region):
    return RegionMembershipFactory(region=region, user=UserFactory(username="region-head")).user


def test_a_regional_head_reads_every_branch_of_the_region(
    branch, other_branch, region, regional_head
):
    third = BranchFactory(code="third")
    assert set(branches_readable_by(regional_head)) == {branch, other_branch}
    assert third not in branches_readable_by(regional_head)


def test_branch_staff_read_their_own_branch_only(teller, branch, other_branch, region):
    assert list(branches_readable_by(teller)) == [branch]
    assert list(branches_readable_by(teller, roles=(Role.BRANCH_HEAD,))) == []


def test_an_inactive_regional_head_reads_nothing(region, regional_head):
    regional_head.region_memberships.update(is_active=False)
    assert not branches_readable_by(regional_head).exists()


def test_the_regional_head_s_lists_cover_the_region(
    client, branch, other_branch, region, regional_head, customer
):
    there = known(other_branch, name="李雷")
    note(there, other_branch, "at the other branch")
    note(customer, branch, "here")
    client.force_login(regional_head)
    customers = client.get(reverse("crm:customers"))
    assert customers.status_code == 200
    assert set(customers.context["page"].object_list) == {customer, there}
    interactions = client.get(reverse("crm:interactions"))
    assert {i.summary for i, _ in interactions.context["rows"]} == {"at the other branch", "here"}
    only_other = client.get(reverse("crm:interactions"), {"branch": other_branch.pk})
    assert [i.summary for i, _ in only_other.context["rows"]] == ["at the other branch"]
    # Read-only: no record page at a branch they do not work at.
    assert client.get(page(customer)).status_code == 403


def test_a_branch_s_lists_leave_other_branches_out(client, teller, other_branch, customer):
    known(other_branch, name="李雷")
    client.force_login(teller)
    response = client.get(reverse("crm:customers"))
    assert list(response.context["page"].object_list) == [customer]


def test_the_customer_list_filters(client, teller, branch, customer):
    gold = known(branch, name="Gold Person", tier="gold", sms_consent=False)
    Customer.objects.filter(pk=gold.pk).update(last_visit_at=timezone.now() - timedelta(days=40))
    client.force_login(teller)
    url = reverse("crm:customers")

    def names(**query):
        return {c.name for c in client.get(url, query).context["page"].object_list}

    assert names(name="gold") == {"Gold Person"}
    assert names(tier="gold") == {"Gold Person"}
    assert names(sms_consent="false") == {"Gold Person"}
    since = (timezone.now() - timedelta(days=50)).date().isoformat()
    until = (timezone.now() - timedelta(days=30)).date().isoformat()
    assert names(last_visit_after=since, last_visit_before=until) == {"Gold Person"}
    assert client.get(url, {"tier": "diamond"}).status_code == 400


def test_the_interaction_list_filters(client, teller, branch, customer):
    note(customer, branch, "a note")
    services.interaction_record(
        customer=customer,
        branch=branch,
        kind=Interaction.Kind.BRANCH_SERVICE,
        occurred_at=timezone.now(),
        service_code="cash",
        summary="served",
        staff=teller,
    )
    client.force_login(teller)
    url = reverse("crm:interactions")

    def summaries(**query):
        return [i.summary for i, _ in client.get(url, query).context["rows"]]

    assert summaries(kind="note") == ["a note"]
    assert summaries(staff=teller.pk) == ["served"]
    assert summaries(service="cash") == ["served"]
    assert client.get(url, {"occurred_after": "not a date"}).status_code == 400


def test_the_list_apis_use_the_same_filters_and_scope(
    as_user, teller, branch, other_branch, region, regional_head, customer
):
    there = known(other_branch, name="李雷", tier="gold")
    note(there, other_branch, "elsewhere")
    note(customer, branch, "here")
    mine = as_user(teller).get("/api/crm/customers/")
    assert mine.status_code == 200
    assert [c["id"] for c in mine.json()["results"]] == [customer.pk]
    assert mine.json()["results"][0]["masked_phone"] == "139****5678"
    region_wide = as_user(regional_head).get("/api/crm/customers/", {"tier": "gold"})
    assert [c["id"] for c in region_wide.json()["results"]] == [there.pk]
    interactions = as_user(regional_head).get("/api/crm/interactions/", {"kind": "note"})
    assert {i["summary"] for i in interactions.json()["results"]} == {"elsewhere", "here"}
    assert as_user(teller).get("/api/crm/interactions/", {"kind": "x"}).status_code == 400
    assert as_user(None).get("/api/crm/interactions/").status_code == 403


def test_branch_admins_cannot_grant_region_rights(client, branch):
    admin = UserFactory(username="branch-admin", is_staff=True)
    MembershipFactory(user=admin, branch=branch, role=Role.ADMIN)
    client.force_login(admin)
    assert client.get("/admin/accounts/regionmembership/").status_code == 403
    assert client.get("/admin/accounts/region/").status_code == 403


def test_a_regional_head_without_a_branch_starts_at_the_region_ranking(client, regional_head):
    """Their work is the region (issue 9's ranking); the customers are one click away in the
    menu."""
    client.force_login(regional_head)
    assert client.get("/").url == reverse("kpi:region")
    client.cookies["django_language"] = "en"
    assert reverse("crm:customers") in client.get(reverse("kpi:region")).content.decode()


def test_anonymising_erases_the_record_s_new_personal_fields(customer):
    Customer.objects.filter(pk=customer.pk).update(
        other_phone=OTHER,
        birth_date=date(1990, 1, 1),
        id_expires_on=date(2030, 1, 1),
        created_at=timezone.now() - timedelta(days=400),
    )
    assert services.customers_anonymise_expired(retention_days=30) == 1
    customer.refresh_from_db()
    assert (customer.other_phone, customer.birth_date, customer.id_expires_on) == ("", None, None)
