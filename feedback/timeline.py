"""feedback's part of the customer's timeline (crm.timeline): survey invitations and answers at
the branch, and the closed loop's follow-ups of their answers ("followed up" once the branch head
closed it). Registered in FeedbackConfig.ready(); one query per source whatever the history."""

from django.urls import reverse
from django.utils.translation import gettext as _

from crm.timeline import TimelineEntry, register

from .models import FollowUp, SurveyInvitation


def _surveys(customer, branch, limit: int) -> list[TimelineEntry]:
    invitations = (
        SurveyInvitation.objects.filter(customer=customer, branch=branch)
        .select_related("response")
        .order_by("-created_at", "-pk")[:limit]
    )
    entries = []
    for invitation in invitations:
        response = getattr(invitation, "response", None)
        if response is not None:
            detail = _("Satisfaction %(score)s/5") % {"score": response.satisfaction}
            if response.recommend is not None:
                detail += " · " + _("recommend %(score)s/10") % {"score": response.recommend}
            if response.comment:
                detail += f" · {response.comment[:200]}"
            entries.append(
                TimelineEntry(
                    at=response.submitted_at,
                    kind="survey_answer",
                    title=_("Survey answered"),
                    detail=detail,
                    badge=f"{response.satisfaction}/5",
                )
            )
        entries.append(
            TimelineEntry(
                at=invitation.sent_at or invitation.created_at,
                kind="survey",
                title=_("Survey invitation"),
                detail=invitation.skip_reason,
                badge=invitation.get_status_display(),
            )
        )
    return entries


def register_timeline() -> None:
    register("feedback.surveys", _surveys)


def _follow_ups(customer, branch, limit: int) -> list[TimelineEntry]:
    rows = (
        FollowUp.objects.filter(response__invitation__customer=customer, branch=branch)
        .select_related("response")
        .order_by("-created_at", "-pk")[:limit]
    )
    return [
        TimelineEntry(
            at=row.closed_at or row.created_at,
            kind="survey_follow_up",
            title=_("Survey answer followed up")
            if row.status == FollowUp.Status.DONE
            else _("Survey answer to follow up"),
            detail=row.result[:200],
            url=reverse("feedback:follow_up", args=[row.pk]),
            badge=row.get_status_display(),
        )
        for row in rows
    ]


def register_loop_timeline() -> None:
    register("feedback.follow_ups", _follow_ups)
