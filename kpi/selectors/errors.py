"""Errors (差错) per category: the one KPI breakdown the rollups do not carry (a category is
not a rollup dimension; errors are few, so one aggregate over ServiceError answers it)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from django.db.models import Count

from accounts.models import Branch
from accounts.timeutil import local_day_bounds
from reception.models import ServiceError

__all__ = ["errors_by_category"]


def errors_by_category(
    *,
    branches: Iterable[Branch],
    date_from: date,
    date_to: date,
    service_ids: Sequence[int] | None = None,
    teller_id: int | None = None,
) -> list[dict]:
    """[{"category_id", "code", "name_zh", "name_zh_hant", "name_en", "errors"}], most first:
    errors recorded in each branch's local days date_from..date_to (as the rollups count
    them). The error rate of a category is its count over the slice's `served`."""
    rows: dict[int, dict] = {}
    for branch in branches:
        start, _ = local_day_bounds(branch, date_from)
        _, end = local_day_bounds(branch, date_to)
        errors = ServiceError.objects.filter(
            branch=branch, recorded_at__gte=start, recorded_at__lt=end
        )
        if service_ids:
            errors = errors.filter(service_id__in=service_ids)
        if teller_id is not None:
            errors = errors.filter(teller_id=teller_id)
        for row in (
            errors.order_by()
            .values(
                "category_id",
                "category__code",
                "category__name_zh",
                "category__name_zh_hant",
                "category__name_en",
            )
            .annotate(errors=Count("pk"))
        ):
            entry = rows.setdefault(
                row["category_id"],
                {
                    "category_id": row["category_id"],
                    "code": row["category__code"],
                    "name_zh": row["category__name_zh"],
                    "name_zh_hant": row["category__name_zh_hant"],
                    "name_en": row["category__name_en"],
                    "errors": 0,
                },
            )
            entry["errors"] += row["errors"]
    return sorted(rows.values(), key=lambda r: (-r["errors"], r["code"]))
