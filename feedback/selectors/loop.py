"""Reads of the closed loop: follow-ups, suggestions, and the branch head's feedback page."""

from collections import defaultdict
from datetime import date

from django.db.models import QuerySet
from django.utils import translation

from accounts.models import Branch
from accounts.timeutil import local_day_bounds

from .. import metrics
from ..models import FollowUp, Suggestion, SurveyInvitation, SurveyResponse, SurveyVersion

__all__ = [
    "feedback_report",
    "follow_ups_for_branch",
    "pad_answers_for_branch",
    "responses_filtered",
    "suggestions_for_branch",
    "survey_current_version",
]


def follow_ups_for_branch(*, branch: Branch) -> QuerySet[FollowUp]:
    return FollowUp.objects.filter(branch=branch).select_related("response", "closed_by")


def suggestions_for_branch(*, branch: Branch) -> QuerySet[Suggestion]:
    return Suggestion.objects.filter(branch=branch).select_related("author", "answered_by")


def survey_current_version(*, branch: Branch) -> SurveyVersion | None:
    """The branch's survey as customers answer it now: its latest published version."""
    return SurveyVersion.objects.filter(survey__branch=branch).order_by("-number").first()


def pad_answers_for_branch(*, branch: Branch) -> QuerySet[SurveyResponse]:
    return SurveyResponse.objects.filter(
        branch=branch, channel=SurveyResponse.Channel.COUNTER_PAD
    ).select_related("teller")


def responses_filtered(
    *,
    branch: Branch,
    channel: str = "",
    service_code: str = "",
    start: date | None = None,
    end: date | None = None,
    followed_up: bool | None = None,
) -> QuerySet[SurveyResponse]:
    """The API's response list: filters as given; `followed_up` True: those with a follow-up
    (any state), False: those without."""
    rows = SurveyResponse.objects.filter(branch=branch).select_related("follow_up")
    if channel:
        rows = rows.filter(channel=channel)
    if service_code:
        rows = rows.filter(service_code=service_code)
    for op, at in _period(branch, start, end).items():
        rows = rows.filter(**{f"submitted_at__{op}": at})
    if followed_up is not None:
        rows = rows.filter(follow_up__isnull=not followed_up)
    return rows


def _period(branch: Branch, start: date | None, end: date | None) -> dict:
    bounds = {}
    if start is not None:
        bounds["gte"] = local_day_bounds(branch, start)[0]
    if end is not None:
        bounds["lt"] = local_day_bounds(branch, end)[1]
    return bounds


def feedback_report(*, branch: Branch, start: date | None = None, end: date | None = None) -> dict:
    """The figures of the branch head's page for the dates (inclusive, the branch's days).

    Response rate = answered / sent invitations; CSAT per question = share of 4–5; NPS =
    promoters − detractors; by service and by teller; the comments with their follow-up."""
    bounds = _period(branch, start, end)
    invitations = SurveyInvitation.objects.filter(branch=branch)
    responses = SurveyResponse.objects.filter(branch=branch)
    for op, at in bounds.items():
        invitations = invitations.filter(**{f"created_at__{op}": at})
        responses = responses.filter(**{f"submitted_at__{op}": at})
    sent = invitations.filter(status__in=["sent", "answered"]).count()
    answered = invitations.filter(status="answered").count()
    rows = list(
        responses.select_related(
            "version", "teller", "follow_up", "invitation__interaction__staff"
        ).order_by("-submitted_at")
    )

    per_question: dict[str, list] = defaultdict(list)
    nps_scores: list = []
    labels: dict[str, str] = {}
    by_service: dict[str, list] = defaultdict(list)
    by_teller: dict[str, list] = defaultdict(list)
    comments = []
    for row in rows:
        questions = list(row.version.questions) if row.version_id else []
        for question in questions:
            labels.setdefault(str(question.get("key")), _question_label(question))
        rating_keys = metrics.question_keys(questions, "rating")
        if row.satisfaction is not None:
            per_question["satisfaction"].append(row.satisfaction)
        for key in rating_keys:
            value = metrics.as_int((row.answers or {}).get(key))
            if value is not None:
                per_question[key].append(value)
        nps_scores.append(row.recommend)
        for key in metrics.question_keys(questions, "nps"):
            if row.recommend is None:
                nps_scores.append(metrics.as_int((row.answers or {}).get(key)))
        score = row.satisfaction if row.satisfaction is not None else _pad_score(row.pad_rating)
        by_service[row.service_code or "—"].append(score)
        teller = _teller_name(row)
        by_teller[teller].append(score)
        follow_up = getattr(row, "follow_up", None)
        text = row.comment or row.pad_reason
        if text or follow_up is not None:
            comments.append({"response": row, "text": text, "follow_up": follow_up})

    return {
        "sent": sent,
        "answered": answered,
        "response_rate": metrics.response_rate(answered=answered, sent=sent),
        "responses": len(rows),
        "csat": [
            {"key": key, "label": labels.get(key, key), "csat": metrics.csat(scores)}
            for key, scores in per_question.items()
        ],
        "nps": metrics.nps(nps_scores),
        "by_service": _groups(by_service),
        "by_teller": _groups(by_teller),
        "comments": comments,
    }


def _question_label(question: dict) -> str:
    """The question's text in the reader's language (the version snapshot keeps all three)."""
    texts = question.get("text") if isinstance(question.get("text"), dict) else {}
    language = (translation.get_language() or "").lower()
    return str(texts.get(language) or texts.get("zh-hans") or question.get("key"))


def _teller_name(row: SurveyResponse) -> str:
    """Who served: the pad's teller, else the served visit's (an SMS answer rates a visit)."""
    user = row.teller
    if user is None and row.invitation_id is not None:
        user = row.invitation.interaction.staff
    return (user.get_full_name() or user.get_username()) if user is not None else "—"


def _pad_score(pad_rating: str) -> int | None:
    """A pad tap counted on the 1–5 scale for the per-service/teller CSAT."""
    return {"very": 5, "satisfied": 4, "dissatisfied": 2}.get(pad_rating)


def _groups(groups: dict[str, list]) -> list[dict]:
    return sorted(
        ({"name": name, "csat": metrics.csat(scores)} for name, scores in groups.items()),
        key=lambda g: g["name"],
    )
