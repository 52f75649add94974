"""Survey definitions (per branch, versioned), the branch's invitation settings, the customer's
answers to the current version, and the opt-out from the survey page."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Branch
from accounts.versioning import publish_snapshot
from crm.models import ConsentSource
from crm.services import customer_find_or_create

from .. import policy
from ..links import invitation_id_from_token
from ..models import (
    FeedbackSettings,
    SurveyDefinition,
    SurveyInvitation,
    SurveyQuestion,
    SurveyResponse,
    SurveyVersion,
)
from .core import SurveyError
from .loop import follow_up_open_for

__all__ = [
    "DEFAULT_QUESTIONS",
    "contact_rules_for",
    "link_valid_days_for",
    "survey_answers_submit",
    "survey_current_version",
    "survey_ensure",
    "survey_opt_out",
    "survey_publish",
    "version_questions_for",
]

# key, kind, required, texts (zh-hans, zh-hant, en). Stored as data: the branch edits them.
DEFAULT_QUESTIONS = [
    ("waiting", "rating", True, ("您对等候时间满意吗？", "您對等候時間滿意嗎？", "How satisfied were you with the waiting time?")),
    ("attitude", "rating", True, ("您对员工的服务态度满意吗？", "您對員工的服務態度滿意嗎？", "How satisfied were you with the staff's attitude?")),
    ("professionalism", "rating", True, ("您对员工的专业程度满意吗？", "您對員工的專業程度滿意嗎？", "How satisfied were you with the staff's professionalism?")),
    ("environment", "rating", True, ("您对网点环境满意吗？", "您對網點環境滿意嗎？", "How satisfied were you with the branch's environment?")),
    ("recommend", "nps", False, ("您有多大可能向朋友推荐我们？", "您有多大可能向朋友推薦我們？", "How likely are you to recommend us to a friend?")),
    ("comment", "comment", False, ("您还有什么想告诉我们的吗？（选填）", "您還有甚麼想告訴我們的嗎？（選填）", "Anything else you would like to tell us? (optional)")),
]  # fmt: skip


def contact_rules_for(branch: Branch) -> policy.ContactRules:
    """The branch's FeedbackSettings as policy rules; the project defaults where it has none."""
    row = FeedbackSettings.objects.filter(branch=branch).first()
    if row is None:
        return policy.ContactRules(delay=timedelta(minutes=settings.SURVEY_DELAY_MINUTES))
    return policy.ContactRules(
        quiet_from=row.quiet_from,
        quiet_until=row.quiet_until,
        min_days_between_surveys=row.min_days_between_surveys,
        delay=timedelta(minutes=row.delay_minutes),
        sampling_percent=row.sampling_percent,
    )


def link_valid_days_for(branch_id: int) -> int:
    row = FeedbackSettings.objects.filter(branch_id=branch_id).only("link_valid_days").first()
    return row.link_valid_days if row is not None else settings.SURVEY_LINK_MAX_AGE_DAYS


def _snapshot(survey: SurveyDefinition) -> list[dict]:
    return [
        {
            "key": q.key,
            "kind": q.kind,
            "required": q.required,
            "service_code": q.service_code,
            "text": {"zh-hans": q.text_zh, "zh-hant": q.text_zh_hant, "en": q.text_en},
        }
        for q in survey.questions.filter(is_active=True).order_by("sort_order", "pk")
    ]


@transaction.atomic
def survey_publish(
    survey: SurveyDefinition, by: AbstractBaseUser | None = None, *, now=None
) -> SurveyVersion | None:
    """Freeze the survey's questions as its next version, unless they are those of the latest
    version already (then that one is returned). No questions: nothing published (None)."""
    survey = SurveyDefinition.objects.select_for_update().get(pk=survey.pk)
    return publish_snapshot(
        SurveyVersion.objects.filter(survey=survey),
        snapshot=_snapshot(survey),
        snapshot_field="questions",
        extra={
            "survey": survey,
            "created_at": now or timezone.now(),
            "created_by": by if by is not None and by.is_authenticated else None,
        },
    )


@transaction.atomic
def survey_ensure(branch: Branch) -> SurveyDefinition:
    """The branch's survey; a new branch gets the default questions, published as version 1."""
    survey, created = SurveyDefinition.objects.get_or_create(branch=branch)
    if created:
        SurveyQuestion.objects.bulk_create(
            SurveyQuestion(
                survey=survey,
                key=key,
                kind=kind,
                required=required,
                text_zh=texts[0],
                text_zh_hant=texts[1],
                text_en=texts[2],
                sort_order=(n + 1) * 10,
            )
            for n, (key, kind, required, texts) in enumerate(DEFAULT_QUESTIONS)
        )
        survey_publish(survey)
    return survey


