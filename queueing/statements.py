"""The queue's hot statements, written in SQL.

Issue, call-next, start and finish run hundreds of times a second across a bank. Measured on
the 2-core bench machine, the ORM spent more CPU *building* these statements than PostgreSQL
spent running them: locking the counter with its current ticket cost 1.2 ms of Python as a
QuerySet and 0.12 ms as SQL, the waiting list 1.0 ms, a history row 0.19 ms against 0.04 ms
(docs/benchmarks.md). So each statement is written once here, with every value a parameter
(table and column names come from the models), and the services call these functions.

The ticket's history row (TicketEvent) rides in the same statement as the change it records:
on PostgreSQL the issue's INSERT, the call's claim and the UPDATE of start, finish and no-show
each run inside a WITH whose INSERT … SELECT writes the history row from the rows the change
returned. Every statement is a round trip, ~0.2 ms of PostgreSQL CPU plus the client's on the
2-core machine, and a ticket's life (issue, call-next, start, finish) saves 4 of them.

They run on PostgreSQL and on SQLite (`make run`): row-lock clauses are added only where the
database has them (SQLite serialises writers anyway), SQLite allows no INSERT or UPDATE inside
WITH so there the history row stays a second statement, and datetimes go through the backend's
own adaptation, as the ORM's would.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, NamedTuple

from django.db import connection

from accounts.sql import Rider, driver_values_fit, for_update, model_rows, value_rows

from .models import Counter, DailySequence, Ticket, TicketEvent
from .states import ACTIVE_AT_COUNTER, TicketStatus

if TYPE_CHECKING:
    from accounts import outbox

TICKETS = Ticket._meta.db_table
COUNTERS = Counter._meta.db_table
EVENTS = TicketEvent._meta.db_table
SEQUENCES = DailySequence._meta.db_table
TICKET_COLUMNS = ", ".join(field.column for field in Ticket._meta.concrete_fields)
# Named, not `c.*`: the rows map to the model's fields by name (accounts.sql.models_from).
COUNTER_COLUMNS = ", ".join(f"c.{field.column}" for field in Counter._meta.concrete_fields)
EVENT_COLUMNS = "ticket_id, branch_id, action, from_status, to_status, at, by_id, counter_id, note"
ACTIVE = tuple(str(status) for status in sorted(ACTIVE_AT_COUNTER))
# Written into the SQL, not passed as parameters: a plan made for parameters (a prepared
# statement's generic plan) could not prove `status IN ($1, $2)` matches the partial index of
# tickets at a counter now (ticket_at_counter_now) and would walk the counter's whole history.
if not all(status.isidentifier() and status.islower() for status in ACTIVE):
    raise ValueError(f"statuses must be plain words to be written into SQL: {ACTIVE}")
ACTIVE_SQL = ", ".join(f"'{status}'" for status in ACTIVE)


def _when(value: datetime | None):
    return connection.ops.adapt_datetimefield_value(value)


def _day(value: date):
    return connection.ops.adapt_datefield_value(value)


def _placeholders(values: Sequence) -> str:
    return ", ".join(["%s"] * len(values))


def _history_rides_along() -> bool:
    """Whether the history row can be written inside the change's own statement: PostgreSQL
    allows an INSERT or UPDATE in WITH, SQLite does not (a second statement there)."""
    return connection.vendor == "postgresql"


@dataclass(frozen=True)
class History:
    """A TicketEvent's own values; its ticket and branch are the changed row's. `counter_id`
    None: the ticket's counter after the change (the rule of services._record_event)."""

    action: str
    from_status: str
    to_status: str
    at: datetime
    by_id: int | None
    note: str
    counter_id: int | None = None

    def row(self, *, ticket_id: int, branch_id: int, ticket_counter_id: int | None) -> dict:
        """insert_event's arguments for this ticket."""
        counter_id = self.counter_id if self.counter_id is not None else ticket_counter_id
        return {
            "ticket_id": ticket_id,
            "branch_id": branch_id,
            "action": self.action,
            "from_status": self.from_status,
            "to_status": self.to_status,
            "at": self.at,
            "by_id": self.by_id,
            "counter_id": counter_id,
            "note": self.note,
        }


