"""Findings (整改): assign, record the fix with evidence, close; beat's reminders and escalation.

Life cycle: OPEN -> (owner records the fix with an attachment) FIXED -> (branch head) CLOSED.
The next inspection of the branch with the same item re-checks it (services.inspections):
failed again, the finding reopens. Every step leaves a FindingEvent.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.errors import DomainError
from accounts.models import Membership

from .. import roles
from ..models import Attachment, Finding, FindingEvent
from .inspections import attachment_store

__all__ = [
    "finding_assign",
    "finding_close",
    "finding_fix",
    "findings_escalate_overdue",
    "findings_remind_due",
]

logger = logging.getLogger(__name__)


def _locked(finding: Finding) -> Finding:
    return Finding.objects.select_for_update().get(pk=finding.pk)


@transaction.atomic
def finding_assign(*, finding: Finding, user, owner_id: int) -> Finding:
    """The branch head hands the finding to a member of the branch's staff."""
    finding = _locked(finding)
    if not roles.is_branch_head(user, finding.branch_id):
        raise DomainError(_("Only the branch head assigns findings."), code="forbidden")
    if finding.status == Finding.Status.CLOSED:
        raise DomainError(_("This finding is closed."), code="closed")
    member = (
        Membership.objects.filter(branch_id=finding.branch_id, user_id=owner_id, is_active=True)
        .select_related("user")
        .first()
    )
    if member is None:
        raise DomainError(_("Choose a member of this branch's staff."), code="owner")
    finding.owner = member.user
    finding.save(update_fields=["owner"])
    FindingEvent.objects.create(
        finding=finding, action="assigned", at=timezone.now(), by=user, note=str(owner_id)
    )
    return finding


@transaction.atomic
def finding_fix(
    *, finding: Finding, user, note: str, upload: UploadedFile | None = None
) -> Finding:
    """The owner (or the branch head) says what was done; evidence is required: the upload,
    or an attachment already on the finding."""
    finding = _locked(finding)
    if finding.owner_id != user.pk and not roles.is_branch_head(user, finding.branch_id):
        raise DomainError(_("Only the finding's owner records the fix."), code="forbidden")
    if finding.status != Finding.Status.OPEN:
        raise DomainError(_("Only an open finding can be fixed."), code="status")
    if not (note or "").strip():
        raise DomainError(_("Say what was done."), code="note")
    if upload is not None:
        attachment_store(upload=upload, user=user, finding=finding)
    elif not Attachment.objects.filter(finding=finding).exists():
        raise DomainError(_("Attach a photo or document as evidence."), code="evidence")
    now = timezone.now()
    finding.status = Finding.Status.FIXED
    finding.fixed_at = now
    finding.fixed_by = user
    finding.fix_note = note.strip()
    finding.save(update_fields=["status", "fixed_at", "fixed_by", "fix_note"])
    FindingEvent.objects.create(finding=finding, action="fixed", at=now, by=user, note=note[:500])
    return finding


@transaction.atomic
def finding_close(*, finding: Finding, user, note: str = "") -> Finding:
    """The branch head closes a fixed finding: only with evidence on it."""
    finding = _locked(finding)
    if not roles.is_branch_head(user, finding.branch_id):
        raise DomainError(_("Only the branch head closes findings."), code="forbidden")
    if finding.status != Finding.Status.FIXED:
        raise DomainError(_("Record the fix before closing the finding."), code="status")
    if not Attachment.objects.filter(finding=finding).exists():
        raise DomainError(_("A finding is closed only with evidence."), code="evidence")
    now = timezone.now()
    finding.status = Finding.Status.CLOSED
    finding.closed_at = now
    finding.save(update_fields=["status", "closed_at"])
    FindingEvent.objects.create(finding=finding, action="closed", at=now, by=user, note=note[:500])
    return finding


def _remind_days() -> int:
    return int(getattr(settings, "QUALITY_FINDING_REMIND_DAYS", 3))


def findings_remind_due(*, today: date) -> int:
    """Open findings due within QUALITY_FINDING_REMIND_DAYS: one reminder each (reminded_at),
    shown in the owner's "my findings" and logged. Idempotent: a reminded finding is skipped
    until it reopens."""
    limit = today + timedelta(days=_remind_days())
    ids = list(
        Finding.objects.filter(
            status=Finding.Status.OPEN, reminded_at__isnull=True, due_on__lte=limit
        ).values_list("pk", flat=True)
    )
    sent = 0
    for finding_id in ids:
        with transaction.atomic():
            finding = (
                Finding.objects.select_for_update()
                .filter(pk=finding_id, status=Finding.Status.OPEN, reminded_at__isnull=True)
                .first()
            )
            if finding is None:
                continue
            now = timezone.now()
            finding.reminded_at = now
            finding.save(update_fields=["reminded_at"])
            FindingEvent.objects.create(
                finding=finding, action="reminded", at=now, note=str(finding.due_on)
            )
            sent += 1
            logger.info(
                "quality finding %s due %s: reminder to owner %s",
                finding.pk,
                finding.due_on,
                finding.owner_id,
            )
    return sent


def findings_escalate_overdue(*, today: date) -> int:
    """Findings not closed after their due date: level 1 (the branch head) the day after,
    level 2 (the region's heads) QUALITY_ESCALATION_DAYS later. Once per level."""
    level_two_after = int(getattr(settings, "QUALITY_ESCALATION_DAYS", 7))
    candidates = list(
        Finding.objects.filter(
            status__in=(Finding.Status.OPEN, Finding.Status.FIXED),
            due_on__lt=today,
            escalation_level__lt=2,
        ).values_list("pk", "due_on", "escalation_level")
    )
    raised = 0
    for finding_id, due_on, level in candidates:
        target = 2 if due_on + timedelta(days=level_two_after) < today else 1
        if target <= level:
            continue
        with transaction.atomic():
            updated = Finding.objects.filter(pk=finding_id, escalation_level=level).update(
                escalation_level=target, escalated_at=timezone.now()
            )
            if not updated:
                continue
            FindingEvent.objects.create(
                finding_id=finding_id,
                action=f"escalated_{target}",
                at=timezone.now(),
                note=str(due_on),
            )
            raised += 1
            logger.info("quality finding %s overdue since %s: level %s", finding_id, due_on, target)
    return raised
