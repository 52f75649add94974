from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

HEARTBEAT_KEY = "celery:last-heartbeat"


@shared_task
def heartbeat() -> str:
    """Beat schedules this; a worker running it proves beat, broker and worker all work."""
    now = timezone.now().isoformat()
    cache.set(HEARTBEAT_KEY, now, timeout=3600)
    return now


@shared_task(ignore_result=True)
def deliver_outbox_events(event_ids: list[int], limit: int = 1000) -> int:
    """After commit (accounts.outbox.nudge): deliver just-committed events at once."""
    from . import outbox

    return outbox.deliver_due(event_ids=event_ids, limit=limit).delivered


@shared_task
def relay_outbox() -> int:
    """Beat: deliver every due outbox delivery the after-commit nudges did not (crash, error)."""
    from django.conf import settings

    from . import outbox

    report = outbox.deliver_due(limit=settings.OUTBOX_SWEEP_LIMIT)
    return report.delivered


@shared_task
def purge_outbox() -> int:
    """Nightly: delete delivered events past OUTBOX_RETENTION_DAYS (undelivered ones stay)."""
    from django.conf import settings

    from . import outbox

    return outbox.purge_delivered(older_than_days=settings.OUTBOX_RETENTION_DAYS)
