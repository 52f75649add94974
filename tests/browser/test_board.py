"""The lobby display board shows a call within seconds, without reloading (the issue's requirement)."""

import time

import pytest
from playwright.sync_api import expect

from queueing import services

from .conftest import screenshot

pytestmark = pytest.mark.browser


def board_path(branch) -> str:
    return f"/queue/board/{branch.display_token}/"


def test_it_shows_a_call_made_by_the_service_on_the_open_board(
    open_page, branch, cash, counter, teller
):
    ticket = services.ticket_issue(branch=branch, service=cash)
    board = open_page(board_path(branch))
    hero = board.locator(".now-calling .hero")
    expect(hero).to_have_count(0)

    services.ticket_call_next(counter=counter, teller=teller)  # announced when it commits
    started = time.monotonic()
    expect(hero.locator(".hero-code")).to_have_text(ticket.code, timeout=5000)
    expect(hero.locator(".hero-counter-number")).to_have_text("1")
    print(f"board delay (service call): {time.monotonic() - started:.2f} s")
    expect(board.locator(".recent-item.is-newest .code")).to_have_text(ticket.code)
    board.locator("#sound-overlay").click()  # as staff do once when they switch the board on
    expect(board.locator("#sound-overlay")).to_be_hidden()
    screenshot(board, "board")
