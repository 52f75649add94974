from celery import shared_task

from . import services


@shared_task(autoretry_for=(Exception,), retry_backoff=30, max_retries=3)
def send_invitation(invitation_id: int) -> bool:
    return services.invitation_send(invitation_id=invitation_id)


@shared_task
def send_due_invitations() -> int:
    """Beat: send invitations whose quiet hours have passed (or whose first try failed)."""
    due = services.due_invitation_ids()
    for invitation_id in due:
        send_invitation.delay(invitation_id)
    return len(due)
