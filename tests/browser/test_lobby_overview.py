"""The lobby overview raises an alert when a wait passes its target (issue 6, item 8): the lobby
manager sees it with its suggestion, live, and it is recorded (LobbyAlert). Saves
docs/screenshots/lobby-overview.png at the tablet's 1024×768."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from queueing import services as queue
from queueing.models import Ticket
from reception.models import LobbyAlert

from .conftest import SCREENSHOTS, assert_htmx_loaded, in_language, login

pytestmark = pytest.mark.browser

TABLET = {"width": 1024, "height": 768}
ZH = "zh-hans"


def test_the_overview_raises_an_alert_when_a_wait_passes_its_target(
    open_page, branch, cash, loans, counter, lobby_manager
):
    cash.target_wait_minutes = 3  # a short target; one customer is quickly served
    cash.standard_handle_minutes = 2
    cash.save(update_fields=["target_wait_minutes", "standard_handle_minutes"])
    ticket = queue.ticket_issue(branch=branch, service=cash)
    Ticket.objects.filter(pk=ticket.pk).update(arrived_at=timezone.now() - timedelta(minutes=7))
    queue.ticket_issue(branch=branch, service=loans)  # within its target: no alert

    page = open_page("/login/", viewport=TABLET)
    login(page, lobby_manager.username, next_path="/reception/overview/")
    assert_htmx_loaded(page)

    expect(page.locator(".alert-item")).to_have_count(1)
    alert = page.locator(".alert-item[data-service='cash'][data-alert='wait']")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text(in_language(ZH, "Longest wait over target"))
    # cash may be diverted to the machines, and its one counter is open: divert.
    expect(alert).to_contain_text(in_language(ZH, "Divert small cash jobs to the machines"))
    expect(page.locator(".overview-service.is-alert[data-service='cash']")).to_be_visible()
    expect(page.locator(".overview-service[data-service='loan']")).not_to_have_class(
        "overview-service is-alert"
    )
    recorded = LobbyAlert.objects.get(cleared_at__isnull=True)
    assert (recorded.service, recorded.kind, recorded.suggestion) == (cash, "wait", "divert")

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "lobby-overview.png"))

    # The queue changes (the customer is cancelled): the live fragment follows, the alert clears.
    queue.ticket_cancel(ticket_id=ticket.pk, by=lobby_manager, branch=branch)
    expect(page.locator(".alert-item")).to_have_count(0, timeout=8000)
    recorded.refresh_from_db()
    assert recorded.cleared_at is not None


def test_the_manager_acknowledges_an_alert(open_page, branch, cash, counter, lobby_manager):
    ticket = queue.ticket_issue(branch=branch, service=cash)
    Ticket.objects.filter(pk=ticket.pk).update(arrived_at=timezone.now() - timedelta(minutes=30))
    page = open_page("/login/", viewport=TABLET)
    login(page, lobby_manager.username, next_path="/reception/overview/")
    assert_htmx_loaded(page)
    page.locator(".alert-item[data-alert='wait'] button").click()
    expect(page.locator(".alert-item.is-acknowledged[data-alert='wait']")).to_be_visible()
    alert = LobbyAlert.objects.get(kind="wait")
    assert alert.acknowledged_by == lobby_manager and alert.acknowledged_at is not None
