"""Inspections: start one on a checklist, answer its items (with photos), submit.

Submitting freezes the score (quality.scoring), turns every failed item into a Finding and
re-checks the branch's earlier findings on the same items, in one transaction.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.errors import DomainError
from accounts.models import Branch, Membership, Role
from accounts.timeutil import branch_today

from .. import roles, scoring
from ..models import (
    Attachment,
    Checklist,
    Finding,
    FindingEvent,
    Inspection,
    InspectionKind,
    InspectionResult,
)
from ..uploads import EXTENSIONS, MAX_UPLOAD_BYTES, sniff_content_type

__all__ = [
    "InspectionIncomplete",
    "attachment_store",
    "inspection_answer",
    "inspection_photo_add",
    "inspection_start",
    "inspection_submit",
]

OUTCOMES = ("pass", "fail", "na")


class InspectionIncomplete(DomainError):
    """Submit refused: `item_errors` maps result ids to what is missing there."""

    code = "incomplete"

    def __init__(self, message, item_errors: dict[int, str]) -> None:
        super().__init__(message)
        self.item_errors = item_errors


def _finding_days() -> int:
    return int(getattr(settings, "QUALITY_FINDING_DAYS", 14))


def default_finding_owner(branch: Branch):
    """The branch head who owns a new finding: the first active one (by user id), else None."""
    membership = (
        Membership.objects.filter(branch=branch, role=Role.BRANCH_HEAD, is_active=True)
        .select_related("user")
        .order_by("user_id")
        .first()
    )
    return membership.user if membership else None


@transaction.atomic
def inspection_start(
    *, user, branch: Branch, checklist: Checklist, visited_on: date | None = None
) -> Inspection:
    """An inspector starts a visit of a branch of their region; a branch head a self-check of
    their own branch. One result row per active item, the item's text/category/weight copied."""
    if not checklist.is_active:
        raise DomainError(_("This checklist is not in use."), code="checklist")
    if checklist.kind == InspectionKind.SELF_CHECK:
        if not roles.is_branch_head(user, branch):
            raise DomainError(_("Only the branch head runs self-checks."), code="forbidden")
    elif not roles.can_inspect(user, branch):
        raise DomainError(_("You do not inspect this branch."), code="forbidden")
    now = timezone.now()
    inspection = Inspection.objects.create(
        branch=branch,
        checklist=checklist,
        kind=checklist.kind,
        inspector=user,
        visited_on=visited_on or branch_today(branch),
        started_at=now,
    )
    InspectionResult.objects.bulk_create(
        InspectionResult(
            inspection=inspection,
            item=item,
            category=item.category,
            weight=item.weight,
            text=item.text_zh,
        )
        for item in checklist.items.filter(is_active=True).order_by("sort_order", "id")
    )
    return inspection


def _open_for(inspection: Inspection, user) -> None:
    if inspection.status != Inspection.Status.IN_PROGRESS:
        raise DomainError(_("This inspection has been submitted."), code="submitted")
    if inspection.inspector_id != user.pk:
        raise DomainError(_("Only the inspector fills this inspection."), code="forbidden")


@transaction.atomic
def inspection_answer(
    *, inspection: Inspection, user, result_id: int, outcome: str, note: str = ""
) -> InspectionResult:
    """Pass, fail or not applicable, with a note."""
    inspection = Inspection.objects.select_for_update().get(pk=inspection.pk)
    _open_for(inspection, user)
    if outcome not in OUTCOMES:
        raise DomainError(_("Choose pass, fail or not applicable."), code="outcome")
    try:
        result = inspection.results.get(pk=result_id)
    except InspectionResult.DoesNotExist as exc:
        raise DomainError(_("No such item in this inspection."), code="item") from exc
    result.answered = True
    result.passed = {"pass": True, "fail": False, "na": None}[outcome]
    result.note = (note or "")[:500]
    result.save(update_fields=["answered", "passed", "note"])
    return result


def attachment_store(*, upload: UploadedFile, user, **owner) -> Attachment:
    """Check the file (type by its first bytes, size) and store it for `owner` (result= or
    finding=). The stored name is ours: the client's file name never reaches the disk."""
    if upload.size is None or upload.size > MAX_UPLOAD_BYTES:
        raise DomainError(_("The file is larger than 10 MB."), code="size")
    upload.seek(0)
    content_type = sniff_content_type(upload.read(16))
    upload.seek(0)
    if content_type is None:
        raise DomainError(_("Only JPEG, PNG or PDF files are accepted."), code="type")
    upload.name = f"evidence.{EXTENSIONS[content_type]}"
    return Attachment.objects.create(
        file=upload,
        content_type=content_type,
        uploaded_by=user,
        uploaded_at=timezone.now(),
        **owner,
    )


