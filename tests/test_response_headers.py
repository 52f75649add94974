"""accounts.headers: the staff no-store header and the CSP header built once give exactly what
Django's helpers and django-csp's own middleware give (they are faster, not different)."""

import pytest
from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.exceptions import CSPNonceError
from csp.middleware import CSPMiddleware as DjangoCSPMiddleware
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse, JsonResponse
from django.test import RequestFactory, override_settings
from django.urls import reverse
from django.utils.cache import add_never_cache_headers, patch_cache_control

from accounts.headers import NEVER_CACHE_PRIVATE, CSPMiddleware, StaffNoStoreMiddleware


def _through(middleware_class, response: HttpResponse, *, path="/api/queue/tickets/", nonce=False):
    request = RequestFactory().get(path)
    middleware = middleware_class(lambda request: response)
    middleware.process_request(request)
    if nonce:
        str(request.csp_nonce)  # a template asked for the nonce
    answered = middleware.process_response(request, response)
    return request, answered


def _csp_headers(response: HttpResponse) -> tuple:
    return (response.get(HEADER), response.get(HEADER_REPORT_ONLY))


def _marked(**attributes) -> JsonResponse:
    response = JsonResponse({"a": 1})
    for name, value in attributes.items():
        setattr(response, name, value)
    return response


@pytest.mark.parametrize(
    "make, kwargs",
    [
        (lambda: JsonResponse({"a": 1}), {}),
        (lambda: HttpResponse("<p>page</p>"), {"path": "/queue/board/"}),
        (lambda: _marked(_csp_exempt=True), {}),
        (lambda: _marked(_csp_update={"img-src": ["https://maps.example"]}), {}),
        (lambda: _marked(_csp_replace={"script-src": ["'none'"]}), {}),
        (lambda: _marked(_csp_config={"default-src": ["'none'"]}), {}),
        (lambda: HttpResponse("<script nonce>"), {"nonce": True}),
    ],
)
def test_the_csp_header_is_what_django_csp_writes(make, kwargs):
    _, ours = _through(CSPMiddleware, make(), **kwargs)
    _, theirs = _through(DjangoCSPMiddleware, make(), **kwargs)
    # The settings' policy names no nonce, so a page that asked for one gets the same header.
    assert _csp_headers(ours) == _csp_headers(theirs)
    assert (HEADER in ours) is not getattr(ours, "_csp_exempt", False)


def test_a_header_already_set_is_kept_and_a_later_nonce_is_an_error():
    response = JsonResponse({"a": 1})
    response[HEADER] = "default-src 'none'"
    request, answered = _through(CSPMiddleware, response)
    assert answered[HEADER] == "default-src 'none'"
    with pytest.raises(CSPNonceError):
        str(request.csp_nonce)


def test_a_changed_policy_is_built_again():
    _, before = _through(CSPMiddleware, JsonResponse({}))
    policy = {"DIRECTIVES": {"default-src": ["'self'"], "img-src": ["https://cdn.example"]}}
    with override_settings(CONTENT_SECURITY_POLICY=policy):
        _, changed = _through(CSPMiddleware, JsonResponse({}))
        _, theirs = _through(DjangoCSPMiddleware, JsonResponse({}))
    assert changed[HEADER] == theirs[HEADER] != before[HEADER]
    assert "https://cdn.example" in changed[HEADER]


@override_settings(CONTENT_SECURITY_POLICY_REPORT_ONLY={"DIRECTIVES": {"default-src": ["'self'"]}})
def test_a_report_only_policy_takes_django_csps_path():
    _, ours = _through(CSPMiddleware, JsonResponse({}))
    _, theirs = _through(DjangoCSPMiddleware, JsonResponse({}))
    assert _csp_headers(ours) == _csp_headers(theirs) and ours[HEADER_REPORT_ONLY]


def test_never_cache_private_is_what_djangos_helpers_write():
    response = HttpResponse()
    add_never_cache_headers(response)
    patch_cache_control(response, private=True)
    assert response["Cache-Control"] == NEVER_CACHE_PRIVATE


@pytest.mark.django_db
def test_a_staff_api_answer_is_never_stored_and_carries_the_policy(as_user, teller):
    response = as_user(teller).get(reverse("api:queue-service-list"))
    assert response.status_code == 200
    assert response["Cache-Control"] == NEVER_CACHE_PRIVATE and response["Expires"]
    assert "default-src 'self'" in response[HEADER].split("; ")


@pytest.mark.django_db
def test_a_response_with_its_own_headers_keeps_them_and_anonymous_answers_get_none(teller):
    own = HttpResponse()
    own["Cache-Control"], own["Expires"] = "no-store", "0"
    request = RequestFactory().get("/")
    request.user = teller
    assert StaffNoStoreMiddleware(lambda r: own)(request)["Cache-Control"] == "no-store"
    plain = HttpResponse()
    plain["Expires"] = "0"
    answered = StaffNoStoreMiddleware(lambda r: plain)(request)
    assert (answered["Cache-Control"], answered["Expires"]) == (NEVER_CACHE_PRIVATE, "0")
    request.user = AnonymousUser()
    assert not StaffNoStoreMiddleware(lambda r: HttpResponse())(request).has_header("Cache-Control")
