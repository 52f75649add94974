"""Rate limits for the public pages (board, ticket status, survey), with DRF's throttle.

The same machinery as the API's throttles, so one definition of "the client's address"
(REMOTE_ADDR; NUM_PROXIES = 0) and one store (the default cache: Redis, or while Redis is down
a per-process memory cache, so the limit fails safe, never open). Rates are named in
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].
"""

from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle


class ScopeThrottle(SimpleRateThrottle):
    """Per client address and scope. Reads its rate when made, so settings changes apply."""

    def __init__(self, scope: str) -> None:
        self.scope = scope
        self.rate = api_settings.DEFAULT_THROTTLE_RATES[scope]
        self.num_requests, self.duration = self.parse_rate(self.rate)

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


def too_many_requests(request: HttpRequest, retry_after_s: float | None) -> HttpResponse:
    seconds = max(1, round(retry_after_s or 60))
    response = render(request, "too_many_requests.html", {"retry_after_s": seconds}, status=429)
    response["Retry-After"] = str(seconds)
    return response


def rate_limited(scope: str) -> Callable:
    """Decorate a public view: past the scope's rate, a 429 page with Retry-After."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def limited(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            throttle = ScopeThrottle(scope)
            if not throttle.allow_request(request, None):
                return too_many_requests(request, throttle.wait())
            return view(request, *args, **kwargs)

        return limited

    return decorator
