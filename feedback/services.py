"""Survey use cases. SMS goes out from a Celery task, after commit, never inside a transaction."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Max
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _

from accounts.errors import DomainError
from crm.models import Interaction

from . import policy
from .links import invitation_id_from_token, survey_token
from .models import SurveyInvitation, SurveyResponse
from .sms import SmsMessage, get_backend

SURVEYED_KINDS = (Interaction.Kind.BRANCH_SERVICE, Interaction.Kind.SELF_SERVICE)
MAX_SEND_ATTEMPTS = 3


class SurveyError(DomainError):
    pass


@transaction.atomic
def invitation_create_for_interaction(*, interaction_id: int) -> SurveyInvitation | None:
    """Decide whether and when to invite the customer to rate this interaction (idempotent)."""
    interaction = (
        Interaction.objects.select_related("customer", "branch").filter(pk=interaction_id).first()
    )
    if interaction is None or interaction.kind not in SURVEYED_KINDS:
        return None
    existing = SurveyInvitation.objects.filter(interaction=interaction).first()
    if existing is not None:
        return existing
    customer, branch = interaction.customer, interaction.branch
    last_invited = SurveyInvitation.objects.filter(
        customer=customer, status__in=["scheduled", "sending", "sent", "answered"]
    ).aggregate(last=Max("created_at"))["last"]
    decision = policy.decide(
        now_local=timezone.localtime(timezone.now(), branch.tz),
        consent=customer.sms_consent,
        has_phone=bool(customer.phone),
        last_invited_at=last_invited,
        delay=timedelta(minutes=settings.SURVEY_DELAY_MINUTES),
    )
    invitation = SurveyInvitation.objects.create(
        customer=customer,
        branch=branch,
        interaction=interaction,
        status=SurveyInvitation.Status.SCHEDULED
        if decision.send_at
        else SurveyInvitation.Status.SKIPPED,
        scheduled_for=decision.send_at,
        skip_reason=decision.skip_reason,
    )
    if decision.send_at and decision.send_at <= timezone.now():
        from .tasks import send_invitation  # tasks import services; import here to avoid a cycle

        invitation_id = invitation.pk
        transaction.on_commit(lambda: send_invitation.delay(invitation_id))
    return invitation


def survey_url(invitation_id: int) -> str:
    path = reverse("feedback:survey", kwargs={"token": survey_token(invitation_id)})
    return settings.PUBLIC_BASE_URL.rstrip("/") + path


def invitation_send(*, invitation_id: int) -> bool:
    """Send one due invitation. Claims it first (conditional update), so two workers never both
    send it; the SMS itself goes out outside any transaction. Returns True if sent."""
    now = timezone.now()
    claimed = SurveyInvitation.objects.filter(
        pk=invitation_id, status=SurveyInvitation.Status.SCHEDULED, scheduled_for__lte=now
    ).update(status=SurveyInvitation.Status.SENDING, attempts=F("attempts") + 1)
    if not claimed:
        return False
    invitation = SurveyInvitation.objects.select_related("customer", "branch").get(pk=invitation_id)
    customer = invitation.customer
    with translation.override(customer.preferred_language):
        body = _t(
            "%(branch)s: thank you for visiting. How did we do? Rate us (1 minute): %(url)s"
        ) % {"branch": invitation.branch.name, "url": survey_url(invitation.pk)}
    try:
        get_backend().send(
            SmsMessage(to=customer.phone or "", body=body, reference=f"invitation:{invitation.pk}")
        )
    except Exception:
        retry = invitation.attempts < MAX_SEND_ATTEMPTS
        SurveyInvitation.objects.filter(pk=invitation.pk).update(
            status=SurveyInvitation.Status.SCHEDULED if retry else SurveyInvitation.Status.FAILED,
            scheduled_for=now + timedelta(minutes=5) if retry else invitation.scheduled_for,
        )
        raise
    SurveyInvitation.objects.filter(pk=invitation.pk).update(
        status=SurveyInvitation.Status.SENT, sent_at=timezone.now()
    )
    return True


def due_invitation_ids(*, limit: int = 500) -> list[int]:
    return list(
        SurveyInvitation.objects.filter(
            status=SurveyInvitation.Status.SCHEDULED, scheduled_for__lte=timezone.now()
        )
        .order_by("scheduled_for")
        .values_list("pk", flat=True)[:limit]
    )


def invitation_from_token(token: str) -> SurveyInvitation | None:
    invitation_id = invitation_id_from_token(token)
    if invitation_id is None:
        return None
    return (
        SurveyInvitation.objects.select_related("branch", "customer", "interaction")
        .filter(pk=invitation_id)
        .first()
    )


@transaction.atomic
def response_submit(
    *, token: str, satisfaction: int, recommend: int | None = None, comment: str = ""
) -> SurveyResponse:
    """Record the customer's answer; the link works once."""
    invitation_id = invitation_id_from_token(token)
    if invitation_id is None:
        raise SurveyError(_("This survey link is not valid or has expired."), code="bad_link")
    invitation = SurveyInvitation.objects.select_for_update().filter(pk=invitation_id).first()
    if invitation is None:
        raise SurveyError(_("This survey link is not valid or has expired."), code="bad_link")
    if invitation.status == SurveyInvitation.Status.ANSWERED:
        raise SurveyError(_("Thank you, this survey has already been answered."), code="answered")
    if not 1 <= satisfaction <= 5:
        raise SurveyError(_("Choose from 1 to 5 stars."), code="satisfaction")
    if recommend is not None and not 0 <= recommend <= 10:
        raise SurveyError(_("Choose from 0 to 10."), code="recommend")
    now = timezone.now()
    response = SurveyResponse.objects.create(
        invitation=invitation,
        branch_id=invitation.branch_id,
        channel=SurveyResponse.Channel.SMS_LINK,
        satisfaction=satisfaction,
        recommend=recommend,
        comment=comment[:1000],
        submitted_at=now,
    )
    invitation.status, invitation.answered_at = SurveyInvitation.Status.ANSWERED, now
    invitation.save(update_fields=["status", "answered_at"])
    return response
