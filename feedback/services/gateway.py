"""The SMS gateway's webhooks: delivery receipts and the customers' replies (opt-out)."""

import hashlib
import hmac
import logging
import unicodedata
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from crm.models import ConsentSource, Customer
from crm.personal_data import mask_phone, normalise_phone
from crm.services import customer_find_or_create

from ..models import DeliveryStatus, InboundSms, SurveyInvitation

__all__ = [
    "OPT_OUT_WORDS",
    "delivery_receipts_record",
    "inbound_sms_record",
    "is_opt_out_reply",
    "webhook_signature_valid",
]

log = logging.getLogger(__name__)

# MIIT: a reply of one of these stops our SMS. Compared after NFKC (full-width ＴＤ is TD),
# upper-casing, and trimming spaces and punctuation.
OPT_OUT_WORDS = frozenset({"TD", "退订", "退訂", "STOP", "UNSUBSCRIBE"})
DELIVERED_WORDS = frozenset({"delivered", "delivrd", "success", "ok"})


def webhook_signature_valid(body: bytes, signature: str) -> bool:
    """`signature` is the hex HMAC-SHA256 of the raw body with SMS_WEBHOOK_SECRET.
    No secret configured: nothing is valid (the hooks are closed)."""
    secret = settings.SMS_WEBHOOK_SECRET
    if not secret or not signature:
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature.strip().lower())


def is_opt_out_reply(text: str) -> bool:
    """'TD', 'td', 'ＴＤ', ' 退订 ', 'Stop.' are opt-outs; 'TD please call me' is not."""
    normalised = unicodedata.normalize("NFKC", text or "").upper()
    word = normalised.strip().strip(".,!?。，！？;；:：\"'“”‘’()（）[]【】").strip()
    return word in OPT_OUT_WORDS


def _receipt_status(item: dict) -> str:
    if "success" in item:
        return DeliveryStatus.DELIVERED if item["success"] is True else DeliveryStatus.UNDELIVERED
    word = str(item.get("status", "")).strip().lower()
    return DeliveryStatus.DELIVERED if word in DELIVERED_WORDS else DeliveryStatus.UNDELIVERED


def _receipt_time(item: dict) -> datetime:
    raw = item.get("delivered_at") or item.get("report_time")
    parsed = parse_datetime(raw) if isinstance(raw, str) else None
    if parsed is None:
        return timezone.now()
    if timezone.is_naive(parsed):  # Aliyun: "2026-11-24 10:00:00", Beijing time
        parsed = timezone.make_aware(parsed, timezone.get_fixed_timezone(8 * 60))
    return parsed


@transaction.atomic
def delivery_receipts_record(*, receipts: list[dict]) -> int:
    """Update the invitations the receipts name (by the gateway's message id: `message_id`, or
    Aliyun's `biz_id`). A receipt for an unknown id is ignored; a delivered message stays
    delivered. Returns how many invitations changed."""
    changed = 0
    for item in receipts:
        if not isinstance(item, dict):
            continue
        message_id = str(item.get("message_id") or item.get("biz_id") or "").strip()[:80]
        if not message_id:
            continue
        status = _receipt_status(item)
        updates = {"delivery_status": status}
        if status == DeliveryStatus.DELIVERED:
            updates["delivered_at"] = _receipt_time(item)
        changed += (
            SurveyInvitation.objects.filter(provider_message_id=message_id)
            .exclude(delivery_status=DeliveryStatus.DELIVERED)
            .update(**updates)
        )
    return changed


@transaction.atomic
def inbound_sms_record(*, from_number: str, body: str) -> InboundSms:
    """Log a customer's reply (number masked); an opt-out word withdraws their SMS consent
    through crm (recorded as given via the customer's phone, with its time and wording)."""
    phone = normalise_phone(from_number or "")
    body = (body or "")[:500]
    action = "none"
    if is_opt_out_reply(body):
        customer = Customer.objects.filter(phone=phone).first() if phone else None
        if customer is None:
            action = "opt_out_unknown_number"
        elif not customer.sms_consent:
            action = "opt_out_already"
        else:
            # Never creates a customer: only an existing record gets here.
            customer_find_or_create(
                phone=phone, sms_consent=False, consent_source=ConsentSource.PHONE_PAGE
            )
            action = "opted_out"
    log.info("inbound SMS from %s: %s", mask_phone(phone), action)
    return InboundSms.objects.create(
        received_at=timezone.now(), from_masked=mask_phone(phone)[:20], body=body, action=action
    )
