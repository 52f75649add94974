"""The suggestion box's poster link (issue 8): the lobby QR code names the branch, signed."""

from django.core import signing

SUGGEST_SALT = "feedback.suggest"


def suggest_token(branch_id: int) -> str:
    """On a printed poster: never expires, the same every time (it only names the branch)."""
    return signing.Signer(salt=SUGGEST_SALT).sign(str(branch_id))


def branch_id_from_suggest_token(token: str) -> int | None:
    try:
        return int(signing.Signer(salt=SUGGEST_SALT).unsign(token))
    except (signing.BadSignature, TypeError, ValueError):
        return None
