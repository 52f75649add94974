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
