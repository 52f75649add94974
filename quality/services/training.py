"""Training sessions of a branch and who attended (participation = came / expected)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.errors import DomainError
from accounts.models import Branch, Membership

from .. import roles
from ..models import ServiceStandard, TrainingAttendance, TrainingSession

__all__ = ["training_attendance_mark", "training_session_create"]


@transaction.atomic
def training_session_create(
    *,
    user,
    branch: Branch,
    title: str,
    starts_at: datetime,
    duration_minutes: int = 60,
    topic: str = "",
    trainer: str = "",
    standard: ServiceStandard | None = None,
    attendee_ids: Iterable[int] | None = None,
) -> TrainingSession:
    """The branch head plans a session; expected attendees are the chosen staff of the branch
    (default: every active member)."""
    if not roles.is_branch_head(user, branch):
        raise DomainError(_("Only the branch head plans training."), code="forbidden")
    if abs(starts_at - timezone.now()) > timedelta(days=366):
        raise DomainError(_("A session within a year of today."), code="starts_at")
    if not title.strip():
        raise DomainError(_("Give the session a title."), code="title")
    members = Membership.objects.filter(branch=branch, is_active=True)
    staff_ids = set(members.values_list("user_id", flat=True))
    wanted = staff_ids if attendee_ids is None else set(attendee_ids)
    if not wanted <= staff_ids:
        raise DomainError(_("Attendees must be staff of this branch."), code="attendees")
    if not wanted:
        raise DomainError(_("Choose at least one attendee."), code="attendees")
    session = TrainingSession.objects.create(
        branch=branch,
        title=title.strip(),
        topic=topic,
        trainer=trainer,
        standard=standard,
        starts_at=starts_at,
        duration_minutes=duration_minutes,
        created_by=user,
    )
    TrainingAttendance.objects.bulk_create(
        TrainingAttendance(session=session, user_id=user_id, branch=branch)
        for user_id in sorted(wanted)
    )
    return session


@transaction.atomic
def training_attendance_mark(*, session: TrainingSession, user, attended_ids: Iterable[int]) -> int:
    """Who came: every expected attendee in `attended_ids` attended, the others did not."""
    if session.branch_id is None or not roles.is_branch_head(user, session.branch_id):
        raise DomainError(_("Only the branch head records attendance."), code="forbidden")
    came = set(attended_ids)
    rows = list(TrainingAttendance.objects.select_for_update().filter(session=session))
    unknown = came - {row.user_id for row in rows}
    if unknown:
        raise DomainError(_("Only expected attendees can be marked."), code="attendees")
    now = timezone.now()
    for row in rows:
        row.attended = row.user_id in came
        row.recorded_at = now
    TrainingAttendance.objects.bulk_update(rows, ["attended", "recorded_at"])
    return len(came)
