"""A customer proves a mobile number is theirs with a one-time SMS code, before booking or queueing
from their phone. Neither the number nor the code is stored: only keyed hashes (HMAC with
SECRET_KEY), so the table is useless to whoever reads it without the key.

The verified number is kept in the customer's session for VERIFIED_FOR (30 minutes): long enough
to book, short enough that a borrowed phone does not stay "theirs".
"""

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.errors import DomainError
from crm.personal_data import parse_phone
from feedback.sms import SmsMessage, get_backend

from .models import PhoneVerification

log = logging.getLogger(__name__)

CODE_VALID_FOR = timedelta(minutes=10)
RESEND_AFTER = timedelta(seconds=60)
MAX_CODES_PER_HOUR = 5
MAX_ATTEMPTS = 5
VERIFIED_FOR = timedelta(minutes=30)
SESSION_KEY = "visit_verified_phone"


class VerificationError(DomainError):
    """Shown to the customer on the verification page (field: phone or code)."""


def _hash(kind: str, value: str) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(
        key, f"reception.verification:{kind}:{value}".encode(), hashlib.sha256
    ).hexdigest()


def _valid_phone(phone: str) -> str:
    normalised = parse_phone(phone or "")
    if normalised is None:
        raise VerificationError(_("Enter a valid mobile number."), code="phone")
    return normalised


def request_code(*, phone: str, now: datetime | None = None) -> None:
    """Send a 6-digit code to `phone`: at most one a minute and MAX_CODES_PER_HOUR an hour.

    A code is useless after 10 minutes, so it is sent here, in the request, once its row is
    committed, and not through the outbox (whose retries could deliver it hours late). If the
    gateway fails, the row is deleted (so it does not count against the limits) and the customer
    is told to try again: they simply ask for a new code.
    """
    now = now or timezone.now()
    normalised = _valid_phone(phone)
    phone_hash = _hash("phone", normalised)
    code = f"{secrets.randbelow(10**6):06d}"
    with transaction.atomic():
        recent = list(
            PhoneVerification.objects.filter(
                phone_hash=phone_hash, created_at__gt=now - timedelta(hours=1)
            ).values_list("created_at", flat=True)
        )
        if any(created > now - RESEND_AFTER for created in recent):
            raise VerificationError(
                _("A code was sent less than a minute ago. Please wait a moment."), code="phone"
            )
        if len(recent) >= MAX_CODES_PER_HOUR:
            raise VerificationError(
                _("Too many codes were sent to this number. Please try again in an hour."),
                code="phone",
            )
        verification = PhoneVerification.objects.create(
            phone_hash=phone_hash,
            code_hash=_hash("code", code),
            created_at=now,
            expires_at=now + CODE_VALID_FOR,
        )
    body = gettext("Your BranchFlow verification code is %(code)s. It expires in 10 minutes.") % {
        "code": code
    }
    try:
        get_backend().send(
            SmsMessage(
                to=normalised,
                body=body,
                reference=f"verification:{verification.pk}",
                idempotency_key=f"verification:{verification.pk}",
            )
        )
    except Exception:
        log.exception("Verification SMS %s not sent", verification.pk)
        PhoneVerification.objects.filter(pk=verification.pk).delete()
        raise VerificationError(
            _("We could not send the code just now. Please try again."), code="phone"
        ) from None


def confirm_code(
    request: HttpRequest, *, phone: str, code: str, now: datetime | None = None
) -> None:
    """Check the latest code sent to `phone` (MAX_ATTEMPTS tries per code); on success the
    number is verified in this session for VERIFIED_FOR."""
    now = now or timezone.now()
    normalised = _valid_phone(phone)
    code = (code or "").strip()
    error: VerificationError | None = None
    with transaction.atomic():
        verification = (
            PhoneVerification.objects.select_for_update()
            .filter(phone_hash=_hash("phone", normalised), verified_at__isnull=True)
            .order_by("-created_at", "-pk")
            .first()
        )
        if verification is None or verification.expires_at <= now:
            error = VerificationError(
                _("This code has expired. Please ask for a new one."), code="code"
            )
        elif verification.attempts >= MAX_ATTEMPTS:
            error = VerificationError(
                _("Too many wrong codes. Please ask for a new one."), code="code"
            )
        else:
            verification.attempts += 1
            if hmac.compare_digest(verification.code_hash, _hash("code", code)):
                verification.verified_at = now
            else:
                error = VerificationError(_("That code is not right."), code="code")
            # Saved before raising: a wrong guess must count.
            verification.save(update_fields=["attempts", "verified_at"])
    if error is not None:
        raise error
    request.session[SESSION_KEY] = {
        "phone": normalised,
        "until": (now + VERIFIED_FOR).isoformat(),
    }
    request.session.cycle_key()


def verified_phone(request: HttpRequest, now: datetime | None = None) -> str | None:
    """The number this session verified, while the verification lasts."""
    data = request.session.get(SESSION_KEY)
    if not isinstance(data, dict):
        return None
    try:
        until = datetime.fromisoformat(data["until"])
    except (KeyError, TypeError, ValueError):
        return None
    if until <= (now or timezone.now()):
        return None
    return data.get("phone") or None


def forget_phone(request: HttpRequest) -> None:
    request.session.pop(SESSION_KEY, None)


def safe_next(request: HttpRequest, target: str | None) -> str | None:
    """`target` if it is a local path (never another site, never '//host')."""
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and url_has_allowed_host_and_scheme(target, allowed_hosts=None)
    ):
        return target
    return None


def verify_url(next_path: str) -> str:
    return reverse("visit:verify") + "?" + urlencode({"next": next_path})


def phone_verified_required(view: Callable) -> Callable:
    """A public view only for a customer whose session has a verified number; others go to
    visit:verify first and come back here."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if verified_phone(request) is None:
            return HttpResponseRedirect(verify_url(request.get_full_path()))
        return view(request, *args, **kwargs)

    return wrapped


def verifications_purge(
    *, now: datetime | None = None, older_than: timedelta = timedelta(days=1)
) -> int:
    """Delete verification rows past any use (the hourly limit looks back one hour)."""
    now = now or timezone.now()
    deleted, _rows = PhoneVerification.objects.filter(created_at__lt=now - older_than).delete()
    return deleted
