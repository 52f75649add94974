"""KPI arithmetic (pure), the rollups built from a day made with the queue's own services, and
the Celery tasks (the rollups' detailed known answers: tests/test_kpi_rollups.py)."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db.models import Sum

from feedback.models import SurveyResponse
from kpi import services, tasks
from kpi.metrics import SUM_FIELDS, Figures, TicketRow, kpi_values, ticket_figures
from kpi.models import KpiRollup
from queueing import services as queue
from reception.services import visit_register

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)
DAY = date(2026, 11, 23)


def row(status="done", *, service="cash", wait_min=None, handle_min=None, target_min=10, at=T0):
    called = at + timedelta(minutes=wait_min) if wait_min is not None else None
    started = called if handle_min is not None else None
    finished = started + timedelta(minutes=handle_min) if handle_min is not None else None
    return TicketRow(
        status=status,
        service_code=service,
        arrived_at=at,
        called_at=called,
        started_at=started,
        finished_at=finished,
        target_wait_s=target_min * 60.0,
    )


# --- metrics (pure) ------------------------------------------------------------------------------


def test_it_has_no_averages_for_no_rows():
    assert ticket_figures([]) == Figures(0, 0, 0, None, None, None)


def test_it_averages_waits_and_handling_of_served_tickets():
    figures = ticket_figures(
        [
            row(wait_min=4, handle_min=6),
            row(wait_min=20, handle_min=2),
            row("waiting"),
            row("no_show", wait_min=30),
        ]
    )
    assert (figures.issued, figures.served, figures.no_shows) == (4, 2, 1)
    assert figures.avg_wait_s == 12 * 60
    assert figures.avg_handle_s == 4 * 60


def test_it_counts_the_share_served_within_each_services_target():
    figures = ticket_figures(
        [
            row(wait_min=10, handle_min=1, target_min=10),  # exactly on target counts
            row(wait_min=11, handle_min=1, target_min=10),
            row(wait_min=15, handle_min=1, target_min=20, service="loan"),
            row(wait_min=25, handle_min=1, target_min=20, service="loan"),
        ]
    )
    assert figures.within_target_share == 0.5


def test_it_does_not_count_a_transferred_customer_twice():
    first = row("transferred", wait_min=5, handle_min=3)
    follow_up = row(wait_min=12, handle_min=4, service="loan", target_min=20)  # same arrival
    figures = ticket_figures([first, follow_up])
    assert (figures.issued, figures.served) == (1, 1)
    assert figures.avg_wait_s == 12 * 60  # from the first arrival, once
    assert figures.avg_handle_s == 4 * 60


def test_it_ignores_served_rows_missing_times_in_the_averages():
    figures = ticket_figures([row(wait_min=6, handle_min=None), row("done")])
    assert figures.served == 2
    assert figures.avg_wait_s == 6 * 60
    assert figures.avg_handle_s is None
    assert figures.within_target_share == 1.0


# --- rollups -----------------------------------------------------------------------------------


@pytest.fixture
def day_of_work(branch, cash, loans, counter, teller, lobby_manager):
    """09:00 two cash tickets served (waits 4 and 20 min); 10:30 a loans ticket still waiting;
    one customer diverted to the machines; one survey answer (4 stars)."""
    with time_machine.travel(T0, tick=False) as clock:
        first = queue.ticket_issue(branch=branch, service=cash)
        second = queue.ticket_issue(branch=branch, service=cash)
        for ticket, wait, handle in ((first, 4, 6), (second, 10, 2)):
            clock.shift(timedelta(minutes=wait))
            queue.ticket_call_next(counter=counter, teller=teller)
            queue.ticket_start(ticket_id=ticket.pk, by=teller)
            clock.shift(timedelta(minutes=handle))
            queue.ticket_finish(ticket_id=ticket.pk, by=teller)
        clock.move_to(T0 + timedelta(hours=1, minutes=30))
        queue.ticket_issue(branch=branch, service=loans)
        visit_register(
            branch=branch,
            registered_by=lobby_manager,
            phone="13900001111",
            service=cash,
            amount=300,
            divert=True,
        )
        SurveyResponse.objects.create(
            branch=branch,
            channel=SurveyResponse.Channel.COUNTER_PAD,
            satisfaction=4,
            submitted_at=T0 + timedelta(hours=2),
        )


def test_the_queues_own_services_give_the_rollups_the_same_day(branch, cash, loans, day_of_work):
    """The day_of_work above, made with the queue's services: the rollups agree with the live
    arithmetic (metrics.ticket_figures) on what both count."""
    written = services.rollup_recompute_day(branch=branch, day=DAY)
    rows = KpiRollup.objects.filter(branch=branch, day=DAY)
    assert written == rows.count() > 0
    sums = rows.aggregate(**{name: Sum(name) for name in SUM_FIELDS})
    assert (sums["tickets"], sums["customers"], sums["served"], sums["visits"]) == (3, 3, 2, 1)
    assert sums["diverted"] == 1
    kpis = kpi_values(sums)
    assert kpis["avg_wait_s"] == 12 * 60
    assert kpis["avg_handle_s"] == 4 * 60
    assert kpis["within_target_share"] == 0.5
    # The pad's answer names no ticket: it belongs to the day it was given.
    assert (sums["csat_count"], sums["csat_sum"], sums["responses"]) == (1, 4, 0)
    by_hour = dict(rows.values_list("hour").annotate(n=Sum("tickets")).values_list("hour", "n"))
    assert {h: n for h, n in by_hour.items() if n} == {9: 2, 10: 1}
    by_service = dict(
        rows.values_list("service__code")
        .annotate(n=Sum("served"))
        .values_list("service__code", "n")
    )
    assert (by_service["cash"], by_service.get("loan", 0)) == (2, 0)


def test_the_task_recomputes_today_for_every_branch(branch, other_branch, day_of_work):
    with time_machine.travel(T0 + timedelta(hours=8), tick=False):
        written = tasks.recompute_today()
    assert written == KpiRollup.objects.filter(branch=branch, day=DAY).count() > 0
    assert not KpiRollup.objects.filter(branch=other_branch).exists()


def test_the_nightly_task_recomputes_the_last_week_in_each_branchs_time_zone(branch, day_of_work):
    # 01:00 on the 24th in Shanghai is still the 23rd in UTC; the 23rd is in the last week.
    with time_machine.travel(datetime(2026, 11, 24, 1, 0, tzinfo=SHANGHAI), tick=False):
        tasks.recompute_recent()
    served = KpiRollup.objects.filter(branch=branch, day=DAY).aggregate(n=Sum("served"))["n"]
    assert served == 2
