"""Rebuild one branch's local day of KPI rollups from the source tables (docs/kpi.md).

Every family of figures is ONE aggregate query grouped by (local hour, service, teller), with
conditional aggregation (Count/Sum with filter=, Case/When): the database does the counting, so
the number of statements is the same for 10 tickets or 10,000. The only Python loops run over
the aggregates' rows (at most 24 x services x tellers) and over the day's counter events (a few
dozen rows: who sat at which counter when). The rows are merged per cell and written with one
bulk INSERT after the day's old rows are deleted, in the same transaction, under the KpiDay row
lock: two rebuilds of one day run one after the other, and a reader sees the old day or the new
one, never half of each.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import (
    Case,
    Count,
    DateTimeField,
    F,
    FloatField,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, ExtractHour, Greatest, Least, TruncDate
from django.utils import timezone

from accounts.models import Branch
from accounts.timeutil import local_day_bounds
from crm.models import CareReminder, Complaint
from feedback.models import SurveyInvitation, SurveyResponse
from queueing.models import CounterEvent, Service, Ticket, TicketEvent
from queueing.states import TicketAction, TicketStatus
from reception import controls
from reception.models import Appointment, ControlPointVersion, LobbyAlert, ServiceError, Visit

from ..metrics import MAX_FIELDS, SUM_FIELDS, WAIT_BUCKET_EDGES_MIN
from ..models import KpiDay, KpiRollup

__all__ = [
    "kpi_day_mark_dirty",
    "kpi_day_mark_dirty_for_ticket",
    "kpi_days_mark_changed",
    "kpi_days_mark_dirty",
    "rollup_recompute_day",
    "rollup_recompute_range",
]

Cell = tuple[int, int | None, int | None]  # (local hour, service id, teller id)
# Survey answers are counted on the visit's day up to this long after it (links expire long
# before; a phone call-back is made within days).
ANSWER_WINDOW = timedelta(days=90)


class Seconds(Func):
    """`end - start` in seconds (float); NULL if either is NULL."""

    output_field = FloatField()
    arity = 2

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(
            compiler,
            connection,
            # EXTRACT gives numeric (Decimal in Python); the columns are floats.
            template="EXTRACT(EPOCH FROM (%(expressions)s))::double precision",
            **extra,
        )

    def as_sql(self, compiler, connection, **extra):
        extra.setdefault("arg_joiner", " - ")
        return super().as_sql(compiler, connection, **extra)

    def as_sqlite(self, compiler, connection, **extra):
        # SQLite (make run only) has no interval type: Julian days, in seconds, rounded to the
        # millisecond (a Julian day's float makes 4 minutes 240.00000001 s: the wrong bucket).
        return super().as_sql(
            compiler,
            connection,
            template="ROUND((julianday(%(expressions)s)) * 86400.0, 3)",
            arg_joiner=") - julianday(",
            **extra,
        )


def _bucket_sql(wait: str) -> str:
    """The histogram bucket of a wait in seconds (column `wait`), as kpi.metrics.wait_bucket
    computes it: edges are inclusive upper bounds; NULL (did not wait) has no bucket. The
    edges are module constants, not input: no parameter needed."""
    whens = " ".join(
        f"WHEN {wait} <= {edge * 60} THEN {index}"
        for index, edge in enumerate(WAIT_BUCKET_EDGES_MIN)
    )
    return f"CASE WHEN {wait} IS NULL THEN NULL {whens} ELSE {len(WAIT_BUCKET_EDGES_MIN)} END"


# --- tickets: arrivals, how they ended, waits (hour = local hour the wait began) ---------------


def _ticket_waits_per_ticket(branch: Branch, day: date) -> QuerySet:
    """One row per ticket of the day: its cell, its wait in seconds (NULL if it did not wait),
    its target in seconds and 0/1 flags. The wait expression (a CASE over a recall subquery)
    appears ONCE here; the per-cell figures aggregate over this as a derived table."""
    tz = branch.tz
    # After a recall the customer's wait ends at the last call (the recall does not move
    # called_at; its time is in the ticket's history). Only recalled tickets look it up.
    last_recall = Subquery(
        TicketEvent.objects.filter(ticket=OuterRef("pk"), action=TicketAction.RECALL)
        .order_by("-at")
        .values("at")[:1]
    )
    # A transfer's follow-up keeps the visit's arrival; its wait at the new service starts when
    # it was issued. A remote ticket waits at the branch from its check-in.
    wait_start = Case(
        When(transferred_from__isnull=False, then=F("issued_at")),
        When(checked_in_at__isnull=False, then=F("checked_in_at")),
        default=F("arrived_at"),
        output_field=DateTimeField(),
    )
    # Walked away: cancelled after joining the queue at the branch (the lobby's "customer
    # left", or a cancel through the API); a remote ticket cancelled before check-in is not.
    walked_away = Q(status=TicketStatus.CANCELLED) & ~Q(is_remote=True, checked_in_at__isnull=True)
    waited = Q(
        status__in=[
            TicketStatus.DONE,
            TicketStatus.NO_SHOW,
            TicketStatus.TRANSFERRED,
            TicketStatus.SERVING,
        ],
        called_at__isnull=False,
    ) | (walked_away & Q(finished_at__isnull=False))
    wait_end = Case(
        When(walked_away, then=F("finished_at")),
        When(recall_count__gt=0, then=Coalesce(last_recall, F("called_at"))),
        default=F("called_at"),
        output_field=DateTimeField(),
    )

    def flag(condition: Q) -> Case:
        return Case(When(condition, then=Value(1)), default=Value(0), output_field=IntegerField())

    return (
        Ticket.objects.filter(branch=branch, business_date=day)
        .order_by()
        .annotate(
            k_hour=ExtractHour(wait_start, tzinfo=tz),
            k_service=F("service_id"),
            k_teller=F("teller_id"),
            wait_s=Case(
                When(waited, then=Seconds(wait_end, wait_start)), output_field=FloatField()
            ),
            target_s=F("service__target_wait_minutes") * 60,
            is_customer=flag(Q(transferred_from__isnull=True)),
            is_no_show=flag(Q(status=TicketStatus.NO_SHOW)),
            is_walkaway=flag(walked_away),
            is_cancelled=flag(Q(status=TicketStatus.CANCELLED)),
            is_transferred=flag(Q(status=TicketStatus.TRANSFERRED)),
        )
        .values(
            "k_hour",
            "k_service",
            "k_teller",
            "wait_s",
            "target_s",
            "is_customer",
            "is_no_show",
            "is_walkaway",
            "is_cancelled",
            "is_transferred",
        )
    )


def _ticket_waits(branch: Branch, day: date) -> list[dict]:
    """Arrivals, endings and the wait histogram per cell: one statement, aggregating over the
    per-ticket derived table. Writing the wait into every filtered count (as the ORM would)
    made a 490 KB SQL text that took 1.1 s to build per branch-day and, with PostgreSQL's
    JIT on, 219 s to plan (docs/benchmarks.md); this one is a few KB whatever the day."""
    inner_sql, params = _ticket_waits_per_ticket(branch, day).query.sql_with_params()
    buckets = ", ".join(
        f"SUM(CASE WHEN w.bucket = {index} THEN 1 ELSE 0 END)"
        for index in range(len(WAIT_BUCKET_EDGES_MIN) + 1)
    )
    figures = [
        "tickets",
        "customers",
        "no_shows",
        "walkaways",
        "cancelled",
        "transferred",
        "waited",
        "wait_sum_s",
        "wait_max_s",
        "wait_within_target",
        *(f"wait_b{index:02d}" for index in range(len(WAIT_BUCKET_EDGES_MIN) + 1)),
    ]
    sql = (
        # The inner query is the ORM's (its values are parameters); the rest is constant.
        "SELECT w.k_hour, w.k_service, w.k_teller, COUNT(*), SUM(w.is_customer),"  # noqa: S608
        " SUM(w.is_no_show), SUM(w.is_walkaway), SUM(w.is_cancelled), SUM(w.is_transferred),"
        " COUNT(w.wait_s), SUM(w.wait_s), MAX(w.wait_s),"
        # Called within the target; a walk-away is in `waited` but never within it.
        " SUM(CASE WHEN w.wait_s <= w.target_s AND w.is_walkaway = 0 THEN 1 ELSE 0 END),"
        f" {buckets}"
        f" FROM (SELECT t.*, {_bucket_sql('t.wait_s')} AS bucket FROM ({inner_sql}) t) w"
        " GROUP BY w.k_hour, w.k_service, w.k_teller"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [
            {"hour": hour, "service_id": service_id, "teller_id": teller_id}
            | dict(zip(figures, values, strict=True))
            for hour, service_id, teller_id, *values in cursor.fetchall()
        ]


# --- handling (hour = local hour the service ended) ---------------------------------------------


def _handling(branch: Branch, day: date) -> Iterable[dict]:
    done = Q(status=TicketStatus.DONE)
    return (
        Ticket.objects.filter(
            branch=branch,
            business_date=day,
            status__in=[TicketStatus.DONE, TicketStatus.TRANSFERRED],
            finished_at__isnull=False,
        )
        .annotate(
            hour=ExtractHour("finished_at", tzinfo=branch.tz),
            handle_s=Seconds(F("finished_at"), F("started_at")),
        )
        .order_by()
        .values("hour", "service_id", "teller_id")
        .annotate(
            served=Count("pk", filter=done),
            completed=Count("pk", filter=done & Q(visit__outcome=Visit.Outcome.COMPLETED)),
            handled=Count("handle_s"),
            handle_sum_s=Sum("handle_s"),
            handle_over_standard=Count(
                "pk", filter=Q(handle_s__gt=F("service__standard_handle_minutes") * 60)
            ),
        )
    )


def _control_points_missed(branch: Branch, day: date) -> list[dict]:
    """Required points of the visit's frozen version that the teller did not tick, per visit
    finished (done) that day: reception.controls.missing_required, in SQL on PostgreSQL."""
    if connection.vendor != "postgresql":
        return _control_points_missed_python(branch, day)
    visit, ticket = Visit._meta.db_table, Ticket._meta.db_table
    version = ControlPointVersion._meta.db_table
    sql = (
        # Table names from the models; every value is a parameter.
        f"SELECT EXTRACT(HOUR FROM t.finished_at AT TIME ZONE %s)::int, t.service_id,"  # noqa: S608
        f" t.teller_id, SUM((SELECT COUNT(*) FROM jsonb_array_elements(cv.points) AS p(point)"
        f"  WHERE COALESCE((p.point->>'required')::boolean, false)"
        f"  AND NOT (COALESCE(v.checked_points, '[]'::jsonb)"
        f"   @> jsonb_build_array(p.point->'key'))))"
        f" FROM {visit} v JOIN {ticket} t ON t.id = v.ticket_id"
        f" JOIN {version} cv ON cv.id = v.control_version_id"
        f" WHERE t.branch_id = %s AND t.business_date = %s AND t.status = %s"
        f" GROUP BY 1, 2, 3"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [branch.time_zone, branch.pk, day, TicketStatus.DONE.value])
        return [
            {"hour": h, "service_id": s, "teller_id": t, "control_points_missed": int(n or 0)}
            for h, s, t, n in cursor.fetchall()
        ]


def _control_points_missed_python(branch: Branch, day: date) -> list[dict]:
    # SQLite (make run) has no jsonb containment: count per visit with the pure rule. Not the
    # production path; PostgreSQL does it in the query above.
    cells: dict[Cell, int] = defaultdict(int)
    visits = Visit.objects.filter(
        ticket__branch=branch,
        ticket__business_date=day,
        ticket__status=TicketStatus.DONE,
        control_version__isnull=False,
    ).values_list(
        "ticket__finished_at",
        "ticket__service_id",
        "ticket__teller_id",
        "control_version__points",
        "checked_points",
    )
    for finished_at, service_id, teller_id, points, checked in visits:
        hour = timezone.localtime(finished_at, branch.tz).hour
        cells[(hour, service_id, teller_id)] += len(
            controls.missing_required(points or [], checked or [])
        )
    return [
        {"hour": h, "service_id": s, "teller_id": t, "control_points_missed": n}
        for (h, s, t), n in cells.items()
    ]


def _errors(branch: Branch, start: datetime, end: datetime) -> Iterable[dict]:
    return (
        ServiceError.objects.filter(branch=branch, recorded_at__gte=start, recorded_at__lt=end)
        .annotate(hour=ExtractHour("recorded_at", tzinfo=branch.tz))
        .order_by()
        .values("hour", "service_id", "teller_id")
        .annotate(errors=Count("pk"))
    )


# --- tellers: time seated at an open counter, and time busy with a customer ---------------------


def _hour_bounds(branch: Branch, day: date) -> list[tuple[int, datetime, datetime]]:
    tz = branch.tz
    bounds = []
    for hour in range(24):
        start = datetime.combine(day, time(hour), tzinfo=tz)
        end = (
            datetime.combine(day, time(hour + 1), tzinfo=tz)
            if hour < 23
            else datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
        )
        bounds.append((hour, start, end))
    return bounds


def _teller_busy(branch: Branch, day: date, now: datetime) -> list[dict]:
    """Seconds each teller spent with a customer inside each local hour: one query, one
    conditional sum per hour of the overlap of [started_at, finished_at) with the hour."""
    end_of_service = Coalesce(F("finished_at"), Value(now, output_field=DateTimeField()))
    sums = {}
    for hour, start, end in _hour_bounds(branch, day):
        overlap = Seconds(
            Least(end_of_service, Value(end, output_field=DateTimeField())),
            Greatest(F("started_at"), Value(start, output_field=DateTimeField())),
        )
        sums[f"h{hour}"] = Sum(
            Greatest(overlap, Value(0.0, output_field=FloatField())),
            filter=Q(started_at__lt=end) & (Q(finished_at__isnull=True) | Q(finished_at__gt=start)),
        )
    rows = (
        Ticket.objects.filter(
            branch=branch,
            business_date=day,
            started_at__isnull=False,
            teller__isnull=False,
            status__in=[TicketStatus.SERVING, TicketStatus.DONE, TicketStatus.TRANSFERRED],
        )
        .order_by()
        .values("teller_id")
        .annotate(**sums)
    )
    result = []
    for row in rows:  # one row per teller
        for hour in range(24):
            busy = row[f"h{hour}"] or 0.0
            if busy > 0:
                result.append(
                    {"hour": hour, "service_id": None, "teller_id": row["teller_id"]}
                    | {"teller_busy_s": busy}
                )
    return result


_SEAT_STARTS = {CounterEvent.Action.OPEN, CounterEvent.Action.RESUME}
_SEAT_ENDS = {
    CounterEvent.Action.CLOSE,
    CounterEvent.Action.PAUSE,
    CounterEvent.Action.SIGN_OUT,
    CounterEvent.Action.LEAVE,
}


def _teller_open(branch: Branch, day: date, now: datetime) -> list[dict]:
    """Seconds each teller sat at an open, unpaused counter inside each local hour.

    Python over the day's CounterEvents (a few dozen rows: open, pause, resume, take over,
    close), because a seat is an interval between two events, not a row. A counter is taken as
    closed at local midnight (branches close at night); a seat still open is counted up to now
    (today) or the day's end.
    """
    start, end = local_day_bounds(branch, day)
    stop = min(end, now)
    seats: dict[int, tuple[int, datetime]] = {}  # counter -> (teller, seated since)
    intervals: list[tuple[int, datetime, datetime]] = []
    events = (
        CounterEvent.objects.filter(branch=branch, at__gte=start, at__lt=end)
        .order_by("at", "pk")
        .values_list("counter_id", "action", "at", "by_id")
    )
    for counter_id, action, at, by_id in events:
        seated = seats.pop(counter_id, None)
        if seated is not None:
            intervals.append((seated[0], seated[1], at))
        if (action in _SEAT_STARTS or action == CounterEvent.Action.TAKE_OVER) and by_id:
            seats[counter_id] = (by_id, at)
    for teller_id, since in seats.values():
        intervals.append((teller_id, since, stop))
    cells: dict[Cell, float] = defaultdict(float)
    for teller_id, since, until in intervals:
        for hour, h_start, h_end in _hour_bounds(branch, day):
            overlap = (min(until, h_end) - max(since, h_start)).total_seconds()
            if overlap > 0:
                cells[(hour, None, teller_id)] += overlap
    return [
        {"hour": h, "service_id": s, "teller_id": t, "teller_open_s": v}
        for (h, s, t), v in cells.items()
    ]


# --- visits and greeting (hour = local hour registered) -----------------------------------------


def _visits(branch: Branch, start: datetime, end: datetime) -> Iterable[dict]:
    greeting_s = Seconds(F("greeted_at"), F("arrived_at"))
    greeted = Q(greeted_at__isnull=False, arrived_at__isnull=False)
    return (
        Visit.objects.filter(branch=branch, registered_at__gte=start, registered_at__lt=end)
        .annotate(hour=ExtractHour("registered_at", tzinfo=branch.tz), greeting_s=greeting_s)
        .order_by()
        .values("hour", "service_id")
        .annotate(
            visits=Count("pk"),
            diverted=Count("pk", filter=Q(route=Visit.Route.SELF_SERVICE)),
            greeted=Count("pk", filter=greeted),
            greeted_within_target=Count(
                "pk",
                filter=greeted & Q(greeting_s__lte=Value(branch.greeting_target_minutes * 60.0)),
            ),
        )
    )


# --- feedback (the day and hour of the visit rated) ---------------------------------------------


def _surveys_sent(
    branch: Branch, start: datetime, end: datetime, service_ids: dict[str, int]
) -> list[dict]:
    """Invitations sent for the day's visits (the interaction's day, not the sending's), so
    that responses / sent compares the same customers."""
    rows = (
        SurveyInvitation.objects.filter(
            branch=branch,
            sent_at__isnull=False,
            interaction__occurred_at__gte=start,
            interaction__occurred_at__lt=end,
        )
        .annotate(hour=ExtractHour("interaction__occurred_at", tzinfo=branch.tz))
        .order_by()
        .values("hour", "interaction__service_code", "interaction__staff_id")
        .annotate(surveys_sent=Count("pk"))
    )
    return [
        {
            "hour": row["hour"],
            "service_id": service_ids.get(row["interaction__service_code"]),
            "teller_id": row["interaction__staff_id"],
            "surveys_sent": row["surveys_sent"],
        }
        for row in rows
    ]


def _responses(
    branch: Branch, day: date, start: datetime, end: datetime, service_ids: dict[str, int]
) -> list[dict]:
    """Answers belong to the day of the ticket they rate (they arrive hours or days later);
    an answer that names no ticket, to the day it was submitted."""
    day_tickets = Ticket.objects.filter(branch=branch, business_date=day).values("pk")
    # An answer comes after the visit and within ANSWER_WINDOW: the range keeps the read on the
    # (branch, submitted_at) index however long the history.
    served_at = Subquery(Ticket.objects.filter(pk=OuterRef("ticket_id")).values("finished_at")[:1])
    rows = (
        SurveyResponse.objects.filter(
            branch=branch, submitted_at__gte=start, submitted_at__lt=end + ANSWER_WINDOW
        )
        .filter(
            Q(ticket_id__in=day_tickets)
            | Q(ticket_id__isnull=True, submitted_at__gte=start, submitted_at__lt=end)
        )
        .annotate(
            hour=ExtractHour(
                Coalesce(served_at, F("submitted_at"), output_field=DateTimeField()),
                tzinfo=branch.tz,
            )
        )
        .order_by()
        .values("hour", "service_code", "teller_id")
        .annotate(
            responses=Count("pk", filter=Q(invitation__isnull=False)),
            csat_count=Count("satisfaction"),
            csat_sum=Coalesce(Sum("satisfaction"), 0),
            csat_satisfied=Count("pk", filter=Q(satisfaction__gte=4)),
            nps_count=Count("recommend"),
            nps_promoters=Count("pk", filter=Q(recommend__gte=9)),
            nps_detractors=Count("pk", filter=Q(recommend__lte=6)),
        )
    )
    result = []
    for row in rows:
        code = row.pop("service_code")
        result.append(row | {"service_id": service_ids.get(code)})
    return result


# --- complaints, appointments, care reminders, lobby alerts -------------------------------------


def _complaints(branch: Branch, start: datetime, end: datetime, now: datetime) -> Iterable[dict]:
    overdue = (
        Q(acknowledged_at__isnull=True, acknowledge_due_at__lt=now)
        | Q(acknowledged_at__gt=F("acknowledge_due_at"))
        | Q(resolved_at__isnull=True, resolve_due_at__lt=now)
        | Q(resolved_at__gt=F("resolve_due_at"))
    )
    return (
        Complaint.objects.filter(branch=branch, logged_at__gte=start, logged_at__lt=end)
        .annotate(
            hour=ExtractHour("logged_at", tzinfo=branch.tz),
            acknowledge_s=Seconds(F("acknowledged_at"), F("logged_at")),
            resolve_s=Seconds(F("resolved_at"), F("logged_at")),
        )
        .order_by()
        .values("hour")
        .annotate(
            complaints=Count("pk"),
            complaints_acknowledged=Count("acknowledge_s"),
            acknowledge_sum_s=Sum("acknowledge_s"),
            complaints_resolved=Count("resolve_s"),
            resolve_sum_s=Sum("resolve_s"),
            complaints_overdue=Count("pk", filter=overdue),
        )
    )


def _appointments(branch: Branch, start: datetime, end: datetime) -> Iterable[dict]:
    return (
        Appointment.objects.filter(branch=branch, starts_at__gte=start, starts_at__lt=end)
        .exclude(status=Appointment.Status.CANCELLED)
        .annotate(hour=ExtractHour("starts_at", tzinfo=branch.tz))
        .order_by()
        .values("hour", "service_id")
        .annotate(
            appointments=Count("pk"),
            appointments_kept=Count(
                "pk",
                filter=Q(status=Appointment.Status.CHECKED_IN) | Q(checked_in_at__isnull=False),
            ),
        )
    )


def _reminders(branch: Branch, day: date) -> list[dict]:
    """Care reminders due that day (cancelled ones are not due); they have no hour: they sit
    in the branch's opening hour."""
    figures = (
        CareReminder.objects.filter(branch=branch, due_on=day)
        .exclude(status=CareReminder.Status.CANCELLED)
        .annotate(done_on=TruncDate("done_at", tzinfo=branch.tz))
        .aggregate(
            reminders_due=Count("pk"),
            reminders_on_time=Count("pk", filter=Q(done_at__isnull=False, done_on__lte=day)),
        )
    )
    if not figures["reminders_due"]:
        return []
    return [{"hour": branch.opens_at.hour, "service_id": None, "teller_id": None} | figures]


