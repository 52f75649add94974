"""What a locked-out sign-in gets (django-axes calls `locked_out`, AXES_LOCKOUT_CALLABLE)."""

from axes.exceptions import AxesBackendPermissionDenied
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


def lockout_minutes() -> int:
    return max(1, round(float(settings.AXES_COOLOFF_TIME) * 60))


def api_lockout_response(exc: Exception, request) -> HttpResponse | None:
    """For the API's exception handler. DRF hands axes its own Request wrapper, so the flag axes
    sets there, and the refusal axes raises for a locked-out user, never reach AxesMiddleware:
    the failure that reaches the limit, and every attempt after it, are answered here."""
    if isinstance(exc, AxesBackendPermissionDenied) or getattr(request, "axes_locked_out", False):
        return locked_out(request)
    return None


def locked_out(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """429 with a clear message: the sign-in page for people, JSON for API clients."""
    minutes = lockout_minutes()
    if request.path.startswith("/api/"):
        return JsonResponse(
            {
                "detail": _(
                    "Too many failed sign-ins: signing in is paused for %(minutes)s minutes."
                )
                % {"minutes": minutes},
                "code": "locked_out",
            },
            status=429,
            headers={"Retry-After": str(minutes * 60)},
        )
    response = render(
        request, "registration/locked_out.html", {"lockout_minutes": minutes}, status=429
    )
    response["Retry-After"] = str(minutes * 60)
    return response
