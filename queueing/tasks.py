"""Queueing's periodic work (beat: config/settings.py CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from . import services


@shared_task
def sweep_remote_tickets() -> dict:
    """Beat, every minute: remote tickets whose turn passed are marked (their grace starts),
    those whose grace is over, or whose branch has closed for the day, expire as no-shows."""
    skipped, expired = services.remote_tickets_sweep()
    return {"skipped": skipped, "expired": expired}
