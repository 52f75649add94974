from celery import shared_task
from django.conf import settings

from . import services


@shared_task
def anonymise_expired_customers() -> int:
    return services.customers_anonymise_expired(retention_days=settings.CRM_RETENTION_DAYS)
