"""The ASGI live service (config/live_settings.py, config/live_urls.py): only the live URLs,
and a middleware chain Django can run without a thread, so open streams and long polls cost an
idle coroutine each, not a thread each."""

import asyncio
import json

import pytest
from django.test import AsyncClient
from django.urls import Resolver404, resolve
from django.utils.module_loading import import_string

from config import live_settings
from queueing import hub, live

from .test_live_fragments import BRANCH, publish, redis_or_skip, until


def test_every_middleware_of_the_live_service_runs_without_a_thread():
    sync_only = [
        path
        for path in live_settings.MIDDLEWARE
        if not getattr(import_string(path), "async_capable", False)
    ]
    assert sync_only == []


def test_the_live_service_serves_the_live_urls_and_nothing_else():
    urlconf = live_settings.ROOT_URLCONF
    token = live.live_token(1)
    for path, view in (
        (f"/queue/live/{token}/v/", live.version),
        (f"/queue/live/{token}/events/", live.events),
        (f"/queue/live/{token}/wait/", live.wait),
    ):
        assert resolve(path, urlconf=urlconf).func is view
    assert resolve("/healthz/", urlconf=urlconf).url_name == "healthz"
    for elsewhere in ("/admin/", "/login/", "/api/queue/tickets/", "/queue/board/x/"):
        with pytest.raises(Resolver404):
            resolve(elsewhere, urlconf=urlconf)


@pytest.mark.django_db
def test_long_polls_on_the_live_service_wait_side_by_side(settings):
    """Under the full (web) middleware, which has synchronous members, the test client ran
    long polls one after another: each held the thread the chain ran in. Under the live
    service's chain, three wait at once and are all woken."""
    settings.REDIS_URL = redis_or_skip()
    settings.ROOT_URLCONF = live_settings.ROOT_URLCONF
    settings.MIDDLEWARE = live_settings.MIDDLEWARE
    branch = BRANCH + 20
    url = f"/queue/live/{live.live_token(branch)}/wait/?after=0"

    async def run():
        polls = [asyncio.ensure_future(AsyncClient().get(url)) for _ in range(3)]
        await until(lambda: (h := hub.get_hub()) is not None and h.stream_count() == 3, 10)
        await asyncio.to_thread(publish, branch, 9, "call")
        return [json.loads((await asyncio.wait_for(p, timeout=3)).content) for p in polls]

    assert asyncio.run(run()) == [{"v": 9}] * 3


@pytest.mark.django_db
def test_the_live_services_middleware_runs_in_the_event_loop(settings, monkeypatch):
    """Django's MiddlewareMixin is async-capable but sends each process_request and
    process_response through sync_to_async: two thread hops per middleware per request (2.23 ms
    of CPU for a long poll answered at once, against 1.21 inline). The live chain runs them in
    the event loop, and its responses still carry every header the chain sets."""
    settings.ROOT_URLCONF = live_settings.ROOT_URLCONF
    settings.MIDDLEWARE = live_settings.MIDDLEWARE
    settings.REDIS_URL = ""
    import django.utils.deprecation

    hooks_in_threads = []
    real = django.utils.deprecation.sync_to_async

    def recording(func, *args, **kwargs):
        hooks_in_threads.append(getattr(func, "__qualname__", repr(func)))
        return real(func, *args, **kwargs)

    monkeypatch.setattr(django.utils.deprecation, "sync_to_async", recording)
    response = asyncio.run(
        AsyncClient().get(
            f"/queue/live/{live.live_token(BRANCH + 21)}/v/", HTTP_ACCEPT_LANGUAGE="en"
        )
    )
    assert response.status_code == 200
    assert json.loads(response.content) == {"v": 0}
    assert hooks_in_threads == []
    assert response["X-Content-Type-Options"] == "nosniff"  # SecurityMiddleware
    assert response["Content-Language"] == "en"  # LocaleMiddleware
    assert "Accept-Language" in response["Vary"]
    assert response["Cache-Control"] == "no-store"