def _history_of(changed: str, history: History) -> tuple[str, list]:
    """INSERT … SELECT of the history row of each row of the CTE `changed`, which returns the
    ticket's id, branch_id and counter_id as they are after the change."""
    sql = (
        f"INSERT INTO {EVENTS} ({EVENT_COLUMNS})"  # noqa: S608
        f" SELECT {changed}.id, {changed}.branch_id, %s, %s, %s, %s, %s,"
        f" COALESCE(%s, {changed}.counter_id), %s FROM {changed}"
    )
    params = [history.action, history.from_status, history.to_status, _when(history.at)]
    return sql, [*params, history.by_id, history.counter_id, history.note]


def next_number(*, branch_id: int, prefix: str, business_date: date) -> int:
    """The day's next number for this prefix: the upsert creates the day's row or takes its row
    lock and increments it, so two tablets never get the same number."""
    sql = (
        f"INSERT INTO {SEQUENCES} (branch_id, prefix, business_date, last_number)"  # noqa: S608
        " VALUES (%s, %s, %s, 1)"
        " ON CONFLICT (branch_id, prefix, business_date)"
        f" DO UPDATE SET last_number = {SEQUENCES}.last_number + 1"
        " RETURNING last_number"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [branch_id, prefix, _day(business_date)])
        return cursor.fetchone()[0]


def ticket_code(prefix: str, number: int) -> str:
    """A ticket's code: the service's prefix and the day's number, at least three digits (A007,
    A1000). TICKET_CODE_SQL writes the same in SQL."""
    return f"{prefix}{number:03d}"


# ticket_code in SQL, the prefix a parameter and {n} the number's expression (PostgreSQL;
# tests/test_statements_fold.py compares the two).
TICKET_CODE_SQL = "%s || CASE WHEN {n} < 1000 THEN lpad({n}::text, 3, '0') ELSE {n}::text END"


def change_is_one_statement() -> bool:
    """Whether a change and its history row are one statement on this database (PostgreSQL:
    a data-modifying WITH), so that a change with nothing else to write needs no BEGIN and
    COMMIT around it: the statement is its own transaction (queueing.services)."""
    return _history_rides_along()


def issue_ticket(ticket: Ticket, *, history: History) -> int:
    """The day's next number for the ticket's service and the ticket with it, and its history
    row: one statement on PostgreSQL (the day's counter row stays locked until it commits, so
    two tablets never get the same number). Sets the ticket's id, number and code; returns the
    history row's id. Elsewhere next_number, then insert_ticket."""
    prefix = ticket.service.prefix
    if not _history_rides_along():
        ticket.number = next_number(
            branch_id=ticket.branch_id, prefix=prefix, business_date=ticket.business_date
        )
        ticket.code = ticket_code(prefix, ticket.number)
        return insert_ticket(ticket, history=history)
    given = [f for f in Ticket._meta.concrete_fields if f.attname not in ("id", "number", "code")]
    values = [f.get_db_prep_save(getattr(ticket, f.attname), connection) for f in given]
    history_sql, history_params = _history_of("issued", history)
    code_sql = TICKET_CODE_SQL.format(n="day.last_number")
    sql = (
        f"WITH day AS (INSERT INTO {SEQUENCES} (branch_id, prefix, business_date, last_number)"  # noqa: S608
        " VALUES (%s, %s, %s, 1) ON CONFLICT (branch_id, prefix, business_date)"
        f" DO UPDATE SET last_number = {SEQUENCES}.last_number + 1 RETURNING last_number),"
        f" issued AS (INSERT INTO {TICKETS} ({', '.join(f.column for f in given)}, number, code)"
        f" SELECT {_placeholders(values)}, day.last_number, {code_sql} FROM day"
        " RETURNING id, branch_id, counter_id, number, code),"
        f" history AS ({history_sql} RETURNING id)"
        " SELECT issued.id, issued.number, issued.code, history.id FROM issued, history"
    )
    params = [ticket.branch_id, prefix, _day(ticket.business_date), *values, prefix]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *history_params])
        ticket.pk, ticket.number, ticket.code, version = cursor.fetchone()
    ticket._state.adding, ticket._state.db = False, connection.alias
    return version


