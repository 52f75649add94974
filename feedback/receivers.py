"""feedback listens to crm: a recorded visit may earn the customer a survey invitation."""

from django.dispatch import receiver

from crm.events import interaction_recorded

from . import services


@receiver(interaction_recorded, dispatch_uid="feedback.invite")
def on_interaction_recorded(sender, *, interaction_id: int, **kwargs) -> None:
    services.invitation_create_for_interaction(interaction_id=interaction_id)
