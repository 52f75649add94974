"""Who may do what in quality's inspections, findings, benchmark, training and duty.

Inspectors (RegionRole.INSPECTOR) inspect every branch of their region; regional heads
(RegionRole.HEAD) read their region; a branch head (or the branch's administrator) runs
self-checks, owns findings and keeps training and the duty roster of their branch.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from accounts.access import branches_inspected_by
from accounts.models import Branch, RegionMembership, RegionRole, Role
from accounts.selectors import staff_access

__all__ = [
    "HEAD_ROLES",
    "branches_headed_by",
    "can_read_branch",
    "is_branch_head",
    "region_branches_for",
]

HEAD_ROLES = (Role.BRANCH_HEAD, Role.ADMIN)


def branches_headed_by(user) -> list[int]:
    """Ids of the branches where `user` is branch head or administrator."""
    if user is None or not user.is_authenticated:
        return []
    return [
        branch_id
        for branch_id, held in staff_access(user=user).roles.items()
        if held & set(HEAD_ROLES)
    ]


def is_branch_head(user, branch: Branch | int) -> bool:
    branch_id = branch if isinstance(branch, int) else branch.pk
    return branch_id in branches_headed_by(user)


def _regions_of(user) -> QuerySet[RegionMembership]:
    """Region ids where `user` is an active inspector or regional head (a subquery)."""
    return RegionMembership.objects.filter(
        user=user, is_active=True, role__in=(RegionRole.HEAD, RegionRole.INSPECTOR)
    ).values("region_id")


def region_branches_for(user) -> QuerySet[Branch]:
    """Branches of the regions where `user` is an active inspector or regional head."""
    if user is None or not user.is_authenticated:
        return Branch.objects.none()
    return Branch.objects.filter(region_id__in=_regions_of(user)).order_by("code")


def quality_branches_for(user) -> QuerySet[Branch]:
    """Every branch whose inspections and findings `user` may read: their region's (inspector,
    regional head) and the branches they head."""
    if user is None or not user.is_authenticated:
        return Branch.objects.none()
    return Branch.objects.filter(
        Q(region_id__in=_regions_of(user)) | Q(pk__in=branches_headed_by(user))
    ).order_by("code")


def can_read_branch(user, branch: Branch) -> bool:
    return quality_branches_for(user).filter(pk=branch.pk).exists()


def can_inspect(user, branch: Branch) -> bool:
    return branches_inspected_by(user).filter(pk=branch.pk).exists()
