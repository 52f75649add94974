"""Reads for the counter rating pad and the phone-survey screen."""

from datetime import timedelta

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Branch
from crm.models import Interaction
from queueing.models import Ticket
from queueing.selectors import counters_with_tellers, tickets_for_branch
from queueing.states import TicketStatus

from ..models import RatingPad, SurveyInvitation, SurveyResponse
from ..pad_rules import PAD_WINDOW_S, PHONE_INTERACTION_KEY

__all__ = [
    "pad_by_token",
    "pad_counter_choices",
    "pad_ticket_to_rate",
    "phone_survey_candidates",
]


def pad_by_token(*, token: str) -> RatingPad | None:
    if not token:
        return None
    return RatingPad.objects.select_related("branch").filter(token=token, is_active=True).first()


def pad_counter_choices(*, branch: Branch) -> list[tuple[int, str]]:
    return [
        (counter.pk, f"{counter.number} {counter.label}".strip())
        for counter in counters_with_tellers(branch=branch)
    ]


def pad_ticket_to_rate(*, pad: RatingPad, now=None) -> Ticket | None:
    """The latest ticket finished at the pad's counter within PAD_WINDOW_S, if not yet rated."""
    now = now or timezone.now()
    ticket = (
        tickets_for_branch(branch=pad.branch)
        .filter(
            counter_id=pad.counter_id,
            status=TicketStatus.DONE,
            finished_at__gte=now - timedelta(seconds=PAD_WINDOW_S),
        )
        .order_by("-finished_at", "-pk")
        .first()
    )
    if ticket is None:
        return None
    rated = SurveyResponse.objects.filter(
        channel=SurveyResponse.Channel.COUNTER_PAD, ticket_id=ticket.pk
    ).exists()
    return None if rated else ticket


def phone_survey_candidates(*, branch: Branch, days: int = 7, now=None) -> QuerySet[Interaction]:
    """Served visits of the last `days` at the branch that have no survey answer yet."""
    now = now or timezone.now()
    answered = SurveyInvitation.objects.filter(branch=branch, response__isnull=False).values(
        "interaction_id"
    )
    since = now - timedelta(days=days)
    phoned = [
        int(value)
        for value in SurveyResponse.objects.filter(
            branch=branch, channel=SurveyResponse.Channel.PHONE, submitted_at__gte=since
        ).values_list(f"answers__{PHONE_INTERACTION_KEY}", flat=True)
        if isinstance(value, int)
    ]
    return (
        Interaction.objects.filter(
            branch=branch,
            kind=Interaction.Kind.BRANCH_SERVICE,
            occurred_at__gte=since,
        )
        .exclude(pk__in=answered)
        .exclude(pk__in=phoned)
        .select_related("customer")
        .order_by("-occurred_at")
    )
