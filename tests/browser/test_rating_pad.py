"""The counter rating pad: idle, lights up when the teller finishes a ticket at its counter,
records a tap (issue 8)."""

import pytest
from playwright.sync_api import expect

from feedback.models import RatingPad, SurveyResponse
from feedback.services import new_pad_token
from queueing import services as queue

from .conftest import PHONE_VIEWPORT, SCREENSHOTS

pytestmark = pytest.mark.browser

LIGHTS_UP_WITHIN_MS = 5000


def test_the_pad_lights_up_after_the_ticket_and_records_a_tap(
    open_page, branch, cash, counter, teller
):
    pad = RatingPad.objects.create(branch=branch, counter_id=counter.pk, token=new_pad_token())
    page = open_page(f"/survey/pad/{pad.token}/", viewport=PHONE_VIEWPORT, locale="en-US")
    expect(page.locator("[data-pad-idle]")).to_be_visible()
    expect(page.locator(".pad-button")).to_have_count(0)

    ticket = queue.ticket_issue(branch=branch, service=cash)
    queue.ticket_call_next(counter=counter, teller=teller)
    queue.ticket_start(ticket_id=ticket.pk, by=teller, branch=branch)
    expect(page.locator(".pad-button")).to_have_count(0)  # still serving: idle
    queue.ticket_finish(ticket_id=ticket.pk, by=teller, branch=branch)

    rate = page.locator(f'form.pad-rate[data-pad-ticket="{ticket.pk}"]')
    expect(rate).to_be_visible(timeout=LIGHTS_UP_WITHIN_MS)
    expect(page.locator(".pad-button")).to_have_count(3)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "rating-pad.png"))

    page.locator(".pad-button.pad-dissatisfied").click()
    page.locator(".pad-reason[value=waiting]").click()
    expect(page.locator(".pad-thanks")).to_be_visible()
    row = SurveyResponse.objects.get()
    assert (row.ticket_id, row.teller_id, row.service_code) == (ticket.pk, teller.pk, "cash")
    assert (row.pad_rating, row.pad_reason, row.satisfaction) == ("dissatisfied", "waiting", 2)
    # Thanks, then idle again.
    expect(page.locator("[data-pad-idle]")).to_be_visible(timeout=8000)
