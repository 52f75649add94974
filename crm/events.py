"""Events crm publishes, durable through the outbox (accounts.outbox); feedback listens to
invite the customer to a survey. Payload: interaction_id, customer_id, branch_id, kind."""

from accounts import outbox

INTERACTION_RECORDED = "crm.interaction_recorded"


def publish_interaction_recorded(
    *, interaction_id: int, customer_id: int, branch_id: int, kind: str
) -> None:
    outbox.publish(
        INTERACTION_RECORDED,
        {
            "interaction_id": interaction_id,
            "customer_id": customer_id,
            "branch_id": branch_id,
            "kind": kind,
        },
        branch_id=branch_id,
    )
