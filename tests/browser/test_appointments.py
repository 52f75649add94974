"""A customer books a slot on their phone (verifying the number with the SMS code), later scans
the branch's QR poster, checks in and lands on their ticket page, with appointment priority.
Screenshots for the README: docs/screenshots/appointment-booking.png and appointments-day.png."""

import re
from datetime import time
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from feedback.sms import LocmemBackend
from queueing.models import Ticket
from queueing.routing import PriorityClass
from reception import links
from reception.models import Appointment, Visit

from ..factories import AppointmentPlanFactory
from .conftest import PHONE_VIEWPORT, SCREENSHOTS, STAFF_VIEWPORT, login

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("frozen_link_time")]

PHONE = "13800138000"
# A zone where it is daytime now, so today still has a slot that starts within minutes.
ZONES = ["Asia/Shanghai", "Europe/London", "America/New_York", "America/Los_Angeles", "Asia/Tokyo"]


@pytest.fixture
def open_all_day(branch, loans):
    now = timezone.now()
    branch.time_zone = next(
        zone for zone in ZONES if 1 <= timezone.localtime(now, ZoneInfo(zone)).hour <= 21
    )
    branch.opens_at, branch.closes_at = time(0, 0), time(23, 55)
    branch.save()
    # Five-minute slots: the next one starts within five minutes, inside the on-time window.
    return AppointmentPlanFactory(service=loans, slot_minutes=5, capacity=2, days_ahead=7)


def _sms_code() -> str:
    return re.search(r"\b(\d{6})\b", LocmemBackend.outbox[-1].body).group(1)


def test_a_customer_books_on_the_phone_and_checks_in_with_appointment_priority(
    open_page, branch, loans, open_all_day, lobby_manager
):
    phone = open_page(f"/visit/{branch.code}/book/", viewport=PHONE_VIEWPORT)
    phone.get_by_role("link", name=loans.name_zh).click()
    # Today is chosen; the first free time is the next five minutes.
    phone.locator(".visit-choice").first.click()
    phone.locator("form.visit-form button[type=submit]").click()

    # Not verified yet: the number, then the code from the SMS.
    phone.wait_for_url(re.compile(r"/visit/verify/"))
    phone.locator("#id_phone").fill(PHONE)
    phone.locator("button[value=send]").click()
    expect(phone.locator("#id_code")).to_be_visible()
    phone.locator("#id_code").fill(_sms_code())
    phone.locator("button[value=confirm]").click()

    phone.wait_for_url(re.compile(r"/book/confirm/"))
    expect(phone.get_by_text("138****8000")).to_be_visible()
    phone.locator("form.visit-form button[type=submit]").click()
    expect(phone.locator("[data-booked]")).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    phone.screenshot(path=str(SCREENSHOTS / "appointment-booking.png"))
    appointment = Appointment.objects.get()
    assert appointment.customer.phone == PHONE
    assert appointment.channel == Appointment.Channel.CUSTOMER

    # At the branch: the QR poster, "check in for my appointment", the ticket page.
    phone.goto(links.branch_url(branch.pk))
    phone.locator("[data-action=check-in]").click()
    phone.locator(".visit-card form button[type=submit]").click()
    phone.wait_for_url(re.compile(r"/queue/t/"))
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CHECKED_IN
    assert appointment.visit.channel == Visit.Channel.QR
    ticket = Ticket.objects.get(pk=appointment.visit.ticket_id)
    assert ticket.priority == PriorityClass.APPOINTMENT
    expect(phone.get_by_text(ticket.code).first).to_be_visible()

    # The lobby manager's day view shows the booking, checked in, with its ticket.
    staff = open_page("/", viewport=STAFF_VIEWPORT)
    login(staff, lobby_manager.username, next_path="/reception/appointments/")
    row = staff.locator(f"[data-appointment='{appointment.pk}']")
    expect(row).to_contain_text(ticket.code)
    expect(row).to_contain_text("138****8000")
    staff.screenshot(path=str(SCREENSHOTS / "appointments-day.png"))

    # The poster to print for the door: its QR code leads to the page the customer used.
    staff.locator("a[href='/reception/appointments/poster/']").first.click()
    expect(staff.locator("img.poster-qr")).to_be_visible()
    expect(staff.locator(".poster-url")).to_contain_text(links.branch_url(branch.pk))
