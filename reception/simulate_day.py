"""Push one simulated day of a branch through the real service functions (`manage.py simulate_day`).

The customers come from queueing.simulation.customers (the same seeded day the SimPy bench
serves); here each of them goes through what staff really do, with the clock set to the
simulated moment: the lobby registers them (reception.services.visit_register, some without a
customer record, a few sent to the machines or answered at the door), remote customers join
and check in from their phone, seated tellers call the next ticket (the real routing decides
who), start, finish through visit_complete_service (control points ticked, an outcome, now and
then an error or a transfer), mark no-shows, and the lobby presses "customer left" for those
who walk away. Outbox events are delivered at the simulated moment, so the CRM interactions
and survey invitations exist with believable times.

Rating-pad taps and survey answers are feedback's services, which reception may not import
(tests/test_architecture.py): feedback adds them through queueing.simulation.hooks
(feedback/simulation.py). The day's SMS stay in memory (feedback.sms.LocmemBackend): the
customers are made up, and a real gateway is refused outright.

The whole day is one transaction: a day that fails half-way leaves nothing behind (a service
never given control points gets its defaults published first, on their own).
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from unittest import mock

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts import outbox
from accounts.errors import DomainError
from accounts.models import Branch, BranchClosedDay, Membership, OutboxDelivery, Role
from accounts.resilience import nudges_held
from queueing import services as queue
from queueing.models import Counter, CounterSkill, Service, Ticket
from queueing.routing import PriorityClass
from queueing.simulation import hooks
from queueing.simulation.customers import (
    DayProfile,
    SimCustomer,
    demo_profile,
    draw_customers,
    with_fitted_handling,
)
from queueing.states import FINAL, TicketStatus

from . import services as reception
from .controls import IDENTITY
from .models import ErrorCategory, ServiceError, Visit
from .triage import SpecialNeeds

__all__ = ["DayResult", "SimulationRefused", "simulate_day"]

# SMS backends that never reach a phone: simulated customers have made-up numbers, which a real
# gateway would text (survey invitations follow served visits).
LOCAL_SMS_BACKENDS = (
    "feedback.sms.ConsoleBackend",
    "feedback.sms.FileBackend",
    "feedback.sms.LocmemBackend",
)
PHONE_POOL = 3000  # 1390000xxxx: a pool, so customers come back on other days
HISTORY_DAYS = 28  # handling times are fitted over this many days before the simulated one
TARGET_LOAD = 0.8  # arrivals are scaled so the seated tellers are this busy on average
# ... and so the counters serving one service are at most this busy with it: a service one
# counter serves queues long well below full load (M/G/1 at 0.8: a wait of 3 handling times).
SERVICE_LOAD = 0.65
MAX_SCALE = 20.0  # a bigger day takes minutes and holds the branch's counters all along
LUNCH = (time(12, 0), time(13, 30))  # one teller fewer
# Shares of what happens (per customer or per service), chosen for a believable demo day.
REGISTERED_SHARE = 0.8  # greeted and registered by the lobby manager; the rest take a ticket
CONSENT_SHARE = 0.6  # new customers who agree to SMS
DIVERT_SHARE = 0.08  # small cash jobs sent to the machines
ANSWERED_SHARE = 0.03  # answered at the door, no ticket
TRANSFER_SHARE = 0.03
ERROR_SHARE = 0.02
OUTCOMES = (
    (Visit.Outcome.COMPLETED, 0.9),
    (Visit.Outcome.INCOMPLETE, 0.06),
    (Visit.Outcome.REFERRED, 0.02),
    (Visit.Outcome.FOLLOW_UP, 0.02),
)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = ("伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛")


class SimulationRefused(DomainError):
    pass


@dataclass
class DayResult:
    day: date
    customers: int = 0
    tickets: int = 0
    served: int = 0
    walked_away: int = 0
    no_shows: int = 0
    transfers: int = 0
    diverted: int = 0
    errors: int = 0
    waits_s: list[float] = field(default_factory=list)

    @property
    def mean_wait_minutes(self) -> float:
        return sum(self.waits_s) / len(self.waits_s) / 60 if self.waits_s else 0.0

    def summary(self) -> str:
        return str(
            _(
                "%(day)s: %(tickets)s tickets, %(served)s served, %(left)s walked away, "
                "%(no_shows)s no-shows, mean wait %(wait).1f min"
            )
            % {
                "day": self.day.isoformat(),
                "tickets": self.tickets,
                "served": self.served,
                "left": self.walked_away,
                "no_shows": self.no_shows,
                "wait": self.mean_wait_minutes,
            }
        )


class _Clock:
    """The simulated moment every service reads through timezone.now()."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self.at = start

    def now(self) -> datetime:
        return self.at

    def moment(self, seconds: float) -> datetime:
        return self.start + timedelta(seconds=seconds)


