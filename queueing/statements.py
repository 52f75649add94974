"""The queue's hot statements, written in SQL.

Issue, call-next, start and finish run hundreds of times a second across a bank. Measured on
the 2-core bench machine, the ORM spent more CPU *building* these statements than PostgreSQL
spent running them: locking the counter with its current ticket cost 1.2 ms of Python as a
QuerySet and 0.12 ms as SQL, the waiting list 1.0 ms, a history row 0.19 ms against 0.04 ms
(docs/benchmarks.md). So each statement is written once here, with every value a parameter
(table and column names come from the models), and the services call these functions.

They run on PostgreSQL and on SQLite (`make run`): row-lock clauses are added only where the
database has them (SQLite serialises writers anyway), and datetimes go through the backend's
own adaptation, as the ORM's would.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime

from django.db import connection

from accounts.sql import for_update

from .models import Counter, DailySequence, Ticket, TicketEvent
from .states import ACTIVE_AT_COUNTER, TicketStatus

TICKETS = Ticket._meta.db_table
COUNTERS = Counter._meta.db_table
EVENTS = TicketEvent._meta.db_table
SEQUENCES = DailySequence._meta.db_table
TICKET_COLUMNS = ", ".join(field.column for field in Ticket._meta.concrete_fields)
ACTIVE = tuple(str(status) for status in sorted(ACTIVE_AT_COUNTER))


def _when(value: datetime | None):
    return connection.ops.adapt_datetimefield_value(value)


def _day(value: date):
    return connection.ops.adapt_datefield_value(value)


def _placeholders(values: Sequence) -> str:
    return ", ".join(["%s"] * len(values))


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


def insert_ticket(ticket: Ticket) -> int:
    """INSERT the unsaved ticket; sets and returns its id."""
    fields = [f for f in Ticket._meta.concrete_fields if not f.primary_key]
    values = [f.get_db_prep_save(getattr(ticket, f.attname), connection) for f in fields]
    sql = (
        f"INSERT INTO {TICKETS} ({', '.join(f.column for f in fields)})"  # noqa: S608
        f" VALUES ({_placeholders(values)}) RETURNING id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        ticket.pk = cursor.fetchone()[0]
    ticket._state.adding, ticket._state.db = False, connection.alias
    return ticket.pk


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
        f"INSERT INTO {EVENTS}"  # noqa: S608
        " (ticket_id, branch_id, action, from_status, to_status, at, by_id, counter_id, note)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id"
    )
    params = [ticket_id, branch_id, action, from_status, to_status, _when(at), by_id]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, counter_id, note])
        return cursor.fetchone()[0]


def lock_counter(counter_id: int, *, branch_id: int | None) -> Counter | None:
    """Lock the counter row (of this branch) and read the id of its current ticket with it."""
    sql = (
        f"SELECT c.*, (SELECT a.id FROM {TICKETS} a"  # noqa: S608
        f" WHERE a.counter_id = c.id AND a.status IN ({_placeholders(ACTIVE)})"
        " ORDER BY a.called_at DESC LIMIT 1) AS current_ticket_id"
        f" FROM {COUNTERS} c WHERE c.id = %s"
    )
    params: list = [*ACTIVE, counter_id]
    if branch_id is not None:
        sql += " AND c.branch_id = %s"
        params.append(branch_id)
    rows = list(Counter.objects.raw(sql + for_update(), params))
    return rows[0] if rows else None


def waiting_for_counter(
    *, branch_id: int, counter_id: int, service_ids: Iterable[int]
) -> list[Ticket]:
    """The branch's waiting tickets this counter may call: those of its services not sent to
    a named counter, and those sent to it."""
    service_ids = list(service_ids)
    sql = (
        f"SELECT {TICKET_COLUMNS} FROM {TICKETS}"  # noqa: S608
        " WHERE branch_id = %s AND status = %s AND (target_counter_id = %s"
    )
    params: list = [branch_id, TicketStatus.WAITING.value, counter_id]
    if service_ids:
        sql += f" OR (target_counter_id IS NULL AND service_id IN ({_placeholders(service_ids)}))"
        params += service_ids
    return list(Ticket.objects.raw(sql + ")", params))


def claim_waiting(ticket_id: int, *, counter_id: int, teller_id: int, at: datetime) -> bool:
    """Call this ticket if it is still waiting, nobody else is claiming it (the sub-select
    skips a row another transaction holds) and the counter has nobody at it, in one UPDATE.

    The last condition is read by this statement, after the counter lock was granted: the lock
    query's own look at the counter's ticket used the snapshot from before it waited, so a
    double-click's second call, granted the lock when the first committed, saw no one there.
    """
    sql = (
        f"UPDATE {TICKETS} SET status = %s, called_at = %s, counter_id = %s, teller_id = %s"  # noqa: S608
        f" WHERE id IN (SELECT id FROM {TICKETS} WHERE id = %s AND status = %s"
        f"{for_update(skip_locked=True)})"
        " AND status = %s"
        f" AND NOT EXISTS (SELECT 1 FROM {TICKETS} a"
        f" WHERE a.counter_id = %s AND a.status IN ({_placeholders(ACTIVE)}))"
    )
    waiting = TicketStatus.WAITING.value
    params = [TicketStatus.CALLED.value, _when(at), counter_id, teller_id]
    params += [ticket_id, waiting, waiting, counter_id, *ACTIVE]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount == 1


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
) -> Ticket | None:
    """One UPDATE … RETURNING: the ticket moves only from `from_status`, only at an open counter
    where `by` is seated (and only in this branch). None when it does not match."""
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
    rows = list(Ticket.objects.raw(f"{sql} RETURNING {TICKET_COLUMNS}", params))
    return rows[0] if rows else None
