from celery import shared_task
from django.conf import settings

from . import services


@shared_task
def anonymise_expired_customers() -> int:
    return services.customers_anonymise_expired(retention_days=settings.CRM_RETENTION_DAYS)


# --- Care reminders (issue 7) -------------------------------------------------------------------


@shared_task
def apply_care_rules() -> int:
    """Every branch's care rules (deposit maturing, ID expiring, VIP birthday): idempotent, so a
    second run the same day creates nothing. Run by hand: `apply_care_rules.delay()` or
    `manage.py shell -c "from crm.tasks import apply_care_rules; apply_care_rules()"`."""
    return services.care_rules_run()


# --- Complaints (issue 7) -------------------------------------------------------------------------


@shared_task
def check_complaint_deadlines() -> tuple[int, int]:
    """Every 15 minutes: remind before a complaint's deadline, escalate after a missed one."""
    return services.complaints_check_deadlines()
