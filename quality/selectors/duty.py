"""Reads of the duty roster: the week's shifts, who is on duty now."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Branch

from ..models import DutyShift

__all__ = ["duty_now", "duty_shifts"]


def duty_shifts(*, branch: Branch, start: date, days: int = 14) -> QuerySet[DutyShift]:
    return (
        DutyShift.objects.filter(
            branch=branch, date__gte=start, date__lt=start + timedelta(days=days)
        )
        .select_related("user")
        .order_by("date", "starts_at")
    )


def duty_now(*, branch: Branch, now: datetime | None = None) -> DutyShift | None:
    """The shift covering this moment in the branch's local time, if any."""
    local = timezone.localtime(now or timezone.now(), branch.tz)
    return (
        DutyShift.objects.filter(
            branch=branch, date=local.date(), starts_at__lte=local.time(), ends_at__gt=local.time()
        )
        .select_related("user")
        .first()
    )
