"""Care reminders (关怀提醒): the pure rules, the services, the beat task, the pages (my
reminders, the branch's list, the customer card), the lobby card, and the API."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Region, RegionMembership, Role
from accounts.timeutil import branch_today
from crm import rules
from crm.models import CareReminder, CareRule, Complaint, ReminderKind
from crm.rules import CustomerDates, DepositDates, RuleSpec, reminders_due
from crm.services import (
    ReminderError,
    care_rules_apply,
    customer_mark_known,
    reminder_cancel,
    reminder_create,
    reminder_done,
    reminder_reassign,
)
from crm.tasks import apply_care_rules

from .factories import (
    BranchFactory,
    CareReminderFactory,
    CareRuleFactory,
    CustomerFactory,
    DepositFactory,
    MembershipFactory,
    UserFactory,
)

PHONE = "13912345678"
TODAY = date(2026, 6, 10)


# --- Pure rules --------------------------------------------------------------------------------


def test_a_deposit_maturing_within_the_window_plans_one_reminder_due_on_the_maturity():
    deposits = [
        DepositDates(5, 1, date(2026, 6, 17), "3-year"),  # 7 days ahead: in
        DepositDates(6, 1, date(2026, 6, 18), "1-year"),  # 8 days ahead: out
        DepositDates(7, 2, date(2026, 6, 9), "old"),  # matured yesterday: out
    ]
    planned = reminders_due(
        rules=[RuleSpec("deposit", 7, assignee_id=3)], customers=[], deposits=deposits, today=TODAY
    )
    assert [(p.source, p.due_on, p.customer_id, p.assignee_id) for p in planned] == [
        ("deposit:5:2026-06-17", date(2026, 6, 17), 1, 3)
    ]
    assert "3-year" in planned[0].title


def test_id_expiry_and_vip_birthdays_plan_reminders_with_their_keys():
    customers = [
        CustomerDates(1, birth_date=date(1980, 6, 12), is_vip=True),
        CustomerDates(2, birth_date=date(1980, 6, 12), is_vip=False),  # not VIP: no birthday
        CustomerDates(3, id_expires_on=date(2026, 6, 30)),
        CustomerDates(4, id_expires_on=date(2026, 7, 30)),  # beyond 30 days
    ]
    planned = reminders_due(
        rules=[RuleSpec("birthday", 3), RuleSpec("id_expiry", 30)],
        customers=customers,
        deposits=[],
        today=TODAY,
    )
    assert [p.source for p in planned] == ["birthday:1:2026", "id_expiry:3:2026-06-30"]
    assert [p.kind for p in planned] == ["birthday", "id_expiry"]


def test_a_birthday_early_in_january_is_planned_for_next_year_in_late_december():
    customer = CustomerDates(1, birth_date=date(1970, 1, 2), is_vip=True)
    planned = reminders_due(
        rules=[RuleSpec("birthday", 7)], customers=[customer], deposits=[], today=date(2026, 12, 28)
    )
    assert [(p.source, p.due_on) for p in planned] == [("birthday:1:2027", date(2027, 1, 2))]


def test_born_on_29_february_is_remembered_on_the_28th_in_a_common_year():
    assert rules.next_birthday(date(1992, 2, 29), date(2026, 2, 20)) == date(2026, 2, 28)
    assert rules.next_birthday(date(1992, 2, 29), date(2028, 2, 20)) == date(2028, 2, 29)
    assert (2, 29) in rules.birthday_month_days(date(2026, 2, 25), date(2026, 3, 2))


def test_running_the_rules_twice_plans_the_same_keys():
    args = {
        "rules": [RuleSpec("deposit", 10), RuleSpec("deposit", 10)],
        "customers": [],
        "deposits": [DepositDates(1, 1, date(2026, 6, 15))],
        "today": TODAY,
    }
    assert reminders_due(**args) == reminders_due(**args)
    assert len(reminders_due(**args)) == 1


# --- Services ----------------------------------------------------------------------------------


@pytest.fixture
def customer(branch):
    customer = CustomerFactory(phone=PHONE, name="王芳", is_vip=True)
    customer_mark_known(customer=customer, branch=branch, at=timezone.now(), new=True)
    return customer


def test_a_reminder_with_a_source_is_created_once(branch, customer, teller):
    first = reminder_create(
        customer=customer,
        branch=branch,
        kind=ReminderKind.FOLLOW_UP,
        title="Call about the loan",
        due_on=TODAY,
        assignee=teller,
        created_by=teller,
        source="visit:12",
    )
    again = reminder_create(
        customer=customer,
        branch=branch,
        kind=ReminderKind.FOLLOW_UP,
        title="Call about the loan",
        due_on=TODAY,
        source="visit:12",
    )
    assert again.pk == first.pk
    assert CareReminder.objects.filter(source="visit:12").count() == 1
    assert first.assignee == teller and first.status == "open"


def test_a_reminder_cannot_go_to_someone_of_another_branch(branch, customer, teller, outsider):
    with pytest.raises(ReminderError) as refused:
        reminder_create(
            customer=customer,
            branch=branch,
            kind="manual",
            title="Call",
            due_on=TODAY,
            assignee=outsider,
            created_by=teller,
        )
    assert refused.value.code == "assignee"
    with pytest.raises(ReminderError) as empty:
        reminder_create(customer=customer, branch=branch, kind="manual", title=" ", due_on=TODAY)
    assert empty.value.code == "title"


def test_done_and_cancel_close_an_open_reminder_once(branch, customer, teller, branch_head):
    reminder = CareReminderFactory(branch=branch, customer=customer, assignee=teller)
    done = reminder_done(reminder, teller, "Called; renewed")
    assert (done.status, done.done_by, done.outcome_note) == ("done", teller, "Called; renewed")
    with pytest.raises(ReminderError):
        reminder_done(reminder, teller, "again")
    other = CareReminderFactory(branch=branch, customer=customer)
    with pytest.raises(ReminderError) as no_reason:
        reminder_cancel(other, teller, "")
    assert no_reason.value.code == "note"
    assert reminder_cancel(other, teller, "Customer moved away").status == "cancelled"
    third = CareReminderFactory(branch=branch, customer=customer, assignee=teller)
    assert reminder_reassign(third, branch_head, by=branch_head).assignee == branch_head


def test_a_merged_customer_s_reminder_goes_to_the_record_kept(branch, customer):
    duplicate = CustomerFactory()
    duplicate.merged_into = customer
    duplicate.save()
    reminder = reminder_create(
        customer=duplicate, branch=branch, kind="manual", title="Call", due_on=TODAY
    )
    assert reminder.customer == customer


# --- Care rules applied ------------------------------------------------------------------------


def _known(branch, **fields):
    customer = CustomerFactory(**fields)
    customer_mark_known(customer=customer, branch=branch, at=timezone.now(), new=True)
    return customer


def test_the_rules_create_reminders_once_for_this_branch_only(branch, other_branch, teller):
    CareRuleFactory(branch=branch, kind="deposit", days_before=7, assignee=teller)
    CareRuleFactory(branch=branch, kind="id_expiry", days_before=30)
    CareRuleFactory(branch=branch, kind="birthday", days_before=3)
    saver = _known(branch, name="Saver")
    DepositFactory(branch=branch, customer=saver, matures_on=TODAY + timedelta(days=5))
    DepositFactory(branch=branch, customer=saver, matures_on=TODAY + timedelta(days=40))
    DepositFactory(branch=other_branch, customer=saver, matures_on=TODAY + timedelta(days=2))
    vip = _known(branch, is_vip=True, birth_date=date(1975, 6, 12), id_expires_on=TODAY)
    _known(branch, is_vip=False, birth_date=date(1975, 6, 12))
    stranger = CustomerFactory(is_vip=True, birth_date=date(1975, 6, 11))  # not known here
    stranger.save()

    assert care_rules_apply(branch=branch, today=TODAY) == 3
    made = {r.source: r for r in CareReminder.objects.all()}
    assert set(made) == {
        f"deposit:{saver.deposits.get(matures_on=TODAY + timedelta(days=5)).pk}:2026-06-15",
        f"id_expiry:{vip.pk}:2026-06-10",
        f"birthday:{vip.pk}:2026",
    }
    deposit_reminder = next(r for r in made.values() if r.kind == "deposit")
    assert deposit_reminder.assignee == teller and deposit_reminder.branch == branch
    # The next day's run (and a second run today) creates nothing new.
    assert care_rules_apply(branch=branch, today=TODAY) == 0
    assert care_rules_apply(branch=branch, today=TODAY + timedelta(days=1)) == 0
    assert CareReminder.objects.count() == 3


def test_an_inactive_rule_creates_nothing(branch):
    CareRuleFactory(branch=branch, kind="deposit", days_before=7, is_active=False)
    DepositFactory(branch=branch, customer=_known(branch), matures_on=TODAY)
    assert care_rules_apply(branch=branch, today=TODAY) == 0


def test_the_rules_read_a_bounded_number_of_queries_whatever_the_history(branch):
    CareRuleFactory(branch=branch, kind="deposit", days_before=7)
    CareRuleFactory(branch=branch, kind="id_expiry", days_before=30)
    CareRuleFactory(branch=branch, kind="birthday", days_before=7)

    def run(day: date) -> int:
        with CaptureQueriesContext(connection) as queries:
            care_rules_apply(branch=branch, today=day)
        return len(queries)

    due = _known(branch, is_vip=True, birth_date=date(1980, 6, 12))
    DepositFactory(branch=branch, customer=due, matures_on=TODAY + timedelta(days=1))
    small = run(TODAY)
    CareReminder.objects.all().delete()
    # Years of history: deposits and customers outside every window, past reminders.
    for n in range(30):
        old = _known(
            branch, is_vip=True, birth_date=date(1980, 1, 1), id_expires_on=date(2030, 1, 1)
        )
        DepositFactory(branch=branch, customer=old, matures_on=TODAY - timedelta(days=n + 1))
        CareReminderFactory(branch=branch, customer=old, source=f"old:{n}", status="done")
    big = run(TODAY)
    assert big == small
    assert small <= 8


def test_the_beat_task_runs_every_branch_s_rules_in_its_own_today(branch, other_branch):
    CareRuleFactory(branch=branch, kind="deposit", days_before=7)
    CareRuleFactory(branch=other_branch, kind="deposit", days_before=7)
    today = branch_today(branch)
    DepositFactory(branch=branch, customer=_known(branch), matures_on=today)
    DepositFactory(branch=other_branch, customer=_known(other_branch), matures_on=today)
    assert apply_care_rules() == 2
    assert apply_care_rules() == 0


# --- The lobby card ----------------------------------------------------------------------------


def _complaint(branch, customer, subject, status="logged"):
    now = timezone.now()
    return Complaint.objects.create(
        branch=branch,
        customer=customer,
        channel="counter",
        severity="medium",
        subject=subject,
        status=status,
        logged_at=now,
        acknowledge_due_at=now + timedelta(days=1),
        resolve_due_at=now + timedelta(days=5),
    )


def test_the_lobby_card_shows_reminders_due_soon_and_open_complaints(
    client, branch, other_branch, customer, lobby_manager
):
    today = branch_today(branch)
    CareReminderFactory(branch=branch, customer=customer, title="Renew the deposit", due_on=today)
    CareReminderFactory(
        branch=branch, customer=customer, title="Missed call back", due_on=today - timedelta(days=3)
    )
    CareReminderFactory(
        branch=branch, customer=customer, title="Far away", due_on=today + timedelta(days=10)
    )
    CareReminderFactory(
        branch=branch, customer=customer, title="Already done", due_on=today, status="done"
    )
    CareReminderFactory(branch=other_branch, customer=customer, title="Elsewhere", due_on=today)
    _complaint(branch, customer, "Wrong fee charged")
    _complaint(branch, customer, "Closed long ago", status="closed")
    client.force_login(lobby_manager)
    client.cookies["django_language"] = "en"
    html = client.post(reverse("reception:customer_lookup"), {"phone": PHONE}).content.decode()
    assert "Renew the deposit" in html
    assert "Missed call back" in html and "Overdue" in html
    assert "Far away" not in html
    assert "Already done" not in html
    assert "Elsewhere" not in html
    assert "1 open complaint" in html and "Wrong fee charged" in html
    assert "Closed long ago" not in html


# --- Pages -------------------------------------------------------------------------------------


def test_my_reminders_lists_mine_open_by_due_date_and_marks_one_done(
    client, branch, customer, teller, lobby_manager
):
    today = branch_today(branch)
    later = CareReminderFactory(
        branch=branch, customer=customer, assignee=teller, title="Later one", due_on=today
    )
    CareReminderFactory(
        branch=branch,
        customer=customer,
        assignee=teller,
        title="Sooner one",
        due_on=today - timedelta(days=1),
    )
    CareReminderFactory(branch=branch, customer=customer, assignee=lobby_manager, title="Not mine")
    client.force_login(teller)
    client.cookies["django_language"] = "en"
    html = client.get(reverse("crm:reminders_mine")).content.decode()
    assert html.index("Sooner one") < html.index("Later one")
    assert "Not mine" not in html
    assert "139****5678" in html and PHONE not in html
    response = client.post(
        reverse("crm:reminder_done", args=[later.pk]), {"note": "Renewed for a year"}
    )
    assert response.status_code == 302 and response.url == reverse("crm:reminders_mine")
    later.refresh_from_db()
    assert (later.status, later.outcome_note, later.done_by) == (
        "done",
        "Renewed for a year",
        teller,
    )
    assert "Later one" not in client.get(reverse("crm:reminders_mine")).content.decode()


def test_someone_else_s_reminder_is_refused_and_another_branch_s_not_found(
    client, branch, other_branch, customer, teller, lobby_manager
):
    theirs = CareReminderFactory(branch=branch, customer=customer, assignee=lobby_manager)
    elsewhere = CareReminderFactory(branch=other_branch, customer=customer)
    client.force_login(teller)
    assert client.post(reverse("crm:reminder_done", args=[theirs.pk])).status_code == 403
    assert client.post(reverse("crm:reminder_done", args=[elsewhere.pk])).status_code == 404
    assert client.get(reverse("crm:reminder_done", args=[theirs.pk])).status_code == 405
    theirs.refresh_from_db()
    assert theirs.status == "open"


def test_cancelling_needs_a_reason(client, branch, customer, teller):
    reminder = CareReminderFactory(branch=branch, customer=customer, assignee=teller)
    client.force_login(teller)
    client.cookies["django_language"] = "en"
    response = client.post(
        reverse("crm:reminder_cancel", args=[reminder.pk]), {"note": ""}, follow=True
    )
    assert "Say why the reminder is cancelled." in response.content.decode()
    reminder.refresh_from_db()
    assert reminder.status == "open"
    client.post(reverse("crm:reminder_cancel", args=[reminder.pk]), {"note": "Moved away"})
    reminder.refresh_from_db()
    assert reminder.status == "cancelled"


def test_the_branch_head_lists_the_overdue_reminders(client, branch, customer, teller, branch_head):
    today = branch_today(branch)
    CareReminderFactory(
        branch=branch,
        customer=customer,
        assignee=teller,
        title="Late one",
        due_on=today - timedelta(days=2),
    )
    CareReminderFactory(branch=branch, customer=customer, title="On time", due_on=today)
    CareReminderFactory(
        branch=branch,
        customer=customer,
        title="Done late",
        due_on=today - timedelta(days=5),
        status="done",
    )
    client.force_login(branch_head)
    client.cookies["django_language"] = "en"
    html = client.get(
        reverse("crm:reminders"), {"status": "open", "overdue": "true"}
    ).content.decode()
    assert "Late one" in html
    assert "On time" not in html and "Done late" not in html
    everything = client.get(reverse("crm:reminders"), {"status": ""}).content.decode()
    assert "On time" in everything and "Done late" in everything
    bad = client.get(reverse("crm:reminders"), {"due_from": "not a date", "kind": "nonsense"})
    assert bad.status_code == 200


def test_only_the_branch_head_or_a_regional_head_reads_the_branch_list(
    client, branch, other_branch, customer, teller
):
    client.force_login(teller)
    assert client.get(reverse("crm:reminders")).status_code == 403
    region = Region.objects.create(code="east", name="华东")
    branch.region = region
    branch.save()
    CareReminderFactory(branch=branch, customer=customer, title="In the region")
    CareReminderFactory(branch=other_branch, customer=customer, title="Outside the region")
    regional = UserFactory(username="regional")
    RegionMembership.objects.create(user=regional, region=region)
    client.force_login(regional)
    html = client.get(reverse("crm:reminders")).content.decode()
    assert "In the region" in html and "Outside the region" not in html
    assert "reminder-close" not in html  # reading only


def test_the_customer_card_shows_reminders_and_sets_one(client, branch, customer, teller):
    CareReminderFactory(branch=branch, customer=customer, title="Bring the new card")
    client.force_login(teller)
    client.cookies["django_language"] = "en"
    page = reverse("crm:customer", args=[customer.pk])
    html = client.get(page).content.decode()
    assert "Care reminders" in html and "Bring the new card" in html
    response = client.post(
        reverse("crm:reminder_create", args=[customer.pk]),
        {"title": "Call about the fund", "due_on": "2026-07-01", "assignee": ""},
    )
    assert response.status_code == 302
    made = CareReminder.objects.get(title="Call about the fund")
    assert (made.kind, made.assignee, made.created_by, made.due_on) == (
        "manual",
        teller,
        teller,
        date(2026, 7, 1),
    )
    bad = client.post(
        reverse("crm:reminder_create", args=[customer.pk]), {"title": "", "due_on": "soon"}
    )
    assert bad.status_code == 302
    assert CareReminder.objects.count() == 2


# --- API ---------------------------------------------------------------------------------------


def test_the_api_lists_filters_creates_and_closes_reminders(as_user, branch, customer, teller):
    today = branch_today(branch)
    late = CareReminderFactory(
        branch=branch, customer=customer, assignee=teller, due_on=today - timedelta(days=1)
    )
    CareReminderFactory(branch=branch, customer=customer, due_on=today + timedelta(days=3))
    api = as_user(teller)
    listed = api.get("/api/crm/reminders/", {"overdue": "true"}).json()
    assert [r["id"] for r in listed["results"]] == [late.pk]
    assert listed["results"][0]["overdue"] is True
    assert listed["results"][0]["customer_masked_phone"] == "139****5678"
    assert api.get("/api/crm/reminders/", {"due_from": "x"}).status_code == 400
    assert api.get(f"/api/crm/reminders/{late.pk}/").json()["id"] == late.pk

    created = api.post(
        "/api/crm/reminders/",
        {"customer": customer.pk, "title": "Call", "due_on": "2026-07-01"},
        format="json",
    )
    assert created.status_code == 201
    assert created.json()["assignee"] == "teller" and created.json()["kind"] == "manual"
    missing = api.post(
        "/api/crm/reminders/",
        {"customer": 999999, "title": "x", "due_on": "2026-07-01"},
        format="json",
    )
    assert missing.status_code == 400 and "customer" in missing.json()

    done = api.post(f"/api/crm/reminders/{late.pk}/done/", {"note": "Called"}, format="json")
    assert done.status_code == 200 and done.json()["status"] == "done"
    again = api.post(f"/api/crm/reminders/{late.pk}/done/", {}, format="json")
    assert again.status_code == 400 and again.json()["code"] == "status"
    rid = created.json()["id"]
    no_reason = api.post(f"/api/crm/reminders/{rid}/cancel/", {}, format="json")
    assert no_reason.status_code == 400 and no_reason.json()["code"] == "note"


def test_the_api_keeps_other_branches_out(as_user, branch, customer, outsider):
    reminder = CareReminderFactory(branch=branch, customer=customer)
    api = as_user(outsider)
    assert api.get(f"/api/crm/reminders/{reminder.pk}/").status_code == 404
    assert api.post(f"/api/crm/reminders/{reminder.pk}/done/", {}, format="json").status_code == 404
    assert api.get("/api/crm/reminders/").json()["results"] == []
    created = api.post(
        "/api/crm/reminders/",
        {"customer": customer.pk, "title": "x", "due_on": "2026-07-01"},
        format="json",
    )
    assert created.status_code == 400
    assert as_user(None).get("/api/crm/reminders/").status_code == 403


def test_a_second_branch_s_member_cannot_be_assigned_through_the_api(
    as_user, branch, customer, teller, outsider
):
    response = as_user(teller).post(
        "/api/crm/reminders/",
        {"customer": customer.pk, "title": "x", "due_on": "2026-07-01", "assignee": outsider.pk},
        format="json",
    )
    assert response.status_code == 400 and response.json()["code"] == "assignee"


def test_a_teller_of_two_branches_gets_reminders_of_the_active_one_only(client, branch, customer):
    second = BranchFactory(code="second")
    user = UserFactory(username="both")
    MembershipFactory(user=user, branch=branch, role=Role.TELLER)
    MembershipFactory(user=user, branch=second, role=Role.TELLER)
    CareReminderFactory(branch=second, customer=customer, assignee=user, title="At the second")
    CareReminderFactory(branch=branch, customer=customer, assignee=user, title="At the main")
    client.force_login(user)
    html = client.get(reverse("crm:reminders_mine")).content.decode()
    assert ("At the main" in html) != ("At the second" in html)


# --- Admin: care rules and deposits, scoped to the branch -------------------------------------


@pytest.fixture
def branch_admin(branch):
    user = UserFactory(username="branch-admin", is_staff=True)
    MembershipFactory(user=user, branch=branch, role=Role.ADMIN)
    return user


def test_a_branch_administrator_configures_care_rules_of_their_branch_only(
    client, branch, other_branch, branch_admin, teller, outsider
):
    mine = CareRuleFactory(branch=branch, kind="deposit")
    theirs = CareRuleFactory(branch=other_branch, kind="deposit")
    DepositFactory(branch=other_branch, product="Elsewhere deposit")
    client.force_login(branch_admin)
    client.cookies["django_language"] = "en"
    listing = client.get(reverse("admin:crm_carerule_changelist"))
    assert listing.status_code == 200
    assert reverse("admin:crm_carerule_change", args=[mine.pk]) in listing.content.decode()
    elsewhere = client.get(reverse("admin:crm_carerule_change", args=[theirs.pk]))
    assert elsewhere.status_code == 404
    assert (
        "Elsewhere deposit"
        not in client.get(reverse("admin:crm_deposit_changelist")).content.decode()
    )
    add = reverse("admin:crm_carerule_add")
    refused = client.post(
        add,
        {
            "branch": branch.pk,
            "kind": "birthday",
            "days_before": 3,
            "assignee": outsider.pk,
            "is_active": "on",
        },
    )
    assert refused.status_code == 200 and not CareRule.objects.filter(kind="birthday").exists()
    saved = client.post(
        add,
        {
            "branch": branch.pk,
            "kind": "birthday",
            "days_before": 3,
            "assignee": teller.pk,
            "is_active": "on",
        },
    )
    assert saved.status_code == 302
    assert CareRule.objects.get(kind="birthday").assignee == teller
