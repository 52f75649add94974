"""reception listens to queueing: a finished ticket becomes a CRM interaction."""

from django.dispatch import receiver

from queueing.events import ticket_changed, ticket_transferred
from queueing.states import TicketAction

from . import services


@receiver(ticket_changed, dispatch_uid="reception.ticket_ended")
def on_ticket_changed(sender, *, ticket_id: int, action, **kwargs) -> None:
    if action in (TicketAction.FINISH, TicketAction.NO_SHOW):
        services.visit_record_ticket_end(ticket_id=ticket_id)


@receiver(ticket_transferred, dispatch_uid="reception.ticket_transferred")
def on_ticket_transferred(sender, *, ticket_id: int, new_ticket_id: int, **kwargs) -> None:
    services.visit_follow_transfer(old_ticket_id=ticket_id, new_ticket_id=new_ticket_id)
