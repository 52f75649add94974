"""A customer joins the queue from their phone, sees the status page "not checked in yet",
checks in from the branch's QR poster page, and the status becomes waiting."""

import re
from datetime import time

import pytest
from playwright.sync_api import expect

from feedback.sms import LocmemBackend
from queueing.models import Ticket
from queueing.states import TicketStatus
from reception.links import branch_token
from reception.models import Visit

from .conftest import PHONE_VIEWPORT

pytestmark = pytest.mark.browser

PHONE = "13800138000"


def test_a_customer_joins_from_the_phone_then_checks_in_at_the_branch(
    open_page, branch, cash, counter
):
    branch.remote_queue_enabled = True
    branch.opens_at, branch.closes_at = time(0, 0), time(23, 59, 59)
    branch.save()
    token = branch_token(branch.pk)

    phone = open_page(f"/visit/b/{token}/join/", viewport=PHONE_VIEWPORT, locale="en-US")
    phone.locator(".visit-choice", has_text="Cash").click()
    phone.locator("form.visit-form button[type=submit]").click()

    # Verify the number: an SMS code (the test SMS backend keeps it in memory).
    phone.wait_for_url(re.compile(r"/visit/verify/"))
    phone.locator("input[name=phone]").fill(PHONE)
    phone.locator("button[name=action][value=send]").click()
    expect(phone.locator("input[name=code]")).to_be_visible()
    (sms,) = LocmemBackend.outbox
    code = re.search(r"\b(\d{6})\b", sms.body).group(1)
    phone.locator("input[name=code]").fill(code)
    phone.locator("button[name=action][value=confirm]").click()

    # Back on the join page, the service still chosen: take the ticket.
    phone.wait_for_url(re.compile(r"/join/"))
    expect(phone.locator("input[name=service][value=cash]")).to_be_checked()
    phone.locator("form.visit-form button[type=submit]").click()
    phone.wait_for_url(re.compile(r"/queue/t/"))
    card = phone.locator("#ticket-state [data-status]")
    expect(card).to_have_attribute("data-status", "remote")
    expect(card.locator(".status-remote-note")).to_contain_text("Not checked in yet")
    expect(card.locator("[data-remote-waiting]")).to_contain_text("You joined the queue")
    ticket = Ticket.objects.get()
    assert ticket.status == TicketStatus.REMOTE
    assert PHONE not in phone.url

    # At the branch: the poster's check-in page (same phone, same session).
    phone.goto(f"/visit/b/{token}/check-in/")
    row = phone.locator(f"[data-remote-ticket='{ticket.code}']")
    expect(row).to_be_visible()
    row.locator("button[type=submit]").click()
    phone.wait_for_url(re.compile(r"/queue/t/"))
    expect(phone.locator("#ticket-state [data-status]")).to_have_attribute("data-status", "waiting")
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.WAITING and ticket.checked_in_at is not None
    assert Visit.objects.get(ticket=ticket).arrived_at is not None
