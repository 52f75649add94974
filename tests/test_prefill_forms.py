"""Pre-filled forms (预填单): versions, filling in (customer, lobby, API), the teller's view with
its audited "show", permissions, and the status page's link within its query budget."""

import pytest
from auditlog.models import LogEntry
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from accounts.models import Role
from queueing import services as queue
from queueing.links import ticket_status_token
from queueing.states import TicketStatus
from reception import selectors
from reception import services as reception
from reception.models import FormSubmission, FormVersion, Visit

from .factories import (
    FormFieldFactory,
    MembershipFactory,
    ServiceFormFactory,
    UserFactory,
)

ID_NUMBER = "110101199003074512"
MASKED_ID = "**************4512"

# Pages and the test build the same signed links (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("frozen_link_time")


@pytest.fixture
def client(client):
    """English pages, as a customer who chose English with the page's switch (the page follows
    that choice over the customer's preferred language): the assertions read the messages."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def account_form(loans, lobby_manager):
    """The loans service's form: one field of each kind, the ID number sensitive."""
    form = ServiceFormFactory(service=loans)
    specs = [
        ("full_name", "text", "姓名", "Full name", True, False, ""),
        ("id_type", "id_type", "证件类型", "ID document type", True, False, ""),
        ("id_number", "text", "证件号码", "ID number", True, True, ""),
        ("amount", "amount", "金额", "Amount", False, False, ""),
        ("years", "number", "年限", "Years", False, False, ""),
        (
            "purpose",
            "choice",
            "用途",
            "Purpose",
            False,
            False,
            "home | 购房 | 購房 | Home\ncar | 购车",
        ),
        ("expires", "date", "有效期", "Valid until", False, False, ""),
        ("agree", "yes_no", "同意", "I agree", True, False, ""),
    ]
    for order, (key, kind, zh, en, required, sensitive, choices) in enumerate(specs):
        FormFieldFactory(
            form=form,
            key=key,
            kind=kind,
            label_zh=zh,
            label_en=en,
            required=required,
            sensitive=sensitive,
            choices=choices,
            sort_order=order,
        )
    reception.form_publish(form, lobby_manager)
    return form


GOOD = {
    "full_name": "王五",
    "id_type": "resident_id",
    "id_number": ID_NUMBER,
    "amount": "500,000",
    "years": "20",
    "purpose": "home",
    "expires": "2035-06-30",
    "agree": "yes",
}


@pytest.fixture
def visit(branch, loans, lobby_manager, account_form):
    return reception.visit_register(
        branch=branch, registered_by=lobby_manager, phone="13800138000", service=loans, name="王五"
    )


def form_url(visit) -> str:
    return reverse("visit:form", args=[ticket_status_token(visit.ticket_id)])


def posted(answers: dict) -> dict:
    return {f"f_{key}": value for key, value in answers.items()}


# --- Versions ------------------------------------------------------------------------------------


def test_publishing_unchanged_fields_makes_no_new_version(account_form, lobby_manager):
    first = account_form.versions.get()
    assert first.number == 1 and [f["key"] for f in first.fields][:2] == ["full_name", "id_type"]
    again = reception.form_publish(account_form, lobby_manager)
    assert again.pk == first.pk and FormVersion.objects.count() == 1


def test_an_edit_publishes_a_new_version_and_old_answers_keep_their_labels(
    visit, account_form, lobby_manager
):
    reception.form_submit(visit=visit, raw=GOOD, filled_by="customer")
    field = account_form.fields.get(key="full_name")
    field.label_en = "Name as on the ID"
    field.save()
    second = reception.form_publish(account_form, lobby_manager)
    assert second.number == 2 and second.created_by == lobby_manager
    old = selectors.form_answers(visit=visit, language="en")
    assert old["version"] == 1
    assert old["rows"][0]["label"] == "Full name"  # as filled in, not as edited since
    # Filled in again: the newest version.
    reception.form_submit(visit=visit, raw=GOOD, filled_by="customer")
    new = selectors.form_answers(visit=visit, language="en")
    assert new["version"] == 2 and new["rows"][0]["label"] == "Name as on the ID"


def test_a_form_without_fields_publishes_nothing(loans, lobby_manager):
    form = ServiceFormFactory(service=loans)
    assert reception.form_publish(form, lobby_manager) is None
    assert not FormVersion.objects.exists()


