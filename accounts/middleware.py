"""Requests no view should see."""

from collections.abc import Callable, Iterable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
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

    sync_capable = True
    async_capable = True  # the live service's streams and long polls run without a thread

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self.is_async:
            return self.__acall__(request)
        return self._refusal(request) or self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        return self._refusal(request) or await self.get_response(request)

    def _refusal(self, request: HttpRequest) -> HttpResponse | None:
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
        return None
