"""feedback listens to crm through the outbox: a recorded visit may earn the customer a survey
invitation. Delivered at least once; one invitation per interaction (a one-to-one key)."""

from accounts.models import OutboxEvent
from accounts.outbox import listener
from crm.events import INTERACTION_RECORDED

from . import services


@listener(INTERACTION_RECORDED, name="feedback.invite")
def invite(event: OutboxEvent) -> None:
    services.invitation_create_for_interaction(interaction_id=event.payload["interaction_id"])