def insert_ticket(ticket: Ticket, *, history: History) -> int:
    """INSERT the unsaved ticket (sets its id) and its history row; returns the row's id."""
    fields = [f for f in Ticket._meta.concrete_fields if not f.primary_key]
    values = [f.get_db_prep_save(getattr(ticket, f.attname), connection) for f in fields]
    sql = (
        f"INSERT INTO {TICKETS} ({', '.join(f.column for f in fields)})"  # noqa: S608
        f" VALUES ({_placeholders(values)}) RETURNING id"
    )
    version = None
    with connection.cursor() as cursor:
        if _history_rides_along():
            history_sql, history_params = _history_of("issued", history)
            cursor.execute(
                f"WITH issued AS ({sql}, branch_id, counter_id)"
                f" {history_sql} RETURNING ticket_id, id",
                [*values, *history_params],
            )
            ticket.pk, version = cursor.fetchone()
        else:
            cursor.execute(sql, values)
            ticket.pk = cursor.fetchone()[0]
    ticket._state.adding, ticket._state.db = False, connection.alias
    if version is None:
        row = history.row(
            ticket_id=ticket.pk, branch_id=ticket.branch_id, ticket_counter_id=ticket.counter_id
        )
        version = insert_event(**row)
    return version


def insert_event(
    *,
    ticket_id: int,
    branch_id: int,
    action: str,
    from_status: str,
    to_status: str,
    at: datetime,
    by_id: int | None,
    counter_id: int | None,
    note: str,
) -> int:
    """A TicketEvent (the ticket's history row); returns its id, the branch's queue version."""
    sql = (
        f"INSERT INTO {EVENTS} ({EVENT_COLUMNS})"  # noqa: S608
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id"
    )
    params = [ticket_id, branch_id, action, from_status, to_status, _when(at), by_id]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, counter_id, note])
        return cursor.fetchone()[0]


def lock_counter(counter_id: int, *, branch_id: int | None) -> Counter | None:
    """Lock the counter row (of this branch) and read the id of its current ticket with it."""
    sql = (
        f"SELECT {COUNTER_COLUMNS}, (SELECT a.id FROM {TICKETS} a"  # noqa: S608
        f" WHERE a.counter_id = c.id AND a.status IN ({ACTIVE_SQL})"
        " ORDER BY a.called_at DESC LIMIT 1) AS current_ticket_id"
        f" FROM {COUNTERS} c WHERE c.id = %s"
    )
    params: list = [counter_id]
    if branch_id is not None:
        sql += " AND c.branch_id = %s"
        params.append(branch_id)
    rows = model_rows(Counter, sql + for_update(), params)
    return rows[0] if rows else None


@dataclass(frozen=True)
class CounterLook:
    """What call-next reads before it claims: the locked counter (with `current_ticket_id`),
    the waiting tickets this counter may call (waiting_for_counter's rows) and the branch's
    queue version, all as of one moment. The version is None where it was not read with them
    (SQLite): there the caller's transaction holds the database's write lock from its start
    (BEGIN IMMEDIATE), so latest_event_id read later in it is the same moment."""

    counter: Counter
    waiting: list[tuple]
    queue_version: int | None


