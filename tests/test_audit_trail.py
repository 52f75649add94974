"""Changes to memberships, roles, branch settings and consent are audited: who, when,
before and after, with personal data masked."""

import json
from decimal import Decimal

import pytest
from auditlog.context import set_actor
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType

from accounts.models import Branch, Membership, Role
from crm.models import Customer
from crm.services import customer_find_or_create

from .factories import UserFactory

pytestmark = pytest.mark.django_db


def entries_for(model) -> list[LogEntry]:
    return list(
        LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(model)).order_by(
            "timestamp", "pk"
        )
    )


def changes(entry: LogEntry) -> dict:
    raw = entry.changes
    return json.loads(raw) if isinstance(raw, str) else raw


def test_a_branch_setting_change_records_who_and_before_after(branch):
    head = UserFactory(username="head-office")
    with set_actor(head):
        branch.self_service_threshold = Decimal("5000")
        branch.save()
    entry = entries_for(Branch)[-1]
    assert entry.actor == head
    assert entry.action == LogEntry.Action.UPDATE
    before, after = changes(entry)["self_service_threshold"]
    assert Decimal(before) == Decimal("20000") and Decimal(after) == Decimal("5000")


def test_granting_and_changing_a_role_is_recorded(branch):
    admin = UserFactory(username="branch-admin")
    clerk = UserFactory(username="clerk")
    with set_actor(admin):
        membership = Membership.objects.create(user=clerk, branch=branch, role=Role.TELLER)
        membership.role = Role.BRANCH_HEAD
        membership.save()
    created, updated = entries_for(Membership)[-2:]
    assert (created.action, created.actor) == (LogEntry.Action.CREATE, admin)
    assert changes(updated)["role"] == [Role.TELLER, Role.BRANCH_HEAD]


def test_a_consent_change_is_recorded_with_the_number_masked():
    customer_find_or_create(phone="13912345678", sms_consent=False)
    customer_find_or_create(phone="13912345678", sms_consent=True)
    consent = [e for e in entries_for(Customer) if "sms_consent" in changes(e)]
    assert changes(consent[-1])["sms_consent"] == ["False", "True"]
    every_entry = json.dumps([changes(e) for e in entries_for(Customer)], ensure_ascii=False)
    assert "13912345678" not in every_entry
    assert "139****5678" in every_entry


def test_reception_configuration_changes_are_recorded(branch):
    """What customers can book, the days the branch is closed and the forms they fill in are
    configuration like the branch's settings: who changed them, and from what."""
    from datetime import date

    from accounts.models import BranchClosedDay
    from reception.models import AppointmentPlan, ServiceForm

    from .factories import ServiceFactory

    service = ServiceFactory(branch=branch)
    admin = UserFactory(username="config-admin")
    with set_actor(admin):
        plan = AppointmentPlan.objects.create(branch=branch, service=service, capacity=2)
        plan.capacity = 4
        plan.save()
        BranchClosedDay.objects.create(branch=branch, date=date(2026, 12, 25), reason="Holiday")
        ServiceForm.objects.create(branch=branch, service=service, title_zh="开户预填单")
    plan_entry = entries_for(AppointmentPlan)[-1]
    assert plan_entry.actor == admin and changes(plan_entry)["capacity"] == ["2", "4"]
    assert entries_for(BranchClosedDay)[-1].action == LogEntry.Action.CREATE
    assert entries_for(ServiceForm)[-1].actor == admin
