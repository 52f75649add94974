"""Events queueing announces, always after the transaction commits.

queueing depends on no other domain app: reception, crm and the live screens listen here.
Receivers get `ticket_id`, `branch_id` and `action`; they load what they need themselves.
"""

from django.db import transaction
from django.dispatch import Signal

from .states import TicketAction

ticket_changed = Signal()  # any transition, including issue
ticket_finished = Signal()  # serving -> done (the visit's service is complete)
ticket_transferred = Signal()  # serving -> transferred; also gets `new_ticket_id`


def announce(*, ticket_id: int, branch_id: int, action: TicketAction, **extra) -> None:
    def send() -> None:
        payload = {"ticket_id": ticket_id, "branch_id": branch_id, "action": action, **extra}
        ticket_changed.send(sender=TicketAction, **payload)
        if action == TicketAction.FINISH:
            ticket_finished.send(sender=TicketAction, **payload)
        elif action == TicketAction.TRANSFER:
            ticket_transferred.send(sender=TicketAction, **payload)

    transaction.on_commit(send, robust=True)
