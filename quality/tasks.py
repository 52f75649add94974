"""Beat tasks of quality: finding reminders and escalation (see services.findings)."""

from celery import shared_task
from django.utils import timezone

from . import services


@shared_task
def check_findings() -> tuple[int, int]:
    """Hourly: remind owners before a finding's deadline, escalate overdue ones. Both are
    idempotent (once per finding and level), so running it twice changes nothing."""
    today = timezone.localdate()
    return (
        services.findings_remind_due(today=today),
        services.findings_escalate_overdue(today=today),
    )
