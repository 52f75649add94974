from django.db.models import Avg, Count, QuerySet

from accounts.models import Branch
from accounts.timeutil import local_day_bounds

from ..models import SurveyInvitation, SurveyResponse


def responses_for_branch(*, branch: Branch) -> QuerySet[SurveyResponse]:
    return SurveyResponse.objects.filter(branch=branch)


def invitations_for_branch(*, branch: Branch) -> QuerySet[SurveyInvitation]:
    return SurveyInvitation.objects.filter(branch=branch).select_related("customer")


def satisfaction_for_day(*, branch: Branch, day) -> dict:
    start, end = local_day_bounds(branch, day)
    return (
        responses_for_branch(branch=branch)
        .filter(submitted_at__gte=start, submitted_at__lt=end)
        .aggregate(avg=Avg("satisfaction"), count=Count("pk"))
    )
