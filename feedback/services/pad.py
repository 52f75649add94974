"""Use cases of the counter rating pad and the phone call-back survey."""

import secrets

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.errors import DomainError
from accounts.models import Branch

from ..models import RatingPad, SurveyResponse, SurveyVersion
from ..pad_rules import PHONE_INTERACTION_KEY, pad_reason_valid, pad_satisfaction
from ..selectors.pad import pad_ticket_to_rate, phone_survey_candidates
from .loop import follow_up_open_for
from .surveys import (
    _clean,
    _overall_satisfaction,
    survey_current_version,
    version_questions_for,
)

__all__ = [
    "PadError",
    "new_pad_token",
    "pad_answer",
    "phone_survey_questions",
    "phone_survey_submit",
]


class PadError(DomainError):
    code = "pad"


def new_pad_token() -> str:
    """Like the display board's token: unguessable, in the pad's URL."""
    return secrets.token_urlsafe(24)


@transaction.atomic
def pad_answer(
    *, pad: RatingPad, ticket_id: int, rating: str, reason: str = "", language: str = ""
) -> SurveyResponse:
    """Record a tap on the pad for the ticket it showed: once per ticket.

    satisfaction is mapped for the KPIs: very satisfied 5, satisfied 4, dissatisfied 2."""
    satisfaction = pad_satisfaction(rating)
    if satisfaction is None:
        raise PadError(_("Choose one of the answers."), code="bad_rating")
    if not pad_reason_valid(rating, reason):
        raise PadError(_("Choose one of the reasons."), code="bad_reason")
    ticket = pad_ticket_to_rate(pad=pad)
    if ticket is None or ticket.pk != ticket_id:
        raise PadError(_("This visit can no longer be rated."), code="expired")
    try:
        with transaction.atomic():
            response = SurveyResponse.objects.create(
                branch=pad.branch,
                channel=SurveyResponse.Channel.COUNTER_PAD,
                satisfaction=satisfaction,
                submitted_at=timezone.now(),
                language=language[:10],
                ticket_id=ticket.pk,
                teller=ticket.teller,
                service_code=ticket.service.code,
                pad_rating=rating,
                pad_reason=reason,
            )
    except IntegrityError:
        raise PadError(_("This visit has already been rated."), code="answered") from None
    follow_up_open_for(response)  # "dissatisfied" reaches the branch head (services/loop.py)
    return response


def phone_survey_questions(
    *, branch: Branch, service_code: str
) -> tuple[SurveyVersion, list[dict]]:
    """The branch's current survey version and its questions for the visit's service: a call
    asks what the SMS link asks."""
    version = survey_current_version(branch)
    return version, version_questions_for(version, service_code)


@transaction.atomic
def phone_survey_submit(
    *,
    branch: Branch,
    interaction_id: int,
    recorded_by,
    raw_answers: dict,
    language: str = "",
) -> SurveyResponse:
    """A call-back's answers to the branch's survey questions, for a served visit of the last
    days that has none yet (channel phone, recorded_by the caller)."""
    interaction = (
        phone_survey_candidates(branch=branch)
        .select_for_update(of=("self",))
        .filter(pk=interaction_id)
        .first()
    )
    if interaction is None:
        raise PadError(
            _("This visit cannot be surveyed (not found, too old or already answered)."),
            code="not_candidate",
        )
    version, questions = phone_survey_questions(
        branch=branch, service_code=interaction.service_code
    )
    answers: dict = {}
    for question in questions:
        value = _clean(question, raw_answers.get(question["key"]))
        if value is None:
            if question["required"]:
                raise PadError(_("Please answer this question."), code=question["key"])
            continue
        answers[question["key"]] = value
    nps = next(
        (answers[q["key"]] for q in questions if q["kind"] == "nps" and q["key"] in answers), None
    )
    comment = next(
        (answers[q["key"]] for q in questions if q["kind"] == "comment" and q["key"] in answers), ""
    )
    response = SurveyResponse.objects.create(
        branch=branch,
        channel=SurveyResponse.Channel.PHONE,
        satisfaction=_overall_satisfaction(questions, answers),
        recommend=nps,
        comment=comment,
        submitted_at=timezone.now(),
        version=version,
        answers=answers | {PHONE_INTERACTION_KEY: interaction.pk},
        language=language[:10],
        service_code=interaction.service_code[:30],
        recorded_by=recorded_by,
    )
    follow_up_open_for(response)  # a low score reaches the branch head (services/loop.py)
    return response
