"""Who may take which step of a complaint, from which status (pure: no ORM).

    logged -> assigned -> investigating -> resolved -> informed -> closed

* anyone at the branch (lobby manager, teller, branch head) logs;
* the branch head assigns (and re-assigns while the work is not done) and closes;
* the assignee, or the branch head, starts, resolves and informs the customer;
* closing needs the customer informed first (the closed-loop check).

A branch administrator counts as branch head here, as on every screen (accounts.access).
The services enforce these rules; the pages and API show only the steps they allow.
"""

LOGGED, ASSIGNED, INVESTIGATING = "logged", "assigned", "investigating"
RESOLVED, INFORMED, CLOSED = "resolved", "informed", "closed"

HEAD_ROLES = frozenset({"branch_head", "admin"})
STAFF_ROLES = frozenset({"lobby_manager", "teller", "branch_head", "admin"})

ASSIGN, START, RESOLVE, INFORM, CLOSE = "assign", "start", "resolve", "inform", "close"
ACTIONS = (ASSIGN, START, RESOLVE, INFORM, CLOSE)

# action -> the statuses it may start from
FROM_STATUSES = {
    ASSIGN: frozenset({LOGGED, ASSIGNED, INVESTIGATING}),
    START: frozenset({ASSIGNED}),
    RESOLVE: frozenset({INVESTIGATING}),
    INFORM: frozenset({RESOLVED}),
    CLOSE: frozenset({INFORMED}),
}
HEAD_ONLY = frozenset({ASSIGN, CLOSE})
OPEN_STATUSES = (LOGGED, ASSIGNED, INVESTIGATING, RESOLVED, INFORMED)


def may_log(roles: set[str] | frozenset[str]) -> bool:
    return bool(set(roles) & STAFF_ROLES)


def is_head(roles: set[str] | frozenset[str]) -> bool:
    return bool(set(roles) & HEAD_ROLES)


def role_allows(action: str, *, roles: set[str] | frozenset[str], is_assignee: bool) -> bool:
    """Whether the person may take this step at all (whatever the status)."""
    if is_head(roles):
        return True
    if action in HEAD_ONLY:
        return False
    return is_assignee and may_log(roles)


def status_allows(action: str, status: str) -> bool:
    return status in FROM_STATUSES[action]


def allowed_actions(
    *, status: str, roles: set[str] | frozenset[str], is_assignee: bool
) -> list[str]:
    """The steps to offer this person now, in workflow order. Close is offered to the head
    from "resolved" too: pressing it explains that the customer must be informed first."""
    allowed = []
    for action in ACTIONS:
        if not role_allows(action, roles=roles, is_assignee=is_assignee):
            continue
        if status_allows(action, status) or (action == CLOSE and status == RESOLVED):
            allowed.append(action)
    return allowed