def _alerts(branch: Branch, start: datetime, end: datetime) -> Iterable[dict]:
    return (
        LobbyAlert.objects.filter(branch=branch, raised_at__gte=start, raised_at__lt=end)
        .annotate(
            hour=ExtractHour("raised_at", tzinfo=branch.tz),
            recovery_s=Seconds(F("cleared_at"), F("raised_at")),
        )
        .order_by()
        .values("hour", "service_id")
        .annotate(
            alerts=Count("pk"),
            alerts_cleared=Count("recovery_s"),
            alert_recovery_sum_s=Sum("recovery_s"),
        )
    )


# --- the rebuild ---------------------------------------------------------------------------------


def _merge(cells: dict[Cell, dict[str, Any]], rows: Iterable[dict]) -> None:
    for row in rows:
        key = (int(row["hour"]), row.get("service_id"), row.get("teller_id"))
        cell = cells.setdefault(key, {})
        for name, value in row.items():
            if name in ("hour", "service_id", "teller_id") or value is None:
                continue
            if name in MAX_FIELDS:
                cell[name] = max(cell.get(name, 0.0), float(value))
            else:
                cell[name] = cell.get(name, 0) + value


def rollup_recompute_day(*, branch: Branch, day: date, now: datetime | None = None) -> int:
    """Rebuild the branch's KpiRollup rows of one local day; returns the rows written.

    One transaction: lock the day (KpiDay, created if new), read every source with one
    aggregate query per family, delete the day's rows, insert the new ones, record the rebuild.
    Idempotent: the same sources give the same rows.
    """
    now = now or timezone.now()
    start, end = local_day_bounds(branch, day)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # This transaction only (so it holds behind PgBouncer in transaction mode too): the
            # rebuild's aggregates cross jit_above_cost, and JIT-compiling the old ticket query
            # took 219 s for one day's 100 tickets against 0.18 s without (docs/benchmarks.md).
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
        KpiDay.objects.get_or_create(branch=branch, day=day)
        kpi_day = KpiDay.objects.select_for_update().get(branch=branch, day=day)
        service_ids = dict(Service.objects.filter(branch=branch).values_list("code", "pk"))
        cells: dict[Cell, dict[str, Any]] = {}
        _merge(cells, _ticket_waits(branch, day))
        _merge(cells, _handling(branch, day))
        _merge(cells, _control_points_missed(branch, day))
        _merge(cells, _errors(branch, start, end))
        _merge(cells, _teller_busy(branch, day, now))
        _merge(cells, _teller_open(branch, day, now))
        _merge(cells, _visits(branch, start, end))
        _merge(cells, _surveys_sent(branch, start, end, service_ids))
        _merge(cells, _responses(branch, day, start, end, service_ids))
        _merge(cells, _complaints(branch, start, end, now))
        _merge(cells, _appointments(branch, start, end))
        _merge(cells, _reminders(branch, day))
        _merge(cells, _alerts(branch, start, end))
        fields = set(SUM_FIELDS) | set(MAX_FIELDS)
        rows = [
            KpiRollup(
                branch=branch,
                day=day,
                hour=hour,
                weekday=day.weekday(),
                service_id=service_id,
                teller_id=teller_id,
                **{name: value for name, value in figures.items() if name in fields},
            )
            for (hour, service_id, teller_id), figures in sorted(
                cells.items(), key=lambda item: (item[0][0], item[0][1] or 0, item[0][2] or 0)
            )
            if any(figures.values())
        ]
        KpiRollup.objects.filter(branch=branch, day=day).delete()
        KpiRollup.objects.bulk_create(rows, batch_size=1000)
        # A mark made while this ran waited on the row lock and sets dirty again after commit.
        KpiDay.objects.filter(pk=kpi_day.pk).update(dirty=False, computed_at=now, rows=len(rows))
    return len(rows)


