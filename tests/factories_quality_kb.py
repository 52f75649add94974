"""Factories for the knowledge base and service standards (helper H)."""

from datetime import date

from django.utils import timezone

from quality import services
from quality.models import ServiceStandard
from tests.factories import UserFactory


def superuser(username: str = "platform"):
    user = UserFactory(username=username)
    user.is_superuser = True
    user.is_staff = True
    user.save()
    return user


def published_entry(*, branch=None, author, reviewer, **content):
    """An entry taken through draft → review → publish (author and reviewer must differ)."""
    content.setdefault("question_zh", "银行卡挂失怎么办")
    content.setdefault("answer_zh", "携带身份证到柜台办理挂失。")
    entry = services.entry_create_draft(branch=branch, by=author, **content)
    services.entry_submit(entry, by=author)
    services.entry_publish(entry, by=reviewer)
    entry.refresh_from_db()
    return entry


def published_standard(*, by, code="SOP-CASH", clauses=None, effective_from=None, title="现金业务"):
    standard = ServiceStandard.objects.create(code=code, title_zh=title, title_en="Cash")
    version = services.standard_version_draft(
        standard,
        by=by,
        effective_from=effective_from or date(2020, 1, 1),
        clauses=clauses
        or [
            {"number": "3.1", "text_zh": "核实客户身份。", "text_en": "Verify the identity."},
            {
                "number": "3.2",
                "text_zh": "当面点清现金。",
                "text_en": "Count the cash in front of the customer.",
            },
        ],
        now=timezone.now(),
    )
    services.standard_version_publish(version, by=by)
    version.refresh_from_db()
    return standard, version
