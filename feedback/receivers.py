"""feedback listens to crm through the outbox: a recorded visit may earn the customer a survey
invitation. Delivered at least once; one invitation per interaction (a one-to-one key)."""

from accounts.models import OutboxEvent
from accounts.outbox import listener
from crm.events import COMPLAINT_INFORM_REQUESTED, CUSTOMERS_MERGED, INTERACTION_RECORDED

from . import services


@listener(INTERACTION_RECORDED, name="feedback.invite")
def invite(event: OutboxEvent) -> None:
    services.invitation_create_for_interaction(interaction_id=event.payload["interaction_id"])


@listener(CUSTOMERS_MERGED, name="feedback.repoint_merged_customer")
def repoint_merged_customer(event: OutboxEvent) -> None:
    services.invitations_repoint_customer(
        source_id=event.payload["source_id"], target_id=event.payload["target_id"]
    )


@listener(COMPLAINT_INFORM_REQUESTED, name="feedback.complaint_inform")
def complaint_inform(event: OutboxEvent) -> None:
    """A resolved complaint's result, texted to the customer (crm.services.complaint_inform)."""
    services.complaint_inform_send(
        complaint_id=event.payload["complaint_id"], note=event.payload.get("note", "")
    )
