"""accounts.negotiation.QuickContentNegotiation answers exactly as DRF's DefaultContentNegotiation,
faster for the Accept headers nearly every client sends."""

import pytest
from django.http import Http404
from django.test import RequestFactory
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer, TemplateHTMLRenderer
from rest_framework.request import Request

from accounts.negotiation import QuickContentNegotiation

ACCEPTS = (
    None,
    "*/*",
    "application/json",
    "text/html",
    "text/html, */*",
    "application/json; indent=4",
    "application/xml",
    "",
    "application/*",
)
RENDERER_LISTS = (
    (JSONRenderer, BrowsableAPIRenderer),
    (BrowsableAPIRenderer, JSONRenderer),
    (TemplateHTMLRenderer,),
)


def _answer(negotiation, accept, renderer_classes, query="", suffix=None):
    extra = {} if accept is None else {"HTTP_ACCEPT": accept}
    request = Request(RequestFactory().post("/api/queue/tickets/" + query, **extra))
    renderers = [renderer_class() for renderer_class in renderer_classes]
    try:
        renderer, media_type = negotiation.select_renderer(request, renderers, suffix)
    except NotAcceptable:
        return "406"
    except Http404:  # a format no renderer offers
        return "404"
    return type(renderer), media_type


@pytest.mark.parametrize("accept", ACCEPTS)
@pytest.mark.parametrize("renderer_classes", RENDERER_LISTS)
@pytest.mark.parametrize(("query", "suffix"), [("", None), ("?format=api", None), ("", "json")])
def test_it_answers_as_drf_does(accept, renderer_classes, query, suffix):
    assert _answer(QuickContentNegotiation(), accept, renderer_classes, query, suffix) == _answer(
        DefaultContentNegotiation(), accept, renderer_classes, query, suffix
    )


def test_it_is_what_the_api_uses():
    from rest_framework.settings import api_settings

    assert api_settings.DEFAULT_CONTENT_NEGOTIATION_CLASS is QuickContentNegotiation