def rollup_recompute_range(
    *, branches: Iterable[Branch], date_from: date, date_to: date
) -> tuple[int, int]:
    """Rebuild every day of the range for each branch (a transaction per day): (days, rows)."""
    days = rows = 0
    for branch in branches:
        day = date_from
        while day <= date_to:
            rows += rollup_recompute_day(branch=branch, day=day)
            days += 1
            day += timedelta(days=1)
    return days, rows


# --- marking days to rebuild ---------------------------------------------------------------------


def kpi_day_mark_dirty_for_ticket(*, ticket_id: int, now: datetime | None = None) -> None:
    """Mark the day of this ticket dirty: one INSERT … SELECT … ON CONFLICT, no read first (it
    runs in the outbox delivery of every finished ticket)."""
    now = now or timezone.now()
    days, tickets = KpiDay._meta.db_table, Ticket._meta.db_table
    sql = (
        f"INSERT INTO {days} (branch_id, day, dirty, marked_at, rows)"  # noqa: S608
        f" SELECT branch_id, business_date, %s, %s, 0 FROM {tickets} WHERE id = %s"
        f" ON CONFLICT (branch_id, day) DO UPDATE SET dirty = %s, marked_at = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [True, now, ticket_id, True, now])


def kpi_day_mark_dirty(*, branch_id: int, day: date, now: datetime | None = None) -> None:
    kpi_days_mark_dirty([(branch_id, day)], now=now)


def kpi_days_mark_dirty(days: Iterable[tuple[int, date]], *, now: datetime | None = None) -> int:
    """Mark (branch id, day) pairs dirty: one upsert (idempotent). Returns how many."""
    now = now or timezone.now()
    pairs = sorted(set(days))
    if not pairs:
        return 0
    KpiDay.objects.bulk_create(
        [KpiDay(branch_id=b, day=d, dirty=True, marked_at=now) for b, d in pairs],
        update_conflicts=True,
        unique_fields=["branch", "day"],
        update_fields=["dirty", "marked_at"],
    )
    return len(pairs)


def kpi_days_mark_changed(*, since: datetime, now: datetime | None = None) -> int:
    """Mark the days whose figures changed since `since` without a ticket ending: a survey
    answer (the day of the ticket it rates), a complaint acknowledged or resolved or past a
    deadline (the day it was logged), a care reminder done (its due day), an alert cleared, an
    appointment checked in. A few small indexed reads; the loops run over the changed rows."""
    now = now or timezone.now()
    zones = {
        pk: Branch(time_zone=tz).tz for pk, tz in Branch.objects.values_list("pk", "time_zone")
    }

    def local_day(branch_id: int, at: datetime) -> tuple[int, date]:
        return branch_id, timezone.localtime(at, zones[branch_id]).date()

    answers = SurveyResponse.objects.filter(submitted_at__gte=since)
    days: set[tuple[int, date]] = set(
        Ticket.objects.filter(pk__in=answers.filter(ticket_id__isnull=False).values("ticket_id"))
        .values_list("branch_id", "business_date")
        .distinct()
    )
    days |= {
        local_day(b, at)
        for b, at in answers.filter(ticket_id__isnull=True).values_list("branch_id", "submitted_at")
    }
    days |= {
        local_day(b, at)
        for b, at in Complaint.objects.filter(
            Q(acknowledged_at__gte=since)
            | Q(resolved_at__gte=since)
            | Q(acknowledge_due_at__gte=since, acknowledge_due_at__lte=now)
            | Q(resolve_due_at__gte=since, resolve_due_at__lte=now)
        ).values_list("branch_id", "logged_at")
    }
    days |= set(
        CareReminder.objects.filter(done_at__gte=since)
        .values_list("branch_id", "due_on")
        .distinct()
    )
    days |= {
        local_day(b, at)
        for b, at in LobbyAlert.objects.filter(cleared_at__gte=since).values_list(
            "branch_id", "raised_at"
        )
    }
    days |= {
        local_day(b, at)
        for b, at in Appointment.objects.filter(checked_in_at__gte=since).values_list(
            "branch_id", "starts_at"
        )
    }
    return kpi_days_mark_dirty(days, now=now)
