"""Durable domain events: a transactional outbox and its relay (docs/architecture.md).

* `publish(topic, payload)` writes an OutboxEvent, and one OutboxDelivery per listener of the
  topic, in the caller's transaction: the event exists if and only if the change committed.
* After commit, a nudge queues a task that delivers the new events at once, in a worker (not in
  the request); the events a process commits within OUTBOX_NUDGE_WINDOW_MS share one task.
  Whatever happens to the nudge (the process dies, no broker), beat's
  `accounts.tasks.relay_outbox` sweeps every due delivery, so each listener runs at least once.
* Each delivery runs in its own transaction: the row is claimed with
  `SELECT … FOR UPDATE SKIP LOCKED`, the listener runs in a savepoint, and the delivery is
  marked done in the same commit as the listener's writes. Two relays therefore never run one
  listener twice for one event, and a listener that raises rolls back alone: the delivery is
  retried with backoff and, after OUTBOX_MAX_ATTEMPTS, marked dead (admin list, /healthz/).
  Listeners still make their effects idempotent (a unique key), as at-least-once asks.

Listeners register with `@listener("topic", name="app.what_it_does")` in their app's
`ready()`. The name is the delivery's key: renaming a listener re-delivers nothing.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import threading
import time
import traceback
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, transaction
from django.utils import timezone

from . import sql
from .models import OutboxDelivery, OutboxEvent

log = logging.getLogger(__name__)

Listener = Callable[[OutboxEvent], None]

_listeners: dict[str, dict[str, Listener]] = defaultdict(dict)  # topic -> name -> function
_by_name: dict[str, Listener] = {}


def listener(*topics: str, name: str) -> Callable[[Listener], Listener]:
    """Register `fn(event)` for these topics under a stable name."""

    def register(fn: Listener) -> Listener:
        if _by_name.get(name, fn) is not fn:
            raise ValueError(f"outbox listener name {name!r} is taken")
        _by_name[name] = fn
        for topic in topics:
            _listeners[topic][name] = fn
        return fn

    return register


def listeners_for(topic: str) -> list[str]:
    return sorted(_listeners.get(topic, {}))


def publish(topic: str, payload: dict[str, Any], *, branch_id: int | None = None) -> int | None:
    """Record an event in the current transaction; deliver it after commit. Returns its id.

    An event no listener acts on is not written: the outbox carries what another app acts on,
    and the history of the change itself is its own app's record (a TicketEvent, say). The
    event and its deliveries are one statement on PostgreSQL (the hot path's query budget).
    """
    names = listeners_for(topic)
    if not names:
        return None  # nothing written: a change made in one statement needs no transaction
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError("publish() belongs inside the transaction that makes the change")
    created_at = timezone.now()
    if connection.vendor == "postgresql":
        event_id = _insert_event_and_deliveries(topic, payload, branch_id, created_at, names)
    else:
        event = OutboxEvent.objects.create(
            topic=topic, payload=payload, branch_id=branch_id, created_at=created_at
        )
        OutboxDelivery.objects.bulk_create(
            OutboxDelivery(event=event, listener=name, next_attempt_at=created_at) for name in names
        )
        event_id = event.pk
    count = len(names)
    transaction.on_commit(lambda: nudge([event_id], limit=count))
    return event_id


def _deliveries_of(event: str, listeners: int) -> str:
    """INSERT … SELECT of a pending delivery per listener of the event that the CTE `event`
    wrote (RETURNING id, created_at). Its parameters: the status, then the listeners' names."""
    names = ", ".join(["(%s)"] * listeners)
    return (
        f"INSERT INTO {OutboxDelivery._meta.db_table}"  # noqa: S608
        " (event_id, listener, status, attempts, next_attempt_at, last_error)"
        f" SELECT {event}.id, names.listener, %s, 0, {event}.created_at, ''"
        f" FROM {event} CROSS JOIN (VALUES {names}) AS names (listener)"
    )


def _insert_event_and_deliveries(
    topic: str,
    payload: dict[str, Any],
    branch_id: int | None,
    created_at: datetime,
    names: list[str],
) -> int:
    """One round trip: the event, then a pending delivery per listener (a data-modifying CTE)."""
    # Names from the models; every value is a parameter.
    sql = (
        f"WITH new_event AS ("  # noqa: S608
        f" INSERT INTO {OutboxEvent._meta.db_table} (topic, payload, branch_id, created_at)"
        f" VALUES (%s, %s::jsonb, %s, %s) RETURNING id, created_at)"
        f" {_deliveries_of('new_event', len(names))} RETURNING event_id"
    )
    params = [
        topic,
        json.dumps(payload, cls=DjangoJSONEncoder),
        branch_id,
        created_at,
        OutboxDelivery.Status.PENDING,
        *names,
    ]
    with transaction.get_connection().cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


@dataclass(frozen=True)
class Rider(sql.Rider):
    """A topic's event and its deliveries as two CTEs (`<name>_event`, `<name>_deliveries`;
    name "outbox" unless given) for another data-modifying WITH on PostgreSQL: the event is
    written by the change's own statement, from the row it changed, instead of by a statement
    of its own (one round trip less; a finish with nothing else to write needs no transaction).
    The statement selects `returns` (the event's id as `<name>_event_id`, NULL when the source
    CTE changed no row) and hands that id to `published`.

    `source` is the CTE of the changed row (at most one): the event's branch is its branch_id,
    and `payload_columns` name the payload's keys taken from its columns."""

    listeners: int = 0
    event_id_name: str = "outbox_event_id"


def publish_sql(
    topic: str,
    *,
    source: str,
    payload_columns: dict[str, str],
    payload: dict[str, Any],
    created_at: datetime,
    name: str = "outbox",
) -> Rider | None:
    """publish(topic, …) as a Rider for the statement that makes the change; None when no
    listener acts on the topic (nothing to write), as publish writes nothing then. `name`
    prefixes the CTEs, so that two events can ride in one statement."""
    names = listeners_for(topic)
    if not names:
        return None
    pairs = ", ".join(f"%s::text, {source}.{column}" for column in payload_columns.values())
    # Names from the models and the caller's code; every value is a parameter.
    ctes = (
        f"{name}_event AS (INSERT INTO {OutboxEvent._meta.db_table}"  # noqa: S608
        " (topic, payload, branch_id, created_at)"
        f" SELECT %s, jsonb_build_object({pairs}) || %s::jsonb, {source}.branch_id, %s"
        f" FROM {source} RETURNING id, created_at),"
        f" {name}_deliveries AS ({_deliveries_of(f'{name}_event', len(names))})"
    )
    params = [
        topic,
        *payload_columns,
        json.dumps(payload, cls=DjangoJSONEncoder),
        created_at,
        OutboxDelivery.Status.PENDING,
        *names,
    ]
    event_id_name = f"{name}_event_id"
    return Rider(
        ctes=ctes,
        params=params,
        returns={event_id_name: f"(SELECT id FROM {name}_event)"},  # noqa: S608
        listeners=len(names),
        event_id_name=event_id_name,
    )


def published(event_id: int, rider: Rider) -> None:
    """After the statement that carried `rider` wrote event `event_id`: deliver it after commit
    (at once outside a transaction: the statement committed itself), as publish does."""
    transaction.on_commit(lambda: nudge([event_id], limit=rider.listeners))


def nudge(event_ids: Sequence[int], *, limit: int = 1000) -> None:
    """After commit: deliver these events now. Best effort: beat's sweep covers any failure.

    OUTBOX_NUDGE = "task" (production): a worker delivers them (a task on the broker), so the
    request that made the change costs the same whatever listens to it; the events this process
    commits within OUTBOX_NUDGE_WINDOW_MS go as one task (_NudgeBatch). "inline": this process
    delivers them before going on (tests; a setup without a worker)."""
    try:
        if settings.OUTBOX_NUDGE == "inline":
            deliver_due(event_ids=event_ids, limit=limit)
            return
        from .resilience import nudges_are_held

        if nudges_are_held():  # a bulk job: beat's sweep delivers (resilience.nudges_held)
            return
        window_s = settings.OUTBOX_NUDGE_WINDOW_MS / 1000
        if window_s <= 0:
            _send_nudge(list(event_ids), limit)
        else:
            _batch.add(event_ids, limit, window_s)
    except Exception:
        log.exception("outbox nudge failed; the sweep will deliver events %s", list(event_ids))


def _send_nudge(event_ids: list[int], limit: int) -> None:
    try:
        from .resilience import enqueue
        from .tasks import deliver_outbox_events

        enqueue(deliver_outbox_events, event_ids, limit)
    except Exception:
        log.exception("outbox nudge failed; the sweep will deliver events %s", event_ids)


class _NudgeBatch:
    """The events this process committed in the last OUTBOX_NUDGE_WINDOW_MS, sent to the worker
    as one task by a background thread when the window closes.

    Queueing a Celery task costs the request ~1 ms of CPU (the message is built, serialised and
    pushed): measured, a tenth of the hot path's CPU at a busy branch, one task per finished
    ticket. The events are already durable; the nudge only decides how soon a worker delivers
    them, so a window of a fraction of a second costs nothing a customer notices, and whatever a
    dying process had not sent, beat's sweep delivers.
    """

    MAX_IDS = 500  # a bigger batch goes at once

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)
        self._reset()

    def _reset(self) -> None:
        self._ids: list[int] = []
        self._limit = 0
        self._due: float | None = None
        self._thread: threading.Thread | None = None

    def add(self, event_ids: Sequence[int], limit: int, window_s: float) -> None:
        with self._lock:
            self._ids.extend(event_ids)
            self._limit += limit
            if self._due is None:
                self._due = time.monotonic() + window_s
            if len(self._ids) >= self.MAX_IDS:
                self._due = time.monotonic()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="outbox-nudge", daemon=True)
                self._thread.start()
            self._ready.notify()

    def _take(self) -> tuple[list[int], int]:
        ids, limit = self._ids, self._limit
        self._ids, self._limit, self._due = [], 0, None
        return ids, limit

    def _run(self) -> None:
        while True:
            with self._lock:
                while self._due is None:
                    self._ready.wait()
                delay = self._due - time.monotonic()
                if delay > 0:
                    self._ready.wait(delay)
                    continue
                ids, limit = self._take()
            _send_nudge(ids, limit)

    def flush(self) -> None:
        """Send what is pending now (process exit; tests)."""
        with self._lock:
            ids, limit = self._take()
        if ids:
            _send_nudge(ids, limit)

    def after_fork(self) -> None:
        # The child has neither the parent's thread nor its pending events' requests.
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)
        self._reset()


