"""The lobby display board shows a call within seconds, without reloading (the issue's requirement).

The app aims at under a second (live.js polls the queue version every second); the tests allow
5 s so a slow CI machine does not fail them, and print the observed delay (run with -s).
"""

import time

import pytest
from playwright.sync_api import Page, expect

from queueing import services

from .conftest import assert_htmx_loaded, login, screenshot

pytestmark = pytest.mark.browser

CALL_SHOWN_WITHIN_MS = 5000


def open_board(open_page, branch) -> Page:
    board = open_page(f"/queue/board/{branch.display_token}/")
    expect(board.locator(".now-calling")).to_be_visible()
    expect(board.locator(".now-calling .hero")).to_have_count(0)  # nobody called yet
    return board


# Records (page clock) when the board first shows the code as "now calling": expect() itself
# re-checks only every 0.1-0.5 s, too coarse to measure a delay of about a second.
WATCH_FOR_CALL = """code => {
  window.callShownAt = null;
  const state = document.getElementById("board-state");
  new MutationObserver(() => {
    const hero = state.querySelector(".now-calling .hero-code");
    if (window.callShownAt === null && hero && hero.textContent.trim() === code) {
      window.callShownAt = performance.now();
    }
  }).observe(state, { childList: true, subtree: true, characterData: true });
}"""


def watch_for_call(board: Page, code: str) -> float:
    """Start watching; returns the page's clock (ms) to measure the delay from."""
    board.evaluate(WATCH_FOR_CALL, code)
    return board.evaluate("performance.now()")


def expect_call_on_board(
    board: Page, code: str, counter_number: int, *, since_ms: float, how: str
) -> None:
    hero = board.locator(".now-calling .hero")
    started = time.monotonic()
    expect(hero.locator(".hero-code")).to_have_text(code, timeout=CALL_SHOWN_WITHIN_MS)
    waited = time.monotonic() - started
    shown_after = (board.evaluate("window.callShownAt") - since_ms) / 1000
    print(f"board delay ({how}): {shown_after:.2f} s in the page; expect() waited {waited:.2f} s")
    expect(hero.locator(".hero-counter-number")).to_have_text(str(counter_number))
    expect(board.locator(".recent-item.is-newest .code")).to_have_text(code)
    expect(board.locator(".recent-item.is-newest .counter")).to_have_text(str(counter_number))


def test_it_shows_a_call_made_by_the_service_on_the_open_board(
    open_page, branch, cash, counter, teller
):
    ticket = services.ticket_issue(branch=branch, service=cash)
    board = open_board(open_page, branch)

    since = watch_for_call(board, ticket.code)
    services.ticket_call_next(counter=counter, teller=teller)  # announced when it commits
    expect_call_on_board(board, ticket.code, counter.number, since_ms=since, how="service call")


def test_it_shows_a_call_made_at_the_counter_screen_on_the_open_board(
    open_page, branch, cash, counter, teller
):
    ticket = services.ticket_issue(branch=branch, service=cash)
    board = open_board(open_page, branch)
    # The teller works in another browser (own session), like the PC at counter 1.
    desk = open_page("/login/")
    login(desk, teller.username, next_path=f"/reception/counters/{counter.pk}/")
    assert_htmx_loaded(desk)

    since = watch_for_call(board, ticket.code)
    desk.locator("#panel button[value=call]").click()
    expect(desk.locator("#panel .current-code")).to_have_text(ticket.code)
    expect_call_on_board(board, ticket.code, counter.number, since_ms=since, how="Call next click")

    board.locator("#sound-overlay").click()  # as staff do once when they switch the board on
    expect(board.locator("#sound-overlay")).to_be_hidden()
    screenshot(board, "board")
