"""The branch's local day, as aware datetimes (numbering, 'today' and KPIs all use it)."""

from datetime import date, datetime, time, timedelta

from django.utils import timezone

from .models import Branch


def branch_today(branch: Branch) -> date:
    return timezone.localtime(timezone.now(), branch.tz).date()


def local_day_bounds(branch: Branch, day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=branch.tz)
    return start, datetime.combine(day + timedelta(days=1), time.min, tzinfo=branch.tz)
