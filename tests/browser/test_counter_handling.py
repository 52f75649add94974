"""The counter's handling in a browser (issue 7): the service's control points enforced, an
error recorded, the finish with "follow-up needed". Saves docs/screenshots/counter-control-points.png."""

import re

import pytest
from playwright.sync_api import expect

from reception import services as reception
from reception.models import ServiceError, Visit

from ..factories import ControlPointFactory, ErrorCategoryFactory
from .conftest import SCREENSHOTS, assert_htmx_loaded, login

pytestmark = pytest.mark.browser

PHONE = "13800138000"


def test_a_teller_serves_through_the_control_points_records_an_error_and_a_follow_up(
    open_page, eager_celery, branch, cash, counter, lobby_manager, teller
):
    reception.control_points_publish(cash)  # the three defaults
    ControlPointFactory(
        service=cash,
        key="signature_checked",
        label_zh="核对签名",
        label_en="Signature checked",
        required=True,
        sort_order=40,
    )
    version = reception.control_points_publish(cash)
    ErrorCategoryFactory(branch=branch, code="wrong_amount", name_en="Wrong amount")
    missing = ErrorCategoryFactory(
        branch=branch, code="missing_signature", name_en="Missing signature"
    )
    visit = reception.visit_register(
        branch=branch, registered_by=lobby_manager, phone=PHONE, service=cash, name="李雷"
    )

    page = open_page("/login/", locale="en-US")
    login(page, teller.username)
    expect(page).to_have_url(re.compile(r"/reception/counters/$"))
    page.locator(f"a[href$='/reception/counters/{counter.pk}/']").click()
    assert_htmx_loaded(page)
    panel = page.locator("#panel")
    panel.locator("button[value=call]").click()
    expect(panel.locator(".current-code")).to_have_text(visit.ticket.code)
    panel.locator("button[value=start]").click()
    expect(panel.locator(".timer")).to_be_visible()

    # The service's list, the required ones marked; finishing without them is refused.
    points = panel.locator("#control-points")
    for label in (
        "Identity verified",
        "Documents signed",
        "Funds handed over",
        "Signature checked",
    ):
        expect(points).to_contain_text(label)
    expect(points.locator(".badge-required")).to_have_count(2)
    panel.locator("select[name=outcome]").select_option(Visit.Outcome.COMPLETED.value)
    panel.locator("button[value=finish]").click()
    expect(panel.locator("#control-points .alert-error")).to_contain_text("Signature checked")

    panel.locator("input[name=checked_points][value=identity_verified]").check()
    panel.locator("input[name=checked_points][value=signature_checked]").check()
    panel.locator("form.finish h2").scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "counter-control-points.png"))

    # An error on the customer at the counter: the ticks stay.
    panel.locator(".record-error summary").click()
    panel.locator("select[name=err-category]").select_option(str(missing.pk))
    panel.locator("input[name=err-severity][value=major]").check()
    panel.locator("input[name=err-note]").fill("slip not signed at first")
    panel.locator("button[value=record_error]").click()
    expect(panel.locator(".messages")).to_contain_text("Error recorded")
    expect(panel.locator("input[name=checked_points][value=signature_checked]")).to_be_checked()
    expect(panel.locator("input[name=checked_points][value=identity_verified]")).to_be_checked()

    panel.locator("select[name=outcome]").select_option(Visit.Outcome.FOLLOW_UP.value)
    panel.locator("input[name=error_note]").fill("call back about the card")
    panel.locator("button[value=finish]").click()
    expect(panel.locator("button[value=call]")).to_be_visible()

    visit.refresh_from_db()
    assert visit.outcome == Visit.Outcome.FOLLOW_UP
    assert visit.checked_points == ["identity_verified", "signature_checked"]
    assert visit.control_version == version
    error = ServiceError.objects.get()
    assert (error.visit, error.category, error.severity, error.teller) == (
        visit,
        missing,
        "major",
        teller,
    )
    from crm.models import CareReminder

    reminder = CareReminder.objects.get(source=f"visit:{visit.pk}")
    assert (reminder.kind, reminder.assignee, reminder.customer) == (
        "follow_up",
        teller,
        visit.customer,
    )
