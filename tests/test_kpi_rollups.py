"""KPI rollups: a day built row by row with known answers for every family of figures,
idempotency, the time zone, the query count, the outbox listener and the beat tasks."""

from datetime import date, datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db.models import Max, Sum

from accounts import outbox
from crm.models import Complaint, Interaction
from feedback.models import SurveyInvitation, SurveyResponse
from kpi import services, tasks
from kpi.metrics import SUM_FIELDS, WAIT_BUCKET_FIELDS, kpi_values
from kpi.models import KpiDay, KpiRollup
from queueing import services as queue
from queueing.models import CounterEvent
from queueing.states import TicketStatus
from reception.models import Appointment, ControlPointVersion, LobbyAlert, ServiceError, Visit
from tests.factories import (
    AppointmentFactory,
    BranchFactory,
    CareReminderFactory,
    CustomerFactory,
    ErrorCategoryFactory,
    ServiceFactory,
)
from tests.factories_kpi import make_ticket

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=SHANGHAI)  # two days later: answers are in


def at(hh: int, mm: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=SHANGHAI)


def totals(branch, day=DAY, **filters) -> dict:
    rows = KpiRollup.objects.filter(branch=branch, day=day, **filters)
    sums = rows.aggregate(**{name: Sum(name) for name in SUM_FIELDS}, wait_max_s=Max("wait_max_s"))
    return {name: value or 0 for name, value in sums.items()}


def cell(branch, *, hour, service=None, teller=None) -> KpiRollup:
    return KpiRollup.objects.get(branch=branch, day=DAY, hour=hour, service=service, teller=teller)


