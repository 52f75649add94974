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


# --- Complaints (issue 7): a complaint resolved, the customer to be told by SMS. feedback sends
# it (feedback.services.complaint_inform_send) and reports back through
# crm.services.complaint_mark_informed. Payload: complaint_id, branch_id, note (the text to
# send, empty: the resolution).
COMPLAINT_INFORM_REQUESTED = "crm.complaint_inform_requested"


def publish_complaint_inform_requested(
    *, complaint_id: int, branch_id: int, note: str = ""
) -> None:
    outbox.publish(
        COMPLAINT_INFORM_REQUESTED,
        {"complaint_id": complaint_id, "branch_id": branch_id, "note": note},
        branch_id=branch_id,
    )


CUSTOMERS_MERGED = "crm.customers_merged"


def publish_customers_merged(*, source_id: int, target_id: int, branch_id: int) -> None:
    """A duplicate (source) was merged into target: apps holding rows of the source re-point
    them (reception's visits and appointments, feedback's invitations). Payload: source_id,
    target_id."""
    outbox.publish(
        CUSTOMERS_MERGED, {"source_id": source_id, "target_id": target_id}, branch_id=branch_id
    )
