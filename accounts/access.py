"""Role and branch checks for pages and API endpoints.

Every staff page and endpoint goes through `staff_required`/`BranchRolePermission`, which
resolve the user's active branch; objects are then fetched with `get_for_branch` so that a
user of branch A gets a 404 for anything of branch B, never B's data.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from rest_framework.permissions import BasePermission

from .models import Branch
from .selectors import branches_for_user, roles_at_branch

SESSION_BRANCH_KEY = "active_branch_id"
M = TypeVar("M", bound=Model)


def active_branch(request: HttpRequest) -> Branch | None:
    """The branch the user is working at: the one chosen this session, else their first."""
    cached = getattr(request, "_active_branch", None)
    if cached is not None:
        return cached
    branches = branches_for_user(user=request.user)
    if not branches:
        return None
    chosen_id = request.session.get(SESSION_BRANCH_KEY) if hasattr(request, "session") else None
    branch = next((b for b in branches if b.pk == chosen_id), branches[0])
    request._active_branch = branch  # type: ignore[attr-defined]
    return branch


def resolve_staff(request: HttpRequest, roles: tuple[str, ...]) -> tuple[Branch, set[str]]:
    branch = active_branch(request)
    if branch is None:
        raise PermissionDenied("No branch membership.")
    held = roles_at_branch(user=request.user, branch=branch)
    if roles and not (held & set(roles)) and "admin" not in held:
        raise PermissionDenied("Role not allowed here.")
    return branch, held


def staff_required(*roles: str) -> Callable:
    """View decorator: logged in, member of a branch, holding one of `roles` there.

    Sets `request.branch` and `request.roles` for the view.
    """

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            request.branch, request.roles = resolve_staff(request, roles)  # type: ignore[attr-defined]
            # Pages show times in the branch's zone: template filters convert to the active one.
            with timezone.override(request.branch.tz):  # type: ignore[attr-defined]
                return view(request, *args, **kwargs)

        return wrapper

    return decorator


def get_for_branch(queryset: QuerySet[M], branch: Branch, **lookup: Any) -> M:
    """Fetch one object of the user's branch; another branch's object is simply not found."""
    try:
        return queryset.get(branch=branch, **lookup)
    except queryset.model.DoesNotExist as exc:
        raise Http404 from exc


class BranchRolePermission(BasePermission):
    """DRF: the view's `allowed_roles` at the user's active branch; sets request.branch."""

    def has_permission(self, request, view) -> bool:  # type: ignore[override]
        if not request.user or not request.user.is_authenticated:
            return False
        try:
            request.branch, request.roles = resolve_staff(
                request, tuple(getattr(view, "allowed_roles", ()))
            )
        except PermissionDenied:
            return False
        return True
