"""Page access for quality's regional pages (inspectors and regional heads are not members of
the branches they read, so staff_required does not fit them)."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from accounts.access import active_branch

from .. import roles


def quality_reader(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Logged in, and an inspector or regional head of a region, or a branch head: sets
    `request.quality_branches` (the branches they may read) and shows times in the first
    one's zone."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        branches = list(roles.quality_branches_for(request.user))
        if not branches:
            raise PermissionDenied("No branch to read.")
        request.quality_branches = branches  # type: ignore[attr-defined]
        with timezone.override(branches[0].tz):
            return view(request, *args, **kwargs)

    return wrapper


def region_reader(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Inspectors and regional heads only: `request.region_branches`."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        branches = list(roles.region_branches_for(request.user))
        if not branches:
            raise PermissionDenied("Not an inspector or regional head.")
        request.region_branches = branches  # type: ignore[attr-defined]
        with timezone.override(branches[0].tz):
            return view(request, *args, **kwargs)

    return wrapper


def finding_reader(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Findings: whoever reads quality (quality_reader), and any member of staff for the
    findings they own (a branch head may hand one to a teller). `request.quality_branches` may
    be empty for the latter."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        branches = list(roles.quality_branches_for(request.user))
        own = active_branch(request)
        if not branches and own is None:
            raise PermissionDenied("No branch.")
        request.quality_branches = branches  # type: ignore[attr-defined]
        with timezone.override((branches[0] if branches else own).tz):
            return view(request, *args, **kwargs)

    return wrapper
