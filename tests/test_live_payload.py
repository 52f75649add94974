"""Live screens get what they show IN the event (issue "[5 of 11] Capacity", item 5).

The board's stream carries the board's state, rendered once per (branch, version, language) for
every board; a customer's stream carries its own ticket's place and wait, and nothing of any
other ticket. No burst of fragment fetches after each change (queueing/live.py).
"""

import asyncio
import json
import os

import pytest
from django.db import connection
from django.test import AsyncClient
from django.urls import reverse

from queueing import broadcast, live, selectors, services, views
from queueing.links import ticket_status_token

from .test_live_updates import redis_or_skip

HERO = 'class="hero-code">{}<'
STREAMS = 20


@pytest.fixture
def own_channels(settings):
    """Redis and channels of this test run only (pub/sub ignores the db number; parallel runs
    share the server)."""
    settings.REDIS_URL = redis_or_skip()
    settings.LIVE_SSE = True
    settings.CACHE_KEY_PREFIX = f"bf-payload-test-{os.getpid()}"
    return settings


def in_thread(call, *args, **kwargs):
    """A service, as the web service runs it: its own connection, committed, then published."""

    def run():
        try:
            return call(*args, **kwargs)
        finally:
            connection.close()

    return asyncio.to_thread(run)


def data_of(chunk: str) -> dict:
    (line,) = [part for part in chunk.splitlines() if part.startswith("data: ")]
    return json.loads(line[len("data: ") :])


async def next_data(stream) -> dict:
    while True:
        chunk = await asyncio.wait_for(anext(stream), timeout=5)
        if "data: " in chunk:
            return data_of(chunk)


# --- tokens: scopes stay tight -------------------------------------------------------------------


def test_the_board_page_mints_a_board_token_and_the_status_page_a_ticket_token(
    client, branch, cash, settings
):
    settings.LIVE_SSE = True
    html = client.get(reverse("queueing:board", args=[branch.display_token])).content.decode()
    events = html.split('data-live-events-url="/queue/live/', 1)[1].split("/", 1)[0]
    version = html.split('data-live-version-url="/queue/live/', 1)[1].split("/", 1)[0]
    assert live.follow_from_token(events) == live.Follow(branch.pk, board=True, language="en")
    assert live.branch_id_from_live_token(version) == branch.pk  # polling: as before

    ticket = services.ticket_issue(branch=branch, service=cash)
    url = reverse("queueing:ticket_status", args=[ticket_status_token(ticket.pk)])
    html = client.get(url).content.decode()
    events = html.split('data-live-events-url="/queue/live/', 1)[1].split("/", 1)[0]
    assert live.follow_from_token(events) == live.Follow(
        branch.pk, ticket_id=ticket.pk, language="en"
    )
    assert "data-outlook" in html  # the hook the stream's outlook replaces


def test_scoped_tokens_carry_what_they_were_minted_for_and_nothing_else():
    plain = live.follow_from_token(live.live_token(7))
    assert plain == live.Follow(7) and not plain.board and plain.ticket_id is None
    assert live.follow_from_token(live.board_live_token(7, "zh-hant")).language == "zh-hant"
    # An unknown language is never rendered: the default instead.
    assert live.follow_from_token(live.board_live_token(7, "xx")).language == "en"
    # Neither scoped token is a plain branch token (version polls, long polls).
    assert live.branch_id_from_live_token(live.board_live_token(7, "en")) is None
    assert live.branch_id_from_live_token(live.ticket_live_token(7, 3, "en")) is None


def test_forged_and_foreign_tokens_open_no_stream(own_channels):
    ticket_token = live.ticket_live_token(7, 3, "en")
    refused = [
        ticket_status_token(3),  # the customer's link itself: another salt, not a live token
        ticket_token[:-2] + ("AA" if not ticket_token.endswith("AA") else "BB"),  # tampered
        live.board_live_token(7, "en")[:-1] + "x",
        "1",
    ]
    for token in refused:
        assert live.follow_from_token(token) is None
        url = reverse("queueing:events", args=[token])
        assert asyncio.run(AsyncClient().get(url)).status_code == 404


