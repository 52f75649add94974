"""Service standards (操作规程): versions drafted and published by the platform operator, and
each member of staff's "I have read this" once per version."""

from collections.abc import Iterable
from datetime import date, datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.errors import DomainError
from accounts.models import Branch

from ..models import ServiceStandard, StandardAcknowledgement, StandardClause, StandardVersion

__all__ = [
    "StandardError",
    "standard_acknowledge",
    "standard_version_draft",
    "standard_version_publish",
]


class StandardError(DomainError):
    pass


def _platform(user: AbstractBaseUser) -> None:
    if not (user.is_authenticated and user.is_superuser):
        raise StandardError(_("Only the platform operator edits standards."), "forbidden")


@transaction.atomic
def standard_version_draft(
    standard: ServiceStandard,
    *,
    by: AbstractBaseUser,
    effective_from: date,
    summary: str = "",
    clauses: Iterable[dict] = (),
    now: datetime | None = None,
) -> StandardVersion:
    """A new draft version (number: the next), with clauses {number, text_zh, text_zh_hant,
    text_en} in the order given."""
    _platform(by)
    standard = ServiceStandard.objects.select_for_update().get(pk=standard.pk)
    last = standard.versions.aggregate(n=Max("number"))["n"] or 0
    version = StandardVersion.objects.create(
        standard=standard,
        number=last + 1,
        effective_from=effective_from,
        summary=(summary or "")[:300],
        created_by=by,
        created_at=now or timezone.now(),
    )
    seen: set[str] = set()
    rows = []
    for order, clause in enumerate(clauses):
        number = str(clause.get("number", "")).strip()
        if not number or number in seen or not str(clause.get("text_zh", "")).strip():
            raise StandardError(
                _("Each clause needs its own number and a Chinese text."), "clauses"
            )
        seen.add(number)
        rows.append(
            StandardClause(
                version=version,
                number=number[:12],
                text_zh=clause["text_zh"],
                text_zh_hant=clause.get("text_zh_hant", ""),
                text_en=clause.get("text_en", ""),
                sort_order=order,
            )
        )
    StandardClause.objects.bulk_create(rows)
    return version


@transaction.atomic
def standard_version_publish(
    version: StandardVersion, *, by: AbstractBaseUser, now: datetime | None = None
) -> StandardVersion:
    """Freeze a draft; it becomes effective on its effective_from (the branch's local day)."""
    _platform(by)
    version = StandardVersion.objects.select_for_update().get(pk=version.pk)
    if version.status != StandardVersion.Status.DRAFT:
        raise StandardError(_("This version is published already."), "status")
    if not version.clauses.exists():
        raise StandardError(_("A version needs at least one clause."), "clauses")
    version.status = StandardVersion.Status.PUBLISHED
    version.published_at = now or timezone.now()
    version.published_by = by
    version.save(update_fields=["status", "published_at", "published_by"])
    return version


def standard_acknowledge(
    version: StandardVersion,
    *,
    user: AbstractBaseUser,
    branch: Branch,
    now: datetime | None = None,
) -> StandardAcknowledgement:
    """ "I have read this": once per person and version (a second click returns the first)."""
    if version.status != StandardVersion.Status.PUBLISHED:
        raise StandardError(_("Only a published version can be acknowledged."), "status")
    existing = StandardAcknowledgement.objects.filter(version=version, user=user).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return StandardAcknowledgement.objects.create(
                version=version, user=user, branch=branch, acknowledged_at=now or timezone.now()
            )
    except IntegrityError:  # a double click raced us: the first one stands
        return StandardAcknowledgement.objects.get(version=version, user=user)
