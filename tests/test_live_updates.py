"""How screens learn that the queue changed: the version endpoint and the event stream."""

import asyncio
import json
import os
from datetime import timedelta

import pytest
import time_machine
from django.test import AsyncClient
from django.urls import reverse

from queueing import broadcast, live, services

REDIS_URL = os.environ.get("REDIS_URL", "")


def version_url(branch_id: int) -> str:
    return reverse("queueing:version", args=[live.live_token(branch_id)])


def redis_or_skip() -> str:
    if not REDIS_URL:
        pytest.skip("REDIS_URL is not set")
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip("Redis is unreachable")
    return REDIS_URL


def test_it_answers_the_version_from_the_cache_without_a_db_query(
    client, branch, cash, django_assert_num_queries, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = services.ticket_issue(branch=branch, service=cash)
    latest = ticket.events.get().pk
    url = version_url(branch.pk)
    with django_assert_num_queries(0):
        response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    assert response.json() == {"v": latest}
    assert len(response.content) < 24  # {"v": n}: a poll costs a few bytes of body


def test_a_cache_miss_reads_the_version_from_the_database_once(
    client, branch, cash, django_assert_num_queries
):
    ticket = services.ticket_issue(branch=branch, service=cash)  # no commit hooks: no push
    latest = ticket.events.get().pk
    url = version_url(branch.pk)
    with django_assert_num_queries(1):
        assert client.get(url).json() == {"v": latest}
    with django_assert_num_queries(0):
        assert client.get(url).json() == {"v": latest}


def test_a_missed_push_heals_when_the_cached_version_expires(
    client, branch, cash, django_capture_on_commit_callbacks
):
    url = version_url(branch.pk)
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_issue(branch=branch, service=cash)
    before = client.get(url).json()["v"]
    second = services.ticket_issue(branch=branch, service=cash)  # its push is lost
    assert client.get(url).json()["v"] == before  # the cached copy, for now
    with time_machine.travel(timedelta(seconds=broadcast.VERSION_TTL_S + 1)):
        assert client.get(url).json()["v"] == second.events.get().pk


def test_it_refuses_a_forged_live_token(client, branch):
    forged = live.live_token(branch.pk)[:-3] + "xyz"
    assert client.get(reverse("queueing:version", args=[forged])).status_code == 404
    assert client.get(reverse("queueing:version", args=[str(branch.pk)])).status_code == 404


def test_the_version_changes_with_each_committed_change(
    client, branch, cash, counter, teller, django_capture_on_commit_callbacks
):
    url = version_url(branch.pk)
    assert client.get(url).json() == {"v": 0}
    with django_capture_on_commit_callbacks(execute=True):
        ticket = services.ticket_issue(branch=branch, service=cash)
    issued = client.get(url).json()["v"]
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_call_next(counter=counter, teller=teller)
    called = client.get(url).json()["v"]
    assert 0 < issued < called
    assert called == ticket.events.order_by("-id").first().pk


def test_another_branch_s_changes_leave_the_version_alone(
    client, branch, other_branch, django_capture_on_commit_callbacks
):
    from tests.factories import ServiceFactory

    elsewhere = ServiceFactory(branch=other_branch, code="cash", prefix="A")
    url = version_url(branch.pk)
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_issue(branch=other_branch, service=elsewhere)
    assert client.get(url).json() == {"v": 0}


def test_it_gives_each_page_a_live_token_for_its_own_branch(client, branch, other_branch):
    html = client.get(reverse("queueing:board", args=[branch.display_token])).content.decode()
    token = html.split('data-live-version-url="/queue/live/', 1)[1].split("/", 1)[0]
    assert live.branch_id_from_live_token(token) == branch.pk


def test_it_tells_pages_to_poll_without_the_live_service(client, branch, settings):
    settings.REDIS_URL = "redis://127.0.0.1:6379/3"
    settings.LIVE_SSE = False  # runserver, `make run`: no ASGI live service to stream from
    html = client.get(reverse("queueing:board", args=[branch.display_token])).content.decode()
    assert 'data-live-sse="0"' in html


def test_a_wsgi_page_offers_the_stream_of_the_asgi_live_service(client, branch, settings):
    """Pages come from the WSGI web service; nginx sends /queue/live/ to the ASGI live one."""
    settings.REDIS_URL = "redis://127.0.0.1:6379/3"
    settings.LIVE_SSE = True
    html = client.get(reverse("queueing:board", args=[branch.display_token])).content.decode()
    assert 'data-live-sse="1"' in html


def test_the_stream_never_holds_a_wsgi_thread(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:6379/3"
    settings.LIVE_SSE = True
    url = reverse("queueing:events", args=[live.live_token(1)])
    assert client.get(url).status_code == 204  # at once: EventSource stops, live.js polls


def test_it_declines_the_stream_without_redis(settings):
    settings.REDIS_URL = ""
    url = reverse("queueing:events", args=[live.live_token(1)])
    response = asyncio.run(AsyncClient().get(url))
    assert response.status_code == 204  # EventSource stops; live.js polls instead


def test_it_refuses_the_stream_with_a_bad_token():
    url = reverse("queueing:events", args=["1"])
    assert asyncio.run(AsyncClient().get(url)).status_code == 404


# --- with Redis ------------------------------------------------------------------------------

# A branch id no real test branch has: parallel test runs share the Redis server.
STREAM_BRANCH = 900_000 + os.getpid() % 10_000


@pytest.mark.django_db  # the first version comes from the database when the cache misses
def test_it_streams_the_current_then_each_published_version(settings):
    settings.REDIS_URL = redis_or_skip()
    import redis

    publisher = redis.Redis.from_url(settings.REDIS_URL)
    channel = broadcast.channel_name(STREAM_BRANCH)

    async def run() -> list[str]:
        stream = live.event_stream(STREAM_BRANCH, seconds=5, heartbeat=10)
        first = await anext(stream)
        await asyncio.to_thread(publisher.publish, channel, json.dumps({"v": 7, "action": "call"}))
        second = await asyncio.wait_for(anext(stream), timeout=3)
        await stream.aclose()
        return [first, second]

    first, second = asyncio.run(run())
    assert first.startswith(f"retry: {live.RETRY_MS}\n")
    assert 'data: {"v": 0}' in first
    assert second == 'id: 7\ndata: {"v": 7}\n\n'  # only the version: screens fetch the rest


@pytest.mark.django_db
def test_it_streams_through_the_asgi_view(settings):
    settings.REDIS_URL = redis_or_skip()
    settings.LIVE_SSE = True
    import redis

    publisher = redis.Redis.from_url(settings.REDIS_URL)
    url = reverse("queueing:events", args=[live.live_token(STREAM_BRANCH)])

    async def run():
        response = await AsyncClient().get(url)
        chunks = aiter(response.streaming_content)
        first = await anext(chunks)
        await asyncio.to_thread(
            publisher.publish, broadcast.channel_name(STREAM_BRANCH), json.dumps({"v": 3})
        )
        second = await asyncio.wait_for(anext(chunks), timeout=3)
        await chunks.aclose()
        return response, first, second

    response, first, second = asyncio.run(run())
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    assert response["X-Accel-Buffering"] == "no"
    assert b"retry:" in first
    assert b'data: {"v": 3}' in second


@pytest.mark.django_db
def test_it_sends_heartbeats_and_ends_the_stream_to_recycle_connections(settings):
    settings.REDIS_URL = redis_or_skip()

    async def run() -> list[str]:
        return [
            chunk
            async for chunk in live.event_stream(STREAM_BRANCH + 1, seconds=0.5, heartbeat=0.1)
        ]

    chunks = asyncio.run(run())
    assert chunks[0].startswith("retry:")
    assert chunks.count(": keep-alive\n\n") >= 3
