"""The ticket life cycle as an explicit state machine (pure: no ORM).

waiting ─call→ called ─start→ serving ─finish→ done
   │             │  ↺ recall (up to the branch's N)   └─transfer→ transferred (+ a new waiting ticket)
   └─cancel→ cancelled        └─no_show→ no_show

remote ─check_in→ waiting: joined from the phone, then arrived (same number, same place)
   ├─cancel→ cancelled
   └─expire→ no_show: not checked in within the branch's grace after its turn came

cancelled ─reinstate→ waiting: "customer left" taken back within minutes, same ticket, same place
(queueing.services.ticket_reinstate).
"""

from enum import StrEnum

from django.utils.translation import gettext_lazy as _


class TicketStatus(StrEnum):
    REMOTE = "remote"
    WAITING = "waiting"
    CALLED = "called"
    SERVING = "serving"
    DONE = "done"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"
    TRANSFERRED = "transferred"


class TicketAction(StrEnum):
    ISSUE = "issue"
    CALL = "call"
    RECALL = "recall"
    START = "start"
    FINISH = "finish"
    NO_SHOW = "no_show"
    CANCEL = "cancel"
    TRANSFER = "transfer"
    REINSTATE = "reinstate"
    CHECK_IN = "check_in"
    EXPIRE = "expire"


STATUS_LABELS = {
    TicketStatus.REMOTE: _("Joined remotely, not here yet"),
    TicketStatus.WAITING: _("Waiting"),
    TicketStatus.CALLED: _("Called"),
    TicketStatus.SERVING: _("Being served"),
    TicketStatus.DONE: _("Done"),
    TicketStatus.NO_SHOW: _("No-show"),
    TicketStatus.CANCELLED: _("Cancelled"),
    TicketStatus.TRANSFERRED: _("Transferred"),
}

TRANSITIONS: dict[tuple[TicketStatus, TicketAction], TicketStatus] = {
    (TicketStatus.REMOTE, TicketAction.CHECK_IN): TicketStatus.WAITING,
    (TicketStatus.REMOTE, TicketAction.CANCEL): TicketStatus.CANCELLED,
    (TicketStatus.REMOTE, TicketAction.EXPIRE): TicketStatus.NO_SHOW,
    (TicketStatus.WAITING, TicketAction.CALL): TicketStatus.CALLED,
    (TicketStatus.WAITING, TicketAction.CANCEL): TicketStatus.CANCELLED,
    # Only a cancel is taken back: a no-show is already in the customer's CRM history.
    (TicketStatus.CANCELLED, TicketAction.REINSTATE): TicketStatus.WAITING,
    (TicketStatus.CALLED, TicketAction.RECALL): TicketStatus.CALLED,
    (TicketStatus.CALLED, TicketAction.START): TicketStatus.SERVING,
    (TicketStatus.CALLED, TicketAction.NO_SHOW): TicketStatus.NO_SHOW,
    (TicketStatus.SERVING, TicketAction.FINISH): TicketStatus.DONE,
    (TicketStatus.SERVING, TicketAction.TRANSFER): TicketStatus.TRANSFERRED,
}

ACTIVE_AT_COUNTER = frozenset({TicketStatus.CALLED, TicketStatus.SERVING})
FINAL = frozenset(
    {TicketStatus.DONE, TicketStatus.NO_SHOW, TicketStatus.CANCELLED, TicketStatus.TRANSFERRED}
)


class InvalidTransition(Exception):
    def __init__(self, status: TicketStatus, action: TicketAction) -> None:
        self.status, self.action = status, action
        super().__init__(f"cannot {action} a ticket that is {status}")


def next_status(status: TicketStatus | str, action: TicketAction) -> TicketStatus:
    try:
        return TRANSITIONS[(TicketStatus(status), action)]
    except KeyError:
        raise InvalidTransition(TicketStatus(status), action) from None


def allowed_actions(status: TicketStatus | str) -> set[TicketAction]:
    return {action for (from_status, action) in TRANSITIONS if from_status == TicketStatus(status)}
