"""Reception's Celery tasks (beat calls them; each calls a service)."""

from celery import shared_task

from . import services


@shared_task
def queue_appointment_reminders() -> int:
    """Beat, every 5 minutes: publish the reminder SMS of appointments now within their
    branch's reminder lead time (once per appointment and time booked)."""
    return services.appointment_reminders_queue()


@shared_task
def mark_appointment_no_shows() -> int:
    """Beat, every 5 minutes: booked appointments whose window has passed become no-shows."""
    return services.appointments_mark_no_show()


@shared_task
def refresh_lobby_alerts() -> int:
    """Beat, every minute: raise and clear every branch's lobby alerts (waits grow while
    nothing happens); returns how many are open."""
    return services.lobby_alerts_refresh_all()


@shared_task
def purge_phone_verifications() -> int:
    """Beat, hourly: verification codes older than a day are of no use: deleted."""
    from .verification import verifications_purge

    return verifications_purge()


@shared_task
def purge_form_answers() -> int:
    """Beat, nightly: pre-filled form answers past PREFILL_RETENTION_DAYS are erased."""
    from django.conf import settings

    return services.form_answers_purge(retention_days=settings.PREFILL_RETENTION_DAYS)
