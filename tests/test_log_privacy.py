"""No phone or ID number reaches the logs: every line a full visit writes, through the logging
configuration production uses, errors and tracebacks included."""

import io
import logging
import re

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from accounts.logging import MaskingFormatter, mask_personal_data
from crm.models import Customer

PHONE = "13800138000"
ID_NUMBER = "11010519491231002X"
WRITTEN = [PHONE, "138-0013-8000", "138 0013 8000", "+86 138 0013 8000", "+8613800138000"]
ANY_FORM = re.compile(r"1\D{0,3}3\D{0,3}8\D{0,3}0\D{0,3}0\D{0,3}1\D{0,3}3\D{0,3}8\D{0,3}0")


@pytest.fixture
def log_output():
    """What the configured console handler writes (config/settings.py LOGGING), as text."""
    root = logging.getLogger()
    handlers = [h for h in root.handlers if isinstance(h.formatter, MaskingFormatter)]
    assert handlers, "LOGGING must give the root logger the masking formatter"
    buffer = io.StringIO()
    saved = [(h, h.setStream(buffer)) for h in handlers]
    level = root.level
    root.setLevel(logging.INFO)
    yield buffer
    root.setLevel(level)
    for handler, stream in saved:
        handler.setStream(stream)


@pytest.mark.parametrize("written", [*WRITTEN, "１３８００１３８０００", "١٣٨٠٠١٣٨٠٠٠"])
def test_the_mask_finds_a_number_however_it_is_written(written):
    assert mask_personal_data(f"customer {written} called") == "customer [phone] called"


@pytest.mark.django_db(transaction=True)
def test_a_full_visit_logs_no_phone_or_id_number(
    client, log_output, branch, cash, counter, lobby_manager, teller
):
    client.force_login(lobby_manager)
    for written in WRITTEN:
        client.post(reverse("reception:customer_lookup"), {"phone": written})
    client.post(
        reverse("reception:lobby"),
        {"phone": "138-0013-8000", "service": cash.pk, "action": "ticket", "sms_consent": "on"},
    )
    client.force_login(teller)
    for action, extra in [
        ("open", {}),
        ("call", {}),
        ("start", {}),
        ("finish", {"outcome": "completed", "identity_verified": "on"}),
    ]:
        client.post(
            reverse("reception:counter_action", args=[counter.pk]), {"action": action, **extra}
        )
    log = logging.getLogger("branchflow.test")
    # What a failure looks like: PostgreSQL quotes the row it refused, in the traceback.
    try:
        with transaction.atomic():
            Customer.objects.create(phone=PHONE)
    except IntegrityError:
        log.exception("could not register %s", PHONE)
    log.warning("customer %s with id %s", "+86 138-0013-8000", ID_NUMBER)
    # runserver's request line, with a number in the query string.
    logging.getLogger("django.server").info('"GET /crm/?phone=%s HTTP/1.1" 200 512', PHONE)

    output = log_output.getvalue()
    assert "[phone]" in output and "[id]" in output  # the lines were written, masked
    assert "Traceback" in output
    assert not ANY_FORM.search(output), [line for line in output.splitlines() if "138" in line]
    assert ID_NUMBER not in output