_batch = _NudgeBatch()
flush_nudges = _batch.flush
atexit.register(flush_nudges)
os.register_at_fork(after_in_child=_batch.after_fork)


def retry_delay(attempts: int) -> timedelta:
    """Backoff after the n-th failed attempt: 10 s, 20 s, 40 s … capped at an hour."""
    return timedelta(seconds=min(10 * 2 ** max(attempts - 1, 0), 3600))


@dataclass
class RelayReport:
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return self.delivered + self.failed


def _claim(now: datetime, event_ids: Iterable[int] | None) -> OutboxDelivery | None:
    due = OutboxDelivery.objects.filter(
        status=OutboxDelivery.Status.PENDING, next_attempt_at__lte=now
    )
    if event_ids is not None:
        due = due.filter(event_id__in=list(event_ids))
    return (
        due.select_for_update(skip_locked=True, of=("self",))
        .select_related("event")
        .order_by("next_attempt_at", "id")
        .first()
    )


def _deliver_one(now: datetime, event_ids: Iterable[int] | None, report: RelayReport) -> bool:
    """Claim and run one due delivery in its own transaction; False when none is due."""
    with transaction.atomic():
        delivery = _claim(now, event_ids)
        if delivery is None:
            return False
        delivery.attempts += 1
        fn = _by_name.get(delivery.listener)
        try:
            if fn is None:
                raise LookupError(f"no listener named {delivery.listener!r} in this process")
            with transaction.atomic():  # a savepoint: a failing listener's writes roll back
                fn(delivery.event)
        except Exception as exc:
            delivery.last_error = "".join(traceback.format_exception_only(exc)).strip()[:2000]
            if delivery.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
                delivery.status = OutboxDelivery.Status.DEAD
                report.dead += 1
                log.error(
                    "outbox: %s gave up on event %s after %s attempts: %s",
                    delivery.listener,
                    delivery.event_id,
                    delivery.attempts,
                    delivery.last_error,
                )
            else:
                delivery.next_attempt_at = timezone.now() + retry_delay(delivery.attempts)
                log.warning(
                    "outbox: %s failed on event %s (attempt %s), retrying at %s: %s",
                    delivery.listener,
                    delivery.event_id,
                    delivery.attempts,
                    delivery.next_attempt_at.isoformat(),
                    delivery.last_error,
                )
            report.failed += 1
            report.errors.append(delivery.last_error)
        else:
            delivery.status = OutboxDelivery.Status.DONE
            delivery.delivered_at = timezone.now()
            delivery.last_error = ""
            report.delivered += 1
        delivery.save(
            update_fields=["status", "attempts", "next_attempt_at", "delivered_at", "last_error"]
        )
    return True


