"""Feedback's part of a simulated day (`manage.py simulate_day`, queueing.simulation.hooks):
customers rate the counter on its pad, and some answer the survey texted after their visit.

Both go through the real services (pad_answer, invitation_send, response_submit) at the
simulated moment. The simulator refuses to run with an SMS backend that reaches phones, so the
invitations sent here never text the made-up numbers.
"""

from __future__ import annotations

import random
from datetime import date

from queueing.simulation import hooks

from .links import survey_token
from .models import RatingPad, SurveyInvitation
from .pad_rules import PAD_REASONS
from .services import invitation_send, pad_answer, response_submit

__all__ = ["answer_surveys", "rate_at_the_pad"]

PAD_SHARE = 0.5  # customers who tap the pad after their visit
PAD_RATINGS = {"very": 0.6, "satisfied": 0.33, "dissatisfied": 0.07}
ANSWER_SHARE = 0.3  # of the texted customers: who answer the survey
SATISFACTION = {5: 0.55, 4: 0.3, 3: 0.1, 2: 0.03, 1: 0.02}


@hooks.after_finish
def rate_at_the_pad(finished: hooks.FinishedTicket) -> None:
    rng = finished.rng
    if rng.random() >= PAD_SHARE:
        return
    pad = RatingPad.objects.filter(
        branch_id=finished.branch_id, counter_id=finished.counter_id, is_active=True
    ).first()
    if pad is None:
        return
    rating = rng.choices(list(PAD_RATINGS), list(PAD_RATINGS.values()))[0]
    reason = rng.choice(list(PAD_REASONS)) if rating == "dissatisfied" else ""
    pad_answer(pad=pad, ticket_id=finished.ticket_id, rating=rating, reason=reason)


@hooks.end_of_day
def answer_surveys(branch_id: int, day: date, rng: random.Random) -> None:
    """The day's due invitations are sent; some customers answer that evening."""
    invitations = SurveyInvitation.objects.filter(
        branch_id=branch_id,
        status=SurveyInvitation.Status.SCHEDULED,
        interaction__occurred_at__date=day,
    ).order_by("pk")
    for invitation_id in invitations.values_list("pk", flat=True):
        if not invitation_send(invitation_id=invitation_id) or rng.random() >= ANSWER_SHARE:
            continue
        satisfaction = rng.choices(list(SATISFACTION), list(SATISFACTION.values()))[0]
        recommend = min(10, max(0, round(rng.gauss(satisfaction * 2 - 1, 1.5))))
        response_submit(
            token=survey_token(invitation_id), satisfaction=satisfaction, recommend=recommend
        )