def test_without_redis_no_stream_and_no_payload_screens_poll(settings):
    settings.REDIS_URL = ""
    settings.LIVE_SSE = True
    for token in (live.board_live_token(7, "en"), live.ticket_live_token(7, 3, "en")):
        url = reverse("queueing:events", args=[token])
        assert asyncio.run(AsyncClient().get(url)).status_code == 204  # live.js polls, fetches


# --- the board -----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_board_streams_carry_the_called_code_rendered_once_for_all(
    own_channels, branch, cash, counter, teller, monkeypatch
):
    services.ticket_issue(branch=branch, service=cash)
    payloads, renders = [], []
    board_payload, board_state = live._board_payload, views._board_state
    monkeypatch.setattr(
        live, "_board_payload", lambda *args: payloads.append(args) or board_payload(*args)
    )
    monkeypatch.setattr(views, "_board_state", lambda b: renders.append(b) or board_state(b))
    follow = live.Follow(branch.pk, board=True, language="en")

    async def run():
        streams = [live.event_stream(branch.pk, follow=follow) for _ in range(STREAMS)]
        firsts = [data_of(await anext(stream)) for stream in streams]
        called = await in_thread(services.ticket_call_next, counter=counter, teller=teller)
        events = await asyncio.gather(*(next_data(stream) for stream in streams))
        for stream in streams:
            await stream.aclose()
        return firsts, called, events

    firsts, called, events = asyncio.run(run())
    assert all("html" in first for first in firsts)
    version = broadcast.current_version(branch.pk)
    assert {event["v"] for event in events} == {version}
    assert len({event["html"] for event in events}) == 1
    assert HERO.format(called.code) in events[0]["html"]
    # Two versions (on connect, after the call): one computation and one render each, for all
    # twenty streams.
    assert len(payloads) == 2
    assert len(renders) == 2


@pytest.mark.django_db(transaction=True)
def test_a_plain_branch_token_streams_the_version_only(own_channels, branch, cash, counter, teller):
    services.ticket_issue(branch=branch, service=cash)
    url = reverse("queueing:events", args=[live.live_token(branch.pk)])

    async def run():
        response = await AsyncClient().get(url)
        chunks = aiter(response.streaming_content)
        await anext(chunks)
        await in_thread(services.ticket_call_next, counter=counter, teller=teller)
        second = await asyncio.wait_for(anext(chunks), timeout=5)
        await chunks.aclose()
        return second.decode()

    second = asyncio.run(run())
    assert set(data_of(second)) == {"v"}  # staff screens and old pages: fetch, as before


# --- a customer's phone ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_phone_stream_carries_its_own_ticket_only_and_a_called_one_refetches(
    own_channels, branch, cash, counter, teller
):
    first, second, third = (services.ticket_issue(branch=branch, service=cash) for _ in range(3))

    def stream_for(ticket):
        follow = live.Follow(branch.pk, ticket_id=ticket.pk, language="en")
        return live.event_stream(branch.pk, follow=follow)

    async def run():
        streams = [stream_for(ticket) for ticket in (first, second, third)]
        on_connect = [data_of(await anext(stream)) for stream in streams]
        await in_thread(services.ticket_call_next, counter=counter, teller=teller)
        after_call = [await next_data(stream) for stream in streams]
        for stream in streams:
            await stream.aclose()
        return on_connect, after_call

    on_connect, after_call = asyncio.run(run())
    # On connect each phone gets its own place: 0, 1 and 2 people ahead.
    for ahead, event in enumerate(on_connect):
        assert set(event) == {"v", "outlook", "status"}
        assert event["status"] == "waiting"
        assert f"<dd>{ahead}</dd>" in event["outlook"]
    # After the call: the called ticket's page re-reads its card, the others move up one.
    assert after_call[0] == {"v": after_call[0]["v"], "refetch": 1}
    for ahead, event in enumerate(after_call[1:]):
        assert event["status"] == "waiting"
        assert f"<dd>{ahead}</dd>" in event["outlook"]
    # Only its own part: no other ticket's number, id or anything beyond the outlook.
    for event in on_connect + after_call:
        text = json.dumps(event)
        for ticket in (first, second, third):
            assert ticket.code not in text
    # What the page would fetch shows the same place (one partial, the same markup).
    page = views.render_to_string(
        "queueing/ticket_status.html#state",
        views._status_state(selectors.ticket_for_customer(ticket_id=third.pk)),
    )
    assert after_call[2]["outlook"] in page


