"""Response headers every staff response needs, and the Content-Security-Policy header built once.

Both run on every response, the hot API's included; each does in a few microseconds what the
general helpers it replaces did in 20-30 (they parse and rebuild the header each time).
"""

import time
from collections.abc import Callable

from csp.constants import HEADER
from csp.middleware import CheckableLazyObject
from csp.middleware import CSPMiddleware as DjangoCSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils.http import http_date

# What django.utils.cache.add_never_cache_headers and patch_cache_control(private=True) write
# on a response without a Cache-Control header (tests/test_response_headers.py compares them).
NEVER_CACHE_PRIVATE = "max-age=0, no-cache, no-store, must-revalidate, private"


class StaffNoStoreMiddleware:
    """Responses to a signed-in user (pages and API) show customers' data: no browser, shared
    computer or proxy may keep a copy. `Cache-Control: no-store` (with Django's never-cache
    headers); a response that set its own Cache-Control keeps it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not response.has_header("Cache-Control"):
            response.headers["Cache-Control"] = NEVER_CACHE_PRIVATE
            if not response.has_header("Expires"):
                response.headers["Expires"] = http_date(time.time())
        return response


# What a response can carry to get a policy other than the settings' (csp.decorators).
_OWN_POLICY = ("_csp_config", "_csp_update", "_csp_replace")


class CSPMiddleware(DjangoCSPMiddleware):
    """django-csp's middleware, with the settings' policy header built once, not per response.

    django-csp rebuilds the header for every response (dataclasses.asdict deep-copies the
    directives, then build_policy joins them). The header only differs when a page used a
    nonce or a view set its own policy: those, a report-only policy and Django's debug pages
    take django-csp's own path, unchanged.
    """

    _built: tuple[object, str] | None = None  # (the settings' policy it was built from, header)

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if (
            getattr(request, "_csp_nonce", None) is not None
            or any(hasattr(response, name) for name in _OWN_POLICY)
            or getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None)
            or settings.DEBUG
        ):
            return super().process_response(request, response)
        policy = getattr(settings, "CONTENT_SECURITY_POLICY", None) or {}
        built = self._built
        if built is None or built[0] is not policy:
            built = self._built = (policy, build_policy())
        header = built[1]
        excluded = tuple(policy.get("EXCLUDE_URL_PREFIXES", None) or ())
        if (
            header
            and HEADER not in response
            and getattr(response, "_csp_exempt", False) is False
            and not request.path_info.startswith(excluded)
        ):
            response[HEADER] = header
        # As django-csp: a nonce asked for after the header is written is an error, not a gap.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response
