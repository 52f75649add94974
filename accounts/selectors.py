from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from .models import Branch, Membership, Role


def branches_for_user(*, user: AbstractBaseUser | AnonymousUser) -> list[Branch]:
    if not user.is_authenticated:
        return []
    return list(
        Branch.objects.filter(memberships__user=user, memberships__is_active=True)
        .distinct()
        .order_by("code")
    )


def roles_at_branch(*, user: AbstractBaseUser | AnonymousUser, branch: Branch) -> set[str]:
    if not user.is_authenticated:
        return set()
    return set(
        Membership.objects.filter(user=user, branch=branch, is_active=True).values_list(
            "role", flat=True
        )
    )


def user_has_role(
    *, user: AbstractBaseUser | AnonymousUser, branch: Branch, roles: Iterable[str]
) -> bool:
    wanted = set(roles)
    held = roles_at_branch(user=user, branch=branch)
    # A branch administrator can do everything staff of that branch can.
    return bool(held & wanted) or Role.ADMIN in held