@pytest.fixture
def day_of_work(branch, cash, loans, counter, teller):
    """Cash: target wait 10 min, standard 5 min; loans: target 20 min, standard 5 min."""
    t = {}
    # 1: waited 4 min, served 6 min (over the standard), completed
    t[1] = make_ticket(
        branch,
        cash,
        status="done",
        arrived=at(9),
        called=at(9, 4),
        started=at(9, 5),
        finished=at(9, 11),
        teller=teller,
    )
    # 2: called 09:08, recalled 09:12 (the wait ends there: 12 min), served 3 min
    t[2] = make_ticket(
        branch,
        cash,
        status="done",
        arrived=at(9),
        called=at(9, 8),
        recalls=(at(9, 12),),
        started=at(9, 13),
        finished=at(9, 16),
        teller=teller,
    )
    # 3: waited 5 min, 5 min at the counter, then transferred to loans
    t[3] = make_ticket(
        branch,
        cash,
        status="transferred",
        arrived=at(9, 10),
        called=at(9, 15),
        started=at(9, 15),
        finished=at(9, 20),
        teller=teller,
    )
    # 4: the follow-up: its own wait at loans from 09:20 (10 min, within 20), served 10 min
    t[4] = make_ticket(
        branch,
        loans,
        status="done",
        arrived=at(9, 10),
        issued=at(9, 20),
        called=at(9, 30),
        started=at(9, 30),
        finished=at(9, 40),
        teller=teller,
        transferred_from=t[3],
    )
    # 5: no-show after waiting 20 min
    t[5] = make_ticket(
        branch,
        cash,
        status="no_show",
        arrived=at(9, 30),
        called=at(9, 50),
        finished=at(9, 55),
        teller=teller,
    )
    # 6: walked away after 30 min ("customer left")
    t[6] = make_ticket(branch, cash, status="cancelled", arrived=at(9, 40), finished=at(10, 10))
    # 7: joined from the phone and cancelled before coming: cancelled, not a walk-away
    t[7] = make_ticket(
        branch, cash, status="cancelled", arrived=at(9, 45), finished=at(9, 50), is_remote=True
    )
    # 8: still waiting
    t[8] = make_ticket(branch, cash, status="waiting", arrived=at(10, 20))

    # Visits: greeted in 3 and 7 minutes (target 5); one diverted to the machines.
    version = ControlPointVersion.objects.create(
        service=cash,
        number=1,
        created_at=at(8),
        points=[
            {"key": "identity_verified", "required": True},
            {"key": "signature", "required": True},
            {"key": "funds_handed_over", "required": False},
        ],
    )
    customer = CustomerFactory()
    Visit.objects.create(
        branch=branch,
        customer=customer,
        service=cash,
        route=Visit.Route.QUEUE,
        ticket=t[1],
        registered_at=at(9),
        arrived_at=at(9),
        greeted_at=at(9, 3),
        outcome="completed",
        control_version=version,
        checked_points=["identity_verified"],
    )
    Visit.objects.create(
        branch=branch,
        customer=CustomerFactory(),
        service=cash,
        route=Visit.Route.QUEUE,
        ticket=t[2],
        registered_at=at(9),
        arrived_at=at(9),
        greeted_at=at(9, 7),
        outcome="incomplete",
        control_version=version,
        checked_points=[],
    )
    Visit.objects.create(
        branch=branch,
        customer=CustomerFactory(),
        service=cash,
        route=Visit.Route.SELF_SERVICE,
        registered_at=at(10, 5),
    )

    ServiceError.objects.create(
        branch=branch,
        ticket=t[1],
        service=cash,
        teller=teller,
        severity="minor",
        category=ErrorCategoryFactory(branch=branch),
        recorded_at=at(9, 30),
    )

    # The counter: open 08:30-10:00, paused until 10:30, closed 11:00 (2 h open).
    for action, when in (("open", at(8, 30)), ("pause", at(10)), ("resume", at(10, 30))):
        CounterEvent.objects.create(
            counter=counter, branch=branch, action=action, at=when, by=teller
        )
    CounterEvent.objects.create(
        counter=counter, branch=branch, action="close", at=at(11), by=teller
    )

    # Surveys: two sent for the day's visits (one skipped); answers come in later days.
    invitations = []
    for ticket, minute in ((t[1], 11), (t[2], 16)):
        interaction = Interaction.objects.create(
            customer=customer,
            branch=branch,
            kind="branch_service",
            service_code="cash",
            staff=teller,
            occurred_at=at(9, minute),
            source=f"ticket:{ticket.pk}",
        )
        invitations.append(
            SurveyInvitation.objects.create(
                customer=customer,
                branch=branch,
                interaction=interaction,
                status="sent",
                sent_at=at(9, 30),
            )
        )
    skipped = Interaction.objects.create(
        customer=customer,
        branch=branch,
        kind="branch_service",
        service_code="cash",
        occurred_at=at(9, 40),
        source="ticket:skipped",
    )
    SurveyInvitation.objects.create(
        customer=customer, branch=branch, interaction=skipped, status="skipped"
    )
    SurveyResponse.objects.create(
        invitation=invitations[0],
        branch=branch,
        channel="sms_link",
        satisfaction=5,
        recommend=10,
        ticket_id=t[1].pk,
        service_code="cash",
        teller=teller,
        submitted_at=at(12, 0, DAY + timedelta(days=1)),
    )
    SurveyResponse.objects.create(  # the rating pad: no invitation
        branch=branch,
        channel="counter_pad",
        satisfaction=2,
        recommend=6,
        ticket_id=t[2].pk,
        service_code="cash",
        teller=teller,
        submitted_at=at(9, 17),
    )

    # Complaints: one acknowledged in 1 h and resolved in 48 h; one never acknowledged.
    Complaint.objects.create(
        branch=branch,
        channel="counter",
        severity="low",
        subject="Slow",
        logged_at=at(9),
        acknowledge_due_at=at(12),
        resolve_due_at=at(9, 0, DAY + timedelta(days=7)),
        acknowledged_at=at(10),
        resolved_at=at(9, 0, DAY + timedelta(days=2)),
    )
    Complaint.objects.create(
        branch=branch,
        channel="phone",
        severity="low",
        subject="Rude",
        logged_at=at(11),
        acknowledge_due_at=at(11, 0, DAY + timedelta(days=1)),
        resolve_due_at=at(11, 0, DAY + timedelta(days=7)),
    )

    # Appointments: kept, missed, cancelled (not due).
    AppointmentFactory(
        service=cash,
        starts_at=at(11),
        status=Appointment.Status.CHECKED_IN,
        checked_in_at=at(10, 55),
    )
    AppointmentFactory(service=cash, starts_at=at(14), status=Appointment.Status.NO_SHOW)
    AppointmentFactory(service=cash, starts_at=at(15), status=Appointment.Status.CANCELLED)

    # Care reminders due today: on time (late evening, local), late, open, cancelled.
    CareReminderFactory(branch=branch, due_on=DAY, status="done", done_at=at(23, 30))
    CareReminderFactory(
        branch=branch, due_on=DAY, status="done", done_at=at(0, 30, DAY + timedelta(days=1))
    )
    CareReminderFactory(branch=branch, due_on=DAY)
    CareReminderFactory(branch=branch, due_on=DAY, status="cancelled")

    # Lobby alerts: one cleared after 20 min, one still open.
    alert = {"kind": "wait", "suggestion": "open_counter", "waiting": 5, "open_counters": 1}
    alert |= {"longest_wait_seconds": 900, "target_wait_seconds": 600}
    LobbyAlert.objects.create(
        branch=branch, service=cash, raised_at=at(9, 45), cleared_at=at(10, 5), **alert
    )
    LobbyAlert.objects.create(branch=branch, service=cash, raised_at=at(10, 30), **alert)
    return t


