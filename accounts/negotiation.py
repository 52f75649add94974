"""The API's content negotiation (settings.REST_FRAMEWORK's DEFAULT_CONTENT_NEGOTIATION_CLASS).

Its own module: rest_framework.views reads the setting while it is imported, so the class
cannot live in a module that imports rest_framework.views (accounts.api)."""

from rest_framework.negotiation import DefaultContentNegotiation

JSON = "application/json"


class QuickContentNegotiation(DefaultContentNegotiation):
    """DRF's content negotiation, answered at once for what nearly every client sends: no
    Accept header, `*/*`, or `application/json`, with no query string (so no `?format=`), no
    format suffix, and JSON the view's first renderer. The answer is DRF's own for those (tests
    compare them); anything else goes through DRF, which parses the header into media types
    and ranks them on every request: 40–80 µs of a hot request's CPU."""

    def select_renderer(self, request, renderers, format_suffix=None):
        meta = request.META
        if (
            not format_suffix
            and not meta.get("QUERY_STRING")
            and renderers
            and renderers[0].media_type == JSON
            and meta.get("HTTP_ACCEPT", "*/*") in ("*/*", JSON)
        ):
            return renderers[0], JSON  # DRF: the first renderer that matches, its own type
        return super().select_renderer(request, renderers, format_suffix)