@dataclass
class _Seat:
    user: object
    counter: Counter
    skill_service_ids: frozenset[int]
    seated: bool = False
    wanted: bool = False
    busy: bool = False


@dataclass
class _Case:
    """One customer's way through the day."""

    customer: SimCustomer
    ticket_id: int | None = None
    handle_s: float = 0.0
    waiting_since: float = 0.0
    transferred: bool = False


def refusal(branch: Branch, day: date) -> str | None:
    """Why this day cannot be simulated at this branch, or None."""
    if settings.SMS_BACKEND not in LOCAL_SMS_BACKENDS:
        return str(
            _("The SMS backend is a real gateway: simulated customers would be texted. Refused.")
        )
    local_now = timezone.localtime(timezone.now(), branch.tz)
    if day > local_now.date() or (day == local_now.date() and local_now.time() < branch.closes_at):
        return str(_("%(day)s is not over yet at this branch.") % {"day": day.isoformat()})
    if BranchClosedDay.objects.filter(branch=branch, date=day).exists():
        return str(_("The branch is closed on %(day)s.") % {"day": day.isoformat()})
    if Ticket.objects.filter(branch=branch, business_date=day).exists():
        return str(
            _("%(day)s already has tickets at this branch: a day is simulated only once.")
            % {"day": day.isoformat()}
        )
    open_tickets = [s for s in TicketStatus if s not in FINAL]
    if Ticket.objects.filter(branch=branch, status__in=open_tickets).exists():
        # The tellers' call-next reads every waiting ticket of the branch, whatever its day.
        return str(_("The branch has open tickets: run the simulation when its queue is empty."))
    if Counter.objects.filter(branch=branch, is_open=True).exists():
        return str(_("A counter is open at the branch: close every counter first."))
    return None


def _staff(branch: Branch, role: str) -> list:
    user_ids = Membership.objects.filter(
        branch=branch, role=role, is_active=True, user__is_active=True
    ).values_list("user_id", flat=True)
    return list(get_user_model().objects.filter(pk__in=list(user_ids)).order_by("username"))


def _recent_durations(branch: Branch, day: date, codes) -> dict[str, list[float]]:
    """Per service code: handling seconds of the branch's finished tickets before `day`."""
    durations: dict[str, list[float]] = {}
    for code in codes:
        rows = Ticket.objects.filter(
            branch=branch,
            service__code=code,
            status=TicketStatus.DONE,
            business_date__gte=day - timedelta(days=HISTORY_DAYS),
            business_date__lt=day,
            started_at__isnull=False,
        ).values_list("started_at", "finished_at")[:2000]
        durations[code] = [(end - start).total_seconds() for start, end in rows if end]
    return durations


def _counter_order(
    counters: list[Counter], skills: dict[int, list[int]], demand: dict[int, float]
) -> list[Counter]:
    """Counters in the order tellers sit down: first those covering services nobody serves
    yet (most demand first), then by number."""
    order, covered, rest = [], set(), list(counters)
    while rest:
        best = max(
            rest,
            key=lambda c: (
                sum(demand.get(s, 0.0) for s in skills.get(c.pk, []) if s not in covered),
                -c.number,
            ),
        )
        if sum(demand.get(s, 0.0) for s in skills.get(best.pk, []) if s not in covered) <= 0:
            order += sorted(rest, key=lambda c: c.number)
            break
        order.append(best)
        covered.update(skills.get(best.pk, []))
        rest.remove(best)
    return order