def lock_counter_and_look(
    counter_id: int,
    *,
    branch_id: int,
    service_ids: Iterable[int],
    attnames: Sequence[str],
) -> CounterLook | None:
    """lock_counter, waiting_for_counter and the branch's queue version (latest_event_id) in
    one statement on PostgreSQL (a round trip and the cached version's Redis read fewer for
    every call); elsewhere the first two, and no version. None when the counter is not this
    branch's.

    The version and the waiting tickets come from the same snapshot, so a ticket that joins
    after this look has a higher version: an idle counter's long poll for "after this version"
    cannot miss it. The snapshot is the statement's, taken before any wait for the counter's
    lock (a double-click's second call): the claim re-checks what matters under the lock."""
    service_ids = list(service_ids)
    if not (_history_rides_along() and driver_values_fit(Counter, Ticket)):
        counter = lock_counter(counter_id, branch_id=branch_id)
        if counter is None:
            return None
        waiting = waiting_for_counter(
            branch_id=branch_id, counter_id=counter_id, service_ids=service_ids, attnames=attnames
        )
        return CounterLook(counter, waiting, None)
    columns = {field.attname: field.column for field in Ticket._meta.concrete_fields}
    waiting_columns = ", ".join(f"w.{columns[name]}" for name in attnames)
    # Both sub-selects are uncorrelated (parameters, not c's columns): run once, not per row.
    sql = (
        f"SELECT {COUNTER_COLUMNS}, (SELECT a.id FROM {TICKETS} a"  # noqa: S608
        f" WHERE a.counter_id = %s AND a.status IN ({ACTIVE_SQL})"
        " ORDER BY a.called_at DESC LIMIT 1),"
        f" ({LATEST_EVENT_SQL}), {waiting_columns}"
        f" FROM {COUNTERS} c LEFT JOIN {TICKETS} w ON w.branch_id = %s AND w.status = %s"
        " AND (w.target_counter_id = %s"
    )
    params: list = [counter_id, branch_id, branch_id]  # the current ticket, the version
    params += [branch_id, TicketStatus.WAITING.value, counter_id]  # the waiting tickets
    if service_ids:
        sql += (
            f" OR (w.target_counter_id IS NULL AND w.service_id IN ({_placeholders(service_ids)}))"
        )
        params += service_ids
    sql += ") WHERE c.id = %s AND c.branch_id = %s FOR UPDATE OF c"
    params += [counter_id, branch_id]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not rows:
        return None
    fields = len(Counter._meta.concrete_fields)  # COUNTER_COLUMNS, in the fields' order
    first = rows[0]
    counter = Counter(*first[:fields])
    counter._state.adding, counter._state.db = False, connection.alias
    counter.current_ticket_id = first[fields]
    # A counter with nobody waiting: one row, the ticket's columns NULL (LEFT JOIN).
    ticket_id = fields + 2 + list(attnames).index("id")
    waiting = [row[fields + 2 :] for row in rows if row[ticket_id] is not None]
    return CounterLook(counter, waiting, first[fields + 1] or 0)


# The branch's latest history row, through the index `ticketevent_branch_latest` (branch, -id)
# whatever the statistics say. Written `max(id) … WHERE branch_id = %s` (or the ORM's
# `filter(branch=…).order_by("-id")[:1]`), PostgreSQL may walk the primary key backwards and
# filter by branch, guessing a row of this branch is near the end: true while branches are
# equally busy, but a branch quiet since the others wrote 195,000 rows took 27 ms against
# 0.05 (bf_explain, 1 M tickets, 10 branches; docs/benchmarks.md). A range on the branch with
# the branch first in the order is something only that index delivers without a sort.
LATEST_EVENT_SQL = (
    f"SELECT e.id FROM {EVENTS} e WHERE e.branch_id BETWEEN %s AND %s"  # noqa: S608
    " ORDER BY e.branch_id, e.id DESC LIMIT 1"
)


def latest_event_id(branch_id: int) -> int:
    """The branch's latest history row's id (its queue version; 0 before any)."""
    with connection.cursor() as cursor:
        cursor.execute(LATEST_EVENT_SQL, [branch_id, branch_id])
        row = cursor.fetchone()
    return row[0] if row else 0


