from datetime import timedelta

from celery import shared_task

from accounts.models import Branch
from accounts.timeutil import branch_today

from . import services


@shared_task
def recompute_today() -> int:
    return sum(
        services.snapshot_recompute(branch=b, day=branch_today(b)) for b in Branch.objects.all()
    )


@shared_task
def recompute_yesterday() -> int:
    return sum(
        services.snapshot_recompute(branch=b, day=branch_today(b) - timedelta(days=1))
        for b in Branch.objects.all()
    )
