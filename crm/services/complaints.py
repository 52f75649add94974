"""Complaints (issue 7): logged -> assigned -> investigating -> resolved -> informed -> closed.

Every step is one transaction, locks the complaint, and writes a ComplaintEvent (the trail).
Who may take which step: crm.complaint_flow. Deadlines in working days: crm.deadlines.

Informing by SMS goes through the outbox: crm publishes `crm.complaint_inform_requested`,
feedback sends the SMS (feedback.services.complaint_inform_send) and calls
`complaint_mark_informed`, or `complaint_record_inform_failed` when the customer cannot get one.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.errors import DomainError
from accounts.models import Branch
from accounts.selectors import roles_at_branch

from .. import complaint_flow as flow
from .. import deadlines
from ..events import publish_complaint_inform_requested
from ..models import Complaint, ComplaintDeadline, ComplaintEvent, Customer, Severity
from ..selectors.complaints import (
    branch_calendar,
    branch_calendars,
    branch_staff,
    complaint_deadline_rule,
    complaint_deadline_rules,
)

__all__ = [
    "ComplaintError",
    "complaint_assign",
    "complaint_close",
    "complaint_inform",
    "complaint_log",
    "complaint_mark_informed",
    "complaint_record_inform_failed",
    "complaint_resolve",
    "complaint_start",
    "complaints_check_deadlines",
]


class ComplaintError(DomainError):
    pass


class Action:
    """ComplaintEvent.action values."""

    LOGGED = "logged"
    ASSIGNED = "assigned"
    STARTED = "started"
    RESOLVED = "resolved"
    INFORM_REQUESTED = "inform_requested"
    INFORMED = "informed"
    INFORM_FAILED = "inform_failed"
    CLOSED = "closed"
    REMINDED = "reminded"
    ESCALATED = "escalated"


def _event(
    complaint: Complaint,
    action: str,
    *,
    at: datetime,
    by: AbstractBaseUser | None = None,
    from_status: str = "",
    note: str = "",
) -> ComplaintEvent:
    return ComplaintEvent.objects.create(
        complaint=complaint,
        action=action,
        from_status=from_status,
        to_status=complaint.status,
        at=at,
        by=by,
        note=note[:500],
    )


def _locked(complaint: Complaint | int) -> Complaint:
    pk = complaint if isinstance(complaint, int) else complaint.pk
    found = (
        Complaint.objects.select_for_update(of=("self",))
        .select_related("branch", "customer")
        .filter(pk=pk)
        .first()
    )
    if found is None:
        raise ComplaintError(_("No such complaint."), code="not_found")
    return found


def _check(complaint: Complaint, action: str, by: AbstractBaseUser) -> None:
    """Role first (403), then status (400, code "status")."""
    roles = roles_at_branch(user=by, branch=complaint.branch)
    is_assignee = complaint.assignee_id is not None and complaint.assignee_id == by.pk
    if not flow.role_allows(action, roles=roles, is_assignee=is_assignee):
        raise PermissionDenied("Not allowed to take this step of the complaint.")
    if action == flow.CLOSE and complaint.status == flow.RESOLVED:
        raise ComplaintError(
            _("The customer has not been told the result yet: inform them before closing."),
            code="not_informed",
        )
    if not flow.status_allows(action, complaint.status):
        raise ComplaintError(
            _("This step is not possible now: the complaint is “%(status)s”.")
            % {"status": complaint.get_status_display()},
            code="status",
        )


@transaction.atomic
def complaint_log(
    *,
    branch: Branch,
    channel: str,
    severity: str,
    subject: str,
    details: str = "",
    customer: Customer | None = None,
    by: AbstractBaseUser | None = None,
    source: str = "",
    now: datetime | None = None,
) -> Complaint:
    """Log a complaint with its deadlines. Idempotent on a non-empty `source` ("survey:12"):
    a replayed event returns the complaint already logged. `by` None: logged by the system
    (a survey answer); a person must hold a staff role at the branch."""
    if source:
        existing = Complaint.objects.filter(source=source).first()
        if existing is not None:
            return existing
    if by is not None and not flow.may_log(roles_at_branch(user=by, branch=branch)):
        raise PermissionDenied("Not staff of this branch.")
    if channel not in Complaint.Channel.values:
        raise ComplaintError(_("Choose how the complaint was received."), code="channel")
    if severity not in Severity.values:
        raise ComplaintError(_("Choose a severity."), code="severity")
    subject = subject.strip()
    if not subject:
        raise ComplaintError(_("Say what the complaint is about."), code="subject")
    now = now or timezone.now()
    acknowledge_days, resolve_days, _remind = complaint_deadline_rule(
        branch=branch, severity=severity
    )
    calendar = branch_calendar(branch=branch, around=now)
    complaint = Complaint(
        branch=branch,
        customer=customer,
        channel=channel,
        severity=severity,
        subject=subject[:200],
        details=details.strip(),
        source=source,
        logged_by=by,
        logged_at=now,
        acknowledge_due_at=deadlines.add_working_days(now, acknowledge_days, calendar),
        resolve_due_at=deadlines.add_working_days(now, resolve_days, calendar),
    )
    try:
        with transaction.atomic():
            complaint.save()
    except IntegrityError:  # the same source logged at the same instant by another worker
        if not source:
            raise
        return Complaint.objects.get(source=source)
    _event(complaint, Action.LOGGED, at=now, by=by)
    return complaint


@transaction.atomic
def complaint_assign(
    *, complaint: Complaint | int, assignee: AbstractBaseUser, by: AbstractBaseUser
) -> Complaint:
    """The branch head gives the complaint to someone of the branch: this acknowledges it.
    While the work is not done it may be given to someone else."""
    complaint = _locked(complaint)
    _check(complaint, flow.ASSIGN, by)
    if not branch_staff(branch=complaint.branch).filter(pk=assignee.pk).exists():
        raise ComplaintError(_("Choose someone who works at this branch."), code="assignee")
    now = timezone.now()
    before = complaint.status
    complaint.assignee = assignee
    if complaint.status == flow.LOGGED:
        complaint.status = flow.ASSIGNED
    if complaint.acknowledged_at is None:
        complaint.acknowledged_at = now
    complaint.save(update_fields=["assignee", "status", "acknowledged_at"])
    name = assignee.get_full_name() or assignee.get_username()
    _event(complaint, Action.ASSIGNED, at=now, by=by, from_status=before, note=name)
    return complaint


@transaction.atomic
def complaint_start(*, complaint: Complaint | int, by: AbstractBaseUser) -> Complaint:
    complaint = _locked(complaint)
    _check(complaint, flow.START, by)
    before, complaint.status = complaint.status, flow.INVESTIGATING
    complaint.save(update_fields=["status"])
    _event(complaint, Action.STARTED, at=timezone.now(), by=by, from_status=before)
    return complaint


@transaction.atomic
def complaint_resolve(
    *, complaint: Complaint | int, resolution: str, by: AbstractBaseUser
) -> Complaint:
    complaint = _locked(complaint)
    _check(complaint, flow.RESOLVE, by)
    resolution = resolution.strip()
    if not resolution:
        raise ComplaintError(_("Write what was found and done."), code="resolution")
    now = timezone.now()
    before = complaint.status
    complaint.status, complaint.resolution, complaint.resolved_at = flow.RESOLVED, resolution, now
    complaint.save(update_fields=["status", "resolution", "resolved_at"])
    _event(complaint, Action.RESOLVED, at=now, by=by, from_status=before, note=resolution)
    return complaint


@transaction.atomic
def complaint_inform(
    *, complaint: Complaint | int, by_how: str, note: str = "", by: AbstractBaseUser
) -> Complaint:
    """Tell the customer the result. A recorded call or a talk in person: informed at once
    (`note`, what they were told, is required). By SMS: the message is requested through the
    outbox and the complaint becomes "informed" when feedback has sent it."""
    complaint = _locked(complaint)
    _check(complaint, flow.INFORM, by)
    if by_how not in Complaint.InformedBy.values:
        raise ComplaintError(_("Choose how the customer was told."), code="by_how")
    note = note.strip()
    now = timezone.now()
    if by_how == Complaint.InformedBy.SMS:
        if complaint.customer_id is None:
            raise ComplaintError(
                _("No customer is recorded on this complaint: call them or tell them in person."),
                code="by_how",
            )
        _event(complaint, Action.INFORM_REQUESTED, at=now, by=by, note=note)
        publish_complaint_inform_requested(
            complaint_id=complaint.pk, branch_id=complaint.branch_id, note=note
        )
        return complaint
    if not note:
        raise ComplaintError(_("Write what the customer was told."), code="note")
    return _mark_informed(complaint, how=by_how, at=now, note=note, by=by)


def _mark_informed(
    complaint: Complaint, *, how: str, at: datetime, note: str, by: AbstractBaseUser | None
) -> Complaint:
    before = complaint.status
    complaint.status = flow.INFORMED
    complaint.informed_at, complaint.informed_by, complaint.informed_note = at, how, note[:300]
    complaint.save(update_fields=["status", "informed_at", "informed_by", "informed_note"])
    _event(
        complaint,
        Action.INFORMED,
        at=at,
        by=by,
        from_status=before,
        note=note,
    )
    return complaint


@transaction.atomic
def complaint_mark_informed(
    *, complaint_id: int, how: str, at: datetime, note: str = ""
) -> Complaint | None:
    """feedback reports the SMS sent. Idempotent: a complaint already informed (or closed, or
    gone) is left as it is; returns the complaint when this call informed it."""
    complaint = Complaint.objects.select_for_update(of=("self",)).filter(pk=complaint_id).first()
    if complaint is None or complaint.status != flow.RESOLVED:
        return None
    return _mark_informed(complaint, how=how, at=at, note=note, by=None)


@transaction.atomic
def complaint_record_inform_failed(*, complaint_id: int, reason: str) -> None:
    """feedback could not text the customer (no number, no SMS consent): the trail says so
    and the page asks staff to call the customer instead."""
    complaint = Complaint.objects.filter(pk=complaint_id).first()
    if complaint is None or complaint.status != flow.RESOLVED:
        return
    _event(complaint, Action.INFORM_FAILED, at=timezone.now(), note=reason)


@transaction.atomic
def complaint_close(*, complaint: Complaint | int, by: AbstractBaseUser) -> Complaint:
    """The branch head closes the loop: only once the customer has been told the result."""
    complaint = _locked(complaint)
    _check(complaint, flow.CLOSE, by)
    now = timezone.now()
    before = complaint.status
    complaint.status, complaint.closed_at, complaint.closed_by = flow.CLOSED, now, by
    complaint.save(update_fields=["status", "closed_at", "closed_by"])
    _event(complaint, Action.CLOSED, at=now, by=by, from_status=before)
    return complaint


# --- Deadlines: the beat sweep -----------------------------------------------------------------


def _missed(complaint: Complaint, now: datetime) -> list[str]:
    """The deadlines this complaint has missed so far: "acknowledge", "resolve"."""
    missed = []
    if deadlines.is_overdue(now, complaint.acknowledge_due_at, complaint.acknowledged_at):
        missed.append("acknowledge")
    if deadlines.is_overdue(now, complaint.resolve_due_at, complaint.resolved_at):
        missed.append("resolve")
    return missed


@transaction.atomic
def complaints_check_deadlines(*, now: datetime | None = None) -> tuple[int, int]:
    """Remind before a deadline and escalate after a missed one. Returns (reminded, escalated).

    * Reminder: a deadline still to meet is within the severity's `remind_days_before` working
      days: an event and `reminded_at`, once per deadline (a reminder covers both deadlines
      when they fall that close together).
    * Escalation: a deadline missed (acknowledge or resolve): `escalation_level` + 1,
      `escalated_at`, an event: once per missed deadline, so the level is the number missed.

    A fixed number of queries however many complaints are open: the candidates (open ones near
    or past a deadline, by the open-complaints index), the branches' closed days and deadline
    rules, one bulk update and one bulk insert of events. Rows someone is changing right now
    are skipped (SKIP LOCKED) and picked up by the next run.
    """
    now = now or timezone.now()
    horizon = now + timedelta(days=deadlines.calendar_days_to_cover(_max_remind_days()))
    not_acknowledged = Q(acknowledged_at__isnull=True)
    not_resolved = Q(resolved_at__isnull=True)
    late_acknowledged = Q(acknowledged_at__gt=F("acknowledge_due_at"))
    late_resolved = Q(resolved_at__gt=F("resolve_due_at"))
    ack_missed = Q(acknowledge_due_at__lt=now) & (not_acknowledged | late_acknowledged)
    res_missed = Q(resolve_due_at__lt=now) & (not_resolved | late_resolved)
    to_escalate = (ack_missed | res_missed) & Q(escalation_level__lt=2)
    near = (not_acknowledged & Q(acknowledge_due_at__gte=now, acknowledge_due_at__lte=horizon)) | (
        not_resolved & Q(resolve_due_at__gte=now, resolve_due_at__lte=horizon)
    )
    candidates = list(
        Complaint.objects.exclude(status=flow.CLOSED)
        .filter(to_escalate | near)
        .select_related("branch")
        .select_for_update(of=("self",), skip_locked=True)
        .order_by("pk")
    )
    if not candidates:
        return 0, 0
    branches = {c.branch_id: c.branch for c in candidates}
    calendars = branch_calendars(branches=branches.values(), around=now)
    rules = complaint_deadline_rules(branch_ids=branches)
    changed: list[Complaint] = []
    events: list[ComplaintEvent] = []
    reminded = escalated = 0
    for complaint in candidates:
        calendar = calendars[complaint.branch_id]
        remind_days = rules[(complaint.branch_id, complaint.severity)][2]
        missed = _missed(complaint, now)
        touched = False
        if len(missed) > complaint.escalation_level:
            new = missed[complaint.escalation_level :]
            complaint.escalation_level = len(missed)
            complaint.escalated_at = now
            events.append(_pending_event(complaint, Action.ESCALATED, now, ",".join(new)))
            escalated += 1
            touched = True
        due_soon = [
            name
            for name, due, done in (
                ("acknowledge", complaint.acknowledge_due_at, complaint.acknowledged_at),
                ("resolve", complaint.resolve_due_at, complaint.resolved_at),
            )
            if done is None
            and remind_days > 0
            and deadlines.is_due_soon(now, due, remind_days, calendar)
            and (
                complaint.reminded_at is None
                or complaint.reminded_at < deadlines.remind_from(due, remind_days, calendar)
            )
        ]
        if due_soon:
            complaint.reminded_at = now
            events.append(_pending_event(complaint, Action.REMINDED, now, ",".join(due_soon)))
            reminded += 1
            touched = True
        if touched:
            changed.append(complaint)
    if changed:
        Complaint.objects.bulk_update(
            changed, ["reminded_at", "escalated_at", "escalation_level"], batch_size=500
        )
        ComplaintEvent.objects.bulk_create(events, batch_size=500)
    return reminded, escalated


def _max_remind_days() -> int:
    configured = (
        ComplaintDeadline.objects.order_by("-remind_days_before")
        .values_list("remind_days_before", flat=True)
        .first()
    )
    return max(configured or 0, settings.COMPLAINT_DEFAULT_REMIND_DAYS_BEFORE)


def _pending_event(complaint: Complaint, action: str, at: datetime, note: str) -> ComplaintEvent:
    return ComplaintEvent(
        complaint=complaint,
        action=action,
        from_status=complaint.status,
        to_status=complaint.status,
        at=at,
        note=note,
    )
