"""Survey use cases. SMS goes out from a Celery task, after commit, never inside a transaction."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Max, Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.errors import DomainError
from accounts.resilience import enqueue
from crm.models import Complaint, Interaction
from crm.services import complaint_mark_informed, complaint_record_inform_failed

from .. import policy
from ..links import invitation_id_from_token, survey_token
from ..models import DeliveryStatus, SurveyInvitation, SurveyResponse
from ..sms import SmsMessage, SmsPermanentError, get_backend
from .loop import follow_up_open_for

# Only a service a teller gave is surveyed. A diversion to the machines is not: asking about
# it would use up the customer's survey allowance (one per 30 days) a minute before the visit
# to the counter that the branch wants to hear about.
SURVEYED_KINDS = (Interaction.Kind.BRANCH_SERVICE,)
MAX_SEND_ATTEMPTS = 5

log = logging.getLogger(__name__)


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
    from .surveys import contact_rules_for

    decision = policy.decide(
        now_local=timezone.localtime(timezone.now(), branch.tz),
        consent=customer.sms_consent,
        # Consent withdrawn (it has a source but is off) is an opt-out, not "never asked".
        opted_out=not customer.sms_consent and bool(customer.sms_consent_source),
        has_phone=bool(customer.phone),
        last_invited_at=last_invited,
        rules=contact_rules_for(branch),
        sample_key=interaction.pk,
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
        from ..tasks import send_invitation  # tasks import services; import here to avoid a cycle

        # A nudge: if the broker is down, beat's send_due_invitations finds the row anyway.
        invitation_id = invitation.pk
        transaction.on_commit(lambda: enqueue(send_invitation, invitation_id))
    return invitation


def survey_url(invitation_id: int) -> str:
    path = reverse("feedback:survey", kwargs={"token": survey_token(invitation_id)})
    return settings.PUBLIC_BASE_URL.rstrip("/") + path


def idempotency_key(invitation_id: int) -> str:
    """The same for every attempt at one invitation: the gateway sends it once."""
    return f"branchflow-survey-invitation-{invitation_id}"


def _claimable(now):
    """Due and not yet claimed, or claimed by a worker whose lease ran out (it died)."""
    return Q(status=SurveyInvitation.Status.SCHEDULED, scheduled_for__lte=now) | Q(
        status=SurveyInvitation.Status.SENDING,
        lease_expires_at__lt=now,
        # A message whose worker dies every time is left for a person (admin list, "sending").
        attempts__lt=MAX_SEND_ATTEMPTS * 2,
    )


def invitation_send(*, invitation_id: int) -> bool:
    """Send one due invitation; True if this call sent it.

    Claimed first by a conditional update with a lease, so two workers never both send it and
    a worker that dies mid-send is replaced once the lease runs out. The SMS goes out outside
    any transaction, with an idempotency key derived from the invitation: a re-send after a
    crash is not a second message. A failed send is rescheduled with backoff for the beat sweep
    (send_due_invitations), the one retry path; after MAX_SEND_ATTEMPTS it is marked failed.
    """
    now = timezone.now()
    lease = timedelta(seconds=settings.SURVEY_SEND_LEASE_SECONDS)
    claimed = SurveyInvitation.objects.filter(_claimable(now), pk=invitation_id).update(
        status=SurveyInvitation.Status.SENDING,
        attempts=F("attempts") + 1,
        lease_expires_at=now + lease,
    )
    if not claimed:
        return False
    invitation = SurveyInvitation.objects.select_related("customer", "branch").get(pk=invitation_id)
    customer = invitation.customer
    with translation.override(customer.preferred_language):
        body = gettext(
            "%(branch)s: thank you for visiting. How did we do? Rate us (1 minute): %(url)s"
        ) % {"branch": invitation.branch.name, "url": survey_url(invitation.pk)}
    message = SmsMessage(
        to=customer.phone or "",
        body=body,
        reference=f"invitation:{invitation.pk}",
        idempotency_key=idempotency_key(invitation.pk),
        language=customer.preferred_language,
    )
    try:
        provider_message_id = get_backend().send(message)
    except Exception as error:
        log.warning("survey SMS for invitation %s failed", invitation.pk, exc_info=True)
        # A refusal (bad number, template) is final; a timeout, 429 or 5xx is tried again.
        retry = invitation.attempts < MAX_SEND_ATTEMPTS and not isinstance(error, SmsPermanentError)
        # Only our own claim (its attempt number): if our lease ran out and another worker
        # claimed the invitation since, its attempt is not ours to reschedule.
        SurveyInvitation.objects.filter(
            pk=invitation.pk, status=SurveyInvitation.Status.SENDING, attempts=invitation.attempts
        ).update(
            status=SurveyInvitation.Status.SCHEDULED if retry else SurveyInvitation.Status.FAILED,
            scheduled_for=now + send_retry_delay(invitation.attempts)
            if retry
            else invitation.scheduled_for,
            lease_expires_at=None,
        )
        return False
    SurveyInvitation.objects.filter(pk=invitation.pk).update(
        status=SurveyInvitation.Status.SENT,
        sent_at=timezone.now(),
        lease_expires_at=None,
        provider_message_id=(provider_message_id or "")[:80],
        delivery_status=DeliveryStatus.ACCEPTED,
    )
    return True


def send_retry_delay(attempts: int) -> timedelta:
    """After the n-th failed send: 1, 2, 4 … minutes."""
    return timedelta(minutes=2 ** max(attempts - 1, 0))


def due_invitation_ids(*, limit: int = 500) -> list[int]:
    now = timezone.now()
    return list(
        SurveyInvitation.objects.filter(_claimable(now))
        .order_by("scheduled_for")
        .values_list("pk", flat=True)[:limit]
    )


def invitation_from_token(token: str) -> SurveyInvitation | None:
    """The link's invitation, if the signature holds and the link is younger than its branch's
    FeedbackSettings.link_valid_days."""
    from .surveys import link_valid_days_for

    invitation_id = invitation_id_from_token(token, max_age_days=None)
    if invitation_id is None:
        return None
    invitation = (
        SurveyInvitation.objects.select_related("branch", "customer", "interaction")
        .filter(pk=invitation_id)
        .first()
    )
    if invitation is None:
        return None
    if invitation_id_from_token(token, link_valid_days_for(invitation.branch_id)) is None:
        return None  # expired
    return invitation


@transaction.atomic
def response_submit(
    *, token: str, satisfaction: int, recommend: int | None = None, comment: str = ""
) -> SurveyResponse:
    """Record the customer's answer; the link works once."""
    found = invitation_from_token(token)
    if found is None:
        raise SurveyError(_("This survey link is not valid or has expired."), code="bad_link")
    invitation = SurveyInvitation.objects.select_for_update().filter(pk=found.pk).first()
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
    follow_up_open_for(response)  # a bad answer reaches the branch head (services/loop.py)
    return response