def deliver_due(
    *, event_ids: Sequence[int] | None = None, limit: int = 1000, now: datetime | None = None
) -> RelayReport:
    """Deliver up to `limit` due deliveries (of these events, or of any), oldest due first.

    A failing delivery is rescheduled into the future, so it never blocks the ones behind it.
    A database error ends the run; what was not delivered stays due for the next one.
    """
    now = now or timezone.now()
    report = RelayReport()
    while report.handled < limit:
        try:
            if not _deliver_one(now, event_ids, report):
                break
        except DatabaseError:
            log.exception("outbox relay stopped by a database error")
            break
    return report


def retry_dead(delivery_ids: Iterable[int]) -> int:
    """Give dead deliveries another round of attempts (the admin's "retry" action)."""
    return OutboxDelivery.objects.filter(
        pk__in=list(delivery_ids), status=OutboxDelivery.Status.DEAD
    ).update(status=OutboxDelivery.Status.PENDING, attempts=0, next_attempt_at=timezone.now())


@dataclass(frozen=True)
class Backlog:
    overdue: int  # pending and due for more than the grace period: the relay is behind
    retrying: int  # pending after a failure, waiting for the backoff
    dead: int

    @property
    def ok(self) -> bool:
        return self.overdue == 0 and self.dead == 0


def backlog(*, grace: timedelta = timedelta(minutes=2)) -> Backlog:
    """For /healthz/: three counts on the partial index of undelivered rows."""
    now = timezone.now()
    pending = OutboxDelivery.objects.filter(status=OutboxDelivery.Status.PENDING)
    return Backlog(
        overdue=pending.filter(next_attempt_at__lt=now - grace).count(),
        retrying=pending.filter(attempts__gt=0).count(),
        dead=OutboxDelivery.objects.filter(status=OutboxDelivery.Status.DEAD).count(),
    )


def purge_delivered(*, older_than_days: int, batch: int = 2000) -> int:
    """Delete events older than the retention whose every delivery is done."""
    cutoff = timezone.now() - timedelta(days=older_than_days)
    deleted = 0
    while True:
        ids = list(
            OutboxEvent.objects.filter(created_at__lt=cutoff)
            .exclude(
                deliveries__status__in=[OutboxDelivery.Status.PENDING, OutboxDelivery.Status.DEAD]
            )
            .values_list("pk", flat=True)[:batch]
        )
        if not ids:
            return deleted
        OutboxDelivery.objects.filter(event_id__in=ids).delete()
        deleted += OutboxEvent.objects.filter(pk__in=ids).delete()[0]
