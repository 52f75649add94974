"""The SMS gateway's webhooks (no login, no CSRF token: a gateway posts them).

The authority is the signature: `X-Signature` is the hex HMAC-SHA256 of the raw body with
SMS_WEBHOOK_SECRET (compared in constant time); anything else is a 403. JSON bodies.
"""

import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts.throttle import rate_limited

from .. import services

__all__ = ["sms_inbound_hook", "sms_receipt_hook"]

MAX_HOOK_BODY = 256 * 1024


def _signed_json(request: HttpRequest) -> tuple[object, HttpResponse | None]:
    body = request.body
    if len(body) > MAX_HOOK_BODY:
        return None, JsonResponse({"detail": "too large"}, status=413)
    if not services.webhook_signature_valid(body, request.headers.get("X-Signature", "")):
        return None, JsonResponse({"detail": "bad signature"}, status=403)
    try:
        return json.loads(body), None
    except ValueError:
        return None, JsonResponse({"detail": "not JSON"}, status=400)


@csrf_exempt  # a gateway has no CSRF token: the body's HMAC signature is checked instead
@require_POST
@rate_limited("sms_hook")
def sms_receipt_hook(request: HttpRequest) -> HttpResponse:
    """One receipt (an object) or many (a list): `message_id` (or Aliyun's `biz_id`), `status`
    ("delivered"/…) or `success` (bool), `delivered_at` (or `report_time`)."""
    data, refused = _signed_json(request)
    if refused is not None:
        return refused
    receipts = data if isinstance(data, list) else [data]
    if not all(isinstance(item, dict) for item in receipts):
        return JsonResponse({"detail": "expected objects"}, status=400)
    updated = services.delivery_receipts_record(receipts=receipts[:1000])
    return JsonResponse({"updated": updated})


@csrf_exempt  # a gateway has no CSRF token: the body's HMAC signature is checked instead
@require_POST
@rate_limited("sms_hook")
def sms_inbound_hook(request: HttpRequest) -> HttpResponse:
    """A customer's reply: `from` (or `phone_number`) and `content` (or `body`)."""
    data, refused = _signed_json(request)
    if refused is not None:
        return refused
    if not isinstance(data, dict):
        return JsonResponse({"detail": "expected an object"}, status=400)
    sender = data.get("from") or data.get("phone_number")
    text = data.get("content") if "content" in data else data.get("body")
    if not isinstance(sender, str) or not isinstance(text, str) or not sender.strip():
        return JsonResponse({"detail": "from and content are required"}, status=400)
    inbound = services.inbound_sms_record(from_number=sender, body=text)
    return JsonResponse({"action": inbound.action})
