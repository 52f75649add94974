"""Signed links for the customer's own reception pages (no login, nothing else reachable):
an appointment's manage page (in its SMS) and the branch's QR poster."""

from django.conf import settings
from django.core import signing
from django.urls import reverse

APPOINTMENT_SALT = "reception.appointment"
# The manage link is in the confirmation SMS: it stays valid past any bookable day.
APPOINTMENT_MAX_AGE_S = 120 * 24 * 3600
BRANCH_SALT = "reception.branch-poster"


def appointment_token(appointment_id: int) -> str:
    return signing.dumps(appointment_id, salt=APPOINTMENT_SALT, compress=True)


def appointment_id_from_token(token: str) -> int | None:
    try:
        return int(signing.loads(token, salt=APPOINTMENT_SALT, max_age=APPOINTMENT_MAX_AGE_S))
    except (signing.BadSignature, TypeError, ValueError):
        return None


def appointment_url(appointment_id: int, *, absolute: bool = False) -> str:
    path = reverse("visit:appointment", args=[appointment_token(appointment_id)])
    return settings.PUBLIC_BASE_URL.rstrip("/") + path if absolute else path


def branch_token(branch_id: int) -> str:
    """The token on the branch's printed QR poster: it does not expire (the poster stays on
    the wall) and is the same every time it is made (no timestamp), so a reprinted poster
    shows the same code; it only names the branch, which is public anyway."""
    return signing.Signer(salt=BRANCH_SALT).sign(str(branch_id))


def branch_id_from_token(token: str) -> int | None:
    try:
        return int(signing.Signer(salt=BRANCH_SALT).unsign(token))
    except (signing.BadSignature, TypeError, ValueError):
        return None


def branch_url(branch_id: int, *, absolute: bool = False) -> str:
    path = reverse("visit:branch", args=[branch_token(branch_id)])
    return settings.PUBLIC_BASE_URL.rstrip("/") + path if absolute else path
