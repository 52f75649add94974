"""One browser test per user journey, in the default language (zh-hans), each saving a screenshot
for the README (docs/screenshots/journey-<name>.png).

Expected labels are looked up with gettext in the page's language, so the tests hold before and
after the translations are filled in.
"""

import re

import pytest
from playwright.sync_api import Page, expect

from crm.models import Interaction
from feedback.links import survey_token
from feedback.models import SurveyInvitation, SurveyResponse
from queueing import services as queue
from queueing.links import ticket_status_token
from queueing.models import Counter
from queueing.routing import PriorityClass
from queueing.states import TicketStatus
from reception import services as reception
from reception.models import Visit

from .conftest import (
    PHONE_VIEWPORT,
    assert_htmx_loaded,
    expect_language,
    in_language,
    login,
    screenshot,
)

pytestmark = pytest.mark.browser

PHONE = "13800138000"
MASKED_PHONE = "138****8000"
ZH = "zh-hans"


def register(branch, service, lobby_manager) -> Visit:
    return reception.visit_register(
        branch=branch, registered_by=lobby_manager, phone=PHONE, service=service, name="李雷"
    )


def serve(visit: Visit, counter, teller) -> None:
    """What the teller does at the counter, through the services."""
    ticket = queue.ticket_call_next(counter=counter, teller=teller)
    assert ticket == visit.ticket
    queue.ticket_start(ticket_id=ticket.pk, by=teller, branch=visit.branch)
    reception.visit_complete_service(
        ticket=ticket, teller=teller, outcome=Visit.Outcome.COMPLETED, identity_verified=True
    )


# --- 1. The lobby manager: register a walk-in and hand over a printed ticket ------------------------


def test_it_lets_the_lobby_manager_issue_and_print_a_ticket(
    open_page, branch, cash, counter, lobby_manager
):
    page = open_page("/login/")
    expect_language(page, ZH)
    login(page, lobby_manager.username)
    expect(page).to_have_url(re.compile(r"/reception/lobby/$"))  # the lobby manager's start page
    assert_htmx_loaded(page)

    page.locator("input[name=phone]").press_sequentially(PHONE)  # key by key, as typed
    # htmx looks the number up as it is typed: nobody has it yet.
    expect(page.locator("#customer-card")).to_have_text(in_language(ZH, "New customer"))
    page.locator(f"input[name=service][value='{cash.pk}']").check()
    page.locator("input[name=elderly]").check()
    # The first tap started the greeting clock (static/js/lobby.js): it is counting.
    expect(page.locator("[data-greeting-clock]")).to_be_visible()
    page.wait_for_timeout(1100)
    screenshot(page, "lobby")
    page.locator("button[name=action][value=ticket]").click()

    expect(page.locator(".ticket-big")).to_have_text("A001")
    visit = Visit.objects.select_related("ticket", "customer").get()
    assert (visit.customer.phone, visit.is_elderly) == (PHONE, True)
    # Greeted at the first tap (the seconds the tablet counted, on the server's clock), triaged
    # at the click.
    assert visit.channel == Visit.Channel.LOBBY
    assert visit.arrived_at == visit.greeted_at
    assert (visit.triaged_at - visit.greeted_at).total_seconds() >= 1
    assert visit.ticket.code == "A001"
    assert visit.ticket.priority == PriorityClass.CARE

    print_link = page.locator("a[href*='/print']")
    # ?print=1 opens the print dialog at once; the test looks at the page itself.
    page.goto(print_link.get_attribute("href").split("?")[0])
    expect(page.locator(".ticket-code")).to_have_text("A001")
    qr = page.locator(".ticket-qr img, .ticket-qr svg").first
    expect(qr).to_be_visible()
    assert qr.evaluate("el => el.tagName === 'svg' || el.naturalWidth > 0")  # really rendered


# --- 2. The teller: open the counter, call, serve, finish -----------------------------------------


def sit_at_counter(page: Page, teller, counter) -> None:
    """Log in (a teller starts on the counter list) and take this counter."""
    login(page, teller.username)
    expect(page).to_have_url(re.compile(r"/reception/counters/$"))
    page.locator(f"a[href$='/reception/counters/{counter.pk}/']").click()
    expect(page.locator("#panel")).to_be_visible()
    assert_htmx_loaded(page)