def _seats_wanted(local: time, tellers: int, heads: int, peak: bool) -> int:
    seats = tellers
    if LUNCH[0] <= local < LUNCH[1]:
        seats = max(1, tellers - 1)
    elif peak:
        seats += heads  # the branch head sits in at the peaks
    return seats


def simulate_day(*, branch: Branch, day: date, seed: int = 0, scale: float = 1.0) -> DayResult:
    """Simulate `day` at `branch` through the real services; refuses (SimulationRefused) a day
    already held, not over, or closed, and a branch whose counters or queue are in use."""
    reason = refusal(branch, day)
    if reason:
        raise SimulationRefused(reason)
    if not (0 < scale <= MAX_SCALE):  # NaN too
        raise SimulationRefused(
            _("The scale must be above 0 and at most %(max)s.") % {"max": MAX_SCALE}
        )
    lobby = _staff(branch, Role.LOBBY_MANAGER)
    tellers = _staff(branch, Role.TELLER)
    heads = _staff(branch, Role.BRANCH_HEAD)
    if not lobby or not tellers:
        raise SimulationRefused(
            _("The branch needs a lobby manager and a teller (run seed_demo for the demo branch).")
        )
    day_ = _Day(branch, day, seed, scale, lobby[0], tellers, heads)
    clock = _Clock(day_.opens)
    # The services read the time from timezone.now() and most take no `now=`: patching that one
    # function runs the real code unchanged at the simulated moment. (time_machine would do
    # the same but is a development dependency only.)
    # The day's survey invitations (sent by feedback's end-of-day hook) stay in memory. The day
    # delivers its own outbox events as it goes; the after-commit nudges then find nothing left
    # to do, inline, instead of queueing a task per event on the broker.
    # Nudges (a task per survey invitation) are held: a past day's hundreds of them would queue
    # ahead of everything else on the broker; beat's sweeps pick up what is due instead.
    with (
        mock.patch("django.utils.timezone.now", clock.now),
        override_settings(SMS_BACKEND="feedback.sms.LocmemBackend", OUTBOX_NUDGE="inline"),
        nudges_held(),
    ):
        # Control points published before the day, in their own transaction: a day rolled
        # back must not leave a cached version behind that no longer exists.
        for code in day_.profile.service_mix:
            reception.control_version_current(service_id=day_.services[code].pk)
        with transaction.atomic():
            day_.run(clock)
    return day_.result


