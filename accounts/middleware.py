"""Requests no view should see."""

from collections.abc import Callable, Iterable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.utils.translation import gettext as _

NUL = "\x00"


def _has_nul(values: Iterable[tuple[str, list[str]]]) -> bool:
    return any(NUL in key or any(NUL in value for value in items) for key, items in values)


class RejectNulMiddleware:
    """400 for a NUL character in the path, the query string or form fields.

    No real client sends one, and PostgreSQL refuses NUL in text: a token, phone or search
    term carrying one would reach a query and end as a 500. One check here covers every view.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            NUL in request.path
            or _has_nul(request.GET.lists())
            # Only form bodies fill request.POST; JSON is DRF's, whose CharField refuses NUL.
            or (request.method == "POST" and _has_nul(request.POST.lists()))
        ):
            detail = _("The request contains a NUL character.")
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": detail}, status=400)
            return HttpResponseBadRequest(detail, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
