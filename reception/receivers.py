"""reception listens to queueing through the outbox: a ticket that ended becomes a CRM
interaction. Delivered at least once; `interaction_record` is idempotent by its source."""

from accounts.models import OutboxEvent
from accounts.outbox import listener
from queueing import events

from . import services


@listener(events.TICKET_FINISHED, events.TICKET_NO_SHOW, name="reception.record_ticket_end")
def record_ticket_end(event: OutboxEvent) -> None:
    services.visit_record_ticket_end(ticket_id=event.payload["ticket_id"])
