from collections import defaultdict
from datetime import date

from django.db import transaction
from django.utils import timezone

from accounts.models import Branch
from feedback.selectors import satisfaction_for_day

from .metrics import ticket_figures
from .models import KpiSnapshot
from .selectors import diverted_count, ticket_rows


@transaction.atomic
def snapshot_recompute(*, branch: Branch, day: date) -> int:
    """Rebuild the day's snapshots (whole day, per hour, per service). Returns rows written."""
    rows = ticket_rows(branch=branch, day=day)
    groups: dict[tuple[int | None, str], list] = defaultdict(list)
    for row, hour in rows:
        groups[(None, "")].append(row)
        groups[(hour, "")].append(row)
        groups[(None, row.service_code)].append(row)
    satisfaction = satisfaction_for_day(branch=branch, day=day)
    now = timezone.now()
    KpiSnapshot.objects.filter(branch=branch, day=day).delete()
    snapshots = []
    for (hour, service_code), group in groups.items():
        figures = ticket_figures(group)
        whole_day = hour is None and service_code == ""
        snapshots.append(
            KpiSnapshot(
                branch=branch,
                day=day,
                hour=hour,
                service_code=service_code,
                issued=figures.issued,
                served=figures.served,
                no_shows=figures.no_shows,
                diverted=diverted_count(branch=branch, day=day) if whole_day else 0,
                avg_wait_s=figures.avg_wait_s,
                avg_handle_s=figures.avg_handle_s,
                within_target_share=figures.within_target_share,
                avg_satisfaction=satisfaction["avg"] if whole_day else None,
                responses=satisfaction["count"] if whole_day else 0,
                computed_at=now,
            )
        )
    KpiSnapshot.objects.bulk_create(snapshots)
    return len(snapshots)
