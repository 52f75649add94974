"""The closed loop (issue 8): a bad answer opens a follow-up for the branch head, who records
the call back and closes it; the suggestion box, answered by the branch head, its author told."""

import logging

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.errors import DomainError
from accounts.models import Branch, Role
from accounts.selectors import roles_at_branch
from crm.personal_data import is_valid_phone, normalise_phone
from crm.services import complaint_log

from .. import metrics
from ..models import FollowUp, Suggestion, SurveyResponse
from ..sms import SmsMessage, get_backend

__all__ = [
    "FollowUpError",
    "SuggestionError",
    "follow_up_close",
    "follow_up_open_for",
    "follow_up_record_call",
    "suggestion_answer",
    "suggestion_create",
    "suggestion_idempotency_key",
]

log = logging.getLogger(__name__)
HEAD_ROLES = {Role.BRANCH_HEAD, Role.ADMIN}
SUGGESTION_SMS_ANSWER_LENGTH = 200


class FollowUpError(DomainError):
    pass


class SuggestionError(DomainError):
    pass


def _require_head(user: AbstractBaseUser, branch_id: int) -> None:
    branch = Branch.objects.get(pk=branch_id)
    if not (roles_at_branch(user=user, branch=branch) & HEAD_ROLES):
        raise PermissionDenied("Only the branch head.")


def _reason(response: SurveyResponse) -> str:
    questions = list(response.version.questions) if response.version_id else []
    return metrics.follow_up_reason(
        satisfaction=response.satisfaction,
        recommend=response.recommend,
        answers=response.answers or {},
        rating_keys=metrics.question_keys(questions, "rating"),
        nps_keys=metrics.question_keys(questions, "nps"),
        pad_rating=response.pad_rating,
    )


def _comment(response: SurveyResponse) -> str:
    if response.comment:
        return response.comment
    if response.pad_reason:
        return response.pad_reason
    questions = list(response.version.questions) if response.version_id else []
    for key in metrics.question_keys(questions, "comment"):
        value = (response.answers or {}).get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


@transaction.atomic
def follow_up_open_for(response: SurveyResponse) -> FollowUp | None:
    """Open the branch head's follow-up if the answer is bad (any rating ≤ 2, NPS ≤ 6, a
    "dissatisfied" tap); idempotent. Call it inside the transaction that records the answer.
    A bad answer with a comment is also logged as a crm complaint (source "survey:<id>")."""
    existing = FollowUp.objects.filter(response=response).first()
    if existing is not None:
        return existing
    reason = _reason(response)
    if not reason:
        return None
    comment = _comment(response)
    complaint_id = None
    if comment:
        customer = response.invitation.customer if response.invitation_id else None
        complaint = complaint_log(
            branch=response.branch,
            channel="survey",
            severity="medium",
            subject=gettext("Low survey score: %(reason)s") % {"reason": reason},
            details=comment,
            customer=customer,
            by=None,
            source=f"survey:{response.pk}",
        )
        complaint_id = complaint.pk
    return FollowUp.objects.create(
        response=response,
        branch_id=response.branch_id,
        reason=reason[:100],
        created_at=timezone.now(),
        complaint_id=complaint_id,
    )


def _open_follow_up(follow_up_id: int, branch: Branch) -> FollowUp:
    follow_up = FollowUp.objects.select_for_update().filter(pk=follow_up_id, branch=branch).first()
    if follow_up is None:
        raise FollowUpError(_("No such follow-up."), code="not_found")
    if follow_up.status != FollowUp.Status.OPEN:
        raise FollowUpError(_("This follow-up is already closed."), code="closed")
    return follow_up


@transaction.atomic
def follow_up_record_call(
    *, follow_up_id: int, branch: Branch, by: AbstractBaseUser, result: str, called_at=None
) -> FollowUp:
    """The branch head called the customer back: when, and what came of it."""
    _require_head(by, branch.pk)
    follow_up = _open_follow_up(follow_up_id, branch)
    result = (result or "").strip()
    if not result:
        raise FollowUpError(_("Say what came of the call."), code="result")
    follow_up.called_at = called_at or timezone.now()
    follow_up.result = result[:2000]
    follow_up.assignee = follow_up.assignee or by
    follow_up.save(update_fields=["called_at", "result", "assignee"])
    return follow_up


