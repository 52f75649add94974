"""Care reminders (关怀提醒): created by staff, by a visit's "follow-up needed" outcome or by a
branch's care rules (crm.rules); done, cancelled or handed to someone else."""

from datetime import date, datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.errors import DomainError
from accounts.models import Branch

from ..models import CareReminder, CareRule, Customer, ReminderKind
from ..rules import RuleSpec, reminders_due
from ..selectors.reminders import care_rule_inputs

__all__ = [
    "ReminderError",
    "care_rules_apply",
    "care_rules_run",
    "reminder_cancel",
    "reminder_create",
    "reminder_done",
    "reminder_reassign",
]


class ReminderError(DomainError):
    pass


def _check_assignee(
    branch: Branch,
    assignee: AbstractBaseUser | None,
    created_by: AbstractBaseUser | None = None,
) -> None:
    if assignee is None:
        return
    if created_by is not None and assignee.pk == created_by.pk:
        return  # staff assigning themselves: they are working here now
    if (
        not assignee.is_active
        or not assignee.memberships.filter(branch=branch, is_active=True).exists()
    ):
        raise ReminderError(_("That person does not work at this branch."), code="assignee")


@transaction.atomic
def reminder_create(
    *,
    customer: Customer,
    branch: Branch,
    kind: str,
    title: str,
    due_on: date,
    assignee: AbstractBaseUser | None = None,
    created_by: AbstractBaseUser | None = None,
    source: str = "",
    now: datetime | None = None,
) -> CareReminder:
    """Create a reminder; with a non-empty `source` it is created once (a replayed event or a
    rule run twice returns the existing one, even when two run at the same instant)."""
    title = (title or "").strip()
    if not title:
        raise ReminderError(_("Say what is to be done."), code="title")
    if kind not in ReminderKind.values:
        raise ReminderError(_("Choose a kind of reminder."), code="kind")
    if customer.merged_into_id is not None:
        customer = customer.merged_into
    _check_assignee(branch, assignee, created_by)
    if source:
        existing = CareReminder.objects.filter(source=source).first()
        if existing is not None:
            return existing
    fields = {
        "customer": customer,
        "branch": branch,
        "kind": kind,
        "title": title[:200],
        "due_on": due_on,
        "assignee": assignee,
        "created_by": created_by,
        "created_at": now or timezone.now(),
        "source": source,
    }
    if not source:
        return CareReminder.objects.create(**fields)
    try:
        with transaction.atomic():  # savepoint: the same event handled twice at once
            return CareReminder.objects.create(**fields)
    except IntegrityError:
        return CareReminder.objects.get(source=source)


def _lock_open(reminder: CareReminder) -> CareReminder:
    locked = CareReminder.objects.select_for_update().get(pk=reminder.pk)
    if locked.status != CareReminder.Status.OPEN:
        raise ReminderError(_("This reminder is no longer open."), code="status")
    return locked


@transaction.atomic
def reminder_done(
    reminder: CareReminder,
    by: AbstractBaseUser,
    note: str = "",
    *,
    now: datetime | None = None,
) -> CareReminder:
    """Mark the reminder done, with what was done."""
    locked = _lock_open(reminder)
    locked.status = CareReminder.Status.DONE
    locked.done_at = now or timezone.now()
    locked.done_by = by
    locked.outcome_note = (note or "").strip()[:300]
    locked.save(update_fields=["status", "done_at", "done_by", "outcome_note"])
    return locked


@transaction.atomic
def reminder_cancel(
    reminder: CareReminder,
    by: AbstractBaseUser,
    note: str = "",
    *,
    now: datetime | None = None,
) -> CareReminder:
    """Cancel a reminder no longer needed; the note says why."""
    locked = _lock_open(reminder)
    note = (note or "").strip()
    if not note:
        raise ReminderError(_("Say why the reminder is cancelled."), code="note")
    locked.status = CareReminder.Status.CANCELLED
    locked.done_at = now or timezone.now()
    locked.done_by = by
    locked.outcome_note = note[:300]
    locked.save(update_fields=["status", "done_at", "done_by", "outcome_note"])
    return locked


@transaction.atomic
def reminder_reassign(
    reminder: CareReminder,
    assignee: AbstractBaseUser | None,
    *,
    by: AbstractBaseUser | None = None,
) -> CareReminder:
    """Hand an open reminder to someone else at its branch (None: nobody yet)."""
    locked = _lock_open(reminder)
    _check_assignee(locked.branch, assignee, by)
    locked.assignee = assignee
    locked.save(update_fields=["assignee"])
    return locked


@transaction.atomic
def care_rules_apply(*, branch: Branch, today: date, now: datetime | None = None) -> int:
    """Create the reminders the branch's active care rules call for on `today`. Idempotent (the
    `source` keys); reads only customers and deposits whose date falls in a rule's window, so
    its cost does not grow with the branch's history. Returns how many reminders were new."""
    rules = [
        RuleSpec(kind=r.kind, days_before=r.days_before, assignee_id=r.assignee_id)
        for r in CareRule.objects.filter(branch=branch, is_active=True)
    ]
    if not rules:
        return 0
    customers, deposits = care_rule_inputs(branch=branch, rules=rules, today=today)
    planned = reminders_due(rules=rules, customers=customers, deposits=deposits, today=today)
    if not planned:
        return 0
    existing = set(
        CareReminder.objects.filter(source__in=[p.source for p in planned]).values_list(
            "source", flat=True
        )
    )
    new = [p for p in planned if p.source not in existing]
    if not new:
        return 0
    created_at = now or timezone.now()
    rows = [
        CareReminder(
            customer_id=p.customer_id,
            branch=branch,
            kind=p.kind,
            title=str(p.title),
            due_on=p.due_on,
            assignee_id=p.assignee_id,
            created_at=created_at,
            source=p.source,
        )
        for p in new
    ]
    # A concurrent run may have written some meanwhile: the unique source keeps one of each.
    CareReminder.objects.bulk_create(rows, ignore_conflicts=True)
    return CareReminder.objects.filter(source__in=[p.source for p in new]).count()


def care_rules_run(*, now: datetime | None = None) -> int:
    """Apply every branch's active care rules for the branch's own today (the daily beat task,
    runnable by hand: `crm.tasks.apply_care_rules`). One transaction per branch, so one
    branch's failure does not undo the others'. Returns how many reminders were new."""
    now = now or timezone.now()
    branch_ids = set(CareRule.objects.filter(is_active=True).values_list("branch_id", flat=True))
    created = 0
    for branch in Branch.objects.filter(pk__in=branch_ids).order_by("pk"):
        today = timezone.localtime(now, branch.tz).date()
        created += care_rules_apply(branch=branch, today=today, now=now)
    return created