# --- Customer records merged in crm (crm.customers_merged) --------------------------------------


@transaction.atomic
def invitations_repoint_customer(*, source_id: int, target_id: int) -> int:
    """The merged duplicate's survey invitations (their answers hang off them) now belong to the
    record it was merged into. Idempotent. Returns how many moved."""
    return SurveyInvitation.objects.filter(customer_id=source_id).update(customer_id=target_id)


# --- Complaints (issue 7): the customer told the result by SMS ----------------------------------

COMPLAINT_SMS_RESULT_LENGTH = 200


def complaint_inform_idempotency_key(complaint_id: int) -> str:
    """One result SMS per complaint, however often the request is delivered or repeated."""
    return f"branchflow-complaint-informed-{complaint_id}"


def complaint_inform_text(complaint, note: str) -> str:
    """The result, in the customer's language: the branch's note to them, else the resolution."""
    customer = complaint.customer
    result = (note or complaint.resolution).strip()
    if len(result) > COMPLAINT_SMS_RESULT_LENGTH:
        result = result[: COMPLAINT_SMS_RESULT_LENGTH - 1] + "…"
    logged_on = timezone.localtime(complaint.logged_at, complaint.branch.tz).date()
    with translation.override(customer.preferred_language):
        return gettext(
            "%(branch)s: about your complaint of %(date)s (%(subject)s): %(result)s "
            "Thank you for telling us."
        ) % {
            "branch": complaint.branch.local_name,
            "date": logged_on.isoformat(),
            "subject": complaint.subject[:60],
            "result": result,
        }


def complaint_inform_send(*, complaint_id: int, note: str = "") -> bool:
    """Text the customer the result of their complaint (the outbox listener calls this, inside
    its delivery's transaction), then tell crm it is done. True if this call informed them.

    Nothing to do once the complaint is no longer "resolved" (already informed, a redelivery).
    No number or no SMS consent: crm records that it could not be sent, and the page asks staff
    to call the customer instead. The idempotency key makes a redelivery after a crash one SMS.
    """
    complaint = (
        Complaint.objects.select_related("customer", "branch").filter(pk=complaint_id).first()
    )
    if complaint is None or complaint.status != Complaint.Status.RESOLVED:
        return False
    customer = complaint.customer
    if customer is None or not customer.phone or customer.anonymised_at is not None:
        complaint_record_inform_failed(complaint_id=complaint.pk, reason="no_number")
        return False
    if not customer.sms_consent:
        complaint_record_inform_failed(complaint_id=complaint.pk, reason="no_consent")
        return False
    body = complaint_inform_text(complaint, note)
    get_backend().send(
        SmsMessage(
            to=customer.phone,
            body=body,
            reference=f"complaint:{complaint.pk}",
            idempotency_key=complaint_inform_idempotency_key(complaint.pk),
            language=customer.preferred_language,
        )
    )
    informed = complaint_mark_informed(
        complaint_id=complaint.pk, how=Complaint.InformedBy.SMS, at=timezone.now(), note=body
    )
    return informed is not None