def survey_current_version(branch: Branch) -> SurveyVersion | None:
    survey = survey_ensure(branch)
    latest = survey.versions.order_by("-number").first()
    return latest or survey_publish(survey)


def version_questions_for(version: SurveyVersion, service_code: str) -> list[dict]:
    """The version's questions asked after this service (general ones and its own)."""
    return [q for q in version.questions if q["service_code"] in ("", service_code)]


def _overall_satisfaction(questions: list[dict], answers: dict) -> int | None:
    """ "overall" if the survey asks it, else the mean of the ratings, rounded half up."""
    if isinstance(answers.get("overall"), int):
        return answers["overall"]
    ratings = [
        answers[q["key"]] for q in questions if q["kind"] == "rating" and q["key"] in answers
    ]
    if not ratings:
        return None
    return int(sum(ratings) / len(ratings) + 0.5)


def _clean(question: dict, raw) -> object:
    kind = question["kind"]
    if kind == "comment":
        return str(raw or "").strip()[:1000] or None
    if raw in (None, ""):
        return None
    if kind == "yes_no":
        if raw in (True, "yes", "1", 1):
            return True
        if raw in (False, "no", "0", 0):
            return False
        raise SurveyError(_("Answer yes or no."), code=question["key"])
    try:
        value = int(raw)
    except (TypeError, ValueError):
        value = -1
    low, high = (1, 5) if kind == "rating" else (0, 10)
    if not low <= value <= high:
        message = _("Choose from 1 to 5 stars.") if kind == "rating" else _("Choose from 0 to 10.")
        raise SurveyError(message, code=question["key"])
    return value


@transaction.atomic
def survey_answers_submit(
    *, token: str, raw_answers: dict, language: str = "", version_id: int | None = None
) -> SurveyResponse:
    """Record the customer's answers to the version they saw; the link works once.

    `satisfaction` (the overall or mean rating) and `recommend` (the NPS answer) are kept in
    their columns as well, so the KPIs read answers of every version alike."""
    from .core import invitation_from_token

    found = invitation_from_token(token)
    if found is None:
        raise SurveyError(_("This survey link is not valid or has expired."), code="bad_link")
    invitation = SurveyInvitation.objects.select_for_update().get(pk=found.pk)
    if invitation.status == SurveyInvitation.Status.ANSWERED:
        raise SurveyError(_("Thank you, this survey has already been answered."), code="answered")
    version = None
    if version_id is not None:
        version = SurveyVersion.objects.filter(
            pk=version_id, survey__branch_id=invitation.branch_id
        ).first()
    version = version or survey_current_version(found.branch)
    questions = version_questions_for(version, found.interaction.service_code)
    answers: dict = {}
    for question in questions:
        value = _clean(question, raw_answers.get(question["key"]))
        if value is None:
            if question["required"]:
                message = (
                    _("Choose from 1 to 5 stars.")
                    if question["kind"] == "rating"
                    else _("Please answer this question.")
                )
                raise SurveyError(message, code=question["key"])
            continue
        answers[question["key"]] = value
    nps = next(
        (answers[q["key"]] for q in questions if q["kind"] == "nps" and q["key"] in answers), None
    )
    comment = next(
        (answers[q["key"]] for q in questions if q["kind"] == "comment" and q["key"] in answers), ""
    )
    now = timezone.now()
    response = SurveyResponse.objects.create(
        invitation=invitation,
        branch_id=invitation.branch_id,
        channel=SurveyResponse.Channel.SMS_LINK,
        satisfaction=_overall_satisfaction(questions, answers),
        recommend=nps,
        comment=comment,
        submitted_at=now,
        version=version,
        answers=answers,
        language=language[:10],
        service_code=found.interaction.service_code[:30],
    )
    invitation.status, invitation.answered_at = SurveyInvitation.Status.ANSWERED, now
    invitation.save(update_fields=["status", "answered_at"])
    follow_up_open_for(response)  # a bad answer reaches the branch head (services/loop.py)
    return response


@transaction.atomic
def survey_opt_out(*, token: str) -> bool:
    """The customer asks for no more SMS from us: crm withdraws the consent (recorded as given
    via their phone). Works with a valid link, answered or not. True if done."""
    invitation_id = invitation_id_from_token(token, max_age_days=None)
    invitation = (
        SurveyInvitation.objects.select_related("customer").filter(pk=invitation_id).first()
        if invitation_id is not None
        else None
    )
    if invitation is None or not invitation.customer.phone:
        return False
    customer_find_or_create(
        phone=invitation.customer.phone,
        sms_consent=False,
        consent_source=ConsentSource.PHONE_PAGE,
    )
    return True