@transaction.atomic
def follow_up_close(
    *, follow_up_id: int, branch: Branch, by: AbstractBaseUser, result: str = ""
) -> FollowUp:
    """Close it: the response then shows "followed up". A call back must be recorded first
    (or given now as `result`)."""
    _require_head(by, branch.pk)
    follow_up = _open_follow_up(follow_up_id, branch)
    result = (result or "").strip()
    if result:
        follow_up.result = result[:2000]
        follow_up.called_at = follow_up.called_at or timezone.now()
    if not follow_up.result:
        raise FollowUpError(_("Record the call back before closing."), code="result")
    follow_up.status = FollowUp.Status.DONE
    follow_up.closed_at = timezone.now()
    follow_up.closed_by = by
    follow_up.save(update_fields=["status", "closed_at", "closed_by", "result", "called_at"])
    return follow_up


# --- Suggestions ---------------------------------------------------------------------------------


@transaction.atomic
def suggestion_create(
    *,
    branch: Branch,
    text: str,
    contact_phone: str = "",
    author: AbstractBaseUser | None = None,
) -> Suggestion:
    """A suggestion from a customer (the lobby poster; author None) or a member of staff."""
    text = (text or "").strip()
    if not text:
        raise SuggestionError(_("Write your suggestion."), code="text")
    if len(text) > 2000:
        raise SuggestionError(_("Please keep it under 2000 characters."), code="text")
    phone = ""
    if contact_phone and contact_phone.strip():
        phone = normalise_phone(contact_phone)
        if not is_valid_phone(phone):
            raise SuggestionError(_("Enter a valid mobile number."), code="contact_phone")
    if author is not None and not roles_at_branch(user=author, branch=branch):
        raise PermissionDenied("Not staff of this branch.")
    return Suggestion.objects.create(
        branch=branch,
        source=Suggestion.Source.STAFF if author is not None else Suggestion.Source.CUSTOMER,
        text=text,
        contact_phone=phone,
        author=author,
        submitted_at=timezone.now(),
    )


def suggestion_idempotency_key(suggestion_id: int) -> str:
    return f"branchflow-suggestion-answered-{suggestion_id}"


@transaction.atomic
def suggestion_answer(
    *, suggestion_id: int, branch: Branch, by: AbstractBaseUser, status: str, answer: str
) -> Suggestion:
    """The branch head answers and marks it adopted or declined; an author who left a number
    is texted the answer after commit (one SMS, whatever the retries: idempotency key)."""
    _require_head(by, branch.pk)
    if status not in (Suggestion.Status.ADOPTED, Suggestion.Status.DECLINED):
        raise SuggestionError(_("Choose adopted or declined."), code="status")
    answer = (answer or "").strip()
    if not answer:
        raise SuggestionError(_("Write the answer."), code="answer")
    suggestion = (
        Suggestion.objects.select_for_update().filter(pk=suggestion_id, branch=branch).first()
    )
    if suggestion is None:
        raise SuggestionError(_("No such suggestion."), code="not_found")
    if suggestion.status != Suggestion.Status.NEW:
        raise SuggestionError(_("This suggestion has already been answered."), code="answered")
    suggestion.status, suggestion.answer = status, answer[:2000]
    suggestion.answered_by, suggestion.answered_at = by, timezone.now()
    suggestion.save(update_fields=["status", "answer", "answered_by", "answered_at"])
    if suggestion.contact_phone:
        suggestion_id = suggestion.pk
        transaction.on_commit(lambda: _suggestion_tell_author(suggestion_id))
    return suggestion


def _suggestion_tell_author(suggestion_id: int) -> None:
    suggestion = Suggestion.objects.select_related("branch").get(pk=suggestion_id)
    if not suggestion.contact_phone or suggestion.author_told_at is not None:
        return
    answer = suggestion.answer
    if len(answer) > SUGGESTION_SMS_ANSWER_LENGTH:
        answer = answer[: SUGGESTION_SMS_ANSWER_LENGTH - 1] + "…"
    with translation.override(settings.LANGUAGE_CODE):  # no language is asked of the author
        body = gettext("%(branch)s: thank you for your suggestion. %(status)s: %(answer)s") % {
            "branch": suggestion.branch.local_name,
            "status": suggestion.get_status_display(),
            "answer": answer,
        }
    try:
        get_backend().send(
            SmsMessage(
                to=suggestion.contact_phone,
                body=body,
                reference=f"suggestion:{suggestion.pk}",
                idempotency_key=suggestion_idempotency_key(suggestion.pk),
            )
        )
    except Exception:
        log.warning("suggestion SMS %s failed", suggestion.pk, exc_info=True)
        return
    Suggestion.objects.filter(pk=suggestion.pk, author_told_at__isnull=True).update(
        author_told_at=timezone.now()
    )
