from celery import shared_task

from . import services


@shared_task
def send_invitation(invitation_id: int) -> bool:
    """Send one invitation. No Celery retry: a failed send is rescheduled in the database and
    the beat sweep below sends it (one retry path, services.invitation_send)."""
    return services.invitation_send(invitation_id=invitation_id)


@shared_task
def send_due_invitations() -> int:
    """Beat: send invitations whose quiet hours have passed, whose last try failed, whose worker
    died mid-send (lease expired), or whose nudge was lost while the broker was down."""
    due = services.due_invitation_ids()
    for invitation_id in due:
        send_invitation.delay(invitation_id)
    return len(due)