def test_it_lets_the_teller_call_serve_and_finish_a_customer(
    open_page, eager_celery, branch, cash, counter, lobby_manager, teller
):
    Counter.objects.filter(pk=counter.pk).update(is_open=False)  # the day starts closed
    visit = register(branch, cash, lobby_manager)
    page = open_page("/login/")
    sit_at_counter(page, teller, counter)
    expect_language(page, ZH)

    panel = page.locator("#panel")
    panel.locator("button[value=open]").click()
    expect(panel.locator(".state-open")).to_be_visible()
    panel.locator("button[value=call]").click()
    expect(panel.locator(".current-code")).to_have_text("A001")
    # The customer's card: masked phone only, never the full number.
    expect(panel.locator(".masked").first).to_have_text(MASKED_PHONE)
    assert PHONE not in page.content()

    panel.locator("button[value=start]").click()
    expect(panel.locator(".timer")).to_be_visible()
    panel.locator("input[name=checked_points][value=identity_verified]").check()
    panel.locator("select[name=outcome]").select_option(Visit.Outcome.COMPLETED.value)
    screenshot(page, "teller")
    panel.locator("button[value=finish]").click()
    expect(panel.locator("button[value=call]")).to_be_visible()  # free for the next customer
    expect(panel.locator(".current-code")).to_have_count(0)

    visit.refresh_from_db()
    visit.ticket.refresh_from_db()
    assert visit.ticket.status == TicketStatus.DONE
    assert (visit.outcome, visit.identity_verified) == (Visit.Outcome.COMPLETED, True)
    assert SurveyInvitation.objects.filter(
        customer=visit.customer, interaction__source=f"ticket:{visit.ticket.pk}"
    ).exists()


# --- 4. The customer: ticket status on the phone, then the survey ---------------------------------


def test_it_lets_a_customer_follow_the_ticket_and_answer_the_survey(
    open_page, eager_celery, branch, cash, counter, lobby_manager, teller
):
    visit = register(branch, cash, lobby_manager)
    ticket = visit.ticket
    phone = open_page(f"/queue/t/{ticket_status_token(ticket.pk)}/", viewport=PHONE_VIEWPORT)
    expect_language(phone, ZH)
    card = phone.locator("#ticket-state [data-status]")
    expect(card.locator(".status-code")).to_have_text(ticket.code)
    expect(card).to_have_attribute("data-status", "waiting")

    queue.ticket_call_next(counter=counter, teller=teller)
    # No reload: live.js notices the new queue version and swaps the card.
    go_to = in_language(ZH, "Please go to counter %(counter)s") % {"counter": 1}
    expect(card.locator(".status-call .go.zh")).to_have_text(go_to)
    expect(card.locator(".counter-number")).to_have_text("1")
    expect(card).to_have_attribute("data-status", "called")
    screenshot(phone, "customer")

    queue.ticket_start(ticket_id=ticket.pk, by=teller, branch=branch)
    reception.visit_complete_service(
        ticket=ticket, teller=teller, outcome=Visit.Outcome.COMPLETED, identity_verified=True
    )
    invitation = SurveyInvitation.objects.get(interaction__source=f"ticket:{ticket.pk}")

    survey = open_page(f"/survey/{survey_token(invitation.pk)}/", viewport=PHONE_VIEWPORT)
    expect_language(survey, ZH)
    expect(survey.locator("h1")).to_have_text(in_language(ZH, "How did we do?"))
    # The branch's default survey: four required ratings (their mean is the satisfaction).
    for question in ("waiting", "attitude", "professionalism", "environment"):
        survey.locator(f"input[name={question}][value='5']").check()
    survey.locator("input[name=recommend][value='9']").check()
    screenshot(survey, "survey")
    survey.locator("button.survey-submit").click()
    expect(survey.locator("h1")).to_have_text(in_language(ZH, "Thank you for your feedback!"))

    answer = SurveyResponse.objects.get(invitation=invitation)
    assert (answer.satisfaction, answer.recommend) == (5, 9)

    survey.reload()
    expect(survey.locator("h1")).to_have_text(
        in_language(ZH, "This survey has already been answered")
    )


# --- 5. The branch head: today's figures, and the language switch ---------------------------------


def kpi_value(page: Page, label: str):
    card = page.locator(".kpi-card").filter(has=page.get_by_text(label, exact=True))
    return card.locator(".kpi-value")


def test_it_shows_the_branch_head_todays_served_count_and_switches_to_english(
    open_page, eager_celery, branch, cash, counter, lobby_manager, teller, branch_head
):
    serve(register(branch, cash, lobby_manager), counter, teller)
    assert Interaction.objects.filter(kind=Interaction.Kind.BRANCH_SERVICE).count() == 1

    page = open_page("/login/")
    login(page, branch_head.username)
    expect(page).to_have_url(re.compile(r"/kpi/$"))  # the head's start page
    assert_htmx_loaded(page)
    expect_language(page, ZH)
    expect(page.locator(".kpi-heading h1")).to_have_text(in_language(ZH, "Today at the branch"))
    expect(kpi_value(page, in_language(ZH, "Served"))).to_have_text("1")
    screenshot(page, "head")

    page.locator("form.lang button[value=en]").click()
    expect_language(page, "en")
    expect(page.locator(".kpi-heading h1")).to_have_text("Today at the branch")
    expect(kpi_value(page, "Served")).to_have_text("1")
    expect(page.locator("form.logout button")).to_have_text("Log out")
