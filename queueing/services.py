"""Queue use cases. Each runs in one transaction, locks what it changes, checks the state
machine, records a TicketEvent and publishes the change to the outbox (queueing.events).

A teller acts only at the counter they are seated at (`Counter.teller`): every counter action
and every action on a ticket at a counter checks it here, so the counter screen, the API and
any later caller obey the same rule. Sitting down (open), taking over another teller's seat
and leaving are recorded in CounterEvent."""

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime, timedelta
from typing import NamedTuple

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Max, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts import outbox, sql
from accounts.errors import DomainError
from accounts.models import Branch, Role
from accounts.selectors import user_has_role

from . import remote, routing, statements
from .events import TOPIC_FOR_ACTION, publish_ticket_event
from .models import Counter, CounterEvent, Service, Ticket
from .selectors import (
    WAITING_ROW,
    BranchSetup,
    as_waiting_row,
    branch_setup,
    counter_current_ticket,
    counter_skills,
    routing_policy,
)
from .states import (
    ACTIVE_AT_COUNTER,
    TRANSITIONS,
    InvalidTransition,
    TicketAction,
    TicketStatus,
    next_status,
)

User = AbstractBaseUser


class QueueError(DomainError):
    pass


# Who may sit at a counter and work there (pages and API check the role; the services check the
# seat). A branch head who took a counter over must be able to serve at it and close it.
COUNTER_ROLES = (Role.TELLER, Role.BRANCH_HEAD)


def business_date_for(branch: Branch, at: datetime):
    """The branch's local calendar day: numbering restarts at local midnight."""
    return timezone.localtime(at, branch.tz).date()


def _change_transaction(
    action: TicketAction, *, event_rides_along: bool = False
) -> AbstractContextManager:
    """The transaction around a change of a ticket. No transaction where the change is one
    statement and nothing else is written with it (PostgreSQL, and either no app listens to the
    action's event or the change's statement writes that event too: `event_rides_along`): the
    statement commits itself, and the request saves the round trips of BEGIN and COMMIT (an
    issue: one statement where there were four). Inside a caller's transaction, a savepoint
    as always."""
    if (
        not transaction.get_connection().in_atomic_block
        and statements.change_is_one_statement()
        and (event_rides_along or not outbox.listeners_for(TOPIC_FOR_ACTION[action]))
    ):
        return nullcontext()
    return transaction.atomic()


def ticket_issue(
    *,
    branch: Branch,
    service: Service,
    priority: routing.PriorityClass = routing.PriorityClass.REGULAR,
    issued_by: User | None = None,
    arrived_at: datetime | None = None,
    target_counter: Counter | None = None,
    transferred_from: Ticket | None = None,
    note: str = "",
    remote: bool = False,
) -> Ticket:
    """Issue the day's next number for the service. `remote`: the customer joined from their
    phone: the ticket waits as "remote" (call-next does not see it) until ticket_check_in, and
    its place counts from now (arrived_at), as if they had walked in. The number, the ticket
    and its history row are one statement on PostgreSQL (queueing.statements.issue_ticket)."""
    if service.branch_id != branch.pk:
        raise QueueError(_("That service belongs to another branch."))
    if not service.is_active:
        raise QueueError(_("That service is not offered at the moment."))
    if target_counter is not None and target_counter.branch_id != branch.pk:
        raise QueueError(_("That counter belongs to another branch."))
    now = timezone.now()
    ticket = Ticket(
        branch=branch,
        service=service,
        business_date=business_date_for(branch, now),
        priority=priority,
        issued_at=now,
        arrived_at=arrived_at or now,
        target_counter=target_counter,
        transferred_from=transferred_from,
        status=TicketStatus.REMOTE if remote else TicketStatus.WAITING,
        is_remote=remote,
    )
    history = _history(
        TicketAction.ISSUE, from_status="", to_status=ticket.status, by=issued_by, at=now, note=note
    )
    with _change_transaction(TicketAction.ISSUE):
        version = statements.issue_ticket(ticket, history=history)
        _record_event(
            ticket,
            TicketAction.ISSUE,
            from_status="",
            by=issued_by,
            at=now,
            note=note,
            version=version,
        )
    return ticket


def _lock_counter(counter_id: int) -> Counter:
    # of=("self",): lock only the counter, not the joined branch row every counter shares.
    return (
        Counter.objects.select_for_update(of=("self",))
        .select_related("branch", "teller")
        .get(pk=counter_id)
    )


def _teller_name(user: User | None) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


def _require_seated(counter: Counter, user: User) -> None:
    """Refuse anyone but the teller seated at this (locked) counter."""
    if counter.is_open and counter.teller_id is not None and counter.teller_id == user.pk:
        return
    if not counter.is_open:
        message = _("%(counter)s is closed: open it first.") % {"counter": counter}
    elif counter.teller_id is None:
        message = _("Nobody is seated at %(counter)s: open it to sit down first.") % {
            "counter": counter
        }
    else:
        message = _(
            "%(counter)s is held by %(teller)s: only the teller seated there may act at it."
        ) % {"counter": counter, "teller": _teller_name(counter.teller)}
    raise QueueError(message, code="not_seated")


