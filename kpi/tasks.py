"""Beat keeps the rollups current (docs/kpi.md, "How the rollups stay current")."""

import logging
from datetime import timedelta

from celery import shared_task
from django.db import DatabaseError
from django.utils import timezone

from accounts.models import Branch
from accounts.timeutil import branch_today

from . import services
from .models import KpiDay

log = logging.getLogger(__name__)

# Days rebuilt per run of recompute_dirty: a rebuild is a few hundred milliseconds, so a run
# stays well inside its 60 s period; what is left waits for the next run (oldest first).
DIRTY_BATCH = 50
# Late changes without an event (answers, complaint steps, ...) are looked for this far back
# on every run: two periods, so a run that was skipped or slow loses nothing.
CHANGED_LOOKBACK = timedelta(minutes=3)
RECENT_DAYS = 7


@shared_task
def recompute_dirty(batch: int = DIRTY_BATCH) -> int:
    """Rebuild the days marked dirty, oldest mark first. Returns the days rebuilt."""
    services.kpi_days_mark_changed(since=timezone.now() - CHANGED_LOOKBACK)
    dirty = (
        KpiDay.objects.filter(dirty=True)
        .select_related("branch")
        .order_by("marked_at", "pk")[:batch]
    )
    done = 0
    for kpi_day in list(dirty):
        try:
            services.rollup_recompute_day(branch=kpi_day.branch, day=kpi_day.day)
        except DatabaseError:
            # The day stays dirty and is tried again next run; the others go ahead.
            log.exception("kpi: rebuilding %s %s failed", kpi_day.branch_id, kpi_day.day)
            continue
        done += 1
    return done


@shared_task
def recompute_today() -> int:
    """Today's rows for every branch (tickets waiting or at a counter have no event yet)."""
    return sum(
        services.rollup_recompute_day(branch=b, day=branch_today(b)) for b in Branch.objects.all()
    )


@shared_task
def recompute_recent(days: int = RECENT_DAYS) -> int:
    """Nightly: the last week of every branch (late survey answers, complaint resolutions,
    deadlines passed), in each branch's own time zone."""
    rows = 0
    for branch in Branch.objects.all():
        today = branch_today(branch)
        _, written = services.rollup_recompute_range(
            branches=[branch], date_from=today - timedelta(days=days), date_to=today
        )
        rows += written
    return rows
