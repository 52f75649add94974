"""Reads of training: sessions, attendance, participation per branch and quarter."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count, Q, QuerySet

from accounts.models import Branch
from accounts.timeutil import local_day_bounds

from .. import scoring
from ..models import TrainingAttendance, TrainingSession

__all__ = ["participation_by_branch", "training_attendance", "training_sessions_of"]


def training_sessions_of(*, branch: Branch) -> QuerySet[TrainingSession]:
    return (
        TrainingSession.objects.filter(branch=branch)
        .annotate(
            expected=Count("attendance"),
            came=Count("attendance", filter=Q(attendance__attended=True)),
        )
        .order_by("-starts_at")
    )


def training_attendance(*, session: TrainingSession) -> QuerySet[TrainingAttendance]:
    return session.attendance.select_related("user").order_by("user__username")


def participation_by_branch(*, branches: Iterable[Branch], year: int, quarter: int) -> list[dict]:
    """Per branch: sessions held in the quarter, expected and attended places, the rate (0..1
    or None). One query; the quarter's edges are taken in the first branch's zone (a region
    shares one)."""
    branches = list(branches)
    if not branches:
        return []
    first, last = scoring.quarter_bounds(year, quarter)
    start = local_day_bounds(branches[0], first)[0]
    end = local_day_bounds(branches[0], last)[1]
    counts = {
        row["branch_id"]: row
        for row in TrainingAttendance.objects.filter(
            branch__in=branches, session__starts_at__gte=start, session__starts_at__lt=end
        )
        .values("branch_id")
        .annotate(
            expected=Count("pk"),
            came=Count("pk", filter=Q(attended=True)),
            sessions=Count("session", distinct=True),
        )
    }
    rows = []
    for branch in branches:
        row = counts.get(branch.pk, {"expected": 0, "came": 0, "sessions": 0})
        rows.append(
            {
                "branch": branch,
                "sessions": row["sessions"],
                "expected": row["expected"],
                "came": row["came"],
                "rate": scoring.participation_rate(attended=row["came"], expected=row["expected"]),
            }
        )
    return rows
