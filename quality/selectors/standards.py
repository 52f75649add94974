"""Service standards reads: the effective version, clauses by reference, who has read it."""

from dataclasses import dataclass
from datetime import date

from django.db.models import QuerySet
from django.utils import translation

from accounts.models import Branch, Membership
from accounts.names import pick_name

from ..models import ServiceStandard, StandardAcknowledgement, StandardClause, StandardVersion

__all__ = [
    "AckRow",
    "clause_text",
    "standard_acknowledgements",
    "standard_by_code",
    "standard_clause",
    "standard_effective_version",
    "standard_title",
    "standard_version",
    "standards_overview",
    "user_has_acknowledged",
]


def standard_title(standard: ServiceStandard, language: str | None = None) -> str:
    return pick_name(
        language or translation.get_language() or "zh-hans",
        zh_hans=standard.title_zh,
        zh_hant=standard.title_zh_hant,
        en=standard.title_en,
    )


def clause_text(clause: StandardClause, language: str | None = None) -> str:
    return pick_name(
        language or translation.get_language() or "zh-hans",
        zh_hans=clause.text_zh,
        zh_hant=clause.text_zh_hant,
        en=clause.text_en,
    )


def standard_by_code(code: str) -> ServiceStandard | None:
    return ServiceStandard.objects.filter(code=code).first()


def _published(standard: ServiceStandard) -> QuerySet[StandardVersion]:
    return standard.versions.filter(status=StandardVersion.Status.PUBLISHED)


def standard_effective_version(standard: ServiceStandard, today: date) -> StandardVersion | None:
    """The latest published version whose effective date has come (`today`: the branch's)."""
    return _published(standard).filter(effective_from__lte=today).order_by("-number").first()


def standard_version(standard: ServiceStandard, number: int) -> StandardVersion | None:
    return standard.versions.filter(number=number).select_related("published_by").first()


def standards_overview(*, today: date, user=None) -> list[dict]:
    """Every standard in use with its effective version and the next one already published,
    and whether `user` has read the effective one. Three queries, whatever the count."""
    standards = list(ServiceStandard.objects.filter(is_active=True).order_by("code"))
    versions = StandardVersion.objects.filter(
        standard__in=standards, status=StandardVersion.Status.PUBLISHED
    ).order_by("standard_id", "-number")
    effective: dict[int, StandardVersion] = {}
    upcoming: dict[int, StandardVersion] = {}
    for version in versions:
        if version.effective_from <= today:
            effective.setdefault(version.standard_id, version)
        elif version.standard_id not in effective:
            upcoming[version.standard_id] = version  # the earliest number wins: later rows
    read: set[int] = set()
    if user is not None and user.is_authenticated:
        read = set(
            StandardAcknowledgement.objects.filter(
                user=user, version__in=list(effective.values())
            ).values_list("version_id", flat=True)
        )
    return [
        {
            "standard": standard,
            "title": standard_title(standard),
            "effective": effective.get(standard.pk),
            "upcoming": upcoming.get(standard.pk),
            "read": standard.pk in effective and effective[standard.pk].pk in read,
        }
        for standard in standards
    ]


def standard_clause(code: str, number: str, today: date) -> StandardClause | None:
    """The clause `number` of the standard's effective version (else of its latest published
    version that has it): a control point's reference "SOP-CASH 3.2". None if nothing fits."""
    standard = standard_by_code(code)
    if standard is None:
        return None
    effective = standard_effective_version(standard, today)
    if effective is not None:
        clause = effective.clauses.select_related("version__standard").filter(number=number).first()
        if clause is not None:
            return clause
    return (
        StandardClause.objects.select_related("version__standard")
        .filter(
            version__standard=standard,
            version__status=StandardVersion.Status.PUBLISHED,
            number=number,
        )
        .order_by("-version__number")
        .first()
    )


def user_has_acknowledged(version: StandardVersion, user) -> bool:
    return StandardAcknowledgement.objects.filter(version=version, user=user).exists()


@dataclass(frozen=True)
class AckRow:
    user_id: int
    name: str
    roles: list[str]
    acknowledged_at: object


def standard_acknowledgements(*, version: StandardVersion, branch: Branch) -> dict:
    """Who of the branch's active staff has read `version`, and who not yet."""
    memberships = Membership.objects.filter(branch=branch, is_active=True).select_related("user")
    people: dict[int, dict] = {}
    for membership in memberships:
        if not membership.user.is_active:
            continue
        row = people.setdefault(membership.user_id, {"user": membership.user, "roles": []})
        row["roles"].append(membership.get_role_display())
    acks = dict(
        StandardAcknowledgement.objects.filter(
            version=version, user_id__in=list(people)
        ).values_list("user_id", "acknowledged_at")
    )
    done, missing = [], []
    for user_id, row in sorted(people.items(), key=lambda item: item[1]["user"].username):
        user = row["user"]
        entry = AckRow(
            user_id=user_id,
            name=user.get_full_name() or user.get_username(),
            roles=row["roles"],
            acknowledged_at=acks.get(user_id),
        )
        (done if user_id in acks else missing).append(entry)
    return {"done": done, "missing": missing, "total": len(people)}