class _Day:
    def __init__(self, branch, day, seed, scale, lobby, tellers, heads) -> None:
        self.branch, self.day, self.lobby = branch, day, lobby
        # A simulation, not a secret: the same seed gives the same day.
        self.rng = random.Random(f"{branch.code}:{day.isoformat()}:{seed}")  # noqa: S311
        self.result = DayResult(day=day)
        tz = branch.tz
        self.opens = datetime.combine(day, branch.opens_at, tzinfo=tz)
        self.closes = datetime.combine(day, branch.closes_at, tzinfo=tz)
        self.open_s = (self.closes - self.opens).total_seconds()
        self.services = {
            s.code: s for s in Service.objects.filter(branch=branch, is_active=True).order_by("pk")
        }
        skills: dict[int, list[int]] = {}
        for counter_id, service_id in CounterSkill.objects.filter(
            counter__branch=branch, service__is_active=True
        ).values_list("counter_id", "service_id"):
            skills.setdefault(counter_id, []).append(service_id)
        mix = self._mix(served=set().union(*skills.values()) if skills else set())
        demand = {self.services[code].pk: share for code, share in mix.items()}
        counters = list(Counter.objects.filter(branch=branch).select_related("branch"))
        order = _counter_order(counters, skills, demand)
        staff = [*tellers, *heads]
        self.seats = [
            _Seat(user, counter, frozenset(skills.get(counter.pk, [])))
            for user, counter in zip(staff, order, strict=False)
        ]
        self.n_tellers, self.n_heads = min(len(tellers), len(order)), len(heads)
        self.profile = self._profile(
            day, scale, mix, [seat.skill_service_ids for seat in self.seats[: self.n_tellers]]
        )
        hourly = self.profile.hourly_arrivals
        mean = sum(hourly) / len(hourly) if hourly else 0
        self.peak_hours = {h for h, rate in enumerate(hourly) if rate > mean * 1.1}
        self.categories = list(
            ErrorCategory.objects.filter(branch=branch, is_active=True).order_by("pk")
        )
        self.events: list = []
        self.seq = itertools.count()
        self.waiting: dict[int, _Case] = {}  # ticket id -> case, tickets waiting now
        self.remote: dict[int, _Case] = {}  # ticket id -> case, joined from the phone
        self.expired: dict[int, _Case] = {}  # remote tickets expired before their check-in
        self.cases: dict[int, _Case] = {}  # ticket id -> case, every ticket of the day
        self.ticket_service: dict[int, int] = {}
        self.phones_today: set[str] = set()

    # --- set-up -----------------------------------------------------------------------------

    def _mix(self, served: set[int]) -> dict[str, float]:
        """The demo profile's service mix, limited to the services some counter here serves."""
        base = demo_profile(self.day.weekday())
        mix = {
            code: share
            for code, share in base.service_mix.items()
            if code in self.services and self.services[code].pk in served
        }
        if not mix:
            raise SimulationRefused(
                _("No counter of the branch serves the demo profile's services (%(codes)s).")
                % {"codes": ", ".join(base.service_mix)}
            )
        total = sum(mix.values())
        return {code: share / total for code, share in mix.items()}

    def _profile(
        self, day: date, scale: float, mix: dict[str, float], teller_skills: list[frozenset[int]]
    ) -> DayProfile:
        """The demo profile for the weekday, fitted to this branch: its hours, its services,
        its handling times (from history) and its staff. The profile is a six-counter day: its
        arrivals are scaled so the tellers are about TARGET_LOAD busy, and no service keeps the
        counters serving it more than SERVICE_LOAD busy."""
        base = demo_profile(day.weekday())
        handling = with_fitted_handling(
            replace(base, service_mix=mix), _recent_durations(self.branch, day, mix)
        ).handling
        hours = max(1, math.ceil(self.open_s / 3600))
        shape = list(base.hourly_arrivals[:hours])
        shape += [shape[-1]] * (hours - len(shape))
        per_hour = sum(shape) / len(shape)
        # Tellers each service needs on average (Erlang: arrivals x handling).
        needed = {
            code: per_hour * share * handling[code].mean_s / 3600 for code, share in mix.items()
        }
        factor = 1.0
        if sum(needed.values()) > 0:
            factor = min(factor, TARGET_LOAD * len(teller_skills) / sum(needed.values()))
        for code, tellers_needed in needed.items():
            serving = sum(self.services[code].pk in skills for skills in teller_skills)
            if serving and tellers_needed > 0:
                factor = min(factor, SERVICE_LOAD * serving / tellers_needed)
        return replace(
            base,
            hourly_arrivals=[rate * factor * scale for rate in shape],
            service_mix=mix,
            handling=handling,
            remote_share=base.remote_share if self.branch.remote_queue_enabled else 0.0,
        )

    # --- the event loop ---------------------------------------------------------------------

    def at(self, seconds: float, action: Callable, *args) -> None:
        heapq.heappush(self.events, (seconds, next(self.seq), action, args))

    def run(self, clock: _Clock) -> None:
        customers = [c for c in draw_customers(self.profile, self.rng) if c.arrival_s < self.open_s]
        self.result.customers = len(customers)
        for customer in customers:
            self.at(customer.arrival_s, self.arrive, customer)
        for half_hour in range(0, math.ceil(self.open_s / 1800)):
            self.at(half_hour * 1800.0, self.staffing)
        for minutes in range(5, math.ceil(self.open_s / 60), 5):
            self.at(minutes * 60.0 + 1, self.sweep_remote)
        self.at(self.open_s, self.closing)
        while self.events:
            seconds, _seq, action, args = heapq.heappop(self.events)
            clock.at = clock.moment(seconds)
            self.now_s = seconds
            action(*args)
            self.call_free_counters()
            self.deliver()
        self.end_of_day()
        self.deliver()

    def deliver(self) -> None:
        """Deliver the day's outbox events now (the simulated moment), as the relay would; a
        delivery may publish the next event (an interaction -> its survey invitation)."""
        while True:
            pending = list(
                OutboxDelivery.objects.filter(
                    status=OutboxDelivery.Status.PENDING,
                    event__branch_id=self.branch.pk,
                    event__created_at__gte=self.opens,
                    next_attempt_at__lte=timezone.now(),
                ).values_list("event_id", flat=True)[:500]
            )
            if not pending or not outbox.deliver_due(event_ids=pending).delivered:
                return

    # --- staffing -------------------------------------------------------------------------

    def staffing(self) -> None:
        local = timezone.localtime(timezone.now(), self.branch.tz)
        wanted = _seats_wanted(
            local.time(),
            self.n_tellers,
            self.n_heads,
            peak=int(self.now_s // 3600) in self.peak_hours,
        )
        for index, seat in enumerate(self.seats):
            seat.wanted = index < wanted
            if seat.wanted and not seat.seated:
                queue.counter_open(counter=seat.counter, teller=seat.user)
                seat.seated = True
            elif not seat.wanted and seat.seated and not seat.busy:
                self.leave(seat)

    def leave(self, seat: _Seat) -> None:
        queue.counter_close(counter=seat.counter, teller=seat.user)
        seat.seated = False

    def closing(self) -> None:
        """No more arrivals; those waiting are still served, then the counters close."""
        for seat in self.seats:
            seat.wanted = seat.seated

    # --- arrivals -------------------------------------------------------------------------

    def phone(self) -> str:
        while True:
            phone = f"1390000{self.rng.randrange(PHONE_POOL):04d}"
            if phone not in self.phones_today:
                self.phones_today.add(phone)
                return phone

    def name(self) -> str:
        return self.rng.choice(SURNAMES) + self.rng.choice(GIVEN)

    def arrive(self, customer: SimCustomer) -> None:
        service = self.services[customer.service_code]
        if customer.remote:
            self.join_remote(customer, service)
            return
        rng = self.rng
        if (
            customer.priority == PriorityClass.REGULAR
            and service.divertible
            and rng.random() < DIVERT_SHARE
        ):
            reception.visit_register(
                branch=self.branch,
                registered_by=self.lobby,
                phone=self.phone(),
                name=self.name(),
                service=service,
                amount=Decimal(rng.choice([500, 1000, 2000, 3000])),
                divert=True,
                update_name=False,
                greeting_elapsed_s=rng.uniform(5, 90),
            )
            self.result.diverted += 1
            return
        if customer.priority == PriorityClass.REGULAR and rng.random() < ANSWERED_SHARE:
            reception.visit_record_outcome(
                branch=self.branch,
                registered_by=self.lobby,
                route=Visit.Route.ANSWERED,
                phone=self.phone(),
                name=self.name(),
                service=service,
                greeting_elapsed_s=rng.uniform(5, 90),
            )
            return
        if customer.priority == PriorityClass.REGULAR and rng.random() > REGISTERED_SHARE:
            ticket = queue.ticket_issue(branch=self.branch, service=service, issued_by=self.lobby)
        else:
            ticket = self.register(customer, service).ticket
        self.queued(ticket, _Case(customer, handle_s=customer.handle_s))

    def needs(self, customer: SimCustomer) -> SpecialNeeds:
        priority, now = customer.priority, timezone.now()
        if priority == PriorityClass.VIP:
            return SpecialNeeds(vip=True)
        if priority == PriorityClass.CARE:
            kind = self.rng.choice(["elderly", "elderly", "disabled", "pregnant"])
            return SpecialNeeds(**{kind: True})
        if priority == PriorityClass.APPOINTMENT:
            early = timedelta(minutes=self.rng.uniform(-10, 5))
            return SpecialNeeds(appointment_at=now + early)
        return SpecialNeeds()

    def register(self, customer: SimCustomer, service: Service) -> Visit:
        return reception.visit_register(
            branch=self.branch,
            registered_by=self.lobby,
            phone=self.phone(),
            name=self.name(),
            service=service,
            needs=self.needs(customer),
            sms_consent=True if self.rng.random() < CONSENT_SHARE else None,
            update_name=False,
            greeting_elapsed_s=self.rng.uniform(5, 120),
        )

    def join_remote(self, customer: SimCustomer, service: Service) -> None:
        visit = reception.remote_join(
            branch=self.branch, service=service, phone=self.phone(), name=self.name()
        )
        case = _Case(customer, ticket_id=visit.ticket_id, handle_s=customer.handle_s)
        self.result.tickets += 1
        self.cases[visit.ticket_id] = case
        self.ticket_service[visit.ticket_id] = service.pk
        self.remote[visit.ticket_id] = case
        if customer.remote_arrives_after_s is not None:
            arrives = customer.arrival_s + customer.remote_arrives_after_s
            if arrives < self.open_s:
                self.at(arrives, self.check_in, visit.ticket_id)

    def sweep_remote(self) -> None:
        """The beat's remote sweep, for this day's tickets only: turns passed, grace over."""
        if not self.remote:
            return
        queue.remote_tickets_sweep(ticket_ids=list(self.remote))
        expired = Ticket.objects.filter(
            pk__in=list(self.remote), status=TicketStatus.NO_SHOW
        ).values_list("pk", flat=True)
        for ticket_id in expired:
            self.expired[ticket_id] = self.remote.pop(ticket_id)
            self.result.no_shows += 1

    def check_in(self, ticket_id: int) -> None:
        case = self.remote.pop(ticket_id, None)
        if case is not None:
            reception.remote_check_in(ticket_id=ticket_id, branch=self.branch, channel="qr")
            self.wait(ticket_id, case)
            return
        case = self.expired.pop(ticket_id, None)
        if case is not None:  # too late: the lobby gives them a new ticket
            service = self.services[case.customer.service_code]
            visit = self.register(case.customer, service)
            self.queued(visit.ticket, _Case(case.customer, handle_s=case.handle_s))

    def queued(self, ticket: Ticket, case: _Case) -> None:
        case.ticket_id = ticket.pk
        self.result.tickets += 1
        self.cases[ticket.pk] = case
        self.ticket_service[ticket.pk] = ticket.service_id
        self.wait(ticket.pk, case)

    def wait(self, ticket_id: int, case: _Case) -> None:
        case.waiting_since = self.now_s
        self.waiting[ticket_id] = case
        if not case.transferred and math.isfinite(case.customer.patience_s):
            self.at(self.now_s + case.customer.patience_s, self.walk_away, ticket_id)

    def walk_away(self, ticket_id: int) -> None:
        if self.waiting.pop(ticket_id, None) is None:
            return  # called meanwhile
        # The lobby's "customer left" (reception.views.desk.ticket_cancel).
        queue.ticket_cancel(
            ticket_id=ticket_id, by=self.lobby, branch=self.branch, note="customer left"
        )
        self.result.walked_away += 1

    # --- the counters ---------------------------------------------------------------------

    def call_free_counters(self) -> None:
        for seat in self.seats:
            if not (seat.seated and seat.wanted and not seat.busy and self.waiting):
                continue
            if not any(self.ticket_service[t] in seat.skill_service_ids for t in self.waiting):
                continue
            ticket = queue.ticket_call_next(counter=seat.counter, teller=seat.user)
            if ticket is None:
                continue
            case = self.waiting.pop(ticket.pk, None)
            if case is None:  # a real customer's ticket, issued meanwhile: nothing is kept
                raise SimulationRefused(
                    _("A real ticket was issued at the branch during the simulation: rolled back.")
                )
            seat.busy = True
            self.result.waits_s.append(self.now_s - case.waiting_since)
            if case.customer.no_show_when_called and not case.transferred:
                self.at(self.now_s + self.rng.uniform(90, 180), self.no_show, seat, ticket.pk)
            else:
                self.at(self.now_s + self.rng.uniform(15, 60), self.start, seat, ticket.pk, case)

    def no_show(self, seat: _Seat, ticket_id: int) -> None:
        queue.ticket_no_show(ticket_id=ticket_id, by=seat.user, branch=self.branch)
        self.result.no_shows += 1
        self.free(seat)

    def start(self, seat: _Seat, ticket_id: int, case: _Case) -> None:
        queue.ticket_start(ticket_id=ticket_id, by=seat.user, branch=self.branch)
        self.at(self.now_s + max(30.0, case.handle_s), self.finish, seat, ticket_id, case)

    def finish(self, seat: _Seat, ticket_id: int, case: _Case) -> None:
        rng = self.rng
        if (
            not case.transferred
            and rng.random() < TRANSFER_SHARE
            and self.transfer(seat, ticket_id, case)
        ):
            self.free(seat)
            return
        points = reception.control_version_current(service_id=self.ticket_service[ticket_id])[
            "points"
        ]
        keys = [point["key"] for point in points]
        if self.categories and rng.random() < ERROR_SHARE:
            reception.service_error_record(
                ticket=ticket_id,
                by=seat.user,
                branch=self.branch,
                category=rng.choice(self.categories),
                severity=rng.choice(
                    [ServiceError.Severity.MINOR] * 4 + [ServiceError.Severity.MAJOR]
                ),
                note="simulated",
            )
            self.result.errors += 1
        outcome = rng.choices([o for o, _w in OUTCOMES], [w for _o, w in OUTCOMES])[0]
        has_customer = Visit.objects.filter(ticket_id=ticket_id, customer__isnull=False).exists()
        if outcome == Visit.Outcome.FOLLOW_UP and not has_customer:
            outcome = Visit.Outcome.COMPLETED
        reason = ""
        if outcome == Visit.Outcome.INCOMPLETE:
            reason = rng.choice(Visit.IncompleteReason.values)
            keys = [key for key in keys if rng.random() < 0.5]
        reception.visit_complete_service(
            ticket=ticket_id,
            teller=seat.user,
            branch=self.branch,
            outcome=outcome,
            checked_points=keys,
            incomplete_reason=reason,
        )
        self.result.served += 1
        hooks.run_after_finish(  # other apps' part (feedback: the counter's rating pad)
            hooks.FinishedTicket(ticket_id, self.branch.pk, seat.counter.pk, self.rng)
        )
        self.free(seat)

    def transfer(self, seat: _Seat, ticket_id: int, case: _Case) -> bool:
        """Send the customer on to another of the day's services (served by an open counter)."""
        here = self.ticket_service[ticket_id]
        served = set().union(*(s.skill_service_ids for s in self.seats if s.seated))
        targets = [
            service
            for code, service in self.services.items()
            if service.pk != here and service.pk in served and code in self.profile.handling
        ]
        if not targets:
            return False
        target = self.rng.choice(targets)
        new_ticket = reception.visit_transfer(
            ticket_id=ticket_id,
            by=seat.user,
            branch=self.branch,
            to_service=target,
            note="simulated transfer",
            checked_points=[IDENTITY],
        )
        self.result.transfers += 1
        follow = _Case(
            case.customer,
            handle_s=self.profile.handling[target.code].draw(self.rng),
            transferred=True,
        )
        self.queued(new_ticket, follow)
        return True

    def free(self, seat: _Seat) -> None:
        seat.busy = False
        if not seat.wanted:
            self.leave(seat)

    # --- the end of the day ---------------------------------------------------------------

    def end_of_day(self) -> None:
        """Whoever is still waiting (no counter serves them) leaves; remote tickets never
        checked in expire; every counter closes."""
        for ticket_id in list(self.waiting):
            self.walk_away(ticket_id)
        self.sweep_remote()  # the day is over: every remote ticket left expires
        for seat in self.seats:
            if seat.seated:
                self.leave(seat)
        self.deliver()
        hooks.run_end_of_day(self.branch.pk, self.day, self.rng)  # feedback: survey answers