def waiting_for_counter(
    *, branch_id: int, counter_id: int, service_ids: Iterable[int], attnames: Sequence[str]
) -> list[tuple]:
    """The branch's waiting tickets this counter may call: those of its services not sent to
    a named counter, and those sent to it. Only the fields `attnames` (the id among them), as
    tuples: routing reads a few columns of every waiting ticket, and reading and building
    whole tickets cost three times as much with long queues (the one called comes back whole
    from claim_waiting)."""
    service_ids = list(service_ids)
    columns = {field.attname: field.column for field in Ticket._meta.concrete_fields}
    sql = (
        f"SELECT {', '.join(columns[name] for name in attnames)} FROM {TICKETS}"  # noqa: S608
        " WHERE branch_id = %s AND status = %s AND (target_counter_id = %s"
    )
    params: list = [branch_id, TicketStatus.WAITING.value, counter_id]
    if service_ids:
        sql += f" OR (target_counter_id IS NULL AND service_id IN ({_placeholders(service_ids)}))"
        params += service_ids
    return value_rows(Ticket, sql + ")", params, attnames)


class Changed(NamedTuple):
    """A ticket as a change left it, the id of its history row (the branch's new queue
    version), and the id of the outbox event the change's statement wrote with it (None: it
    carried none)."""

    ticket: Ticket
    version: int
    event_id: int | None = None


def _changed_with_history(
    sql: str,
    params: list,
    history: History,
    event: outbox.Rider | None = None,
    riders: Sequence[Rider] = (),
) -> Changed | None:
    """Run `sql`, an UPDATE of at most one ticket RETURNING TICKET_COLUMNS, with its history
    row, and `event`'s outbox rows and the `riders`' writes if given (each reads the changed
    row as the CTE `changed`; what they return becomes attributes of the ticket): in the same
    statement where the database allows it (riders are only given there). None when nothing
    matched (and nothing was written)."""
    riders = [*([event] if event is not None else []), *riders]
    if _history_rides_along():
        history_sql, history_params = _history_of("changed", history)
        ctes = "".join(f", {rider.ctes}" for rider in riders)
        selected = "".join(
            f", {expression} AS {name}"
            for rider in riders
            for name, expression in rider.returns.items()
        )
        sql = (
            f"WITH changed AS ({sql}), history AS ({history_sql} RETURNING id){ctes}"  # noqa: S608
            f" SELECT changed.*, history.id AS history_id{selected} FROM changed, history"
        )
        extra = [param for rider in riders for param in rider.params]
        rows = model_rows(Ticket, sql, [*params, *history_params, *extra])
        if not rows:
            return None
        ticket = rows[0]
        event_id = getattr(ticket, event.event_id_name) if event is not None else None
        return Changed(ticket, ticket.history_id, event_id)
    if riders:
        raise ValueError("riders ride along only where the history row does")
    rows = model_rows(Ticket, sql, params)
    if not rows:
        return None
    ticket = rows[0]
    row = history.row(
        ticket_id=ticket.pk, branch_id=ticket.branch_id, ticket_counter_id=ticket.counter_id
    )
    return Changed(ticket, insert_event(**row))


