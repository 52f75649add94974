"""A call reaches every screen without a storm (issue "[5 of 11] Capacity").

Fragments shared per queue version (queueing/fragments.py), the long poll `wait`, and the
per-process hub: one Redis subscription for every stream (queueing/hub.py).
"""

import asyncio
import json
import os
import re
import time

import pytest
from django.test import AsyncClient
from django.urls import reverse

from queueing import broadcast, hub, live, services
from queueing.links import ticket_status_token

from .test_live_updates import redis_or_skip

REDIS_URL = os.environ.get("REDIS_URL", "")
# One render of the board's state: the branch, recent calls, waiting counts, services.
BOARD_RENDER_QUERIES = 4
SCREENS = 25


def board_state_url(branch, version: int) -> str:
    return reverse("queueing:board_state", args=[branch.display_token]) + f"?v={version}"


def status_state_url(ticket, version: int) -> str:
    token = ticket_status_token(ticket.pk)
    return reverse("queueing:ticket_status_state", args=[token]) + f"?v={version}"


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run a service as after a real commit: the new version is cached and published."""

    def run(call, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return call(*args, **kwargs)

    return run


# --- the board: one render per version for every board ----------------------------------------


def test_n_boards_fetching_one_version_cost_one_render_in_all(
    client, branch, cash, counter, teller, committed, django_assert_max_num_queries
):
    committed(services.ticket_issue, branch=branch, service=cash)
    committed(services.ticket_call_next, counter=counter, teller=teller)
    version = broadcast.current_version(branch.pk)
    with django_assert_max_num_queries(BOARD_RENDER_QUERIES):
        pages = [client.get(board_state_url(branch, version)) for _ in range(SCREENS)]
    assert {page.status_code for page in pages} == {200}
    assert len({page.content for page in pages}) == 1
    assert 'class="hero-code">A001<' in pages[0].content.decode()


def test_a_new_version_is_a_new_render(
    client, branch, cash, counter, teller, committed, django_assert_max_num_queries
):
    committed(services.ticket_issue, branch=branch, service=cash)
    before = broadcast.current_version(branch.pk)
    assert "A001" not in client.get(board_state_url(branch, before)).content.decode()

    committed(services.ticket_call_next, counter=counter, teller=teller)
    after = broadcast.current_version(branch.pk)
    assert after > before
    with django_assert_max_num_queries(BOARD_RENDER_QUERIES):
        html = client.get(board_state_url(branch, after)).content.decode()
    assert 'class="hero-code">A001<' in html
    # Without ?v= (an old page) the current version is the key.
    assert 'class="hero-code">A001<' in client.get(board_state_url(branch, "")).content.decode()


def test_a_version_from_the_future_is_answered_but_never_cached(
    client, branch, cash, counter, teller, committed
):
    committed(services.ticket_issue, branch=branch, service=cash)
    future = broadcast.current_version(branch.pk) + 2  # the call will be +1, its start +2
    assert "A001" not in client.get(board_state_url(branch, future)).content.decode()
    ticket = committed(services.ticket_call_next, counter=counter, teller=teller)
    committed(services.ticket_start, ticket_id=ticket.pk, by=teller)
    assert broadcast.current_version(branch.pk) == future
    # Had the first answer been kept under `future`, the board would miss this call.
    assert 'class="hero-code">A001<' in client.get(board_state_url(branch, future)).content.decode()


def test_each_language_gets_its_own_render(client, branch, cash, committed):
    committed(services.ticket_issue, branch=branch, service=cash)
    version = broadcast.current_version(branch.pk)
    url = board_state_url(branch, version)
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    traditional = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hant").content.decode()
    assert english != traditional


# --- the customer's status page: the branch-wide estimate once per version --------------------


def ahead(response) -> int:
    found = re.search(r"People ahead of you</dt><dd>(\d+)<", response.content.decode())
    assert found, response.content.decode()
    return int(found.group(1))


def test_each_phone_costs_one_query_once_the_branch_estimate_is_made(
    client, branch, cash, counter, teller, committed, django_assert_max_num_queries
):
    committed(services.counter_open, counter=counter, teller=teller)
    tickets = [committed(services.ticket_issue, branch=branch, service=cash) for _ in range(8)]
    version = broadcast.current_version(branch.pk)
    first = client.get(status_state_url(tickets[0], version))
    assert first.status_code == 200
    for position, ticket in enumerate(tickets[1:], start=1):
        with django_assert_max_num_queries(1):  # the phone's own ticket, nothing branch-wide
            response = client.get(status_state_url(ticket, version))
        assert ahead(response) == position
        assert "about" in response.content.decode()  # an estimate in minutes, not "no counter"


def test_the_estimate_follows_the_version(client, branch, cash, counter, teller, committed):
    committed(services.counter_open, counter=counter, teller=teller)
    first = committed(services.ticket_issue, branch=branch, service=cash)
    mine = committed(services.ticket_issue, branch=branch, service=cash)
    version = broadcast.current_version(branch.pk)
    assert ahead(client.get(status_state_url(mine, version))) == 1
    committed(services.ticket_call_next, counter=counter, teller=teller)
    version = broadcast.current_version(branch.pk)
    response = client.get(status_state_url(mine, version))
    assert ahead(response) == 0
    first.refresh_from_db()
    assert first.status == "called"


# --- the long poll ------------------------------------------------------------------------------


def wait_url(branch_id: int, after) -> str:
    return reverse("queueing:wait", args=[live.live_token(branch_id)]) + f"?after={after}"


def test_the_long_poll_answers_at_once_under_wsgi(client, branch, cash, committed):
    committed(services.ticket_issue, branch=branch, service=cash)
    version = broadcast.current_version(branch.pk)
    started = time.monotonic()
    response = client.get(wait_url(branch.pk, version))
    assert time.monotonic() - started < 1  # never holds a WSGI thread
    assert response.status_code == 200
    assert response.json() == {"v": version}
    assert response["Retry-After"] == str(live.WAIT_RETRY_AFTER_S)


def test_the_long_poll_needs_a_version_and_a_valid_token(client, branch):
    url = reverse("queueing:wait", args=[live.live_token(branch.pk)])
    assert client.get(url).status_code == 400
    assert client.get(url + "?after=x").status_code == 400
    assert client.get(reverse("queueing:wait", args=["1"]) + "?after=0").status_code == 404


# --- with Redis: the hub ------------------------------------------------------------------------

BRANCH = 800_000 + os.getpid() % 10_000  # no real test branch: parallel runs share Redis


def publish(branch_id: int, version: int, action: str = "call", **ticket) -> None:
    import redis

    redis.Redis.from_url(REDIS_URL).publish(
        broadcast.channel_name(branch_id), json.dumps({"v": version, "action": action, **ticket})
    )


def hub_clients() -> int:
    import redis

    name = f"{hub.CLIENT_NAME}-{os.getpid()}"
    return sum(1 for c in redis.Redis.from_url(REDIS_URL).client_list() if c.get("name") == name)


async def until(condition, timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


@pytest.mark.django_db
def test_many_streams_share_one_redis_subscription(settings):
    settings.REDIS_URL = redis_or_skip()

    async def run() -> tuple[list[str], int, int]:
        streams = [live.event_stream(BRANCH, seconds=5, heartbeat=10) for _ in range(SCREENS)]
        firsts = [await anext(stream) for stream in streams]
        clients = await asyncio.to_thread(hub_clients)
        subscribed = hub.get_hub().stream_count()
        await asyncio.to_thread(publish, BRANCH, 41)
        events = await asyncio.gather(
            *(asyncio.wait_for(anext(stream), timeout=3) for stream in streams)
        )
        for stream in streams:
            await stream.aclose()
        assert hub.get_hub().stream_count() == 0  # closing a stream unregisters it
        assert all(first.startswith("retry:") for first in firsts)
        return events, clients, subscribed

    events, clients, subscribed = asyncio.run(run())
    assert clients == 1  # one connection for all streams of this process (was one each)
    assert subscribed == SCREENS
    assert set(events) == {'id: 41\ndata: {"v": 41}\n\n'}


@pytest.mark.django_db
def test_a_reconnecting_stream_skips_the_version_it_already_has(settings):
    settings.REDIS_URL = redis_or_skip()

    async def run() -> tuple[str, str]:
        current = await broadcast.acurrent_version(BRANCH + 1)
        same = live.event_stream(BRANCH + 1, seconds=1, heartbeat=10, last_event_id=current)
        older = live.event_stream(BRANCH + 1, seconds=1, heartbeat=10, last_event_id=current - 1)
        first_same, first_older = await anext(same), await anext(older)
        await same.aclose()
        await older.aclose()
        return first_same, first_older

    first_same, first_older = asyncio.run(run())
    assert first_same == f"retry: {live.RETRY_MS}\n\n"  # nothing to dispatch: no re-fetch
    assert "data: " in first_older


@pytest.mark.django_db
def test_streams_end_when_redis_drops_so_screens_fall_back_to_polling(settings):
    settings.REDIS_URL = redis_or_skip()
    import redis

    async def run() -> list[str]:
        stream = live.event_stream(BRANCH + 2, seconds=10, heartbeat=10)
        chunks = [await anext(stream)]
        server = redis.Redis.from_url(REDIS_URL)
        name = f"{hub.CLIENT_NAME}-{os.getpid()}"
        (hub_id,) = [c["id"] for c in server.client_list() if c.get("name") == name]
        await asyncio.to_thread(server.client_kill_filter, _id=hub_id)  # only our own hub
        async with asyncio.timeout(5):
            chunks.extend([chunk async for chunk in stream])
        return chunks

    chunks = asyncio.run(run())
    assert chunks[0].startswith("retry:")  # then the stream ended, well before its 10 s


@pytest.mark.django_db
def test_the_long_poll_answers_when_the_version_moves(settings):
    settings.REDIS_URL = redis_or_skip()
    url = wait_url(BRANCH + 3, 0)

    async def run():
        request = asyncio.ensure_future(AsyncClient().get(url))
        await until(lambda: (h := hub.get_hub()) is not None and h.stream_count() == 1)
        await asyncio.to_thread(publish, BRANCH + 3, 5)
        return await asyncio.wait_for(request, timeout=3)

    response = asyncio.run(run())
    assert response.status_code == 200
    assert json.loads(response.content) == {"v": 5}
    assert "Retry-After" not in response


@pytest.mark.django_db
def test_an_idle_counters_long_poll_wakes_for_an_arrival_not_for_every_change(settings):
    """`on=arrival`: starts and finishes at other counters do not wake an idle teller (they
    made the idle tellers of a branch call in a herd); a ticket joining a queue does."""
    settings.REDIS_URL = redis_or_skip()
    url = wait_url(BRANCH + 7, 0) + "&on=arrival&counter=1&serves=cash"

    async def run():
        request = asyncio.ensure_future(AsyncClient().get(url))
        await until(lambda: (h := hub.get_hub()) is not None and h.stream_count() == 1)
        await asyncio.to_thread(publish, BRANCH + 7, 5, "start")
        await asyncio.to_thread(publish, BRANCH + 7, 6, "finish")
        await asyncio.sleep(0.3)
        assert not request.done()  # still waiting
        await asyncio.to_thread(publish, BRANCH + 7, 7, "issue", service="cash", counter=None)
        return await asyncio.wait_for(request, timeout=3)

    assert json.loads(asyncio.run(run()).content) == {"v": 7}


@pytest.mark.django_db
def test_an_idle_counter_behind_only_on_starts_and_finishes_waits_for_an_arrival(
    settings, monkeypatch
):
    """Its `after` predates a start at another counter: that is no reason to call again (idle
    tellers of a busy branch spun on it); only an arrival since `after` answers at once."""
    settings.REDIS_URL = redis_or_skip()
    monkeypatch.setattr(hub, "ARRIVALS_TRUSTED_AFTER_S", 0.0)
    branch = BRANCH + 9

    async def run():
        watcher = await hub.get_hub().subscribe(branch)  # keeps the hub connected
        await asyncio.to_thread(publish, branch, 5, "start")
        await until(lambda: hub.get_hub().last_seen(branch) == 5)
        request = asyncio.ensure_future(
            AsyncClient().get(wait_url(branch, 3) + "&on=arrival&counter=1&serves=cash")
        )
        await asyncio.sleep(0.5)
        assert not request.done()  # behind on a start only: it waits
        await asyncio.to_thread(publish, branch, 6, "issue", service="cash", counter=None)
        response = await asyncio.wait_for(request, timeout=3)
        hub.get_hub().unsubscribe(watcher)
        return json.loads(response.content)

    assert asyncio.run(run()) == {"v": 6}


@pytest.mark.django_db
def test_each_arrival_wakes_one_idle_counter_that_can_serve_it(settings):
    """Idle counters: cash-only (waiting longest), cash-only, loans-only. A cash ticket wakes
    the first cash counter only; a loans ticket the loans counter; a ticket sent to a named
    counter that counter only; the next cash ticket the other cash counter."""
    settings.REDIS_URL = redis_or_skip()
    branch = BRANCH + 8

    async def run():
        live_hub = hub.get_hub()
        idle = {}
        for counter, serves in ((1, "cash"), (2, "cash"), (3, "loans"), (4, "cash")):
            idle[counter] = await live_hub.subscribe(
                branch, arrivals_only=True, counter_id=counter, serves=frozenset({serves})
            )
            await asyncio.sleep(0.01)  # distinct waiting-since times
        woken = []

        async def arrival(version: int, service: str, counter=None) -> None:
            await asyncio.to_thread(
                publish, branch, version, "issue", service=service, counter=counter
            )
            await until(lambda: live_hub.messages >= version)
            for number, sub in list(idle.items()):
                if sub.pending:
                    woken.append((version, number))
                    # The teller calls, then waits again: a new long poll, last in line.
                    live_hub.unsubscribe(sub)
                    idle[number] = await live_hub.subscribe(
                        branch, arrivals_only=True, counter_id=number, serves=sub.serves
                    )

        start = live_hub.messages
        await asyncio.to_thread(publish, branch, start + 1, "start")
        await until(lambda: live_hub.messages > start)
        assert not any(sub.pending for sub in idle.values())  # not an arrival
        base = live_hub.messages
        await arrival(base + 1, "cash")
        await arrival(base + 2, "loans")
        await arrival(base + 3, "cash", counter=4)
        await arrival(base + 4, "cash")
        for sub in idle.values():
            live_hub.unsubscribe(sub)
        return [(version - base, number) for version, number in woken]

    assert asyncio.run(run()) == [(1, 1), (2, 3), (3, 4), (4, 2)]


@pytest.mark.django_db
def test_the_long_poll_answers_at_once_when_the_caller_is_behind(settings):
    settings.REDIS_URL = redis_or_skip()
    url = wait_url(BRANCH + 4, 7)  # the branch is at 0: the caller's 7 is not current

    async def run():
        return await asyncio.wait_for(AsyncClient().get(url), timeout=3)

    assert json.loads(asyncio.run(run()).content) == {"v": 0}


@pytest.mark.django_db
def test_the_live_service_answers_version_polls_with_redis_down(settings):
    """ASGI, Redis unreachable: the database's version, read once for a burst of polls."""
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # a closed port
    url = reverse("queueing:version", args=[live.live_token(BRANCH + 5)])

    async def run():
        return [await AsyncClient().get(url) for _ in range(5)]

    responses = asyncio.run(run())
    assert {r.status_code for r in responses} == {200}
    assert {json.loads(r.content)["v"] for r in responses} == {0}
    assert responses[0]["Cache-Control"] == "no-store"