# --- The service ---------------------------------------------------------------------------------


def test_answers_are_checked_field_by_field(visit):
    with pytest.raises(reception.FormInvalid) as refused:
        reception.form_submit(
            visit=visit,
            raw={**GOOD, "amount": "-5", "agree": "", "purpose": "boat"},
            filled_by="customer",
        )
    assert set(refused.value.errors) == {"amount", "agree", "purpose"}
    assert refused.value.code == "invalid"
    assert not FormSubmission.objects.exists()


def test_a_second_submission_replaces_the_first(visit, lobby_manager):
    first = reception.form_submit(visit=visit, raw=GOOD, filled_by="customer")
    second = reception.form_submit(
        visit=visit,
        raw={**GOOD, "years": "10"},
        filled_by="staff",
        staff=lobby_manager,
    )
    assert second.pk == first.pk and FormSubmission.objects.count() == 1
    second.refresh_from_db()
    assert second.data["years"] == 10 and second.data["amount"] == "500000.00"
    assert (second.filled_by, second.staff) == ("staff", lobby_manager)


def test_customers_edit_until_called_staff_until_the_visit_is_over(
    visit, counter, teller, lobby_manager, loans
):
    reception.form_submit(visit=visit, raw=GOOD, filled_by="customer")
    queue.counter_open(counter=counter, teller=teller)
    called = queue.ticket_call_next(counter=counter, teller=teller)
    assert called.pk == visit.ticket_id
    with pytest.raises(reception.FormError) as refused:
        reception.form_submit(visit=visit, raw=GOOD, filled_by="customer")
    assert refused.value.code == "called"
    reception.form_submit(visit=visit, raw=GOOD, filled_by="staff", staff=lobby_manager)
    queue.ticket_start(ticket_id=called.pk, by=teller, branch=visit.branch)
    reception.visit_complete_service(
        ticket=called,
        teller=teller,
        outcome="completed",
        identity_verified=True,
        documents_signed=True,
        funds_handed_over=False,
        error_note="",
    )
    with pytest.raises(reception.FormError) as refused:
        reception.form_submit(visit=visit, raw=GOOD, filled_by="staff", staff=lobby_manager)
    assert refused.value.code == "closed"


def test_a_cancelled_ticket_closes_the_form(visit, lobby_manager):
    queue.ticket_cancel(ticket_id=visit.ticket_id, by=lobby_manager, branch=visit.branch)
    with pytest.raises(reception.FormError) as refused:
        reception.form_submit(visit=visit, raw=GOOD, filled_by="customer")
    assert refused.value.code == "closed"


def test_a_service_without_a_form_refuses(branch, cash, lobby_manager):
    visit = reception.visit_register(
        branch=branch, registered_by=lobby_manager, phone="13800138000", service=cash
    )
    with pytest.raises(reception.FormError) as refused:
        reception.form_submit(visit=visit, raw={}, filled_by="customer")
    assert refused.value.code == "no_form"


# --- The customer's page -------------------------------------------------------------------------


def test_the_customer_fills_the_form_from_the_ticket_link(client, visit):
    page = client.get(form_url(visit))
    html = page.content.decode()
    assert page.status_code == 200 and 'name="f_id_number"' in html
    response = client.post(form_url(visit), posted({**GOOD, "amount": "12.345"}))
    html = response.content.decode()
    assert response.status_code == 200
    assert "At most two decimal places (fen)." in html
    assert 'id="f_amount-error"' in html  # at its field
    assert ID_NUMBER in html  # what they typed is kept while they fix the error
    response = client.post(form_url(visit), posted(GOOD))
    assert response.status_code == 302 and response.url.endswith("?saved=1")
    saved = client.get(response.url).content.decode()
    assert "Your form is ready for the teller" in saved
    assert MASKED_ID in saved and ID_NUMBER not in saved
    assert reverse("queueing:ticket_status", args=[ticket_status_token(visit.ticket_id)]) in saved
    assert FormSubmission.objects.get(visit=visit).filled_by == "customer"


def test_editing_keeps_a_sensitive_answer_left_empty(client, visit):
    client.post(form_url(visit), posted(GOOD))
    edit = client.get(form_url(visit) + "?edit=1").content.decode()
    assert ID_NUMBER not in edit and MASKED_ID in edit  # a hint, never the value
    response = client.post(form_url(visit), posted({**GOOD, "id_number": "", "years": "5"}))
    assert response.status_code == 302
    data = FormSubmission.objects.get(visit=visit).data
    assert data["id_number"] == ID_NUMBER and data["years"] == 5