def rebuild(branch, day=DAY):
    return services.rollup_recompute_day(branch=branch, day=day, now=NOW)


# --- known answers per family ----------------------------------------------------------------


def test_arrivals_and_how_they_ended(branch, day_of_work):
    rebuild(branch)
    day = totals(branch)
    assert day["tickets"] == 8
    assert day["customers"] == 7  # the transfer's follow-up is the same customer
    assert (day["no_shows"], day["walkaways"], day["cancelled"], day["transferred"]) == (1, 1, 2, 1)
    kpis = kpi_values(day)
    assert kpis["no_show_rate"] == pytest.approx(1 / 7)
    assert kpis["walkaway_rate"] == pytest.approx(1 / 7)
    assert kpis["cancellation_rate"] == pytest.approx(2 / 7)


def test_waits_count_everyone_who_waited_with_the_last_call_and_each_service_apart(
    branch, cash, loans, teller, day_of_work
):
    rebuild(branch)
    day = totals(branch)
    # 4 (1), 12 (2: the recall), 5 (3), 10 (4: at loans, from the transfer), 20 (no-show),
    # 30 (walk-away) minutes; the remote cancel and the one still waiting have no wait.
    waits_min = [4, 12, 5, 10, 20, 30]
    assert day["waited"] == 6
    assert day["wait_sum_s"] == pytest.approx(sum(waits_min) * 60)
    assert day["wait_within_target"] == 3  # 4 and 5 (cash, 10), 10 (loans, 20)
    at_counter = cell(branch, hour=9, service=cash, teller=teller)
    assert at_counter.waited == 4
    assert at_counter.wait_max_s == pytest.approx(20 * 60)
    assert (at_counter.wait_b03, at_counter.wait_b04, at_counter.wait_b10, at_counter.wait_b12) == (
        1,
        1,
        1,
        1,
    )
    walked = cell(branch, hour=9, service=cash, teller=None)
    assert (walked.walkaways, walked.waited, walked.wait_b14) == (1, 1, 1)
    follow_up = cell(branch, hour=9, service=loans, teller=teller)
    assert (follow_up.tickets, follow_up.customers, follow_up.wait_sum_s) == (1, 0, 600)
    assert cell(branch, hour=10, service=cash).tickets == 1  # still waiting
    assert sum(day[name] for name in WAIT_BUCKET_FIELDS) == day["waited"]
    kpis = kpi_values(day)
    assert kpis["avg_wait_s"] == pytest.approx(810)
    assert kpis["within_target_share"] == pytest.approx(0.5)
    assert kpis["max_wait_s"] == pytest.approx(1800)


