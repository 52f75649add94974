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
from django.db.models import Model, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from rest_framework.permissions import BasePermission

from .models import Branch, RegionMembership, RegionRole, Role
from .selectors import StaffAccess, staff_access

SESSION_BRANCH_KEY = "active_branch_id"
M = TypeVar("M", bound=Model)


def _request_access(request: HttpRequest) -> StaffAccess:
    """The user's memberships, read once per request (the branch and the roles both need them:
    two reads of the shared cache per request before)."""
    access = getattr(request, "_staff_access", None)
    if access is None:
        access = staff_access(user=request.user)
        request._staff_access = access  # type: ignore[attr-defined]
    return access


def active_branch(request: HttpRequest) -> Branch | None:
    """The branch the user is working at: the one chosen this session, else their first."""
    cached = getattr(request, "_active_branch", None)
    if cached is not None:
        return cached
    branches = _request_access(request).branches
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
    held = set(_request_access(request).roles.get(branch.pk, ()))
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


# --- Reading across branches: a regional head (issue 7) -------------------------------------


def branches_readable_by(user, *, roles: tuple[str, ...] = ()) -> QuerySet[Branch]:
    """Branches whose lists and reports `user` may read: those where they hold one of `roles`
    (any role when empty; a branch administrator counts), and every branch of a region they
    head (an active RegionMembership: read-only, whatever their branch roles).

    The lists of customers, interactions, reminders and complaints filter `branch__in=` this."""
    if user is None or not user.is_authenticated:
        return Branch.objects.none()
    access = staff_access(user=user)
    wanted = set(roles)
    own = [
        branch_id
        for branch_id, held in access.roles.items()
        if not wanted or held & wanted or Role.ADMIN in held
    ]
    headed = RegionMembership.objects.filter(
        user=user, is_active=True, role=RegionRole.HEAD
    ).values("region_id")
    return Branch.objects.filter(Q(pk__in=own) | Q(region_id__in=headed)).order_by("code")


def branches_inspected_by(user) -> QuerySet[Branch]:
    """Branches `user` inspects: every branch of a region where they are an active inspector."""
    if user is None or not user.is_authenticated:
        return Branch.objects.none()
    regions = RegionMembership.objects.filter(
        user=user, is_active=True, role=RegionRole.INSPECTOR
    ).values("region_id")
    return Branch.objects.filter(region_id__in=regions).order_by("code")


def reader_required(*roles: str) -> Callable:
    """View decorator for read-only lists: logged in, and holding one of `roles` at a branch or
    heading a region. Sets `request.readable_branches` (branches_readable_by), `request.branch`
    (the active branch, or None for a regional head with no branch of their own) and
    `request.roles` (at that branch). Times show in the active branch's zone, else the first
    readable branch's."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            readable = list(branches_readable_by(request.user, roles=roles))
            if not readable:
                raise PermissionDenied("No branch readable.")
            branch = active_branch(request)
            held = set(_request_access(request).roles.get(branch.pk, ())) if branch else set()
            request.readable_branches = readable  # type: ignore[attr-defined]
            request.branch = branch  # type: ignore[attr-defined]
            request.roles = held  # type: ignore[attr-defined]
            zone_branch = branch if branch in readable else readable[0]
            with timezone.override(zone_branch.tz):
                return view(request, *args, **kwargs)

        return wrapper

    return decorator


class BranchReaderPermission(BasePermission):
    """DRF twin of `reader_required`: the view's `allowed_roles` at a branch, or a regional
    head; sets request.readable_branches and request.branch (None without a branch)."""

    def has_permission(self, request, view) -> bool:  # type: ignore[override]
        if not request.user or not request.user.is_authenticated:
            return False
        roles = tuple(getattr(view, "allowed_roles", ()))
        readable = list(branches_readable_by(request.user, roles=roles))
        if not readable:
            return False
        request.readable_branches = readable
        request.branch = active_branch(request)
        request.roles = (
            set(_request_access(request).roles.get(request.branch.pk, ()))
            if request.branch
            else set()
        )
        return True
