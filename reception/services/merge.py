"""Customer records merged in crm (crm.customers_merged): reception's rows follow the record."""

from django.db import transaction

from ..models import Appointment, Visit

__all__ = ["customer_rows_repoint"]


@transaction.atomic
def customer_rows_repoint(*, source_id: int, target_id: int) -> int:
    """Visits and appointments of the merged duplicate now belong to the record it was merged
    into. Idempotent (a replayed event finds nothing left to move). Returns rows moved."""
    moved = Visit.objects.filter(customer_id=source_id).update(customer_id=target_id)
    moved += Appointment.objects.filter(customer_id=source_id).update(customer_id=target_id)
    return moved
