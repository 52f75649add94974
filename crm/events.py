"""Events crm announces after commit; feedback listens to invite the customer to a survey."""

from django.db import transaction
from django.dispatch import Signal

interaction_recorded = Signal()  # kwargs: interaction_id, customer_id, branch_id, kind


def announce_interaction(
    *, interaction_id: int, customer_id: int, branch_id: int, kind: str
) -> None:
    transaction.on_commit(
        lambda: interaction_recorded.send(
            sender=None,
            interaction_id=interaction_id,
            customer_id=customer_id,
            branch_id=branch_id,
            kind=kind,
        ),
        robust=True,
    )