def claim_waiting(
    ticket_ids: Sequence[int],
    *,
    counter_id: int,
    teller_id: int,
    at: datetime,
    history: History,
) -> tuple[Ticket, int] | None:
    """Call the first of these tickets, in the order given, that is still waiting and that
    nobody else is claiming (the sub-select skips a row another transaction holds), if the
    counter has nobody at it: one UPDATE, with its history row. Returns the called ticket,
    whole, and that row's id (the branch's new queue version); None when none was claimed (and
    nothing was written).

    Several ids, not one: counters with the same skills all rank the same ticket first, and one
    round trip per lost claim (with a look at the counter after each) was the price of that;
    measured on 2 vCPUs, 0.7 lost claims per call with 8 tellers, 1.5 with 32.

    The last condition is read by this statement, after the counter lock was granted: the lock
    query's own look at the counter's ticket used the snapshot from before it waited, so a
    double-click's second call, granted the lock when the first committed, saw no one there.
    """
    ticket_ids = list(ticket_ids)
    if not ticket_ids:
        return None
    in_order = " ".join(f"WHEN %s THEN {rank}" for rank in range(len(ticket_ids)))
    sql = (
        f"UPDATE {TICKETS} SET status = %s, called_at = %s, counter_id = %s, teller_id = %s"  # noqa: S608
        # `id = (…)`, not `id IN (…)`: a scalar sub-select is run once for the statement. As an
        # IN it may be run again for a row PostgreSQL re-checks under concurrency, and skipping
        # what is now locked (the ticket it just took) it picked another: one call claimed two
        # tickets (seen under load, bench/load_queue.py).
        f" WHERE id = (SELECT id FROM {TICKETS} WHERE id IN ({_placeholders(ticket_ids)})"
        f" AND status = %s ORDER BY CASE id {in_order} END LIMIT 1"
        f"{for_update(skip_locked=True)})"
        " AND status = %s"
        f" AND NOT EXISTS (SELECT 1 FROM {TICKETS} a"
        f" WHERE a.counter_id = %s AND a.status IN ({ACTIVE_SQL}))"
        f" RETURNING {TICKET_COLUMNS}"
    )
    waiting = TicketStatus.WAITING.value
    params = [TicketStatus.CALLED.value, _when(at), counter_id, teller_id]
    params += [*ticket_ids, waiting, *ticket_ids, waiting, counter_id]
    claimed = _changed_with_history(sql, params, history)
    return None if claimed is None else (claimed.ticket, claimed.version)


def count_bypasses(ticket_ids: Sequence[int]) -> None:
    """+1 to each passed-over ticket still waiting, skipping any another transaction holds
    right now, so no call ever waits on another (docs/architecture.md, Concurrency)."""
    sql = (
        f"UPDATE {TICKETS} SET bypass_count = bypass_count + 1"  # noqa: S608
        f" WHERE id IN (SELECT id FROM {TICKETS} WHERE id IN ({_placeholders(ticket_ids)})"
        f" AND status = %s{for_update(skip_locked=True)})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*ticket_ids, TicketStatus.WAITING.value])


def move_at_counter(
    ticket_id: int,
    *,
    from_status: str,
    to_status: str,
    stamp_field: str,
    at: datetime,
    by_id: int,
    branch_id: int | None,
    history: History,
    event: outbox.Rider | None = None,
    service_ids: Sequence[int] | None = None,
    riders: Sequence[Rider] = (),
) -> Changed | None:
    """One UPDATE … RETURNING: the ticket moves only from `from_status`, only at an open counter
    where `by` is seated (and only in this branch, and only if its service is one of
    `service_ids` when given), and its history row is written, and `event`'s outbox rows and
    the `riders`' writes if given (PostgreSQL: accounts.outbox.publish_sql with source
    "changed"; accounts.sql.Rider). None when it does not match (and nothing was written)."""
    if stamp_field not in ("started_at", "finished_at"):
        raise ValueError(stamp_field)
    sql = (
        f"UPDATE {TICKETS} SET status = %s, {stamp_field} = %s"  # noqa: S608
        " WHERE id = %s AND status = %s"
        f" AND counter_id IN (SELECT id FROM {COUNTERS} WHERE teller_id = %s AND is_open = %s)"
    )
    params: list = [to_status, _when(at), ticket_id, from_status, by_id, True]
    if branch_id is not None:
        sql += " AND branch_id = %s"
        params.append(branch_id)
    if service_ids is not None:
        sql += " AND service_id = ANY(%s)"
        params.append(list(service_ids))
    sql += f" RETURNING {TICKET_COLUMNS}"
    return _changed_with_history(sql, params, history, event, riders)