def _record(
    counter: Counter,
    action: CounterEvent.Action,
    *,
    by: User | None,
    reason: str = "",
    previous_teller: User | None = None,
) -> CounterEvent:
    return CounterEvent.objects.create(
        counter=counter,
        branch_id=counter.branch_id,
        action=action,
        at=timezone.now(),
        by=by,
        previous_teller=previous_teller,
        reason=reason[:200],
    )


# How many of the best candidates one claim statement tries, in order. Counters with the same
# skills rank the same tickets first; measured with 32 counters on 2 vCPUs, a call lost 1.5
# claims on average.
CLAIM_PREFERENCES = 8


class CallNext(NamedTuple):
    """What a call-next did: the ticket called (None: nobody this counter serves was waiting),
    and the branch's queue version as of the look at the waiting tickets (a long poll for
    "a ticket joined after this" starts from it: queueing.api.idle_counter_headers)."""

    ticket: Ticket | None
    queue_version: int


@transaction.atomic
def ticket_call_next(
    *, counter: Counter | int, teller: User, branch: Branch | None = None
) -> Ticket | None:
    """Call the next ticket for this counter, or None when nobody it serves is waiting.

    Safe under concurrency without a branch-wide lock, and without any call waiting on another:
    * the counter row lock stops a double-click calling two customers;
    * the claim is one conditional UPDATE (still waiting, not held by another transaction:
      FOR UPDATE SKIP LOCKED), so two counters never call the same ticket; a counter that loses
      the race takes the next candidate;
    * the passed-over tickets' bypass counts are bumped with SKIP LOCKED as well. No call
      waits on a ticket lock, so calls of one branch cannot deadlock, and a teller's request
      never holds a worker waiting for another counter's call. The price: a ticket another
      call holds at that very instant is not counted as passed over by this one (it is being
      called or bumped by the other), so K bounds bypasses up to such coincidences.
    `branch`: the caller's branch; a counter of another branch is "not found".
    """
    return call_next_in_transaction(counter=counter, teller=teller, branch=branch).ticket


@transaction.atomic
def call_next(*, counter: Counter | int, teller: User, branch: Branch | None = None) -> CallNext:
    """ticket_call_next, with the queue version its look saw (the API's idle answer needs it)."""
    return call_next_in_transaction(counter=counter, teller=teller, branch=branch)


def ticket_call_next_in_transaction(
    *, counter: Counter | int, teller: User, branch: Branch | None = None
) -> Ticket | None:
    """ticket_call_next as one step of the caller's own transaction (reception finishes the
    counter's customer and calls the next one together). No savepoint of its own, as
    ticket_finish_in_transaction: a refusal raised here aborts the caller's whole transaction."""
    return call_next_in_transaction(counter=counter, teller=teller, branch=branch).ticket


def _served_service_ids(setup: BranchSetup, counter_id: int) -> list[int]:
    return [setup.service_ids[code] for code in setup.skills.get(counter_id, ())]