@transaction.atomic
def inspection_photo_add(
    *, inspection: Inspection, user, result_id: int, upload: UploadedFile
) -> Attachment:
    inspection = Inspection.objects.select_for_update().get(pk=inspection.pk)
    _open_for(inspection, user)
    try:
        result = inspection.results.get(pk=result_id)
    except InspectionResult.DoesNotExist as exc:
        raise DomainError(_("No such item in this inspection."), code="item") from exc
    return attachment_store(upload=upload, user=user, result=result)


@transaction.atomic
def inspection_submit(*, inspection: Inspection, user, notes: str = "") -> Inspection:
    """Freeze the answers: every item answered, a photo wherever the item asks for one (unless
    not applicable); score and category scores; findings; re-checks (see _recheck)."""
    inspection = Inspection.objects.select_for_update().get(pk=inspection.pk)
    _open_for(inspection, user)
    results = list(
        inspection.results.select_related("item").order_by("item__sort_order", "item_id")
    )
    with_photo = set(
        Attachment.objects.filter(result__inspection=inspection).values_list("result_id", flat=True)
    )
    errors: dict[int, str] = {}
    for result in results:
        if not result.answered:
            errors[result.pk] = str(_("Answer this item."))
        elif (
            result.item.evidence_required
            and result.passed is not None
            and result.pk not in with_photo
        ):
            errors[result.pk] = str(_("This item needs a photo."))
    if errors:
        raise InspectionIncomplete(
            _("Some items are not complete: see the marked items."), item_errors=errors
        )
    answers = [scoring.ItemAnswer(r.category, r.weight, r.passed) for r in results]
    now = timezone.now()
    inspection.score = scoring.weighted_score(answers)
    inspection.category_scores = scoring.category_scores(answers)
    inspection.status = Inspection.Status.SUBMITTED
    inspection.submitted_at = now
    if notes:
        inspection.notes = notes
    inspection.save()
    rechecked = _recheck(inspection, results, user, now)
    owner = default_finding_owner(inspection.branch)
    due_on = branch_today(inspection.branch) + timedelta(days=_finding_days())
    for result in results:
        if result.passed is False and result.item_id not in rechecked:
            finding = Finding.objects.create(
                branch=inspection.branch,
                inspection=inspection,
                result=result,
                item=result.item,
                category=result.category,
                owner=owner,
                due_on=due_on,
                created_at=now,
            )
            FindingEvent.objects.create(
                finding=finding, action="created", at=now, by=user, note=result.note[:500]
            )
    return inspection


def _recheck(inspection: Inspection, results: list[InspectionResult], user, now) -> set[int]:
    """The branch's earlier findings on an item this inspection answered whose fix has not yet
    passed a re-check: passed -> recheck_passed True; failed -> recheck_passed False and the
    finding reopens (OPEN, a new due date, reminders and escalation start again) instead of a
    second finding being opened; not applicable -> left for the next inspection. Either way
    recheck_inspection is this one. Returns the item ids that reopened."""
    answered = {r.item_id: r for r in results if r.answered and r.passed is not None}
    reopened: set[int] = set()
    pending = (
        Finding.objects.select_for_update()
        .filter(branch=inspection.branch, item_id__in=answered)
        .exclude(recheck_passed=True)
        .exclude(inspection=inspection)
    )
    due_on = branch_today(inspection.branch) + timedelta(days=_finding_days())
    for finding in pending:
        result = answered[finding.item_id]
        finding.recheck_inspection = inspection
        finding.recheck_passed = bool(result.passed)
        action = "recheck_passed"
        if not result.passed:
            action = "reopened"
            reopened.add(finding.item_id)
            finding.status = Finding.Status.OPEN
            finding.due_on = due_on
            finding.fixed_at = None
            finding.closed_at = None
            finding.reminded_at = None
            finding.escalated_at = None
            finding.escalation_level = 0
        finding.save()
        FindingEvent.objects.create(
            finding=finding, action=action, at=now, by=user, note=f"#{inspection.pk}"
        )
    return reopened
