"""manage.py simulate_day: a simulated day pushed through the real services, and seed_demo's
--simulate-days."""

from datetime import datetime, timedelta

import pytest
from django.core.cache import caches
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from accounts.models import Branch, OutboxDelivery
from accounts.timeutil import branch_today
from crm.models import Interaction
from feedback.models import RatingPad, SurveyInvitation, SurveyResponse
from queueing.models import Counter, Ticket, TicketEvent
from queueing.states import FINAL, TicketStatus
from reception.models import ErrorCategory, Visit
from reception.simulate_day import SimulationRefused, _recent_durations, simulate_day

pytestmark = pytest.mark.django_db


def _last_wednesday(branch: Branch):
    day = branch_today(branch) - timedelta(days=7)
    return day - timedelta(days=(day.weekday() - 2) % 7)


@pytest.fixture
def demo(db) -> Branch:
    call_command("seed_demo", code="sim", stdout=_Null())
    branch = Branch.objects.get(code="sim")
    branch.remote_queue_enabled = True
    branch.save(update_fields=["remote_queue_enabled"])
    ErrorCategory.objects.create(branch=branch, code="amount", name_zh="金额错误")
    for counter in Counter.objects.filter(branch=branch):
        RatingPad.objects.create(branch=branch, counter_id=counter.pk, token=f"pad-{counter.pk}")
    return branch


def _counts(result) -> tuple:
    return (
        result.customers,
        result.tickets,
        result.served,
        result.walked_away,
        result.no_shows,
        result.transfers,
        round(result.mean_wait_minutes, 6),
    )


def test_a_simulated_day_goes_through_the_real_services(demo):
    day = _last_wednesday(demo)
    # A seed whose day has walk-aways as well as served customers.
    result = simulate_day(branch=demo, day=day, seed=4, scale=0.5)

    tickets = list(Ticket.objects.filter(branch=demo))
    assert len(tickets) == result.tickets > 10
    assert result.served > result.walked_away
    opens = datetime.combine(day, demo.opens_at, tzinfo=demo.tz)
    closes = datetime.combine(day, demo.closes_at, tzinfo=demo.tz)
    for ticket in tickets:
        assert ticket.business_date == day
        assert ticket.status in FINAL, ticket.code  # every ticket reached its end
        assert opens <= ticket.issued_at <= closes
        assert ticket.finished_at is not None and ticket.finished_at >= ticket.issued_at
        if ticket.called_at is not None:
            assert ticket.called_at >= ticket.arrived_at  # waits are never negative
        if ticket.status == TicketStatus.DONE:
            assert ticket.called_at <= ticket.started_at <= ticket.finished_at
            assert ticket.teller is not None and ticket.counter is not None
    statuses = {t.status for t in tickets}
    assert {TicketStatus.DONE, TicketStatus.CANCELLED} <= statuses
    # The audit trail carries the simulated moments, not the machine's clock.
    assert not TicketEvent.objects.filter(ticket__branch=demo, at__gt=closes + timedelta(hours=3))
    # Lobby registrations with greeting times, remote customers, outcomes.
    visits = Visit.objects.filter(branch=demo)
    lobby = visits.filter(channel=Visit.Channel.LOBBY, route=Visit.Route.QUEUE)
    assert lobby.exists()
    for visit in lobby:
        assert visit.arrived_at <= visit.greeted_at <= visit.triaged_at
    assert visits.filter(channel=Visit.Channel.REMOTE).exists()
    assert visits.filter(outcome=Visit.Outcome.COMPLETED).exists()
    assert visits.filter(customer__phone__startswith="1390000").exists()  # made-up numbers
    # Outbox delivered: interactions and survey invitations exist, at the simulated time.
    assert not OutboxDelivery.objects.filter(
        event__branch_id=demo.pk, status=OutboxDelivery.Status.PENDING
    ).exists()
    interactions = Interaction.objects.filter(branch=demo, kind=Interaction.Kind.BRANCH_SERVICE)
    assert interactions.count() == visits.filter(ticket__status=TicketStatus.DONE).count()
    assert all(opens <= i.occurred_at <= closes + timedelta(hours=3) for i in interactions)
    invitations = SurveyInvitation.objects.filter(branch=demo)
    assert invitations.exists()
    assert all(i.created_at.date() <= day + timedelta(days=1) for i in invitations)
    # feedback's part (queueing.simulation.hooks): pad taps and survey answers, that evening.
    responses = SurveyResponse.objects.filter(branch=demo)
    assert responses.filter(channel=SurveyResponse.Channel.COUNTER_PAD).exists()
    assert responses.filter(channel=SurveyResponse.Channel.SMS_LINK).exists()
    assert all(opens <= r.submitted_at <= closes + timedelta(hours=3) for r in responses)
    assert invitations.filter(status=SurveyInvitation.Status.SENT).exists()
    # The tellers left their counters.
    assert not Counter.objects.filter(branch=demo, is_open=True).exists()
    assert result.summary().startswith(day.isoformat())


