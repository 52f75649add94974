"""The WSGI application of the web service (config/serve.py serves it with Granian).

Behind the reverse proxy every request arrives from the proxy's address. The client's own
address (what sign-in lockouts and rate limits key on: REMOTE_ADDR) is taken from
X-Forwarded-For, but only when the request came from an address in FORWARDED_ALLOW_IPS, and
then the right-most address in that header that is not itself a trusted proxy: a client can
write anything to the left of it, never to its right (docs/operations.md).
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()


def _behind_trusted_proxies(app):
    from django.conf import settings

    trusted = settings.FORWARDED_ALLOW_IPS
    if not trusted:
        return app  # no proxy in front (make run, tests): REMOTE_ADDR is the client
    from granian.utils.proxies import wrap_wsgi_with_proxy_headers

    return wrap_wsgi_with_proxy_headers(app, trusted_hosts=list(trusted))


def _load_urls_now() -> None:
    """Import every view and build the URL maps while the worker starts, not during its first
    request: ~0.3 s of imports (drf-spectacular, DRF, every app's views) that the first teller
    after each worker start or replacement waited for."""
    from django.urls import get_resolver, reverse

    get_resolver().url_patterns  # noqa: B018 (imports the URLconf and every view)
    reverse("healthz")  # builds the reverse map the pages' links use


_load_urls_now()
application = _behind_trusted_proxies(application)
