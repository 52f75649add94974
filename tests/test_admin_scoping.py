"""The Django admin for a branch administrator: only their branch's rows, choices and audit
trail, personal data masked; superusers (the platform operator) see everything; other staff see
nothing. One mechanism for every admin: accounts/admin_scoping.py."""

from datetime import timedelta

import pytest
from auditlog.models import LogEntry
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from accounts.admin_scoping import BranchScopedAdmin, PlatformOnlyAdmin
from accounts.models import Branch, Membership, OutboxEvent, Role
from crm.models import CustomerBranch, Interaction
from feedback.models import SurveyResponse
from kpi.models import KpiRollup
from queueing.models import Counter, CounterEvent, Service
from reception.models import Visit

from .factories import (
    BranchFactory,
    CounterFactory,
    CustomerFactory,
    MembershipFactory,
    ServiceFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

A_PHONE = "13812345678"
B_PHONE = "13987654321"
A_ID = "110101199003071234"
B_ID = "310101198512125678"


def known_at(branch, customer, service, staff=None):
    """A customer who was served at `branch`: their visit, interaction and the branch's link."""
    now = timezone.now()
    CustomerBranch.objects.create(
        customer=customer, branch=branch, first_seen_at=now, last_seen_at=now
    )
    visit = Visit.objects.create(
        branch=branch,
        customer=customer,
        service=service,
        route=Visit.Route.QUEUE,
        registered_at=now,
        registered_by=staff,
    )
    interaction = Interaction.objects.create(
        customer=customer,
        branch=branch,
        kind=Interaction.Kind.BRANCH_SERVICE,
        service_code=service.code,
        staff=staff,
        occurred_at=now,
    )
    return visit, interaction


@pytest.fixture
def branch_a(branch, cash, counter, teller):
    """Branch A ("main") with a customer, a visit, an interaction, a survey answer, figures."""
    customer = CustomerFactory(phone=A_PHONE, id_number=A_ID, name="甲客户")
    visit, interaction = known_at(branch, customer, cash, staff=teller)
    SurveyResponse.objects.create(
        branch=branch, channel="counter_pad", satisfaction=5, submitted_at=timezone.now()
    )
    KpiRollup.objects.create(
        branch=branch, day=timezone.localdate(), hour=9, weekday=0, service=cash, served=3
    )
    CounterEvent.objects.create(
        counter=counter,
        branch=branch,
        action=CounterEvent.Action.OPEN,
        at=timezone.now(),
        by=teller,
    )
    return {
        "branch": branch,
        "customer": customer,
        "visit": visit,
        "interaction": interaction,
        "service": cash,
        "counter": counter,
        "membership": Membership.objects.get(user=teller, branch=branch),
        "teller": teller,
    }


@pytest.fixture
def branch_b(other_branch, outsider):
    service = ServiceFactory(branch=other_branch, code="cash", prefix="A")
    counter = CounterFactory(branch=other_branch, number=1, serves=[service])
    customer = CustomerFactory(phone=B_PHONE, id_number=B_ID, name="乙客户")
    visit, interaction = known_at(other_branch, customer, service, staff=outsider)
    return {
        "branch": other_branch,
        "customer": customer,
        "visit": visit,
        "interaction": interaction,
        "service": service,
        "counter": counter,
        "membership": Membership.objects.get(user=outsider, branch=other_branch),
        "teller": outsider,
    }


@pytest.fixture
def b_admin(other_branch):
    user = UserFactory(username="b-admin", is_staff=True)
    MembershipFactory(user=user, branch=other_branch, role=Role.ADMIN)
    return user


@pytest.fixture
def b_admin_client(client, b_admin):
    client.force_login(b_admin)
    return client


@pytest.fixture
def root_client(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def url(obj, view="change"):
    meta = obj._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=[obj.pk])


def changelist(model):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


ROWS = ["customer", "visit", "service", "counter", "membership", "interaction"]


# --- A. Branch B's administrator does not see branch A ------------------------------------------


@pytest.mark.parametrize("row", ROWS)
def test_the_list_shows_their_branchs_rows_only(b_admin_client, branch_a, branch_b, row):
    theirs, foreign = branch_b[row], branch_a[row]
    response = b_admin_client.get(changelist(type(theirs)))
    assert response.status_code == 200
    shown = {obj.pk for obj in response.context["cl"].result_list}
    assert theirs.pk in shown
    assert foreign.pk not in shown


@pytest.mark.parametrize("row", ROWS)
@pytest.mark.parametrize("view", ["change", "delete", "history"])
def test_another_branchs_row_is_not_found(b_admin_client, branch_a, branch_b, row, view):
    response = b_admin_client.get(url(branch_a[row], view))
    assert response.status_code == 404
    assert b_admin_client.post(url(branch_a[row], view), {"post": "yes"}).status_code == 404
    assert type(branch_a[row]).objects.filter(pk=branch_a[row].pk).exists()


def test_another_branch_and_its_staff_are_not_found(b_admin_client, branch_a, branch_b):
    assert b_admin_client.get(url(branch_a["branch"])).status_code == 404
    assert b_admin_client.get(url(branch_a["teller"])).status_code == 404
    response = b_admin_client.get(changelist(Branch))
    assert [b.pk for b in response.context["cl"].result_list] == [branch_b["branch"].pk]


@pytest.mark.parametrize(
    "model", [SurveyResponse, KpiRollup, CounterEvent, LogEntry, get_user_model()]
)
def test_records_of_another_branch_are_not_listed(b_admin_client, branch_a, branch_b, model):
    response = b_admin_client.get(changelist(model))
    assert response.status_code == 200
    result = response.context["cl"].result_list
    if model is get_user_model():
        assert {u.username for u in result} == {"b-admin", "outsider"}
    elif model is LogEntry:
        customers = {e.object_pk for e in result if e.content_type.model == "customer"}
        assert customers == {str(branch_b["customer"].pk)}
        assert str(branch_a["membership"].pk) not in {
            entry.object_pk for entry in result if entry.content_type.model == "membership"
        }
    else:
        assert not result


def test_no_admin_page_they_can_open_shows_a_full_phone_or_id_number(
    b_admin_client, branch_a, branch_b
):
    pages = [reverse("admin:index")]
    pages += [changelist(model) for model in admin.site._registry]
    for row in ROWS:
        pages.append(url(branch_b[row]))
    pages.append(url(branch_b["customer"], "history"))
    pages.append(url(branch_b["teller"]))
    opened = 0
    for page in pages:
        response = b_admin_client.get(page)
        if response.status_code != 200:
            continue
        opened += 1
        html = response.content.decode()
        for secret in (A_PHONE, B_PHONE, A_ID, B_ID):
            assert secret not in html, page
    assert opened >= len(ROWS) + 8
    customer_page = b_admin_client.get(url(branch_b["customer"])).content.decode()
    assert "139****4321" in customer_page
    assert "3101**********5678" in customer_page


def test_phone_numbers_cannot_be_enumerated_by_search_or_filter(b_admin_client, branch_b):
    customers = changelist(type(branch_b["customer"]))

    def found(params):
        response = b_admin_client.get(customers, params)
        return response.status_code, [c.pk for c in response.context["cl"].result_list]

    assert found({"q": B_PHONE[:7]}) == (200, [])
    assert found({"q": B_PHONE}) == (200, [branch_b["customer"].pk])  # the whole number
    assert found({"q": "乙客户"}) == (200, [branch_b["customer"].pk])
    assert b_admin_client.get(customers, {"phone__startswith": "139"}).status_code == 400
    visits = changelist(Visit)
    assert b_admin_client.get(visits, {"customer__phone__startswith": "139"}).status_code == 400


def test_a_branch_admin_cannot_change_a_phone_or_id_number(b_admin_client, branch_b):
    customer = branch_b["customer"]
    response = b_admin_client.post(
        url(customer),
        {
            "name": "新名字",
            "phone": "13700000000",
            "id_number": "X",
            "preferred_language": "zh-hans",
            "sms_consent": "on",
        },
    )
    assert response.status_code == 302
    customer.refresh_from_db()
    assert (customer.name, customer.phone, customer.id_number) == ("新名字", B_PHONE, B_ID)


def test_records_are_read_only_for_a_branch_admin(b_admin_client, branch_b):
    response = b_admin_client.get(url(branch_b["visit"]))
    assert response.status_code == 200
    assert response.context["has_change_permission"] is False
    assert b_admin_client.post(url(branch_b["visit"]), {}).status_code == 403
    assert b_admin_client.get(reverse("admin:crm_customer_add")).status_code == 403
    assert b_admin_client.get(url(branch_b["customer"], "delete")).status_code == 403


# --- B. Roles and users: never a superuser, never another branch --------------------------------


def test_a_branch_admin_cannot_make_anyone_a_superuser(b_admin_client, branch_b):
    teller = branch_b["teller"]
    page = b_admin_client.get(url(teller)).content.decode()
    assert 'name="is_superuser"' not in page and 'name="user_permissions"' not in page
    response = b_admin_client.post(
        url(teller),
        {
            "username": teller.username,
            "is_active": "on",
            "is_staff": "on",
            "is_superuser": "on",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.context["errors"]
    teller.refresh_from_db()
    assert not teller.is_superuser and not teller.is_staff


def test_a_branch_admin_cannot_grant_a_role_at_another_branch(b_admin_client, branch_a, branch_b):
    response = b_admin_client.post(
        reverse("admin:accounts_membership_add"),
        {"user": branch_b["teller"].pk, "branch": branch_a["branch"].pk, "role": Role.ADMIN},
    )
    assert response.status_code == 200  # the form again, with an error
    assert "branch" in response.context["adminform"].form.errors
    assert not Membership.objects.filter(user=branch_b["teller"], branch=branch_a["branch"])
    # …nor give a role at their branch to someone of another branch.
    response = b_admin_client.post(
        reverse("admin:accounts_membership_add"),
        {"user": branch_a["teller"].pk, "branch": branch_b["branch"].pk, "role": Role.TELLER},
    )
    assert "user" in response.context["adminform"].form.errors
    assert not Membership.objects.filter(user=branch_a["teller"], branch=branch_b["branch"])


def test_granting_the_admin_role_at_their_branch_opens_the_admin_site(b_admin_client, branch_b):
    teller = branch_b["teller"]
    response = b_admin_client.post(
        reverse("admin:accounts_membership_add"),
        {"user": teller.pk, "branch": branch_b["branch"].pk, "role": Role.ADMIN, "is_active": "on"},
    )
    assert response.status_code == 302
    teller.refresh_from_db()
    assert teller.is_staff and not teller.is_superuser


def test_a_new_user_starts_with_a_role_at_their_branch(b_admin_client, branch_a, branch_b):
    add = reverse("admin:auth_user_add")
    form = {
        "username": "new-teller",
        "usable_password": "true",
        "password1": "a-long-Passw0rd!",
        "password2": "a-long-Passw0rd!",
        "memberships-TOTAL_FORMS": "1",
        "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "1",
        "memberships-0-branch": branch_b["branch"].pk,
        "memberships-0-role": Role.TELLER,
        "memberships-0-is_active": "on",
    }
    refused = b_admin_client.post(add, {**form, "memberships-0-branch": branch_a["branch"].pk})
    assert refused.status_code == 200
    none = b_admin_client.post(add, {**form, "memberships-0-branch": "", "memberships-0-role": ""})
    assert none.status_code == 200
    assert not get_user_model().objects.filter(username="new-teller").exists()

    response = b_admin_client.post(add, form)
    assert response.status_code == 302
    user = get_user_model().objects.get(username="new-teller")
    assert list(user.memberships.values_list("branch", "role")) == [
        (branch_b["branch"].pk, Role.TELLER)
    ]
    assert b_admin_client.get(url(user)).status_code == 200


def test_someone_who_also_works_elsewhere_is_theirs_to_view_not_to_change(
    b_admin_client, branch_a, branch_b
):
    shared = branch_b["teller"]
    MembershipFactory(user=shared, branch=branch_a["branch"], role=Role.TELLER)
    response = b_admin_client.get(url(shared))
    assert response.status_code == 200
    assert response.context["has_change_permission"] is False
    # Only the memberships at their branch are shown.
    inline = response.context["inline_admin_formsets"][0].formset
    assert {m.branch_id for m in inline.queryset} == {branch_b["branch"].pk}
    assert b_admin_client.post(url(shared), {"username": "renamed"}).status_code == 403
    password = reverse("admin:auth_user_password_change", args=[shared.pk])
    assert b_admin_client.get(password).status_code == 403


def test_their_branch_settings_but_not_its_code_nor_new_branches(b_admin_client, branch_b):
    branch = branch_b["branch"]
    page = b_admin_client.get(url(branch))
    assert page.status_code == 200
    assert "code" not in page.context["adminform"].form.fields
    assert b_admin_client.get(reverse("admin:accounts_branch_add")).status_code == 403
    assert b_admin_client.post(url(branch, "delete"), {"post": "yes"}).status_code == 403


# --- C. Choices in forms -------------------------------------------------------------------------


def test_foreign_key_choices_are_their_branchs(b_admin_client, branch_a, branch_b):
    form = b_admin_client.get(reverse("admin:queueing_service_add")).context["adminform"].form
    assert list(form.fields["branch"].queryset) == [branch_b["branch"]]

    page = b_admin_client.get(url(branch_b["counter"]))
    assert list(page.context["adminform"].form.fields["branch"].queryset) == [branch_b["branch"]]
    skills = page.context["inline_admin_formsets"][0].formset
    assert set(skills.forms[0].fields["service"].queryset) == {branch_b["service"]}

    form = b_admin_client.get(reverse("admin:accounts_membership_add")).context["adminform"].form
    assert set(form.fields["branch"].queryset) == {branch_b["branch"]}
    assert {u.username for u in form.fields["user"].queryset} == {"b-admin", "outsider"}


def test_the_user_autocomplete_offers_their_branchs_staff_only(b_admin_client, branch_a, branch_b):
    response = b_admin_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "accounts", "model_name": "membership", "field_name": "user", "term": ""},
    )
    assert response.status_code == 200
    assert {r["text"] for r in response.json()["results"]} == {"b-admin", "outsider"}


def test_list_filters_do_not_name_other_branches(b_admin_client, branch_a, branch_b):
    page = b_admin_client.get(changelist(Service)).content.decode()
    assert branch_b["branch"].name in page
    assert branch_a["branch"].name not in page


# --- D. The audit trail --------------------------------------------------------------------------


def test_the_audit_trail_shows_their_branchs_changes_only(b_admin, b_admin_client, branch_a):
    theirs = Membership.objects.get(user=b_admin)
    gone = MembershipFactory(branch=theirs.branch, role=Role.TELLER)
    gone_pk = gone.pk
    gone.delete()
    response = b_admin_client.get(changelist(LogEntry))
    entries = {
        (e.content_type.model, e.object_pk, e.action) for e in response.context["cl"].result_list
    }
    assert ("membership", str(theirs.pk), LogEntry.Action.CREATE) in entries
    assert ("membership", str(gone_pk), LogEntry.Action.DELETE) in entries
    foreign = str(branch_a["membership"].pk)
    assert not any(pk == foreign for model, pk, _ in entries if model == "membership")
    assert ("branch", str(branch_a["branch"].pk), LogEntry.Action.CREATE) not in entries
    assert ("branch", str(theirs.branch_id), LogEntry.Action.CREATE) in entries


# --- E. Everyone else ----------------------------------------------------------------------------


def test_a_superuser_still_sees_everything(root_client, branch_a, branch_b):
    for row in ROWS:
        response = root_client.get(changelist(type(branch_a[row])))
        shown = {obj.pk for obj in response.context["cl"].result_list}
        assert {branch_a[row].pk, branch_b[row].pk} <= shown
        assert root_client.get(url(branch_a[row])).status_code == 200
    assert A_PHONE in root_client.get(url(branch_a["customer"])).content.decode()
    form = root_client.get(reverse("admin:queueing_service_add")).context["adminform"].form
    assert set(form.fields["branch"].queryset) == {branch_a["branch"], branch_b["branch"]}


def test_a_teller_without_is_staff_gets_no_admin(client, branch_a):
    client.force_login(branch_a["teller"])
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]
    assert client.get(changelist(Service)).status_code == 302


