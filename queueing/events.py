"""Events queueing publishes: durable, through the outbox (accounts.outbox).

queueing depends on no other domain app: reception, crm and the live screens listen here.
Each transition writes one outbox event in the ticket's own transaction, so an event exists if
and only if the change committed. Listeners get `event.payload`: `ticket_id`, `branch_id`,
`action`, plus `new_ticket_id` on a transfer; they load what they need themselves.

Live screens are told separately, after commit and best effort (queueing.broadcast): a screen
that misses a push still finds the change by polling the database-backed queue version.
"""

from django.db import transaction

from accounts import outbox

from .states import TicketAction

TICKET_ISSUED = "queueing.ticket_issued"
TICKET_CALLED = "queueing.ticket_called"
TICKET_RECALLED = "queueing.ticket_recalled"
TICKET_STARTED = "queueing.ticket_started"
TICKET_FINISHED = "queueing.ticket_finished"  # serving -> done: the visit's service is complete
TICKET_NO_SHOW = "queueing.ticket_no_show"
TICKET_CANCELLED = "queueing.ticket_cancelled"
TICKET_TRANSFERRED = "queueing.ticket_transferred"  # payload also has `new_ticket_id`
TICKET_REINSTATED = "queueing.ticket_reinstated"  # cancelled -> waiting: "customer left" undone
# remote -> waiting: the customer who joined from their phone checked in at the branch.
TICKET_CHECKED_IN = "queueing.ticket_checked_in"

TOPIC_FOR_ACTION = {
    TicketAction.ISSUE: TICKET_ISSUED,
    TicketAction.CALL: TICKET_CALLED,
    TicketAction.RECALL: TICKET_RECALLED,
    TicketAction.START: TICKET_STARTED,
    TicketAction.FINISH: TICKET_FINISHED,
    TicketAction.NO_SHOW: TICKET_NO_SHOW,
    TicketAction.CANCEL: TICKET_CANCELLED,
    TicketAction.TRANSFER: TICKET_TRANSFERRED,
    TicketAction.REINSTATE: TICKET_REINSTATED,
    TicketAction.CHECK_IN: TICKET_CHECKED_IN,
    # A remote ticket not checked in within its grace: a no-show like any other (reception
    # records it in the customer's CRM history; the payload's action says "expire").
    TicketAction.EXPIRE: TICKET_NO_SHOW,
}


def publish_ticket_event(
    *,
    ticket_id: int,
    branch_id: int,
    action: TicketAction,
    version: int,
    service_code: str = "",
    target_counter_id: int | None = None,
    written_event: tuple[int, outbox.Rider] | None = None,
    **extra,
) -> None:
    """Inside the transition's transaction: the durable event, then (after commit) the live
    screens' nudge with the branch's new queue version (the TicketEvent id). The ticket's
    service and named counter go to the nudge only: they let the live service wake an idle
    counter that can serve it (queueing.hub). `written_event`: the event the change's own
    statement already wrote (its id and the Rider, with this payload): only its delivery is
    nudged."""
    if written_event is not None:
        if extra:  # the Rider's payload is the three keys below, read from the changed row
            raise ValueError(f"an event written by the change's statement has no {sorted(extra)}")
        outbox.published(*written_event)
    else:
        payload = {"ticket_id": ticket_id, "branch_id": branch_id, "action": str(action), **extra}
        outbox.publish(TOPIC_FOR_ACTION[action], payload, branch_id=branch_id)

    from .broadcast import queue_changed  # broadcast reads selectors, which import models

    transaction.on_commit(
        lambda: queue_changed(
            branch_id=branch_id,
            version=version,
            action=action,
            ticket_id=ticket_id,
            service_code=service_code,
            target_counter_id=target_counter_id,
        )
    )
