"""reception listens to queueing through the outbox: a ticket that ended becomes a CRM
interaction. Delivered at least once; `interaction_record` is idempotent by its source.

It also frees the counters of a teller who signs out (Django's user_logged_out signal)."""

from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver

from accounts.models import OutboxEvent
from accounts.outbox import listener
from crm.events import CUSTOMERS_MERGED
from queueing import events
from queueing import services as queue_services

from . import services


@listener(events.TICKET_FINISHED, events.TICKET_NO_SHOW, name="reception.record_ticket_end")
def record_ticket_end(event: OutboxEvent) -> None:
    services.visit_record_ticket_end(ticket_id=event.payload["ticket_id"])


@receiver(user_logged_out, dispatch_uid="reception.release_counters_on_logout")
def release_counters_on_logout(sender, request, user, **kwargs) -> None:
    """Signing out must not leave a counter open under the teller's name: it is closed, or,
    with a customer still at it, left paused and free for a colleague to sit down and finish
    (queueing.services.counter_release_teller)."""
    if user is not None:
        queue_services.counter_release_teller(teller=user)


# --- Appointments -------------------------------------------------------------------------------


@listener(services.APPOINTMENT_NOTICE, name="reception.send_appointment_notice")
def send_appointment_notice(event: OutboxEvent) -> None:
    """Confirmation and reminder SMS (idempotency key per appointment, kind and time booked)."""
    services.appointment_notice_send(
        appointment_id=event.payload["appointment_id"],
        kind=event.payload["kind"],
        n=event.payload.get("n", 0),
    )


# --- Customer records merged (crm) --------------------------------------------------------------


@listener(CUSTOMERS_MERGED, name="reception.repoint_merged_customer")
def repoint_merged_customer(event: OutboxEvent) -> None:
    services.customer_rows_repoint(
        source_id=event.payload["source_id"], target_id=event.payload["target_id"]
    )
