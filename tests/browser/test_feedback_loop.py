"""The closed loop (issue 8, item 9): a finished visit's SMS (the locmem backend) opens the survey,
a low score opens a follow-up, the branch head records the call back and closes it. Saves
docs/screenshots/feedback-report.png."""

import re
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from crm.models import Interaction
from crm.services import interaction_record
from feedback.models import FollowUp, SurveyInvitation
from feedback.sms import LocmemBackend

from ..factories import CustomerFactory
from .conftest import PHONE_VIEWPORT, SCREENSHOTS, login

pytestmark = pytest.mark.browser


def test_a_low_score_reaches_the_branch_head_who_closes_it(
    open_page, branch, branch_head, teller, eager_celery
):
    customer = CustomerFactory(phone="13912345678", sms_consent=True, preferred_language="en")
    interaction_record(
        customer=customer,
        branch=branch,
        kind=Interaction.Kind.BRANCH_SERVICE,
        occurred_at=timezone.now(),
        service_code="cash",
        staff=teller,
    )
    invitation = SurveyInvitation.objects.get(customer=customer)
    if not LocmemBackend.outbox:  # a delay or quiet hours: send it now, as beat would
        SurveyInvitation.objects.filter(pk=invitation.pk).update(
            status="scheduled", scheduled_for=timezone.now(), skip_reason=""
        )
        from feedback.services import invitation_send

        invitation_send(invitation_id=invitation.pk)
    [sms] = LocmemBackend.outbox
    url = re.search(r"https?://\S+", sms.body).group(0)

    phone = open_page(urlsplit(url).path, viewport=PHONE_VIEWPORT, locale="en-US")
    for stars in phone.locator(".stars").all():
        stars.locator("label.star").first.click()  # one star everywhere
    for nps in phone.locator(".nps").all():
        nps.locator("label.nps-option").nth(3).click()  # 3 of 10: a detractor
    comment = phone.locator(".survey-form textarea")
    if comment.count():
        comment.first.fill("Waited far too long")
    phone.locator(".survey-form button[type=submit]").click()
    expect(phone.locator(".survey-message")).to_be_visible()
    follow_up = FollowUp.objects.get(response__invitation=invitation)
    assert follow_up.status == FollowUp.Status.OPEN

    head = open_page("/login/", locale="en-US")
    login(head, branch_head.username, next_path="/survey/staff/follow-ups/?status=open")
    head.locator(f'tr[data-follow-up="{follow_up.pk}"] a').click()
    head.locator(".follow-up-call textarea").first.fill("Called: apologised, faster next time")
    head.locator("[data-action=record-call]").click()
    expect(head.locator(".follow-up-result")).to_contain_text("apologised")
    head.locator("[data-action=close]").click()
    expect(head.locator("[data-status]").first).to_have_attribute("data-status", "done")
    follow_up.refresh_from_db()
    assert follow_up.status == FollowUp.Status.DONE and follow_up.closed_by == branch_head

    head.goto("/survey/staff/report/")
    expect(head.locator("[data-figure=response-rate]")).to_contain_text("100 %")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    head.screenshot(path=str(SCREENSHOTS / "feedback-report.png"), full_page=True)
