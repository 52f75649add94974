"""Complaints: reads for the pages, the API and the deadline sweep (issue 7)."""

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from accounts.models import Branch, BranchClosedDay

from ..deadlines import BranchCalendar
from ..models import Complaint, ComplaintDeadline, ComplaintEvent

__all__ = [
    "DeadlineRule",
    "branch_calendar",
    "branch_calendars",
    "branch_staff",
    "complaint_deadline_rule",
    "complaint_deadline_rules",
    "complaint_events",
    "complaint_for_branches",
    "complaints_for_branches",
]

# Closed days this far back are enough for any sum about an open complaint's deadlines.
CALENDAR_LOOKBACK = timedelta(days=400)

DeadlineRule = tuple[int, int, int]  # (acknowledge days, resolve days, remind days before)


def _default_rule(severity: str) -> DeadlineRule:
    acknowledge, resolve = settings.COMPLAINT_DEFAULT_DEADLINES[severity]
    return acknowledge, resolve, settings.COMPLAINT_DEFAULT_REMIND_DAYS_BEFORE


def complaint_deadline_rule(*, branch: Branch, severity: str) -> DeadlineRule:
    """The branch's deadlines for this severity; the settings' defaults when none is set."""
    row = ComplaintDeadline.objects.filter(branch=branch, severity=severity).first()
    if row is None:
        return _default_rule(severity)
    return row.acknowledge_days, row.resolve_days, row.remind_days_before


def complaint_deadline_rules(*, branch_ids: Iterable[int]) -> dict[tuple[int, str], DeadlineRule]:
    """{(branch id, severity): rule} for these branches, defaults filled in (one query)."""
    ids = set(branch_ids)
    rules = {
        (branch_id, severity): _default_rule(severity)
        for branch_id in ids
        for severity in settings.COMPLAINT_DEFAULT_DEADLINES
    }
    for row in ComplaintDeadline.objects.filter(branch_id__in=ids):
        rules[(row.branch_id, row.severity)] = (
            row.acknowledge_days,
            row.resolve_days,
            row.remind_days_before,
        )
    return rules


def branch_calendar(*, branch: Branch, around: datetime) -> BranchCalendar:
    return branch_calendars(branches=[branch], around=around)[branch.pk]


def branch_calendars(*, branches: Iterable[Branch], around: datetime) -> dict[int, BranchCalendar]:
    """Each branch's working calendar: its zone, closing time and closed days (one query)."""
    by_id = {branch.pk: branch for branch in branches}
    closed: dict[int, set] = {branch_id: set() for branch_id in by_id}
    since = (around - CALENDAR_LOOKBACK).date()
    for branch_id, day in BranchClosedDay.objects.filter(
        branch_id__in=by_id, date__gte=since
    ).values_list("branch_id", "date"):
        closed[branch_id].add(day)
    return {
        branch_id: BranchCalendar.of(
            tz=branch.tz, closes_at=branch.closes_at, closed_days=closed[branch_id]
        )
        for branch_id, branch in by_id.items()
    }


def complaints_for_branches(*, branches: Iterable[Branch]) -> QuerySet[Complaint]:
    return (
        Complaint.objects.filter(branch__in=list(branches))
        .select_related("branch", "customer", "assignee", "logged_by")
        .order_by("-logged_at", "-pk")
    )


def complaint_for_branches(*, branches: Iterable[Branch], pk: int) -> Complaint | None:
    return complaints_for_branches(branches=branches).filter(pk=pk).first()


def complaint_events(*, complaint: Complaint) -> QuerySet[ComplaintEvent]:
    return complaint.events.select_related("by").order_by("at", "pk")


def branch_staff(*, branch: Branch) -> QuerySet:
    """People who work at the branch (active membership): whom a complaint can go to."""
    return (
        get_user_model()
        .objects.filter(memberships__branch=branch, memberships__is_active=True, is_active=True)
        .distinct()
        .order_by("username")
    )
