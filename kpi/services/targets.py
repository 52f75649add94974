"""Setting a branch's KPI targets (a use case: one transaction; the range rule is checked here
too, not only by the API's serializer)."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from accounts.errors import DomainError
from accounts.models import Branch

from ..metrics import METRICS
from ..models import KpiTarget
from ..ranking import target_in_bounds

__all__ = ["kpi_target_set"]


@transaction.atomic
def kpi_target_set(*, branch: Branch, metric: str, value: float) -> KpiTarget:
    """Set (or change) `branch`'s target for `metric` (a kpi.metrics.METRICS key)."""
    definition = METRICS.get(metric)
    if definition is None:
        raise DomainError(_("Unknown KPI."), code="unknown_metric")
    if not target_in_bounds(definition, float(value)):
        raise DomainError(_("This target is outside the KPI's range."), code="out_of_range")
    target, _created = KpiTarget.objects.update_or_create(
        branch=branch, metric=metric, defaults={"value": float(value)}
    )
    return target
