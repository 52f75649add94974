"""Signed survey links: they name one invitation; answering it once closes it. Also the
suggestion box's poster link (issue 8): the lobby QR code names the branch, signed.

How long a link works is the branch's FeedbackSettings.link_valid_days: the signature is checked
first (without age), then again with the invitation's branch's limit."""

from django.conf import settings
from django.core import signing

SALT = "feedback.survey"
_DEFAULT = object()


def survey_token(invitation_id: int) -> str:
    return signing.dumps(invitation_id, salt=SALT, compress=True)


def invitation_id_from_token(
    token: str, max_age_days: int | object | None = _DEFAULT
) -> int | None:
    """The invitation's id, or None if tampered or older than `max_age_days` (the project
    default unless given; None: any age)."""
    if max_age_days is _DEFAULT:
        max_age_days = settings.SURVEY_LINK_MAX_AGE_DAYS
    max_age = None if max_age_days is None else int(max_age_days) * 86400
    try:
        return int(signing.loads(token, salt=SALT, max_age=max_age))
    except (signing.BadSignature, TypeError, ValueError):
        return None


SUGGEST_SALT = "feedback.suggest"


def suggest_token(branch_id: int) -> str:
    """On a printed poster: never expires, the same every time (it only names the branch)."""
    return signing.Signer(salt=SUGGEST_SALT).sign(str(branch_id))


def branch_id_from_suggest_token(token: str) -> int | None:
    try:
        return int(signing.Signer(salt=SUGGEST_SALT).unsign(token))
    except (signing.BadSignature, TypeError, ValueError):
        return None
