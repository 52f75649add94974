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


def expect_call_on_board(board: Page, code: str, counter_number: int, how: str) -> None:
    hero = board.locator(".now-calling .hero")
    started = time.monotonic()
    expect(hero.locator(".hero-code")).to_have_text(code, timeout=CALL_SHOWN_WITHIN_MS)
    print(f"board delay ({how}): {time.monotonic() - started:.2f} s")
    expect(hero.locator(".hero-counter-number")).to_have_text(str(counter_number))
    expect(board.locator(".recent-item.is-newest .code")).to_have_text(code)
    expect(board.locator(".recent-item.is-newest .counter")).to_have_text(str(counter_number))


def test_it_shows_a_call_made_by_the_service_on_the_open_board(
    open_page, branch, cash, counter, teller
):
    ticket = services.ticket_issue(branch=branch, service=cash)
    board = open_board(open_page, branch)

    services.ticket_call_next(counter=counter, teller=teller)  # announced when it commits
    expect_call_on_board(board, ticket.code, counter.number, "service call")


def test_it_shows_a_call_made_at_the_counter_screen_on_the_open_board(
    open_page, branch, cash, counter, teller
):
    ticket = services.ticket_issue(branch=branch, service=cash)
    board = open_board(open_page, branch)
    # The teller works in another browser (own session), like the PC at counter 1.
    desk = open_page("/login/")
    login(desk, teller.username, next_path=f"/reception/counters/{counter.pk}/")
    assert_htmx_loaded(desk)

    desk.locator("#panel button[value=call]").click()
    started = time.monotonic()
    expect(desk.locator("#panel .current-code")).to_have_text(ticket.code)
    print(f"counter screen answered the click in {time.monotonic() - started:.2f} s")
    expect_call_on_board(board, ticket.code, counter.number, "teller clicked Call next")

    board.locator("#sound-overlay").click()  # as staff do once when they switch the board on
    expect(board.locator("#sound-overlay")).to_be_hidden()
    screenshot(board, "board")
