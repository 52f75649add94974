"""The closed loop on the customer's timeline (crm.timeline): each follow-up of their answers,
"followed up" once the branch head closed it. One query whatever the history."""

from django.urls import reverse
from django.utils.translation import gettext

from crm.timeline import TimelineEntry, register

from .models import FollowUp


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
            title=gettext("Survey answer followed up")
            if row.status == FollowUp.Status.DONE
            else gettext("Survey answer to follow up"),
            detail=row.result[:200],
            url=reverse("feedback:follow_up", args=[row.pk]),
            badge=row.get_status_display(),
        )
        for row in rows
    ]


def register_loop_timeline() -> None:
    register("feedback.follow_ups", _follow_ups)
