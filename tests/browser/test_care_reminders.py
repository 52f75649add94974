"""Care reminders (issue 7, item 4): a follow-up reminder set at a visit shows on the lobby
tablet's customer card when the customer comes back, and the assignee marks it done in "My
reminders". Saves docs/screenshots/care-reminders.png (the lobby card at the tablet's 1024×768)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.timeutil import branch_today
from crm.models import CareReminder, Interaction
from crm.services import interaction_record, reminder_create

from ..factories import CustomerFactory
from .conftest import SCREENSHOTS, assert_htmx_loaded, in_language, login

pytestmark = pytest.mark.browser

TABLET = {"width": 1024, "height": 768}
ZH = "zh-hans"
PHONE = "13912345678"


def test_a_follow_up_shows_on_the_lobby_card_and_the_assignee_marks_it_done(
    open_page, branch, cash, lobby_manager, teller
):
    # Last week's visit ended "follow-up needed": the teller owes the customer a call.
    customer = CustomerFactory(phone=PHONE, name="王芳", is_vip=True)
    interaction_record(
        customer=customer,
        branch=branch,
        kind=Interaction.Kind.BRANCH_SERVICE,
        occurred_at=timezone.now() - timedelta(days=7),
        service_code="cash",
        summary="Wealth product question",
        staff=teller,
    )
    reminder = reminder_create(
        customer=customer,
        branch=branch,
        kind="follow_up",
        title="回电：理财产品到期续作",
        due_on=branch_today(branch) + timedelta(days=2),
        assignee=teller,
        created_by=teller,
        source="visit:999",
    )

    # The customer comes back: the lobby manager types the number on the tablet.
    tablet = open_page("/login/", viewport=TABLET)
    login(tablet, lobby_manager.username, next_path="/reception/lobby/")
    assert_htmx_loaded(tablet)
    tablet.locator("input[name=phone]").press_sequentially(PHONE)
    card = tablet.locator("#customer-card")
    expect(card.locator(".card-reminders")).to_contain_text("回电：理财产品到期续作")
    expect(card.locator(".card-reminders")).to_contain_text(in_language(ZH, "Reminder"))
    expect(card).not_to_contain_text(PHONE)  # masked on the card
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tablet.screenshot(path=str(SCREENSHOTS / "care-reminders.png"))

    # The teller opens "My reminders" from the menu and marks it done with a note.
    desk = open_page("/login/")
    login(desk, teller.username)
    desk.locator("nav.nav").get_by_role("link", name=in_language(ZH, "Reminders")).click()
    item = desk.locator(f"[data-reminder='{reminder.pk}']")
    expect(item).to_contain_text("回电：理财产品到期续作")
    expect(item).to_contain_text("139****5678")
    item.locator("input[name=note]").fill("已回电，客户续作一年")
    item.locator("[data-reminder-done]").click()
    expect(desk.locator(f"[data-reminder='{reminder.pk}']")).to_have_count(0)
    expect(desk.locator(".messages")).to_contain_text(in_language(ZH, "Reminder done."))
    reminder.refresh_from_db()
    assert (reminder.status, reminder.done_by, reminder.outcome_note) == (
        CareReminder.Status.DONE,
        teller,
        "已回电，客户续作一年",
    )

    # At the next arrival the card no longer shows it.
    tablet.reload()
    tablet.locator("input[name=phone]").press_sequentially(PHONE)
    expect(tablet.locator("#customer-card")).to_contain_text("139****5678")
    expect(tablet.locator("#customer-card .card-reminders")).to_have_count(0)