def test_the_page_speaks_the_customers_language(client, visit):
    customer = visit.customer
    customer.preferred_language = "en"
    customer.save()
    html = client.get(form_url(visit)).content.decode()
    assert "Full name" in html and "Valid until" in html


def test_a_bad_or_foreign_token_reaches_no_form(client, visit, branch, loans, lobby_manager):
    assert client.get(reverse("visit:form", args=["forged"])).status_code == 404
    # Another ticket's link reaches that ticket's visit only.
    other = reception.visit_register(
        branch=branch, registered_by=lobby_manager, phone="13900139000", service=loans
    )
    client.post(form_url(other), posted(GOOD))
    assert FormSubmission.objects.get().visit_id == other.pk
    assert not FormSubmission.objects.filter(visit=visit).exists()


def test_the_customer_cannot_change_the_form_once_called(client, visit, counter, teller):
    client.post(form_url(visit), posted(GOOD))
    queue.counter_open(counter=counter, teller=teller)
    queue.ticket_call_next(counter=counter, teller=teller)
    page = client.get(form_url(visit) + "?edit=1").content.decode()
    assert 'name="f_full_name"' not in page and "has been called" in page
    response = client.post(form_url(visit), posted({**GOOD, "years": "1"}))
    assert "has been called" in response.content.decode()
    assert FormSubmission.objects.get().data["years"] == 20


# --- The ticket status page's link ---------------------------------------------------------------


def test_the_status_page_links_to_the_form_only_when_the_service_has_one(
    client, visit, branch, cash, lobby_manager
):
    status = reverse("queueing:ticket_status", args=[ticket_status_token(visit.ticket_id)])
    assert form_url(visit) in client.get(status).content.decode()
    plain = reception.visit_register(
        branch=branch, registered_by=lobby_manager, phone="13900139000", service=cash
    )
    plain_status = reverse("queueing:ticket_status", args=[ticket_status_token(plain.ticket_id)])
    assert "/visit/form/" not in client.get(plain_status).content.decode()


def test_a_deactivated_form_loses_its_link_once_published(client, visit, account_form, admin_user):
    status = reverse("queueing:ticket_status", args=[ticket_status_token(visit.ticket_id)])
    assert form_url(visit) in client.get(status).content.decode()
    account_form.is_active = False
    account_form.save()
    reception.form_publish(account_form, admin_user)  # what the admin does after saving
    assert "/visit/form/" not in client.get(status).content.decode()


def test_the_link_costs_no_query_once_cached(
    client, visit, django_assert_num_queries, django_assert_max_num_queries
):
    ticket = visit.ticket
    from reception.views.forms import ticket_form_links

    with django_assert_max_num_queries(1):
        assert ticket_form_links(ticket)
    with django_assert_num_queries(0):
        assert ticket_form_links(ticket)[0][1] == form_url(visit)


