"""Signed survey links: they name one invitation; answering it once closes it."""

from django.conf import settings
from django.core import signing

SALT = "feedback.survey"


def survey_token(invitation_id: int) -> str:
    return signing.dumps(invitation_id, salt=SALT, compress=True)


def invitation_id_from_token(token: str) -> int | None:
    try:
        return int(
            signing.loads(token, salt=SALT, max_age=settings.SURVEY_LINK_MAX_AGE_DAYS * 86400)
        )
    except (signing.BadSignature, TypeError, ValueError):
        return None