@pytest.mark.django_db(transaction=True)
def test_a_change_that_moves_nothing_for_a_phone_sends_it_nothing(
    own_channels, branch, cash, loans, counter, teller
):
    mine = services.ticket_issue(branch=branch, service=cash)
    follow = live.Follow(branch.pk, ticket_id=mine.pk, language="en")

    async def run():
        stream = live.event_stream(branch.pk, follow=follow, heartbeat=0.5, seconds=3)
        await anext(stream)
        # Someone joins another service's queue: this phone's place and wait do not move.
        await in_thread(services.ticket_issue, branch=branch, service=loans)
        await asyncio.sleep(0.3)
        chunks = [chunk async for chunk in stream]
        return chunks

    chunks = asyncio.run(run())
    assert not [chunk for chunk in chunks if "data: " in chunk]
    assert ": keep-alive\n\n" in chunks


@pytest.mark.django_db(transaction=True)
def test_a_reconnecting_phone_gets_its_payload_only_if_it_could_differ(own_channels, branch, cash):
    mine = services.ticket_issue(branch=branch, service=cash)
    follow = live.Follow(branch.pk, ticket_id=mine.pk, language="en")
    current = broadcast.current_version(branch.pk)

    async def run():
        same = live.event_stream(branch.pk, follow=follow, last_event_id=current)
        older = live.event_stream(branch.pk, follow=follow, last_event_id=current - 1)
        first_same, first_older = await anext(same), await anext(older)
        await same.aclose()
        await older.aclose()
        return first_same, first_older

    first_same, first_older = asyncio.run(run())
    assert first_same == f"retry: {live.RETRY_MS}\n\n"
    assert data_of(first_older)["outlook"]


# --- the shared parts ------------------------------------------------------------------------------


def test_outlook_positions_agree_with_outlook_for_every_ticket():
    inf = float("inf")
    outlook = {
        1: ("cash", 60.0, False, 60.0),
        2: ("cash", 120.0, False, 180.0),
        3: ("cash", 90.0, True, 90.0),  # remote: counted among everybody, were all here
        4: ("loan", 30.0, False, 30.0),
        5: ("cash", inf, False, inf),
        6: ("loan", inf, True, inf),
    }

    class Ticket:
        def __init__(self, pk, code, remote):
            self.pk = pk
            self.status = "remote" if remote else "waiting"
            self.service = type("S", (), {"code": code})

    positions = selectors.outlook_positions(outlook)
    for ticket_id, (code, _wait, remote, _all) in outlook.items():
        expected = selectors.outlook_for(Ticket(ticket_id, code, remote), outlook)
        is_remote, ahead, eta_s = positions[ticket_id]
        assert is_remote == remote
        assert {"people_ahead": ahead, "eta_s": eta_s} == expected


def test_each_outlook_is_rendered_once_per_process_in_each_language():
    views._render_outlook.cache_clear()
    first = views.outlook_html("en", 3, 600.0)
    assert views.outlook_html("en", 3, 600.0) is first
    assert "<dd>3</dd>" in first and "data-outlook" in first
    assert views.outlook_html("zh-hans", 3, 600.0) != first
    assert views._render_outlook.cache_info().currsize == 2