def test_the_status_page_costs_at_most_one_query_more(client, visit, branch, cash, lobby_manager):
    """The full status page with the form link costs the same as one without, once the set of
    services with a form is cached."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    plain = reception.visit_register(
        branch=branch, registered_by=lobby_manager, phone="13900139000", service=cash
    )
    urls = [
        reverse("queueing:ticket_status", args=[ticket_status_token(v.ticket_id)])
        for v in (plain, visit)
    ]
    for url in urls:
        client.get(url)  # warm every cache
    costs = []
    for url in urls:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        costs.append(len(queries))
    assert costs[1] == costs[0]


# --- The lobby manager's page --------------------------------------------------------------------


def test_the_lobby_manager_fills_the_form_on_the_tablet(client, visit, lobby_manager):
    client.force_login(lobby_manager)
    done = client.get(reverse("reception:visit_done", args=[visit.pk])).content.decode()
    url = reverse("reception:visit_form", args=[visit.pk])
    assert url in done
    response = client.post(url, posted({**GOOD, "full_name": ""}))
    assert response.status_code == 200  # shown again, the message at its field
    assert 'id="f_full_name-error"' in response.content.decode()
    assert "This field is required." in response.content.decode()
    response = client.post(url, posted(GOOD))
    assert response.status_code == 302
    submission = FormSubmission.objects.get()
    assert (submission.filled_by, submission.staff) == ("staff", lobby_manager)


def test_only_the_branchs_lobby_manager_opens_the_tablet_form(client, visit, teller, outsider):
    url = reverse("reception:visit_form", args=[visit.pk])
    client.force_login(teller)
    assert client.get(url).status_code == 403
    client.force_login(outsider)
    other_manager = UserFactory(username="elsewhere")
    MembershipFactory(
        user=other_manager, branch=outsider.memberships.get().branch, role=Role.LOBBY_MANAGER
    )
    client.force_login(other_manager)
    assert client.get(url).status_code == 404
    assert client.post(url, posted(GOOD)).status_code == 404
    assert not FormSubmission.objects.exists()


# --- The teller ----------------------------------------------------------------------------------


@pytest.fixture
def called_at_counter(client, visit, counter, teller):
    reception.form_submit(visit=visit, raw=GOOD, filled_by="customer")
    client.force_login(teller)
    for action in ("open", "call"):
        client.post(reverse("reception:counter_action", args=[counter.pk]), {"action": action})
    visit.ticket.refresh_from_db()
    assert visit.ticket.status == TicketStatus.CALLED
    return visit


def test_the_teller_sees_the_answers_masked_on_calling(client, called_at_counter, counter):
    html = client.get(reverse("reception:counter", args=[counter.pk])).content.decode()
    assert "王五" in html and "500,000.00" in html
    assert MASKED_ID in html and ID_NUMBER not in html
    assert reverse("reception:visit_form_reveal", args=[called_at_counter.pk]) in html


def test_show_reveals_to_the_serving_teller_and_is_audited(client, called_at_counter, teller):
    url = reverse("reception:visit_form_reveal", args=[called_at_counter.pk])
    response = client.post(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and ID_NUMBER in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    entry = LogEntry.objects.get(action=LogEntry.Action.ACCESS)
    assert entry.actor == teller
    assert entry.content_type == ContentType.objects.get_for_model(Visit)
    assert entry.object_pk == str(called_at_counter.pk)
    assert entry.additional_data["fields"] == ["id_number"]
    assert ID_NUMBER not in str(entry.additional_data) + entry.object_repr + entry.changes_text


def test_show_is_refused_to_anyone_but_the_serving_teller(
    client, called_at_counter, branch, outsider
):
    url = reverse("reception:visit_form_reveal", args=[called_at_counter.pk])
    other_teller = UserFactory(username="teller2")
    MembershipFactory(user=other_teller, branch=branch, role=Role.TELLER)
    client.force_login(other_teller)
    response = client.post(url)
    assert response.status_code == 403 and ID_NUMBER not in response.content.decode()
    client.force_login(outsider)
    assert client.post(url).status_code == 404
    assert client.get(url).status_code == 405
    assert not LogEntry.objects.filter(action=LogEntry.Action.ACCESS).exists()


def test_the_answers_follow_a_transfer(client, called_at_counter, counter, teller, cash, branch):
    counter_action = reverse("reception:counter_action", args=[counter.pk])
    client.post(counter_action, {"action": "start"})
    client.post(counter_action, {"action": "transfer", "to_service": cash.pk, "note": "现金"})
    visit = Visit.objects.get(pk=called_at_counter.pk)
    assert visit.ticket.service == cash
    client.post(counter_action, {"action": "call"})
    html = client.get(reverse("reception:counter", args=[counter.pk])).content.decode()
    assert visit.ticket.code in html and MASKED_ID in html


# --- API -----------------------------------------------------------------------------------------


def test_api_gives_the_current_form_with_labels(as_user, teller, loans, account_form):
    api = as_user(teller)
    response = api.get(
        reverse("api:reception-form"), {"service": loans.pk}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["version"] == 1 and body["title"] == "Account opening form"
    purpose = next(f for f in body["fields"] if f["key"] == "purpose")
    assert purpose["options"] == [
        {"value": "home", "label": "Home"},
        {"value": "car", "label": "购车"},
    ]
    assert api.get(reverse("api:reception-form"), {"service": "x"}).status_code == 400


def test_api_fills_and_reads_a_visits_form(as_user, lobby_manager, visit):
    api = as_user(lobby_manager)
    url = reverse("api:reception-visit-form", args=[visit.pk])
    assert api.get(url).status_code == 404  # nothing filled in yet
    bad = api.put(url, {"answers": {**GOOD, "years": "many"}}, format="json")
    assert bad.status_code == 400
    assert bad.json() == {"years": ["Enter a whole number."]}
    good = api.put(url, {"answers": {**GOOD, "agree": True, "years": 3}}, format="json")
    assert good.status_code == 200, good.json()
    answers = {a["key"]: a for a in good.json()["answers"]}
    assert answers["id_number"]["value"] == MASKED_ID and answers["id_number"]["masked"]
    assert answers["years"]["value"] == "3"
    assert api.get(url).json()["filled_by"] == "staff"
    assert api.put(url, {"answers": "nope"}, format="json").status_code == 400
    nested = api.put(url, {"answers": {**GOOD, "years": [1]}}, format="json")
    assert nested.status_code == 400 and list(nested.json()) == ["years"]


def test_api_keeps_to_the_branch(as_user, outsider, visit, loans):
    api = as_user(outsider)
    url = reverse("api:reception-visit-form", args=[visit.pk])
    assert api.get(url).status_code == 404
    assert api.put(url, {"answers": GOOD}, format="json").status_code == 404
    assert api.get(reverse("api:reception-form"), {"service": loans.pk}).status_code == 404
    assert as_user(None).get(url).status_code == 403


def test_api_refuses_a_closed_visit(as_user, lobby_manager, visit):
    queue.ticket_cancel(ticket_id=visit.ticket_id, by=lobby_manager, branch=visit.branch)
    response = as_user(lobby_manager).put(
        reverse("api:reception-visit-form", args=[visit.pk]), {"answers": GOOD}, format="json"
    )
    assert response.status_code == 400 and response.json()["code"] == "closed"


# --- Admin ---------------------------------------------------------------------------------------


def test_the_admin_checks_options_line_by_line():
    from reception.admin import FormFieldAdminForm

    form = FormFieldAdminForm(
        data={
            "key": "purpose",
            "kind": "choice",
            "label_zh": "用途",
            "choices": "home | 购房\nbad line",
            "sort_order": 0,
        }
    )
    assert not form.is_valid()
    assert form.errors["choices"] == ['Line 2: write "value | 中文 | 中文（繁體） | English".']
    text = FormFieldAdminForm(
        data={"key": "a", "kind": "text", "label_zh": "甲", "choices": "x | y", "sort_order": 0}
    )
    assert not text.is_valid() and "choices" in text.errors


# --- Demo ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_demo_seeds_a_form_with_every_kind_once():
    from io import StringIO

    from django.core.management import call_command

    from reception import prefill
    from reception.models import ServiceForm

    call_command("seed_demo", stdout=StringIO())
    call_command("seed_reception_demo", stdout=StringIO())
    call_command("seed_reception_demo", stdout=StringIO())
    form = ServiceForm.objects.get()
    assert form.service.code == "account"
    version = form.versions.get()  # the second run changed nothing
    kinds = {field["kind"] for field in version.fields}
    assert kinds == set(prefill.KINDS)
    assert [f["key"] for f in version.fields if f["sensitive"]] == ["id_number"]


def test_the_printed_ticket_mentions_the_form(client, visit, lobby_manager):
    client.force_login(lobby_manager)
    html = client.get(reverse("queueing:ticket_print", args=[visit.ticket_id])).content.decode()
    assert "Fill in your form before your turn" in html


# --- Retention ---------------------------------------------------------------------------------


def test_answers_past_the_retention_are_erased_and_newer_ones_kept(visit, branch, loans, settings):
    from datetime import timedelta

    from django.utils import timezone

    from reception.tasks import purge_form_answers

    reception.form_submit(visit=visit, raw=GOOD, filled_by="customer")
    old_visit = reception.visit_register(
        branch=branch, registered_by=visit.registered_by, phone="13700137000", service=loans
    )
    reception.form_submit(visit=old_visit, raw=GOOD, filled_by="customer")
    FormSubmission.objects.filter(visit=old_visit).update(
        submitted_at=timezone.now() - timedelta(days=91)
    )
    settings.PREFILL_RETENTION_DAYS = 90
    assert purge_form_answers() == 1
    assert list(FormSubmission.objects.values_list("visit_id", flat=True)) == [visit.pk]
    assert purge_form_answers() == 0
