"""Behind the reverse proxy, the client's address comes from X-Forwarded-For, believed only from
the proxies in FORWARDED_ALLOW_IPS (config/wsgi.py).

Every request reaches the web service from nginx. Before, REMOTE_ADDR was nginx's address for
every client: one person's three wrong passwords locked the whole branch out, and one phone's
re-reads used up every phone's rate limit.
"""

import os
import secrets
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import RequestFactory
from django.urls import reverse

from config.wsgi import _behind_trusted_proxies

from .test_auth_hardening import PASSWORD, _low_limits, staff_user  # noqa: F401 (fixtures)

ROOT = Path(__file__).resolve().parent.parent
NGINX = "172.28.5.10"
GATEWAY = "172.28.5.1"  # the host's TLS proxy, as nginx sees it


def _echo_address(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [environ["REMOTE_ADDR"].encode()]


def _address_seen(settings, trusted: list[str], peer: str, forwarded: str | None) -> str:
    settings.FORWARDED_ALLOW_IPS = trusted
    app = _behind_trusted_proxies(_echo_address)
    environ = {"REMOTE_ADDR": peer, "wsgi.url_scheme": "http"}
    if forwarded is not None:
        environ["HTTP_X_FORWARDED_FOR"] = forwarded
    return b"".join(app(environ, lambda status, headers: None)).decode()


def test_the_client_address_is_the_right_most_one_no_trusted_proxy_wrote(settings):
    # nginx appends the address it saw; whatever the client wrote stays to the left.
    assert _address_seen(settings, [NGINX], NGINX, "6.6.6.6, 198.51.100.7") == "198.51.100.7"
    # Through the host's TLS proxy too, when it is listed.
    chain = "198.51.100.7, " + GATEWAY
    assert _address_seen(settings, [NGINX, GATEWAY], NGINX, chain) == "198.51.100.7"
    # A client reaching the web service directly cannot name its own address.
    assert _address_seen(settings, [NGINX], "203.0.113.9", "198.51.100.7") == "203.0.113.9"
    # No proxy configured (make run, tests): the header is ignored altogether.
    assert _address_seen(settings, [], NGINX, "198.51.100.7") == NGINX


def _python_with_settings(code: str, **env: str) -> subprocess.CompletedProcess:
    """`code` run by a fresh interpreter with the production settings (DEBUG on) and `env`."""
    return subprocess.run(  # noqa: S603 (our own fixed command)
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DJANGO_DEBUG": "1", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_trusting_every_address_is_refused_at_start_up():
    result = _python_with_settings("import django; django.setup()", FORWARDED_ALLOW_IPS="*")
    assert result.returncode != 0
    assert "FORWARDED_ALLOW_IPS" in result.stderr


@contextmanager
def _same_database_connection():
    # The real handler closes "old" connections around each request; inside the test's
    # transaction that would close it (django.test.Client disconnects the same receiver).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _sign_in_through_nginx(app, username: str, password: str, client_address: str) -> int:
    token = secrets.token_hex(16)
    request = RequestFactory().post(
        reverse("login"),
        {"username": username, "password": password, "csrfmiddlewaretoken": token},
        REMOTE_ADDR=NGINX,
        HTTP_X_FORWARDED_FOR=client_address,
        HTTP_COOKIE=f"csrftoken={token}",
    )
    statuses: list[str] = []
    body = app(request.environ, lambda status, headers, exc_info=None: statuses.append(status))
    b"".join(body)
    if hasattr(body, "close"):
        body.close()
    return int(statuses[0].split()[0])


@pytest.mark.django_db
def test_behind_the_proxy_one_clients_failures_lock_out_that_client_only(settings, staff_user):  # noqa: F811
    settings.FORWARDED_ALLOW_IPS = [NGINX]
    app = _behind_trusted_proxies(WSGIHandler())
    with _same_database_connection():
        for name in ("alice", "bob", "carol"):
            _sign_in_through_nginx(app, name, "guess", "198.51.100.20")
        # The guesser is locked out, even when it writes another address into the header
        # (nginx appends the real one, which is what counts).
        assert _sign_in_through_nginx(app, "clerk", PASSWORD, "198.51.100.20") == 429
        assert _sign_in_through_nginx(app, "clerk", PASSWORD, "1.2.3.4, 198.51.100.20") == 429
        # Another customer or teller behind the same proxy is not.
        assert _sign_in_through_nginx(app, "clerk", PASSWORD, "198.51.100.21") == 302


def test_the_wsgi_application_loads_every_view_before_its_first_request():
    """A worker imports the URLconf and the views while it starts (config/wsgi.py), so the
    first request after a worker start does not wait ~0.3 s for them."""
    result = _python_with_settings(
        "import sys, config.wsgi; "
        "print(all(m in sys.modules for m in ('config.urls', 'queueing.api', 'reception.views')))"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"
