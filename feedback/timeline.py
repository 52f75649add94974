"""feedback's part of the customer's timeline (crm.timeline): survey invitations and answers at
the branch. Registered in FeedbackConfig.ready(); one query whatever the history."""

from django.utils.translation import gettext as _

from crm.timeline import TimelineEntry, register

from .models import SurveyInvitation


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
