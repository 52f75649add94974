"""Pages of this app (thin: parse, call a service or selector, render)."""

from django.http import HttpResponse


def survey(request, token: str) -> HttpResponse:
    raise NotImplementedError
