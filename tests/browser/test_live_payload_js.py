"""board.js and ticket-status.js show what the stream's event carries, with no fetch
(queueing/live.py: "What the stream carries"), and fetch at once on `refetch`.

The event stream itself needs the ASGI live service; here a stand-in EventSource (installed
before the page's scripts) lets the test hand the page the events the live service would send.
"""

import pytest
from playwright.sync_api import Page, expect

from queueing import broadcast, services, views
from queueing.links import ticket_id_from_token, ticket_status_token

from .conftest import PHONE_VIEWPORT

pytestmark = pytest.mark.browser

FAKE_EVENT_SOURCE = """
window.__streams = [];
window.EventSource = class {
  constructor(url) { this.url = url; this.readyState = 1; window.__streams.push(this); }
  close() { this.readyState = 2; }
};
window.EventSource.CLOSED = 2;
"""
SEND = "data => window.__streams[0].onmessage({ data: JSON.stringify(data) })"


@pytest.fixture
def streaming(settings):
    """Pages offer the stream (LIVE_SSE, a Redis URL; nothing connects to it here)."""
    settings.LIVE_SSE = True
    settings.REDIS_URL = "redis://127.0.0.1:6379/11"
    return settings


def state_fetches(page: Page) -> list[str]:
    fetched: list[str] = []
    page.on("request", lambda request: "/state/" in request.url and fetched.append(request.url))
    return fetched


def open_with_fake_stream(open_page, path: str, **kwargs) -> Page:
    page = open_page("about:blank", **kwargs)
    page.add_init_script(FAKE_EVENT_SOURCE)
    page.goto(path)
    page.wait_for_function("() => window.__streams.length === 1")
    return page


def test_the_board_shows_the_state_its_event_carries_without_fetching(
    open_page, streaming, branch, cash, counter, teller
):
    services.ticket_issue(branch=branch, service=cash)
    board = open_with_fake_stream(open_page, f"/queue/board/{branch.display_token}/")
    fetched = state_fetches(board)
    events_url = board.evaluate("window.__streams[0].url")
    assert "/queue/live/" in events_url

    called = services.ticket_call_next(counter=counter, teller=teller)
    version = broadcast.current_version(branch.pk)
    html = views.board_fragment(branch.pk, version, "zh-hans")
    board.evaluate(SEND, {"v": version, "html": html})

    expect(board.locator(".now-calling .hero-code")).to_have_text(called.code)
    expect(board.locator(".now-calling .hero.is-flashing")).to_have_count(1)  # as after a fetch
    assert fetched == []


def test_a_phone_puts_its_place_in_and_refetches_when_its_ticket_is_called(
    open_page, streaming, branch, cash, counter, teller
):
    first = services.ticket_issue(branch=branch, service=cash)
    mine = services.ticket_issue(branch=branch, service=cash)
    path = f"/queue/t/{ticket_status_token(mine.pk)}/"
    phone = open_with_fake_stream(open_page, path, viewport=PHONE_VIEWPORT)
    fetched = state_fetches(phone)
    expect(phone.locator("[data-outlook] dd").first).to_have_text("1")

    services.ticket_call_next(counter=counter, teller=teller)  # the first ticket: one ahead less
    version = broadcast.current_version(branch.pk)
    outlook = views.outlook_html("zh-hans", 0, 0.0)  # the page's language (a zh-CN browser)
    phone.evaluate(SEND, {"v": version, "outlook": outlook, "status": "waiting"})
    expect(phone.locator("[data-outlook] dd").first).to_have_text("0")
    assert fetched == []

    services.ticket_start(ticket_id=first.pk, by=teller)
    services.ticket_finish(ticket_id=first.pk, by=teller)
    services.ticket_call_next(counter=counter, teller=teller)  # now mine
    phone.evaluate(SEND, {"v": broadcast.current_version(branch.pk), "refetch": 1})
    expect(phone.locator(".status-card")).to_have_attribute("data-status", "called")
    assert len(fetched) == 1  # at once, its own card
    token = fetched[0].split("/queue/t/", 1)[1].split("/", 1)[0]
    assert ticket_id_from_token(token) == mine.pk
    assert first.pk != mine.pk
