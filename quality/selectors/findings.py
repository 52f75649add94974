"""Reads of findings: a branch's, the region's, "my findings"."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from accounts.models import Branch

from ..models import Attachment, Finding, FindingEvent

__all__ = ["finding_attachments", "finding_events", "findings_mine", "findings_of"]


def findings_of(*, branches: Iterable[Branch] | QuerySet[Branch]) -> QuerySet[Finding]:
    return (
        Finding.objects.filter(branch__in=branches)
        .select_related("branch", "item", "owner", "inspection")
        .order_by("status", "due_on", "id")
    )


def findings_mine(*, user) -> QuerySet[Finding]:
    """What the user must fix: open findings they own, the nearest deadline first."""
    return (
        Finding.objects.filter(owner=user, status=Finding.Status.OPEN)
        .select_related("branch", "item")
        .order_by("due_on", "id")
    )


def finding_events(*, finding: Finding) -> QuerySet[FindingEvent]:
    return finding.events.select_related("by").order_by("at", "id")


def finding_attachments(*, finding: Finding) -> QuerySet[Attachment]:
    return Attachment.objects.filter(finding=finding).order_by("pk")