def test_handling_against_the_standard_resolution_and_errors(branch, day_of_work):
    rebuild(branch)
    day = totals(branch)
    assert day["served"] == 3  # done: 1, 2, 4 (the transferred ticket is not "served")
    assert day["completed"] == 1
    assert day["handled"] == 4  # the transferred ticket's 5 minutes were handling too
    assert day["handle_sum_s"] == pytest.approx((6 + 3 + 5 + 10) * 60)
    assert day["handle_over_standard"] == 2  # 6 and 10 minutes; 5 is not over 5
    assert day["errors"] == 1
    assert day["control_points_missed"] == 3  # signature on 1; identity and signature on 2
    kpis = kpi_values(day)
    assert kpis["resolution_rate"] == pytest.approx(1 / 3)
    assert kpis["error_rate"] == pytest.approx(1 / 3)
    assert kpis["over_standard_share"] == pytest.approx(0.5)


def test_tellers_open_and_busy_time(branch, teller, day_of_work):
    rebuild(branch)
    assert cell(branch, hour=8, teller=teller).teller_open_s == pytest.approx(1800)
    assert cell(branch, hour=9, teller=teller).teller_open_s == pytest.approx(3600)
    assert cell(branch, hour=10, teller=teller).teller_open_s == pytest.approx(1800)
    assert cell(branch, hour=9, teller=teller).teller_busy_s == pytest.approx(24 * 60)
    kpis = kpi_values(totals(branch))
    assert kpis["utilisation"] == pytest.approx(24 * 60 / 7200)
    assert kpis["customers_per_teller_hour"] == pytest.approx(1.5)


def test_visits_diversion_and_greeting(branch, day_of_work):
    rebuild(branch)
    day = totals(branch)
    assert (day["visits"], day["diverted"], day["greeted"], day["greeted_within_target"]) == (
        3,
        1,
        2,
        1,
    )
    assert kpi_values(day)["diversion_rate"] == pytest.approx(1 / 3)


def test_surveys_belong_to_the_day_of_the_visit_they_rate(branch, day_of_work):
    rebuild(branch)
    day = totals(branch)
    assert (day["surveys_sent"], day["responses"]) == (2, 1)
    assert (day["csat_count"], day["csat_sum"], day["csat_satisfied"]) == (2, 7, 1)
    assert (day["nps_count"], day["nps_promoters"], day["nps_detractors"]) == (2, 1, 1)
    kpis = kpi_values(day)
    assert kpis["response_rate"] == pytest.approx(0.5)
    assert kpis["nps"] == pytest.approx(0.0)
    assert kpis["csat_share"] == pytest.approx(0.5)
    # The answer given the next day is not counted on the next day.
    rebuild(branch, DAY + timedelta(days=1))
    assert totals(branch, DAY + timedelta(days=1))["csat_count"] == 0


def test_complaints_appointments_reminders_and_alerts(branch, day_of_work):
    rebuild(branch)
    day = totals(branch)
    assert (day["complaints"], day["complaints_acknowledged"], day["complaints_resolved"]) == (
        2,
        1,
        1,
    )
    assert day["acknowledge_sum_s"] == pytest.approx(3600)
    assert day["resolve_sum_s"] == pytest.approx(48 * 3600)
    assert day["complaints_overdue"] == 1
    assert (day["appointments"], day["appointments_kept"]) == (2, 1)
    assert (day["reminders_due"], day["reminders_on_time"]) == (3, 1)
    assert (day["alerts"], day["alerts_cleared"]) == (2, 1)
    kpis = kpi_values(day)
    assert kpis["avg_acknowledge_h"] == pytest.approx(1.0)
    assert kpis["avg_resolve_h"] == pytest.approx(48.0)
    assert kpis["avg_alert_recovery_min"] == pytest.approx(20.0)
    assert kpis["appointments_kept_share"] == pytest.approx(0.5)


# --- rebuild properties ----------------------------------------------------------------------


