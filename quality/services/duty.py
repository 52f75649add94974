"""The lobby duty roster (行长坐堂值班): shifts of the branch's staff, never overlapping."""

from __future__ import annotations

from datetime import date, time

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.errors import DomainError
from accounts.models import Branch, Membership

from .. import roles
from ..models import DutyShift

__all__ = ["duty_shift_delete", "duty_shift_save"]


@transaction.atomic
def duty_shift_save(
    *,
    user,
    branch: Branch,
    day: date,
    starts_at: time,
    ends_at: time,
    person_id: int,
    note: str = "",
    shift: DutyShift | None = None,
) -> DutyShift:
    """Add or change a shift. One person on duty at a time: a shift overlapping another of the
    branch on that day is refused."""
    if not roles.is_branch_head(user, branch):
        raise DomainError(_("Only the branch head keeps the duty roster."), code="forbidden")
    if abs((day - timezone.localdate()).days) > 366:
        raise DomainError(_("A shift within a year of today."), code="date")
    if ends_at <= starts_at:
        raise DomainError(_("The shift must end after it starts."), code="ends_at")
    member = Membership.objects.filter(branch=branch, user_id=person_id, is_active=True).first()
    if member is None:
        raise DomainError(_("Choose a member of this branch's staff."), code="user")
    # Lock the day's shifts so two heads saving at once cannot both pass the overlap check.
    same_day = DutyShift.objects.select_for_update().filter(branch=branch, date=day)
    if shift is not None:
        same_day = same_day.exclude(pk=shift.pk)
    clash = same_day.filter(starts_at__lt=ends_at, ends_at__gt=starts_at).first()
    if clash is not None:
        raise DomainError(
            _("This shift overlaps another one (%(start)s–%(end)s).")
            % {"start": clash.starts_at.strftime("%H:%M"), "end": clash.ends_at.strftime("%H:%M")},
            code="overlap",
        )
    if shift is None:
        shift = DutyShift(branch=branch)
    shift.date, shift.starts_at, shift.ends_at = day, starts_at, ends_at
    shift.user_id, shift.note = person_id, note
    shift.save()
    return shift


@transaction.atomic
def duty_shift_delete(*, user, shift: DutyShift) -> None:
    if not roles.is_branch_head(user, shift.branch_id):
        raise DomainError(_("Only the branch head keeps the duty roster."), code="forbidden")
    shift.delete()
