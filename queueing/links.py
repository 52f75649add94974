"""Signed links a customer uses to follow their own ticket (no login, nothing else reachable)."""

from django.core import signing

SALT = "queueing.ticket-status"
MAX_AGE_S = 24 * 3600


def ticket_status_token(ticket_id: int) -> str:
    return signing.dumps(ticket_id, salt=SALT, compress=True)


def ticket_id_from_token(token: str) -> int | None:
    try:
        return int(signing.loads(token, salt=SALT, max_age=MAX_AGE_S))
    except (signing.BadSignature, TypeError, ValueError):
        return None
