"""Who works where, in which role: read on every staff request, so cached per user.

`staff_access(user)` is one query per user per AUTH_USER_CACHE_SECONDS at most: the shared cache
holds the branches and roles, and accounts.receivers drops a user's entry whenever one of their
memberships, or a branch they belong to, changes. While Redis is down the cache misses and the
database answers every time (never a copy another process could not invalidate).
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.cache import caches

from .models import Branch, Membership, RegionMembership, Role


@dataclass(frozen=True)
class StaffAccess:
    branches: tuple[Branch, ...] = ()  # ordered by code
    roles: dict[int, frozenset[str]] = field(default_factory=dict)  # branch id -> roles
    region_roles: frozenset[str] = frozenset()  # RegionRole values held over some region


# The attribute a user read from the cache carries its memberships in, for this request only
# (accounts.backends fetches both in one round trip; staff_access reads it).
PREFETCHED_ACCESS = "_prefetched_staff_access"


def staff_access_key(user_id: object) -> str:
    return f"staff-access:{user_id}"


def _load_staff_access(user_id: int) -> StaffAccess:
    memberships = (
        Membership.objects.filter(user_id=user_id, is_active=True)
        .select_related("branch")
        .order_by("branch__code", "role")
    )
    branches: dict[int, Branch] = {}
    roles: dict[int, set[str]] = {}
    for membership in memberships:
        branches.setdefault(membership.branch_id, membership.branch)
        roles.setdefault(membership.branch_id, set()).add(membership.role)
    region_roles = RegionMembership.objects.filter(user_id=user_id, is_active=True).values_list(
        "role", flat=True
    )
    return StaffAccess(
        branches=tuple(branches.values()),
        roles={branch_id: frozenset(held) for branch_id, held in roles.items()},
        region_roles=frozenset(region_roles),
    )


def staff_access(*, user: AbstractBaseUser | AnonymousUser) -> StaffAccess:
    if not user.is_authenticated:
        return StaffAccess()
    # Read with the user itself when the request signed in from the cache (accounts.backends).
    prefetched = getattr(user, PREFETCHED_ACCESS, None)
    if prefetched is not None:
        return prefetched
    cache = caches["shared"]
    key = staff_access_key(user.pk)
    access = cache.get(key)
    if access is None:
        access = _load_staff_access(user.pk)
        cache.set(key, access, settings.AUTH_USER_CACHE_SECONDS)
    return access


def branches_for_user(*, user: AbstractBaseUser | AnonymousUser) -> list[Branch]:
    return list(staff_access(user=user).branches)


def roles_at_branch(*, user: AbstractBaseUser | AnonymousUser, branch: Branch) -> set[str]:
    return set(staff_access(user=user).roles.get(branch.pk, ()))


def user_has_role(
    *, user: AbstractBaseUser | AnonymousUser, branch: Branch, roles: Iterable[str]
) -> bool:
    wanted = set(roles)
    held = roles_at_branch(user=user, branch=branch)
    # A branch administrator can do everything staff of that branch can.
    return bool(held & wanted) or Role.ADMIN in held


def region_roles_of(*, user: AbstractBaseUser | AnonymousUser) -> set[str]:
    """The user's active roles over regions (accounts.models.RegionRole): regional head,
    inspector. For the menu and the home page; the pages themselves check the region."""
    return set(staff_access(user=user).region_roles)