def _snapshot(branch):
    fields = ["day", "hour", "weekday", "service_id", "teller_id", *SUM_FIELDS, "wait_max_s"]
    return sorted(
        KpiRollup.objects.filter(branch=branch).values_list(*fields), key=lambda r: repr(r)
    )


def test_a_rebuild_is_idempotent_and_leaves_other_days_and_branches_alone(
    branch, other_branch, day_of_work
):
    written = rebuild(branch)
    first = _snapshot(branch)
    assert written == len(first) > 0
    assert rebuild(branch) == written
    assert _snapshot(branch) == first
    assert rebuild(other_branch) == 0
    assert rebuild(branch, DAY - timedelta(days=1)) == 0
    assert _snapshot(branch) == first
    kpi_day = KpiDay.objects.get(branch=branch, day=DAY)
    assert (kpi_day.dirty, kpi_day.rows, kpi_day.computed_at) == (False, written, NOW)


def test_the_command_rebuilds_a_range_twice_with_identical_rows(branch, day_of_work):
    out = StringIO()
    args = ["--branch", "main", "--from", "2026-11-22", "--to", "2026-11-24"]
    call_command("recompute_kpis", *args, stdout=out)
    assert "3 day(s)" in out.getvalue()
    first = _snapshot(branch)
    call_command(
        "recompute_kpis", "--all", "--from", "2026-11-22", "--to", "2026-11-24", stdout=out
    )
    assert _snapshot(branch) == first and first


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--branch", "nope", "--from", "2026-11-22", "--to", "2026-11-22"], "no branch"),
        (["--branch", "main", "--from", "22.11.2026", "--to", "2026-11-22"], "YYYY-MM-DD"),
        (["--branch", "main", "--from", "2026-11-23", "--to", "2026-11-22"], "before"),
    ],
)
def test_the_command_refuses_bad_input_clearly(branch, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("recompute_kpis", *args, stdout=StringIO())


def test_an_arrival_at_2330_local_lands_on_the_local_day_and_hour(db):
    branch = BranchFactory(code="ny", time_zone="America/New_York")
    service = ServiceFactory(branch=branch, code="cash", prefix="A", target_wait_minutes=10)
    new_york = ZoneInfo("America/New_York")
    arrived = datetime(2026, 11, 23, 23, 30, tzinfo=new_york)  # 04:30 UTC on the 24th
    make_ticket(
        branch,
        service,
        status="done",
        arrived=arrived,
        called=arrived + timedelta(minutes=5),
        started=arrived + timedelta(minutes=5),
        finished=arrived + timedelta(minutes=9),
    )
    assert services.rollup_recompute_day(branch=branch, day=DAY, now=NOW) == 1
    row = KpiRollup.objects.get(branch=branch)
    assert (row.day, row.hour, row.weekday, row.customers, row.served) == (DAY, 23, 0, 1, 1)
    assert services.rollup_recompute_day(branch=branch, day=DAY + timedelta(days=1)) == 0


def _tickets(branch, service, teller, n):
    for i in range(n):
        arrived = at(9) + timedelta(minutes=i % 300)
        make_ticket(
            branch,
            service,
            status="done",
            arrived=arrived,
            called=arrived + timedelta(minutes=3),
            started=arrived + timedelta(minutes=3),
            finished=arrived + timedelta(minutes=8),
            teller=teller,
        )


def test_the_rebuild_costs_the_same_queries_for_10_or_200_tickets(
    branch, cash, teller, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _tickets(branch, cash, teller, 10)
    with CaptureQueriesContext(connection) as few:
        rebuild(branch)
    _tickets(branch, cash, teller, 190)
    with django_assert_max_num_queries(len(few)):
        rebuild(branch)
    assert totals(branch)["served"] == 200


def _reads(captured) -> list[str]:
    # The day's reads; the final INSERT grows with the cells written (hours x services x
    # tellers), never with the tickets behind them.
    return [query["sql"] for query in captured if not query["sql"].startswith("INSERT")]


def test_the_rebuilds_statements_do_not_grow_with_tickets(branch, cash, teller):
    """The waits family used to repeat the wait expression in each of the 21 histogram
    buckets' filters: a 490 KB statement that PostgreSQL's JIT took 219 s to compile. Each
    ticket's wait is now computed once, in a derived table."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _tickets(branch, cash, teller, 10)
    rebuild(branch)  # the first rebuild of a day also creates its KpiDay row
    with CaptureQueriesContext(connection) as few:
        rebuild(branch)
    _tickets(branch, cash, teller, 190)
    with CaptureQueriesContext(connection) as many:
        rebuild(branch)
    assert totals(branch)["served"] == 200
    assert len(many) == len(few)
    few_sizes = [len(sql) for sql in _reads(few)]
    many_sizes = [len(sql) for sql in _reads(many)]
    # Same statements; only interpolated values (ids, times) may differ by a few characters.
    assert all(abs(a - b) <= 64 for a, b in zip(few_sizes, many_sizes, strict=True))
    assert max(many_sizes) < 40_000
    waits = next(sql for sql in _reads(many) if "wait_b" not in sql and "bucket" in sql)
    assert len(waits) < 8_000
    if connection.vendor == "postgresql":
        assert "SET LOCAL jit = off" in _reads(many)


def test_a_slice_can_sum_only_the_columns_its_kpis_read(branch, day_of_work):
    from kpi import selectors
    from kpi.metrics import METRIC_FIELDS

    rebuild(branch)
    slice_args = {"branches": [branch], "date_from": DAY, "date_to": DAY, "group_by": ("hour",)}
    full = selectors.rollup_rows(**slice_args)
    fields = selectors.fields_for(["within_target_share", "p90_wait_s"])
    assert set(fields) == {*METRIC_FIELDS["within_target_share"], *WAIT_BUCKET_FIELDS}
    narrow = selectors.rollup_rows(fields=fields, **slice_args)
    assert [row["hour"] for row in narrow] == [row["hour"] for row in full]
    for wide, row in zip(full, narrow, strict=True):
        # Only the KPIs the columns are enough for, with the same values as the full sums.
        assert set(row["kpis"]) == {"within_target_share", "median_wait_s", "p90_wait_s"}
        assert all(row["kpis"][key] == wide["kpis"][key] for key in row["kpis"])
        assert "csat_sum" not in row
    with pytest.raises(ValueError):
        selectors.rollup_rows(fields=["no_such_column"], **slice_args)


# --- incremental: the listener marks, beat rebuilds -------------------------------------------


def test_a_finished_ticket_marks_its_local_day_and_recompute_dirty_rebuilds_it(
    branch, cash, counter, teller
):
    assert "kpi.mark_day" in outbox.listeners_for("queueing.ticket_finished")
    assert "kpi.mark_day" in outbox.listeners_for("queueing.ticket_no_show")
    # 00:30 local on the 24th is still the 23rd in UTC: the day marked is the local one.
    with time_machine.travel(at(0, 30, DAY + timedelta(days=1)), tick=False):
        ticket = queue.ticket_issue(branch=branch, service=cash)
        queue.ticket_call_next(counter=counter, teller=teller)
        queue.ticket_start(ticket_id=ticket.pk, by=teller)
        queue.ticket_finish(ticket_id=ticket.pk, by=teller)
        outbox.deliver_due()
        marked = KpiDay.objects.get(branch=branch)
        assert (marked.day, marked.dirty) == (DAY + timedelta(days=1), True)
        assert tasks.recompute_dirty() == 1
    marked.refresh_from_db()
    assert (marked.dirty, marked.rows) == (False, 1)
    assert totals(branch, DAY + timedelta(days=1))["served"] == 1
    assert tasks.recompute_dirty() == 0


def test_marking_is_idempotent(branch):
    services.kpi_day_mark_dirty(branch_id=branch.pk, day=DAY)
    services.kpi_day_mark_dirty(branch_id=branch.pk, day=DAY)
    assert KpiDay.objects.filter(branch=branch, day=DAY, dirty=True).count() == 1


def test_a_late_survey_answer_marks_the_day_of_the_visit(branch, cash, teller):
    ticket = make_ticket(
        branch,
        cash,
        status="done",
        arrived=at(9),
        called=at(9, 5),
        started=at(9, 5),
        finished=at(9, 10),
        teller=teller,
    )
    services.rollup_recompute_day(branch=branch, day=DAY)
    later = at(10, 0, DAY + timedelta(days=3))
    SurveyResponse.objects.create(
        branch=branch, channel="phone", satisfaction=4, ticket_id=ticket.pk, submitted_at=later
    )
    with time_machine.travel(later + timedelta(minutes=1), tick=False):
        assert tasks.recompute_dirty() == 1
    assert totals(branch)["csat_sum"] == 4


def test_recompute_today_and_recent_use_each_branchs_local_day(branch, cash, teller):
    make_ticket(branch, cash, status="waiting", arrived=at(23, 50))
    with time_machine.travel(at(23, 55), tick=False):
        assert tasks.recompute_today() == 1
    assert totals(branch)["tickets"] == 1
    KpiRollup.objects.all().delete()
    # 01:00 on the 24th in Shanghai is still the 23rd in UTC; the last week includes the 23rd.
    with time_machine.travel(at(1, 0, DAY + timedelta(days=1)), tick=False):
        assert tasks.recompute_recent() == 1
    assert KpiDay.objects.filter(branch=branch).count() == tasks.RECENT_DAYS + 1


def test_the_today_page_still_works(client, branch, branch_head, as_user):
    from django.urls import reverse

    response = as_user(branch_head).get(reverse("kpi:today"))
    assert response.status_code == 200


def test_no_ticket_status_is_left_out_of_the_rebuild():
    # The rebuild names the statuses it counts; a new one would silently be dropped.
    assert {s.value for s in TicketStatus} == {
        "remote",
        "waiting",
        "called",
        "serving",
        "done",
        "no_show",
        "cancelled",
        "transferred",
    }


def test_errors_by_category_count_the_same_errors_as_the_rollups(branch, teller, day_of_work):
    from kpi.selectors import errors_by_category

    rows = errors_by_category(branches=[branch], date_from=DAY, date_to=DAY)
    assert [r["errors"] for r in rows] == [1]
    assert errors_by_category(branches=[branch], date_from=DAY, date_to=DAY, teller_id=0) == []
    later = DAY + timedelta(days=1)
    assert errors_by_category(branches=[branch], date_from=later, date_to=later) == []


def test_a_walk_away_waited_but_was_never_served_within_target(branch, cash):
    make_ticket(branch, cash, status="cancelled", arrived=at(9), finished=at(9, 3))
    rebuild(branch)
    day = totals(branch)
    assert (day["waited"], day["walkaways"], day["wait_within_target"]) == (1, 1, 0)
    assert day["wait_sum_s"] == pytest.approx(180)


def test_every_column_the_minute_s_change_scan_filters_on_leads_an_index():
    """kpi_days_mark_changed runs every minute over whole tables ("changed since a minute ago"):
    each timestamp it filters on must lead an index, or the scan grows with the history."""
    from crm.models import CareReminder, Complaint
    from feedback.models import SurveyResponse
    from reception.models import Appointment, LobbyAlert

    filtered = {
        SurveyResponse: ["submitted_at"],
        Complaint: ["acknowledged_at", "resolved_at", "acknowledge_due_at", "resolve_due_at"],
        CareReminder: ["done_at"],
        LobbyAlert: ["cleared_at"],
        Appointment: ["checked_in_at"],
    }
    for model, columns in filtered.items():
        leading = {index.fields[0].lstrip("-") for index in model._meta.indexes}
        # An index with a condition that excludes rows the scan wants would not do.
        unconditional_or_not_null = {
            index.fields[0].lstrip("-")
            for index in model._meta.indexes
            if index.condition is None or "__isnull" in str(index.condition)
        }
        for column in columns:
            assert column in leading & unconditional_or_not_null, f"{model.__name__}.{column}"
