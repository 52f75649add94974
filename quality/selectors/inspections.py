"""Reads of inspections: checklists, an inspection with its items, schedules and coverage."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.db.models import Max, QuerySet

from accounts.models import Branch

from .. import scoring
from ..models import (
    Attachment,
    Checklist,
    Finding,
    Inspection,
    InspectionKind,
    InspectionResult,
    InspectionSchedule,
)

__all__ = [
    "CoverageRow",
    "checklists_in_use",
    "coverage_rows",
    "coverage_summary",
    "inspection_items",
    "inspections_of",
    "recheck_item_ids",
]


def checklists_in_use(*, self_check: bool | None = None) -> QuerySet[Checklist]:
    rows = Checklist.objects.filter(is_active=True).order_by("code")
    if self_check is True:
        rows = rows.filter(kind=InspectionKind.SELF_CHECK)
    elif self_check is False:
        rows = rows.exclude(kind=InspectionKind.SELF_CHECK)
    return rows


def inspections_of(*, branches: Iterable[Branch] | QuerySet[Branch]) -> QuerySet[Inspection]:
    return (
        Inspection.objects.filter(branch__in=branches)
        .select_related("branch", "checklist", "inspector")
        .order_by("-visited_on", "-id")
    )


def recheck_item_ids(*, inspection: Inspection) -> set[int]:
    """Items of this inspection that re-check an earlier finding of the branch (the page shows
    "re-check" on them)."""
    return set(
        Finding.objects.filter(branch_id=inspection.branch_id)
        .exclude(recheck_passed=True)
        .exclude(inspection=inspection)
        .filter(inspection__started_at__lt=inspection.started_at)
        .values_list("item_id", flat=True)
    )


def inspection_items(*, inspection: Inspection) -> list[dict]:
    """The items in checklist order, each with its answer, photos and re-check flag: 3 queries."""
    results = list(
        InspectionResult.objects.filter(inspection=inspection)
        .select_related("item")
        .order_by("item__sort_order", "item_id")
    )
    photos: dict[int, list[Attachment]] = {}
    for attachment in Attachment.objects.filter(result__inspection=inspection).order_by("pk"):
        photos.setdefault(attachment.result_id, []).append(attachment)
    rechecks = recheck_item_ids(inspection=inspection)
    return [
        {
            "result": result,
            "item": result.item,
            "photos": photos.get(result.pk, []),
            "recheck": result.item_id in rechecks,
            "outcome": (
                ""
                if not result.answered
                else {True: "pass", False: "fail", None: "na"}[result.passed]
            ),
        }
        for result in results
    ]


@dataclass
class CoverageRow:
    branch: Branch
    schedule: InspectionSchedule
    last_visit: date | None
    due_by: date
    overdue: bool
    covered_this_quarter: bool


def coverage_rows(
    *, branches: Iterable[Branch] | QuerySet[Branch], today: date
) -> list[CoverageRow]:
    """One row per active schedule of the branches: last submitted inspection with the
    schedule's checklist, when the next is due, overdue or not. Two queries."""
    schedules = list(
        InspectionSchedule.objects.filter(branch__in=branches, is_active=True)
        .select_related("branch", "checklist")
        .order_by("branch__code", "checklist__code")
    )
    last = {
        (row["branch_id"], row["checklist_id"]): row["last"]
        for row in Inspection.objects.filter(
            branch__in=[s.branch_id for s in schedules], status=Inspection.Status.SUBMITTED
        )
        .values("branch_id", "checklist_id")
        .annotate(last=Max("visited_on"))
    }
    q_first, q_last = scoring.quarter_bounds(*scoring.quarter_of(today))
    rows = []
    for schedule in schedules:
        last_visit = last.get((schedule.branch_id, schedule.checklist_id))
        due_by = scoring.due_after(
            last_visit=last_visit,
            starts_on=schedule.starts_on,
            frequency=schedule.frequency,
            today=today,
        )
        rows.append(
            CoverageRow(
                branch=schedule.branch,
                schedule=schedule,
                last_visit=last_visit,
                due_by=due_by,
                overdue=due_by < today,
                covered_this_quarter=last_visit is not None and q_first <= last_visit <= q_last,
            )
        )
    return rows


def coverage_summary(rows: list[CoverageRow]) -> dict:
    """The quarter's coverage: branches with a schedule and how many had every scheduled
    checklist done this quarter ("100 % coverage" when all did)."""
    by_branch: dict[int, bool] = {}
    for row in rows:
        by_branch[row.branch.pk] = by_branch.get(row.branch.pk, True) and row.covered_this_quarter
    total = len(by_branch)
    covered = sum(1 for ok in by_branch.values() if ok)
    return {
        "branches": total,
        "covered": covered,
        "percent": round(100.0 * covered / total, 1) if total else None,
        "overdue": sum(1 for row in rows if row.overdue),
    }