def test_staff_without_the_admin_role_see_nothing(client, branch_a):
    teller = branch_a["teller"]
    teller.is_staff = True
    teller.save()
    client.force_login(teller)
    assert client.get(reverse("admin:index")).context["app_list"] == []
    for model in (Service, Counter, get_user_model(), LogEntry, OutboxEvent):
        assert client.get(changelist(model)).status_code == 403


def test_the_outbox_is_the_platform_operators(b_admin_client):
    assert b_admin_client.get(changelist(OutboxEvent)).status_code == 403


def test_every_admin_is_scoped_or_platform_only():
    """A new ModelAdmin must choose: scoped to branches, or the platform operator's alone."""
    unscoped = [
        model._meta.label
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label in {"accounts", "queueing", "crm", "reception", "feedback", "kpi"}
        and not isinstance(model_admin, BranchScopedAdmin | PlatformOnlyAdmin)
    ]
    assert unscoped == []


def test_a_branch_admin_of_two_branches_sees_both(client, branch_a, branch_b):
    user = UserFactory(username="regional", is_staff=True)
    MembershipFactory(user=user, branch=branch_a["branch"], role=Role.ADMIN)
    MembershipFactory(user=user, branch=branch_b["branch"], role=Role.ADMIN)
    third = BranchFactory(code="third")
    ServiceFactory(branch=third, code="cash", prefix="A")
    client.force_login(user)
    response = client.get(changelist(Service))
    assert {s.branch_id for s in response.context["cl"].result_list} == {
        branch_a["branch"].pk,
        branch_b["branch"].pk,
    }
    # A customer known at both is listed once.
    CustomerBranch.objects.create(
        customer=branch_a["customer"],
        branch=branch_b["branch"],
        first_seen_at=timezone.now() - timedelta(days=1),
        last_seen_at=timezone.now(),
    )
    customers = [
        c.pk for c in client.get(changelist(type(branch_a["customer"]))).context["cl"].result_list
    ]
    assert sorted(customers) == sorted({branch_a["customer"].pk, branch_b["customer"].pk})


def test_an_inactive_admin_role_opens_nothing(b_admin, b_admin_client, branch_b):
    Membership.objects.filter(user=b_admin).update(is_active=False)
    assert b_admin_client.get(changelist(Service)).status_code == 403