# --- staff screens: refreshed by the live signal, not by timers ---------------------------------


def live_element(html: str) -> str:
    found = re.search(r'<div id="live" hidden data-live-event="queue-changed"[^>]*>', html)
    assert found, "no live element"
    return found.group(0)


def test_the_counter_screen_follows_the_branch_instead_of_polling(client, teller, counter):
    client.force_login(teller)
    html = client.get(reverse("reception:counter", args=[counter.pk])).content.decode()
    element = live_element(html)
    token = element.split('data-live-version-url="/queue/live/', 1)[1].split("/", 1)[0]
    assert live.branch_id_from_live_token(token) == counter.branch_id
    assert "js/live.js" in html
    assert 'hx-trigger="queue-changed from:body"' in html
    assert "every 3s" not in html


def test_the_lobby_follows_the_branch_instead_of_polling(client, lobby_manager, branch):
    client.force_login(lobby_manager)
    html = client.get(reverse("reception:lobby")).content.decode()
    element = live_element(html)
    assert 'data-live-sse="0"' in element  # no LIVE_SSE in tests: live.js polls the version
    assert 'hx-trigger="queue-changed from:body"' in html
    assert "every 10s" not in html


@pytest.mark.django_db
def test_the_long_poll_does_not_wait_while_redis_is_down(settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # a closed port: the hub cannot subscribe
    url = wait_url(BRANCH + 6, 0)

    async def run():
        return await asyncio.wait_for(AsyncClient().get(url), timeout=5)

    started = time.monotonic()
    response = asyncio.run(run())
    assert time.monotonic() - started < 3
    assert json.loads(response.content) == {"v": 0}
    assert response["Retry-After"] == str(live.WAIT_RETRY_AFTER_S)
