"""The customer record (issue 7, customers): the branch head opens a customer, sees one timeline
with a visit and a note, reveals the phone with a reason (logged), and merges a duplicate.
Saves docs/screenshots/customer-record.png at the tablet's 1024×768."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from crm import services as crm
from crm.models import Customer, Interaction, RevealLog
from reception.models import Visit
from reception.services import visit_record_outcome

from ..factories import CustomerFactory
from .conftest import SCREENSHOTS, assert_htmx_loaded, login

pytestmark = pytest.mark.browser

TABLET = {"width": 1024, "height": 768}
PHONE = "13912345678"
OTHER = "13787654321"
ID_NUMBER = "110101199001011234"


def test_the_branch_head_reads_reveals_and_merges(
    open_page, branch, cash, lobby_manager, branch_head
):
    visit = visit_record_outcome(
        branch=branch,
        registered_by=lobby_manager,
        route=Visit.Route.ANSWERED,
        phone=PHONE,
        name="王芳",
        service=cash,
    )
    customer = visit.customer
    Customer.objects.filter(pk=customer.pk).update(id_number=ID_NUMBER, tier="gold")
    crm.interaction_record(
        customer=customer,
        branch=branch,
        kind=Interaction.Kind.NOTE,
        occurred_at=timezone.now(),
        summary="Prefers morning appointments",
        staff=lobby_manager,
    )
    duplicate = CustomerFactory(phone=OTHER, name="王芳", id_number=ID_NUMBER)
    crm.customer_mark_known(customer=duplicate, branch=branch, at=timezone.now())
    crm.interaction_record(
        customer=duplicate,
        branch=branch,
        kind=Interaction.Kind.NOTE,
        occurred_at=timezone.now(),
        summary="Registered again with the work phone",
    )

    page = open_page("/login/", viewport=TABLET)
    login(page, branch_head.username, next_path=f"/crm/customers/{customer.pk}/")
    assert_htmx_loaded(page)

    timeline = page.locator(".crm-timeline")
    expect(timeline.locator(".timeline-entry.kind-visit")).to_have_count(1)
    expect(timeline.locator(".timeline-entry.kind-note")).to_contain_text(
        "Prefers morning appointments"
    )
    # The visit's own interaction is not shown twice.
    expect(timeline.locator(".timeline-entry.kind-interaction")).to_have_count(0)

    phone_cell = page.locator("#reveal-phone")
    expect(phone_cell).to_contain_text("139****5678")
    expect(phone_cell).not_to_contain_text(PHONE)
    phone_cell.locator("input[name=reason]").fill("Customer asked us to confirm the number")
    phone_cell.locator("button[type=submit]").click()
    expect(phone_cell.locator(".revealed")).to_have_text(PHONE)
    log = RevealLog.objects.get()
    assert (log.by, log.field) == (branch_head, "phone")
    assert "/crm/customers/" in page.url and PHONE not in page.url

    duplicates = page.locator(".crm-duplicates")
    expect(duplicates).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "customer-record.png"), full_page=True)

    duplicates.locator("input[name=confirm]").check()
    duplicates.locator("button[type=submit]").click()
    expect(page.locator(".crm-duplicates")).to_have_count(0)
    expect(timeline.locator(".timeline-entry.kind-note")).to_have_count(2)
    expect(page.locator(".crm-timeline")).to_contain_text("Registered again with the work phone")
    duplicate.refresh_from_db()
    assert duplicate.merged_into_id == customer.pk
    assert Interaction.objects.filter(customer=customer).count() == 3
