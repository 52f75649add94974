"""A customer fills the pre-filled form (预填单) on their phone from the ticket's QR link; the teller
calls the ticket and sees the answers, the sensitive one masked. Screenshot for the README:
docs/screenshots/prefill-form.png."""

import pytest
from playwright.sync_api import expect

from queueing.links import ticket_status_token
from reception import services as reception
from reception.models import FormSubmission

from ..factories import FormFieldFactory, ServiceFormFactory
from .conftest import PHONE_VIEWPORT, SCREENSHOTS, assert_htmx_loaded, in_language, login

pytestmark = pytest.mark.browser

ZH = "zh-hans"
ID_NUMBER = "110101199003074512"
MASKED_ID = "**************4512"


@pytest.fixture
def loan_form(loans, lobby_manager):
    form = ServiceFormFactory(service=loans, title_zh="贷款预填单")
    specs = [
        ("full_name", "text", "姓名", True, False, ""),
        ("id_type", "id_type", "证件类型", True, False, ""),
        ("id_number", "text", "证件号码", True, True, ""),
        ("amount", "amount", "贷款金额（元）", True, False, ""),
        ("years", "number", "贷款年限", False, False, ""),
        ("purpose", "choice", "贷款用途", True, False, "home | 购房\ncar | 购车"),
        ("start", "date", "期望放款日", False, False, ""),
        ("agree", "yes_no", "同意查询征信", True, False, ""),
    ]
    for order, (key, kind, label, required, sensitive, choices) in enumerate(specs):
        FormFieldFactory(
            form=form,
            key=key,
            kind=kind,
            label_zh=label,
            label_en="",
            required=required,
            sensitive=sensitive,
            choices=choices,
            sort_order=order,
        )
    reception.form_publish(form, lobby_manager)
    return form


def test_the_customer_fills_the_form_and_the_teller_sees_it(
    open_page, branch, loans, counter, teller, lobby_manager, loan_form
):
    visit = reception.visit_register(
        branch=branch, registered_by=lobby_manager, phone="13800138000", service=loans, name="韩梅"
    )
    token = ticket_status_token(visit.ticket_id)

    # The customer, on their phone, from the ticket's QR code.
    phone = open_page(f"/queue/t/{token}/", viewport=PHONE_VIEWPORT)
    link = phone.locator("a.status-link[href*='/visit/form/']")
    expect(link).to_have_text(in_language(ZH, "Fill in your form before your turn"))
    link.click()
    expect(phone.locator("h1")).to_have_text("贷款预填单")
    phone.locator("#f_full_name").fill("韩梅")
    phone.locator("#f_id_type").select_option("resident_id")
    phone.locator("#f_id_number").fill(ID_NUMBER)
    phone.locator("#f_amount").fill("300000.555")  # one decimal too many
    phone.locator("#f_years").fill("20")
    phone.locator("#f_purpose").select_option("home")
    phone.locator("#f_start").fill("2030-06-30")
    phone.locator("label[for=f_agree-yes]").click()
    phone.locator("button[type=submit].survey-submit").click()

    amount = phone.locator("#field-amount")
    expect(amount).to_have_class("question prefill-field has-error")
    expect(amount.locator(".field-error")).to_have_text(
        in_language(ZH, "At most two decimal places (fen).")
    )
    expect(phone.locator("#f_id_number")).to_have_value(ID_NUMBER)  # kept while fixing
    assert not FormSubmission.objects.exists()

    phone.locator("#f_amount").fill("300000.50")
    phone.locator("button[type=submit].survey-submit").click()
    expect(phone.locator("h1")).to_have_text(in_language(ZH, "Your form is ready for the teller"))
    expect(phone.locator(".prefill-answers")).to_contain_text(MASKED_ID)
    expect(phone.locator(".prefill-answers")).not_to_contain_text(ID_NUMBER)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    phone.screenshot(path=str(SCREENSHOTS / "prefill-form.png"))
    phone.locator("a.prefill-button").click()
    expect(phone.locator(".status-code")).to_have_text(visit.ticket.code)

    # The teller calls the ticket at their counter and sees the answers.
    desk = open_page("/login/")
    login(desk, teller.username)
    desk.goto(f"/reception/counters/{counter.pk}/")
    assert_htmx_loaded(desk)
    desk.locator("button[name=action][value=call]").click()
    expect(desk.locator(".current-code")).to_have_text(visit.ticket.code)
    answers = desk.locator("#form-answers")
    expect(answers).to_contain_text("韩梅")
    expect(answers).to_contain_text("300,000.50")
    expect(answers.locator("[data-key=id_number] dd")).to_have_text(MASKED_ID)
    expect(answers).not_to_contain_text(ID_NUMBER)
    # "Show" reveals it to the serving teller (and writes the audit trail).
    answers.locator("button[type=submit]").click()
    expect(desk.locator("#form-answers [data-key=id_number] dd")).to_have_text(ID_NUMBER)
