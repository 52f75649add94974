"""A teller finds a knowledge-base answer from the counter screen (issue 10, item 8): the
panel shows the current service's entries, the search answers in place (Chinese, two
characters), and a control point links to its standard's clause. Saves
docs/screenshots/journey-quality-kb-counter.png."""

import re

import pytest
from playwright.sync_api import expect

from queueing import services as queueing
from reception import services as reception

from ..factories import ControlPointFactory
from ..factories_quality_kb import published_entry, published_standard, superuser
from .conftest import assert_htmx_loaded, login, screenshot

pytestmark = pytest.mark.browser


def test_a_teller_finds_a_knowledge_base_answer_at_the_counter(
    open_page, branch, cash, loans, counter, teller
):
    platform, second = superuser("platform"), superuser("platform2")
    published_entry(
        author=platform,
        reviewer=second,
        question_zh="大额取现需要预约吗",
        answer_zh="单笔取现5万元以上请提前一天预约。",
        service_codes=["cash"],
    )
    published_entry(
        author=platform,
        reviewer=second,
        question_zh="银行卡挂失怎么办",
        answer_zh="携带本人身份证到任一网点办理挂失和补卡。",
        service_codes=["card"],
    )
    published_standard(by=platform)
    ControlPointFactory(
        service=cash, key="cash_counted", label_zh="当面点清现金", clause_ref="SOP-CASH 3.2"
    )
    reception.control_points_publish(cash)
    queueing.ticket_issue(branch=branch, service=cash)

    page = open_page("/login/")
    login(page, teller.username)
    page.goto(f"/reception/counters/{counter.pk}/")
    assert_htmx_loaded(page)
    panel = page.locator("#panel")
    panel.locator("button[value=call]").click()
    panel.locator("button[value=start]").click()
    expect(panel.locator(".timer")).to_be_visible()

    # The control point names its clause; the link goes to the standard's clause page.
    clause = panel.locator("a.clause-link")
    expect(clause).to_have_text("§ SOP-CASH 3.2")
    expect(clause).to_have_attribute(
        "href", re.compile(r"/quality/standards/SOP-CASH/clause/3\.2/$")
    )

    # The knowledge base panel: the cash entries first, without typing anything.
    kb = page.locator("[data-kb-panel]")
    expect(kb).to_contain_text("大额取现需要预约吗")
    expect(kb).not_to_contain_text("银行卡挂失怎么办")

    # A two-character search answers in place, across services.
    kb.locator("input[name=q]").fill("挂失")
    kb.locator("button[type=submit]").first.click()
    kb = page.locator("[data-kb-panel]")
    expect(kb).to_contain_text("银行卡挂失怎么办")
    kb.locator("summary", has_text="银行卡挂失怎么办").click()
    expect(kb.locator(".kb-answer").first).to_contain_text("携带本人身份证")
    expect(page).to_have_url(re.compile(rf"/reception/counters/{counter.pk}/$"))  # in place
    kb.scroll_into_view_if_needed()
    screenshot(page, "quality-kb-counter")

    # The clause page opens.
    page.goto(clause.get_attribute("href"))
    expect(page.locator("h1")).to_contain_text("SOP-CASH 3.2")