def test_the_same_seed_gives_the_same_day(demo):
    day = _last_wednesday(demo)
    with transaction.atomic():
        first = simulate_day(branch=demo, day=day, seed=7, scale=0.3)
        transaction.set_rollback(True)
    for cache in caches.all():  # what the rolled-back day cached (its control points) goes too
        cache.clear()
    assert not Ticket.objects.filter(branch=demo).exists()
    second = simulate_day(branch=demo, day=day, seed=7, scale=0.3)
    assert _counts(first) == _counts(second)
    assert first.tickets > 0


def test_a_day_with_tickets_is_refused_and_kept(demo):
    day = _last_wednesday(demo)
    call_command("simulate_day", branch="sim", date=day.isoformat(), scale=0.2, stdout=_Null())
    before = Ticket.objects.filter(branch=demo).count()
    # The next day's handling times are fitted on this one's finished tickets.
    history = _recent_durations(demo, day + timedelta(days=1), ["cash", "account"])
    done = Ticket.objects.filter(branch=demo, status=TicketStatus.DONE, service__code="cash")
    assert len(history["cash"]) == done.count() > 0
    assert all(seconds > 0 for seconds in history["cash"])
    assert _recent_durations(demo, day, ["cash"]) == {"cash": []}  # never the day itself
    with pytest.raises(CommandError, match="already has tickets"):
        call_command("simulate_day", branch="sim", date=day.isoformat(), stdout=_Null())
    assert Ticket.objects.filter(branch=demo).count() == before


def test_refusals(demo):
    tomorrow = branch_today(demo) + timedelta(days=1)
    with pytest.raises(CommandError, match="not over yet"):
        call_command("simulate_day", branch="sim", date=tomorrow.isoformat(), stdout=_Null())
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("simulate_day", branch="sim", date="yesterday", stdout=_Null())
    with pytest.raises(CommandError, match="No branch"):
        call_command("simulate_day", branch="nope", date="2026-01-07", stdout=_Null())
    day = _last_wednesday(demo)
    for scale in (0, -1, float("nan"), 21):
        with pytest.raises(SimulationRefused, match="scale"):
            simulate_day(branch=demo, day=day, scale=scale)
    with (
        override_settings(SMS_BACKEND="feedback.sms.HttpGatewayBackend"),
        pytest.raises(SimulationRefused, match="real gateway"),
    ):
        simulate_day(branch=demo, day=day)
    counter = Counter.objects.filter(branch=demo).first()
    counter.is_open = True
    counter.save(update_fields=["is_open"])
    # Its tellers would be taken from the live counters.
    with pytest.raises(SimulationRefused, match="counter is open"):
        simulate_day(branch=demo, day=day)
    assert not Ticket.objects.filter(branch=demo).exists()


def test_seed_demo_simulates_past_business_days(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", code="simd", simulate_days=2, stdout=_Null())
    branch = Branch.objects.get(code="simd")
    days = set(Ticket.objects.filter(branch=branch).values_list("business_date", flat=True))
    assert len(days) == 2
    assert all(d < branch_today(branch) and d.weekday() < 5 for d in days)
    # Again: the days are there already, nothing is added.
    count = Ticket.objects.filter(branch=branch).count()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", code="simd", simulate_days=2, stdout=_Null())
    assert Ticket.objects.filter(branch=branch).count() == count


def test_seed_demo_simulates_nothing_by_default(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", code="simz", stdout=_Null())
    assert not Ticket.objects.filter(branch__code="simz").exists()
    assert timezone.now()  # the clock is the real one again


class _Null:
    def write(self, *args, **kwargs) -> None:
        pass

    def flush(self) -> None:
        pass