def call_next_in_transaction(
    *, counter: Counter | int, teller: User, branch: Branch | None = None
) -> CallNext:
    """ticket_call_next_in_transaction, with the queue version its look saw."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("ticket_call_next_in_transaction needs the caller's transaction")
    counter_id = counter if isinstance(counter, int) else counter.pk
    if branch is None:  # an internal caller: the counter's own branch
        branch = (
            counter.branch
            if isinstance(counter, Counter)
            else Branch.objects.filter(counters=counter_id).first()
        )
        if branch is None:
            raise QueueError(_("No such counter."), code="not_found")
    # The skills come from the branch's set-up, not the counter's row: read before the lock, so
    # the lock, the queue version and the waiting tickets are one statement.
    setup = branch_setup(branch_id=branch.pk)
    look = statements.lock_counter_and_look(
        counter_id,
        branch_id=branch.pk,
        service_ids=_served_service_ids(setup, counter_id),
        attnames=WAITING_ROW,
    )
    if look is None:
        raise QueueError(_("No such counter."), code="not_found")
    counter = look.counter
    counter.branch = branch  # the caller's copy: the counter's own row is what is locked
    _require_seated(counter, teller)
    if not counter.accepts_calls:
        raise QueueError(_("Open the counter (and end the pause) before calling."))
    if counter.current_ticket_id is not None:
        raise QueueError(_("Finish, transfer or mark a no-show for the current customer first."))
    rows = look.waiting
    if not setup.covers(counters=[counter_id]):
        # A counter added without a signal (a bulk insert): its skills were unknown to the copy
        # the look used. Read the set-up again and the waiting tickets with its skills.
        setup = branch_setup(branch_id=branch.pk, counters=[counter_id])
        rows = statements.waiting_for_counter(
            branch_id=branch.pk,
            counter_id=counter_id,
            service_ids=_served_service_ids(setup, counter_id),
            attnames=WAITING_ROW,
        )
    skills = counter_skills(counter=counter, setup=setup)
    now = timezone.now()
    policy = routing_policy(branch=counter.branch, setup=setup)
    service_ids = {row[1] for row in rows}
    if not setup.covers(services=service_ids):  # a service added without a signal
        setup = branch_setup(branch_id=counter.branch_id, services=service_ids)
    candidates = [as_waiting_row(row, setup.services[row[1]].code) for row in rows]
    history = _history(
        TicketAction.CALL,
        from_status=TicketStatus.WAITING,
        to_status=TicketStatus.CALLED,
        by=teller,
        at=now,
    )
    while True:
        # The best few, in the order this counter would take them if other counters got the
        # better ones first: one statement claims the first still free.
        preferred = routing.preference_order(
            candidates, skills, now, policy, limit=CLAIM_PREFERENCES
        )
        if not preferred:
            version = look.queue_version
            if version is None:  # not read with the look (SQLite: the same moment, see CounterLook)
                version = statements.latest_event_id(branch.pk)
            return CallNext(None, version)
        claimed = statements.claim_waiting(
            [ticket.id for ticket in preferred],
            counter_id=counter.pk,
            teller_id=teller.pk,
            at=now,
            history=history,
        )
        if claimed is not None:
            break
        if counter_current_ticket(counter=counter) is not None:  # a double-click's second call
            raise QueueError(
                _("Finish, transfer or mark a no-show for the current customer first.")
            )
        lost = {ticket.id for ticket in preferred}  # other counters got them all
        candidates = [c for c in candidates if c.id not in lost]
    position = [ticket.id for ticket in preferred].index(claimed[0].pk)
    chosen = preferred[position]
    # The ones preferred before it were taken by other counters meanwhile: not passed over.
    lost = {ticket.id for ticket in preferred[:position]}
    candidates = [c for c in candidates if c.id not in lost]
    passed_over = routing.bypassed_by(chosen, candidates, skills)
    if passed_over:
        statements.count_bypasses(sorted(passed_over))
    ticket, version = claimed  # as the claim left it: called, at this counter, by this teller
    ticket.service, ticket.counter, ticket.teller = (
        setup.services[ticket.service_id],
        counter,
        teller,
    )
    _record_event(
        ticket,
        TicketAction.CALL,
        from_status=TicketStatus.WAITING,
        by=teller,
        at=now,
        version=version,
    )
    return CallNext(ticket, version)


def _check(ticket: Ticket, action: TicketAction) -> TicketStatus:
    """The status `action` leads to, or a QueueError staff can read."""
    try:
        return next_status(ticket.status, action)
    except InvalidTransition:
        raise QueueError(
            _("Ticket %(code)s cannot do that now: it is %(status)s.")
            % {"code": ticket.code, "status": ticket.get_status_display()},
            code="invalid_transition",
        ) from None


def _apply(
    ticket: Ticket,
    action: TicketAction,
    *,
    by: User | None,
    at: datetime | None = None,
    note: str = "",
    extra_fields: Iterable[str] = (),
    **event_extra,
) -> Ticket:
    """Move a locked ticket through the state machine and record who did it, when."""
    at = at or timezone.now()
    from_status = ticket.status
    ticket.status = _check(ticket, action)
    fields = {"status", *extra_fields}
    # A call is not made here: ticket_call_next claims its ticket with one conditional UPDATE.
    if action == TicketAction.RECALL:
        ticket.recall_count += 1
        fields.add("recall_count")
    elif action == TicketAction.START:
        ticket.started_at = at
        fields.add("started_at")
    elif action in (
        TicketAction.FINISH,
        TicketAction.TRANSFER,
        TicketAction.NO_SHOW,
        TicketAction.CANCEL,
        TicketAction.EXPIRE,
    ):
        ticket.finished_at = at
        fields.add("finished_at")
    elif action == TicketAction.CHECK_IN:
        ticket.checked_in_at = at
        fields.add("checked_in_at")
    elif action == TicketAction.REINSTATE:
        ticket.finished_at = None
        fields.add("finished_at")
    ticket.save(update_fields=sorted(fields))
    _record_event(
        ticket,
        action,
        from_status=from_status,
        by=by,
        at=at,
        note=note,
        **event_extra,
    )
    return ticket


def _history(
    action: TicketAction,
    *,
    from_status: str,
    to_status: str,
    by: User | None,
    at: datetime,
    counter_id: int | None = None,
    note: str = "",
) -> statements.History:
    """A transition's history row, as every path writes it (counter_id None: the ticket's)."""
    return statements.History(
        action=str(action),
        from_status=str(from_status),
        to_status=str(to_status),
        at=at,
        by_id=by.pk if by is not None else None,
        counter_id=counter_id,
        note=note[:200],
    )


def _record_event(
    ticket: Ticket,
    action: TicketAction,
    *,
    from_status: str,
    by: User | None,
    at: datetime,
    counter_id: int | None = None,
    note: str = "",
    version: int | None = None,
    written_event: tuple[int, outbox.Rider] | None = None,
    **event_extra,
) -> int:
    """The transition's history row, then its event (outbox + live screens' nudge).
    Returns the history row's id: the branch's new queue version. `version`: the id of the
    history row the change's own statement already wrote (queueing.statements): only publish.
    `written_event`: the outbox event that statement wrote too, and the Rider it carried.
    """
    if version is None:
        history = _history(
            action,
            from_status=from_status,
            to_status=ticket.status,
            by=by,
            at=at,
            counter_id=counter_id,
            note=note,
        )
        version = statements.insert_event(
            **history.row(
                ticket_id=ticket.pk, branch_id=ticket.branch_id, ticket_counter_id=ticket.counter_id
            )
        )
    joins_queue = ticket.status == TicketStatus.WAITING
    publish_ticket_event(
        ticket_id=ticket.pk,
        branch_id=ticket.branch_id,
        action=action,
        version=version,
        service_code=ticket.service.code if joins_queue else "",
        target_counter_id=ticket.target_counter_id if joins_queue else None,
        written_event=written_event,
        **event_extra,
    )
    return version


# --- The hot transitions at a counter: one conditional UPDATE -----------------------------------

# The field each of these transitions stamps with its time.
_STAMPED = {
    TicketAction.START: "started_at",
    TicketAction.FINISH: "finished_at",
    TicketAction.NO_SHOW: "finished_at",
}


def _transition_at_counter(
    ticket_id: int,
    action: TicketAction,
    *,
    by: User,
    branch: Branch | None,
    note: str = "",
    service_ids: Sequence[int] | None = None,
    riders: Sequence[sql.Rider] = (),
) -> Ticket | None:
    """Start, finish or no-show in one UPDATE … RETURNING: the ticket moves only if it is in
    the status `action` leaves from (of this branch) and `by` is seated at the open counter it
    is at. None when not so: the caller then takes the locking path, which says why (or, if the
    state changed in between, does it).

    Linearizable without locking the counter: the seat is read from the statement's snapshot,
    so a concurrent take-over or sign-out orders after this action, as if pressed a moment
    later; neither of them needs this ticket's state to be unchanged (docs/architecture.md).
    On PostgreSQL the action's outbox event (finish, no-show) is written by the same statement,
    and so are the `riders`' writes (ticket_finish_at_once); `service_ids`: the ticket moves
    only if its service is one of these.
    """
    (from_status,) = [status for (status, a) in TRANSITIONS if a == action]
    to_status = TRANSITIONS[(from_status, action)]
    now = timezone.now()
    event = _event_rider(action, at=now)
    moved = statements.move_at_counter(
        ticket_id,
        from_status=from_status,
        to_status=to_status,
        stamp_field=_STAMPED[action],
        at=now,
        by_id=by.pk,
        branch_id=branch.pk if branch is not None else None,
        history=_history(
            action, from_status=from_status, to_status=to_status, by=by, at=now, note=note
        ),
        event=event,
        service_ids=service_ids,
        riders=riders,
    )
    if moved is None:
        return None
    ticket, version, event_id = moved
    setup = branch_setup(
        branch_id=ticket.branch_id, services=[ticket.service_id], counters=[ticket.counter_id]
    )
    ticket.service = setup.services[ticket.service_id]
    ticket.counter = setup.counter(ticket.counter_id, branch_id=ticket.branch_id)
    if branch is not None:
        ticket.branch = branch
    _record_event(
        ticket,
        action,
        from_status=from_status,
        by=by,
        at=now,
        note=note,
        version=version,
        written_event=(event_id, event) if event is not None else None,
    )
    return ticket


def _event_rider(action: TicketAction, *, at: datetime) -> outbox.Rider | None:
    """The action's outbox event for the change's own statement (publish_ticket_event's
    payload, read from the changed row), where one statement can carry it (PostgreSQL) and
    some app listens; None otherwise (then publish_ticket_event writes it, if anyone listens)."""
    if not statements.change_is_one_statement():
        return None
    return outbox.publish_sql(
        TOPIC_FOR_ACTION[action],
        source="changed",
        payload_columns={"ticket_id": "id", "branch_id": "branch_id"},
        payload={"action": str(action)},
        created_at=at,
    )


def _lock_ticket(ticket_id: int, *, branch: Branch | None = None) -> Ticket:
    queryset = Ticket.objects.select_for_update(of=("self",)).select_related(
        "branch", "service", "counter"
    )
    if branch is not None:
        queryset = queryset.filter(branch=branch)
    try:
        return queryset.get(pk=ticket_id)
    except Ticket.DoesNotExist:
        raise QueueError(_("No such ticket."), code="not_found") from None


def counter_lock_of_ticket(*, ticket_id: int, branch: Branch | None = None) -> None:
    """In the caller's transaction: lock the counter `ticket_id` is at (none: nothing), first.

    For a caller that then moves the ticket and acts at its counter in the same transaction
    (reception's finish-and-call-next): every action at a counter locks the counter before the
    ticket (_lock_ticket_at_counter), and taking them the other way round would deadlock with a
    transfer or recall of the same ticket pressed at the same instant. One statement."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("counter_lock_of_ticket needs the caller's transaction")
    counters = Counter.objects.select_for_update(of=("self",)).filter(
        pk=Subquery(Ticket.objects.filter(pk=ticket_id).values("counter_id")[:1])
    )
    if branch is not None:
        counters = counters.filter(branch=branch)
    list(counters.values_list("pk", flat=True))


def _lock_ticket_at_counter(ticket_id: int, *, by: User, branch: Branch | None) -> Ticket:
    """Lock the ticket's counter, then the ticket (the documented order: counter, branch,
    ticket), and refuse `by` unless seated at that counter while the ticket is at it.

    A ticket not at a counter (waiting, or already over) is left to the state machine, which
    refuses every counter action on it with the usual "cannot do that now".
    """
    # One query: lock the counter the ticket is at (none for a waiting ticket).
    counter = (
        Counter.objects.select_for_update(of=("self",))
        .select_related("branch", "teller")
        .filter(pk=Subquery(Ticket.objects.filter(pk=ticket_id).values("counter_id")[:1]))
        .first()
    )
    ticket = _lock_ticket(ticket_id, branch=branch)
    if ticket.status not in ACTIVE_AT_COUNTER:
        return ticket
    if counter is None or counter.pk != ticket.counter_id:
        # Called between the peek and the ticket lock: rare, and no one holding this counter's
        # lock waits for a called ticket, so taking it now cannot deadlock.
        counter = _lock_counter(ticket.counter_id)
    _require_seated(counter, by)
    ticket.counter = counter
    return ticket


@transaction.atomic
def ticket_recall(*, ticket_id: int, by: User, branch: Branch | None = None) -> Ticket:
    ticket = _lock_ticket_at_counter(ticket_id, by=by, branch=branch)
    if ticket.status == TicketStatus.CALLED and ticket.recall_count >= ticket.branch.max_recalls:
        raise QueueError(
            _("Already recalled %(n)s times: mark the customer as a no-show.")
            % {"n": ticket.recall_count},
            code="recall_limit",
        )
    return _apply(ticket, TicketAction.RECALL, by=by)


def ticket_start(*, ticket_id: int, by: User, branch: Branch | None = None) -> Ticket:
    """The customer sits down: one conditional UPDATE with its history row, its own transaction
    on PostgreSQL (_change_transaction); when it does not match, the locking path, in a
    transaction, says why (or starts it, if the state changed in between)."""
    with _change_transaction(TicketAction.START, event_rides_along=True):
        ticket = _transition_at_counter(ticket_id, TicketAction.START, by=by, branch=branch)
    if ticket is not None:
        return ticket
    with transaction.atomic():
        ticket = _lock_ticket_at_counter(ticket_id, by=by, branch=branch)
        return _apply(ticket, TicketAction.START, by=by)


@transaction.atomic
def ticket_finish(
    *, ticket_id: int, by: User, branch: Branch | None = None, note: str = ""
) -> Ticket:
    """The low-level transition serving -> done. Staff finish through
    reception.services.visit_complete_service, which records the control points first."""
    return ticket_finish_in_transaction(ticket_id=ticket_id, by=by, branch=branch, note=note)


def ticket_finish_at_once(
    *,
    ticket_id: int,
    by: User,
    branch: Branch,
    service_ids: Sequence[int],
    riders: Sequence[sql.Rider] = (),
    note: str = "",
) -> Ticket | None:
    """The finish as one statement, which is its own transaction (or a step of the caller's):
    the ticket moves serving -> done only if `by` is seated at its counter, in `branch`, and
    its service is one of `service_ids`; its history row, its outbox event and the `riders'`
    writes (another app's rows of the same finish, reading the CTE `changed`) go with it.
    What the riders return is on the ticket as attributes.

    None when the database cannot (SQLite) or the statement did not match; nothing was
    written then, and the caller takes ticket_finish's path, which says why (or finishes,
    if the state changed in between). For reception's finish, which checks the control points
    of every service the ticket may be of before the statement instead of the one it is of
    after it: three round trips (BEGIN, its visit's UPDATE, COMMIT) fewer per ticket."""
    if not statements.change_is_one_statement():
        return None
    # No transaction of its own, not even a savepoint in the caller's: one statement is atomic,
    # and an error raised by it aborts the caller's transaction anyway.
    return _transition_at_counter(
        ticket_id,
        TicketAction.FINISH,
        by=by,
        branch=branch,
        note=note,
        service_ids=service_ids,
        riders=riders,
    )


def ticket_finish_in_transaction(
    *, ticket_id: int, by: User, branch: Branch | None = None, note: str = ""
) -> Ticket:
    """ticket_finish as one step of the caller's own transaction (reception finishes the ticket
    and records the visit's checklist together). No savepoint of its own: a refusal raised here
    aborts the caller's whole transaction, which is what that caller wants anyway."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("ticket_finish_in_transaction needs the caller's transaction")
    ticket = _transition_at_counter(ticket_id, TicketAction.FINISH, by=by, branch=branch, note=note)
    if ticket is not None:
        return ticket
    ticket = _lock_ticket_at_counter(ticket_id, by=by, branch=branch)
    return _apply(ticket, TicketAction.FINISH, by=by, note=note)


def ticket_no_show(*, ticket_id: int, by: User, branch: Branch | None = None) -> Ticket:
    """The called customer did not come: as ticket_start, one statement (with its outbox event)
    on PostgreSQL, else the locking path in a transaction."""
    with _change_transaction(TicketAction.NO_SHOW, event_rides_along=True):
        ticket = _transition_at_counter(ticket_id, TicketAction.NO_SHOW, by=by, branch=branch)
    if ticket is not None:
        return ticket
    with transaction.atomic():
        ticket = _lock_ticket_at_counter(ticket_id, by=by, branch=branch)
        return _apply(ticket, TicketAction.NO_SHOW, by=by)


@transaction.atomic
def ticket_cancel(
    *, ticket_id: int, by: User | None, branch: Branch | None = None, note: str = ""
) -> Ticket:
    return _apply(_lock_ticket(ticket_id, branch=branch), TicketAction.CANCEL, by=by, note=note)


@transaction.atomic
def ticket_cancel_remote(*, ticket_id: int) -> Ticket:
    """The customer cancels the ticket they took from their phone, by its signed link: only
    while it is still remote (once checked in, the lobby handles it)."""
    ticket = _lock_ticket(ticket_id)
    if ticket.status != TicketStatus.REMOTE:
        raise QueueError(
            _("This ticket can no longer be cancelled here: please ask the lobby manager."),
            code="invalid_transition",
        )
    return _apply(ticket, TicketAction.CANCEL, by=None, note="cancelled by the customer")


# "Customer left" may be taken back this long after it was pressed: the customer was at the
# machines or outside and returns holding the same paper ticket.
REINSTATE_WINDOW = timedelta(minutes=5)
# Who takes it back: the lobby, where "customer left" is pressed and the customer returns.
REINSTATE_ROLES = (Role.LOBBY_MANAGER,)


def ticket_reinstatable(ticket: Ticket, *, branch: Branch, now: datetime | None = None) -> bool:
    """Whether ticket_reinstate would take this ticket back now (the user's role aside):
    cancelled today, at most REINSTATE_WINDOW ago."""
    now = now or timezone.now()
    return (
        ticket.status == TicketStatus.CANCELLED
        and ticket.finished_at is not None
        and now - ticket.finished_at <= REINSTATE_WINDOW
        # A ticket of another day would wait in no queue anyone calls from.
        and ticket.business_date == business_date_for(branch, now)
    )


@transaction.atomic
def ticket_reinstate(*, ticket_id: int, by: User, branch: Branch | None = None) -> Ticket:
    """Undo "customer left": a ticket cancelled in the last REINSTATE_WINDOW waits again with
    the same number at its original place (arrival time, priority and bypass count are kept).

    A no-show is not taken back: it is already in the customer's CRM history, and a later
    finish of the same ticket would not be recorded there.
    """
    ticket = _lock_ticket(ticket_id, branch=branch)
    if not user_has_role(user=by, branch=ticket.branch, roles=REINSTATE_ROLES):
        raise QueueError(
            _("Only the lobby manager may put a ticket back in the queue."), code="forbidden"
        )
    _check(ticket, TicketAction.REINSTATE)
    now = timezone.now()
    if not ticket_reinstatable(ticket, branch=ticket.branch, now=now):
        raise QueueError(
            _(
                "Ticket %(code)s was cancelled more than %(minutes)s minutes ago: "
                "issue a new ticket instead."
            )
            % {"code": ticket.code, "minutes": int(REINSTATE_WINDOW.total_seconds() // 60)},
            code="too_late",
        )
    return _apply(ticket, TicketAction.REINSTATE, by=by, at=now)


@transaction.atomic
def ticket_transfer(
    *,
    ticket_id: int,
    by: User,
    to_service: Service | None = None,
    to_counter: Counter | None = None,
    branch: Branch | None = None,
    note: str = "",
) -> Ticket:
    """End this ticket and queue the same visit again, at the front, for another service or a
    named counter. Returns the new ticket; it keeps the original arrival time."""
    ticket = _lock_ticket_at_counter(ticket_id, by=by, branch=branch)
    if to_service is None and to_counter is None:
        raise QueueError(_("Choose a service or a counter to transfer to."), code="no_target")
    if to_counter is not None and to_counter.branch_id != ticket.branch_id:
        raise QueueError(_("That counter belongs to another branch."))
    if to_service is not None and to_service.branch_id != ticket.branch_id:
        raise QueueError(_("That service belongs to another branch."))
    if to_counter is not None and to_counter.pk == ticket.counter_id and to_service is None:
        raise QueueError(_("The customer is already at this counter."), code="same_counter")
    # Refuse before issuing the new ticket, so a refused transfer leaves nothing behind.
    _check(ticket, TicketAction.TRANSFER)
    new_ticket = ticket_issue(
        branch=ticket.branch,
        service=to_service or ticket.service,
        priority=routing.PriorityClass.TRANSFERRED,
        issued_by=by,
        arrived_at=ticket.arrived_at,
        target_counter=to_counter,
        transferred_from=ticket,
        note=note,
    )
    _apply(
        ticket,
        TicketAction.TRANSFER,
        by=by,
        note=note or new_ticket.code,
        new_ticket_id=new_ticket.pk,
    )
    return new_ticket


# --- Remote tickets: joined from the phone, checked in at the branch ----------------------------


@transaction.atomic
def ticket_check_in(
    *,
    ticket_id: int,
    branch: Branch,
    by: User | None = None,
    now: datetime | None = None,
    note: str = "",
) -> Ticket:
    """The customer who joined from their phone is here: remote -> waiting, with the same
    number and the same place (arrived_at is when they joined). `by`: the lobby manager who
    checked them in, or None when the customer did it by scanning the branch's poster.

    A ticket whose grace ran out (expired: a no-show) is not taken back: the customer asks for
    a new ticket. A ticket past its grace that the sweep has not reached yet is still remote,
    and is checked in: the customer standing at the door keeps their place.
    """
    now = now or timezone.now()
    ticket = _lock_ticket(ticket_id, branch=branch)
    if ticket.is_remote and ticket.status == TicketStatus.NO_SHOW and ticket.checked_in_at is None:
        raise QueueError(
            _(
                "Ticket %(code)s has expired: its turn passed before it was checked in. "
                "Please ask the lobby manager for a new ticket."
            )
            % {"code": ticket.code},
            code="expired",
        )
    if ticket.status == TicketStatus.REMOTE and ticket.business_date != business_date_for(
        ticket.branch, now
    ):
        raise QueueError(
            _("Ticket %(code)s was for another day: please take a new ticket.")
            % {"code": ticket.code},
            code="expired",
        )
    return _apply(ticket, TicketAction.CHECK_IN, by=by, at=now, note=note)


def _branch_day_over(branch: Branch, business_date, now: datetime) -> bool:
    """Whether the branch's business day `business_date` has ended (closing time passed)."""
    local = timezone.localtime(now, branch.tz)
    if local.date() != business_date:
        return local.date() > business_date
    return local.time() >= branch.closes_at


def _latest_called_arrivals(tickets: list[Ticket]) -> dict[tuple, dict[int, datetime]]:
    """Per (branch, service, day) of these remote tickets: per priority class, the latest
    arrival among that day's called tickets. One query on the (branch, business_date) index:
    the day's tickets only, whatever the history."""
    if not tickets:
        return {}
    rows = (
        Ticket.objects.filter(
            branch_id__in={t.branch_id for t in tickets},
            business_date__in={t.business_date for t in tickets},
            service_id__in={t.service_id for t in tickets},
            called_at__isnull=False,
        )
        .values("branch_id", "service_id", "business_date", "priority")
        .annotate(latest=Max("arrived_at"))
        .order_by()
    )
    latest: dict[tuple, dict[int, datetime]] = {}
    for row in rows:
        key = (row["branch_id"], row["service_id"], row["business_date"])
        latest.setdefault(key, {})[row["priority"]] = row["latest"]
    return latest


def _fate(
    ticket: Ticket, branch: Branch, latest: dict[tuple, dict[int, datetime]], now: datetime
) -> remote.RemoteFate:
    return remote.remote_fate(
        arrived_at=ticket.arrived_at,
        priority=ticket.priority,
        skipped_at=ticket.skipped_at,
        latest_called_arrival=latest.get(
            (ticket.branch_id, ticket.service_id, ticket.business_date), {}
        ),
        grace=timedelta(minutes=branch.remote_grace_minutes),
        day_over=_branch_day_over(branch, ticket.business_date, now),
        now=now,
    )


@transaction.atomic
def _sweep_one(
    ticket_id: int, latest: dict[tuple, dict[int, datetime]], now: datetime
) -> tuple[bool, bool]:
    """Skip and/or expire one remote ticket, under its row lock: a check-in racing with the
    sweep waits for it (or the sweep for the check-in), and the loser sees the new status."""
    ticket = _lock_ticket(ticket_id)
    if ticket.status != TicketStatus.REMOTE:
        return False, False  # checked in or cancelled meanwhile
    fate = _fate(ticket, ticket.branch, latest, now)
    skipped = False
    if fate.skip and ticket.skipped_at is None:
        ticket.skipped_at = now
        ticket.save(update_fields=["skipped_at"])
        skipped = True
    if fate.expire:
        _apply(ticket, TicketAction.EXPIRE, by=None, at=now)
    return skipped, fate.expire


def remote_tickets_sweep(
    *, now: datetime | None = None, ticket_ids: Iterable[int] | None = None
) -> tuple[int, int]:
    """Every branch's remote tickets: stamp skipped_at on those whose turn has passed, expire
    (no-show) those whose grace is over, and all of them once their business day has ended.
    Returns (skipped, expired). Idempotent; beat runs it every minute (queueing.tasks).
    `ticket_ids`: only these tickets (a simulated day sweeps its own tickets at its own
    moments, never another day's).

    Three reads for the whole bank (branches; remote tickets through the (branch, status,
    service) index; the day's called tickets), then one short transaction per ticket that
    changes: the cost follows today's remote tickets, never the history.
    """
    now = now or timezone.now()
    branches = {b.pk: b for b in Branch.objects.all()}
    remote_tickets = Ticket.objects.filter(branch_id__in=list(branches), status=TicketStatus.REMOTE)
    if ticket_ids is not None:
        remote_tickets = remote_tickets.filter(pk__in=list(ticket_ids))
    tickets = list(
        remote_tickets.only(
            "pk", "branch_id", "service_id", "business_date", "arrived_at", "priority", "skipped_at"
        )
    )
    latest = _latest_called_arrivals(tickets)
    skipped = expired = 0
    for ticket in tickets:
        fate = _fate(ticket, branches[ticket.branch_id], latest, now)
        if not (fate.expire or (fate.skip and ticket.skipped_at is None)):
            continue
        did_skip, did_expire = _sweep_one(ticket.pk, latest, now)
        skipped += did_skip
        expired += did_expire
    return skipped, expired


def _refuse_second_seat(counter: Counter, teller: User) -> None:
    """One teller, one counter: a customer called to a counter must find its teller there."""
    elsewhere = (
        Counter.objects.filter(branch_id=counter.branch_id, teller=teller, is_open=True)
        .exclude(pk=counter.pk)
        .first()
    )
    if elsewhere is not None:
        raise QueueError(
            _("You are seated at %(counter)s: close it first.") % {"counter": elsewhere},
            code="seated_elsewhere",
        )


@transaction.atomic
def counter_open(*, counter: Counter, teller: User) -> Counter:
    """Sit down at the counter: open it, or take the free seat of an open counter nobody sits
    at (its teller signed out with a customer still there). A counter another teller holds is
    refused: taking it is counter_take_over, with a reason on record."""
    counter = _lock_counter(counter.pk)
    if counter.is_open and counter.teller_id is not None and counter.teller_id != teller.pk:
        raise QueueError(
            _(
                "%(counter)s is held by %(teller)s. Ask them to close it, or take it over "
                "with a reason."
            )
            % {"counter": counter, "teller": _teller_name(counter.teller)},
            code="counter_held",
        )
    if counter.is_open and counter.teller_id == teller.pk and not counter.is_paused:
        return counter  # already seated here (a double click): nothing to record
    _refuse_second_seat(counter, teller)
    counter.is_open, counter.is_paused, counter.teller = True, False, teller
    counter.save(update_fields=["is_open", "is_paused", "teller"])
    _record(counter, CounterEvent.Action.OPEN, by=teller)
    return counter


# Who may take another teller's seat: a colleague who must go on serving (a teller), or the
# branch head; either way with a reason, which the audit trail keeps with both names.
TAKE_OVER_ROLES = COUNTER_ROLES


@transaction.atomic
def counter_take_over(*, counter: Counter, by: User, reason: str) -> Counter:
    """Take the seat of a counter another teller holds (they left without signing out, fell
    ill...). The counter stays as it is, with its customer, pause and all: only who is
    seated changes, and the reason is recorded."""
    reason = reason.strip()
    if not reason:
        raise QueueError(_("Give the reason for taking over the counter."), code="reason")
    counter = _lock_counter(counter.pk)
    if not user_has_role(user=by, branch=counter.branch, roles=TAKE_OVER_ROLES):
        raise QueueError(
            _("Only a teller or the branch head may take over a counter."), code="forbidden"
        )
    if not counter.is_open or counter.teller_id is None or counter.teller_id == by.pk:
        raise QueueError(
            _("Nobody else holds %(counter)s: open it instead.") % {"counter": counter},
            code="not_held",
        )
    _refuse_second_seat(counter, by)
    previous = counter.teller
    counter.teller = by
    counter.save(update_fields=["teller"])
    _record(counter, CounterEvent.Action.TAKE_OVER, by=by, reason=reason, previous_teller=previous)
    return counter


@transaction.atomic
def counter_close(*, counter: Counter, teller: User) -> Counter:
    counter = _lock_counter(counter.pk)
    _require_seated(counter, teller)
    if counter_current_ticket(counter=counter) is not None:
        raise QueueError(_("Finish or transfer the current customer before closing."))
    counter.is_open, counter.is_paused, counter.teller = False, False, None
    counter.save(update_fields=["is_open", "is_paused", "teller"])
    _record(counter, CounterEvent.Action.CLOSE, by=teller)
    return counter


@transaction.atomic
def counter_set_paused(*, counter: Counter, teller: User, paused: bool) -> Counter:
    counter = _lock_counter(counter.pk)
    if not counter.is_open:
        raise QueueError(_("The counter is closed."))
    _require_seated(counter, teller)
    if counter.is_paused == paused:
        return counter
    counter.is_paused = paused
    counter.save(update_fields=["is_paused"])
    _record(counter, CounterEvent.Action.PAUSE if paused else CounterEvent.Action.RESUME, by=teller)
    return counter


@transaction.atomic
def counter_release_teller(*, teller: User) -> list[Counter]:
    """The teller signs out: nobody must be left "seated" under their name.

    A counter with nobody at it is closed. A counter with a customer still called or being
    served is not closed and nothing is finished for the teller (the customer is standing
    there, the checklist is not done): it stays open but paused and free, so it calls no one
    else and a colleague can sit down with "Open counter" and finish the service. Both are
    recorded in the counter's audit trail.
    """
    released = []
    seats = Counter.objects.filter(teller=teller).order_by("pk").values_list("pk", flat=True)
    for counter_id in seats:
        counter = _lock_counter(counter_id)
        if counter.teller_id != teller.pk:  # closed or taken over meanwhile
            continue
        if counter_current_ticket(counter=counter) is None:
            counter.is_open, counter.is_paused, counter.teller = False, False, None
            action = CounterEvent.Action.SIGN_OUT
        else:
            counter.is_paused, counter.teller = True, None
            action = CounterEvent.Action.LEAVE
        counter.save(update_fields=["is_open", "is_paused", "teller"])
        _record(counter, action, by=teller)
        released.append(counter)
    return released


__all__ = [
    "ACTIVE_AT_COUNTER",
    "COUNTER_ROLES",
    "REINSTATE_ROLES",
    "REINSTATE_WINDOW",
    "TAKE_OVER_ROLES",
    "CallNext",
    "QueueError",
    "call_next",
    "call_next_in_transaction",
    "counter_close",
    "counter_lock_of_ticket",
    "counter_open",
    "counter_release_teller",
    "counter_set_paused",
    "counter_take_over",
    "remote_tickets_sweep",
    "ticket_call_next",
    "ticket_call_next_in_transaction",
    "ticket_cancel",
    "ticket_cancel_remote",
    "ticket_check_in",
    "ticket_finish",
    "ticket_finish_in_transaction",
    "ticket_issue",
    "ticket_no_show",
    "ticket_recall",
    "ticket_reinstatable",
    "ticket_reinstate",
    "ticket_start",
    "ticket_transfer",
]
