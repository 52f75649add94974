"""Queue reads. The routing and ETA code is pure; these functions turn rows into its inputs."""

import bisect
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.cache import caches
from django.db import transaction
from django.db.models import Count, F, Min, Q, QuerySet, Sum
from django.utils import timezone

from accounts.models import Branch
from accounts.timeutil import branch_today

from . import eta, routing, statements
from .models import Counter, CounterSkill, Service, Ticket
from .states import ACTIVE_AT_COUNTER, TicketStatus

# --- A branch's set-up: read on every call and issue, changed a few times a year ----------------


@dataclass(frozen=True)
class BranchSetup:
    """What the hot path reads of a branch's configuration: services, counters' numbers and
    skills. Cached (shared cache) and dropped on every change (queueing.receivers); counters'
    state (open, paused, who sits there) is never in it: that is always read from the row."""

    services: dict[int, Service]  # every service, active or not, by id
    service_ids: dict[str, int]  # code -> id
    counter_labels: dict[int, tuple[int, str]]  # counter id -> (number, label)
    skills: dict[int, tuple[str, ...]]  # counter id -> codes of its active services, by rank
    target_waits: dict[str, timedelta]

    def service(self, code: str) -> Service | None:
        service_id = self.service_ids.get(code)
        return self.services[service_id] if service_id is not None else None

    def covers(self, *, services: Iterable[int] = (), counters: Iterable[int | None] = ()) -> bool:
        """Whether every one of these services and counters is in this copy."""
        return all(pk in self.services for pk in services) and all(
            pk is None or pk in self.counter_labels for pk in counters
        )

    def counter(self, counter_id: int | None, *, branch_id: int) -> Counter | None:
        """A Counter carrying its number and label (for display), not its current state."""
        if counter_id is None or counter_id not in self.counter_labels:
            return None
        number, label = self.counter_labels[counter_id]
        return Counter(pk=counter_id, branch_id=branch_id, number=number, label=label)


def branch_setup_key(branch_id: int) -> str:
    return f"queue-setup:{branch_id}"


def _load_branch_setup(branch_id: int) -> BranchSetup:
    services = {s.pk: s for s in Service.objects.filter(branch_id=branch_id)}
    counters = dict(
        (pk, (number, label))
        for pk, number, label in Counter.objects.filter(branch_id=branch_id).values_list(
            "pk", "number", "label"
        )
    )
    skills: dict[int, list[str]] = {pk: [] for pk in counters}
    for counter_id, service_id in CounterSkill.objects.filter(
        counter__branch_id=branch_id
    ).values_list("counter_id", "service_id"):  # ordered by rank (Meta.ordering)
        service = services.get(service_id)
        if service is not None and service.is_active:
            skills[counter_id].append(service.code)
    return BranchSetup(
        services=services,
        service_ids={s.code: s.pk for s in services.values()},
        counter_labels=counters,
        skills={pk: tuple(codes) for pk, codes in skills.items()},
        target_waits={s.code: timedelta(minutes=s.target_wait_minutes) for s in services.values()},
    )


# This process's copies, by branch: (read at, set-up). A copy serves for
# QUEUE_SETUP_LOCAL_SECONDS without asking the shared cache; this process's own changes drop it
# at once (receivers), other processes' changes reach it within that time.
_local_setups: dict[int, tuple[float, BranchSetup]] = {}
LOCAL_SETUPS_MAX = 4096  # branches; beyond, the copies are dropped and read again


def branch_setup(
    *, branch_id: int, services: Iterable[int] = (), counters: Iterable[int | None] = ()
) -> BranchSetup:
    """The branch's set-up: this process's copy if younger than QUEUE_SETUP_LOCAL_SECONDS,
    else the shared cache's; three small queries when both miss (a change was just made, or
    Redis is down). `services` and `counters`: ids the caller is about to look up; a copy that
    lacks one (a row written without a signal, e.g. a bulk insert) is read again rather than
    trusted.

    The process copy saves every issue, call, start and finish a shared-cache read and an
    unpickling (measured: ~8 % of their CPU). Its price: a set-up change made through another
    process (a service switched off, a counter's skills) reaches this one up to
    QUEUE_SETUP_LOCAL_SECONDS later. Counters' state is never in the set-up."""
    services, counters = tuple(services), tuple(counters)
    now = time.monotonic()
    local = _local_setups.get(branch_id)
    if (
        local is not None
        and now - local[0] < settings.QUEUE_SETUP_LOCAL_SECONDS
        and local[1].covers(services=services, counters=counters)
    ):
        return local[1]
    cache = caches["shared"]
    key = branch_setup_key(branch_id)
    setup = cache.get(key)
    if setup is not None and not setup.covers(services=services, counters=counters):
        setup = None
    if setup is None:
        setup = _load_branch_setup(branch_id)
        cache.set(key, setup, settings.QUEUE_SETUP_CACHE_SECONDS)
    if len(_local_setups) >= LOCAL_SETUPS_MAX:
        _local_setups.clear()
    _local_setups[branch_id] = (now, setup)
    return setup


def forget_branch_setup(branch_id: int) -> None:
    """Drop the copies now, and again when the change commits: a read between the two (this
    or another process) took the rows from before the change."""

    def forget() -> None:
        _local_setups.pop(branch_id, None)
        caches["shared"].delete(branch_setup_key(branch_id))

    forget()
    transaction.on_commit(forget, robust=True)


def forget_local_setups() -> None:
    """Tests: forget this process's copies (the shared cache is cleared with the caches)."""
    _local_setups.clear()


def routing_policy(*, branch: Branch, setup: BranchSetup | None = None) -> routing.RoutingPolicy:
    setup = setup or branch_setup(branch_id=branch.pk)
    return routing.RoutingPolicy(
        max_bypass=branch.max_priority_bypass,
        aging_enabled=branch.aging_enabled,
        target_waits=setup.target_waits,
    )


def counter_skills(*, counter: Counter, setup: BranchSetup | None = None) -> routing.CounterSkills:
    setup = setup or branch_setup(branch_id=counter.branch_id)
    codes = setup.skills.get(counter.pk, ())
    return routing.CounterSkills(counter_id=counter.pk, service_codes=list(codes))


# The columns of a waiting ticket routing reads (as_waiting_row), by attribute name.
WAITING_ROW = ("id", "service_id", "priority", "arrived_at", "bypass_count", "target_counter_id")


def as_waiting_row(row: tuple, service_code: str) -> routing.WaitingTicket:
    """as_waiting of a WAITING_ROW tuple, whose service's code the caller knows."""
    ticket_id, _service_id, priority, arrived_at, bypass_count, target_counter_id = row
    return routing.WaitingTicket(
        id=ticket_id,
        service_code=service_code,
        priority=routing.PriorityClass(priority),
        arrived_at=arrived_at,
        bypass_count=bypass_count,
        target_counter_id=target_counter_id,
    )


def as_waiting(ticket: Ticket) -> routing.WaitingTicket:
    return as_waiting_row(tuple(getattr(ticket, name) for name in WAITING_ROW), ticket.service.code)


def waiting_tickets(*, branch: Branch) -> QuerySet[Ticket]:
    return Ticket.objects.filter(branch=branch, status=TicketStatus.WAITING).select_related(
        "service"
    )


def waiting_for_counter(*, branch: Branch, counter: Counter | None = None) -> list[Ticket]:
    """Waiting tickets of the branch (those this counter may call, when given), in one query."""
    queryset = waiting_tickets(branch=branch)
    if counter is not None:
        queryset = queryset.filter(
            Q(service__skills__counter=counter, target_counter__isnull=True)
            | Q(target_counter=counter)
        ).distinct()
    return list(queryset)


def waiting_snapshot(
    *, branch: Branch, counter: Counter | None = None
) -> list[routing.WaitingTicket]:
    return [as_waiting(t) for t in waiting_for_counter(branch=branch, counter=counter)]


def counter_current_ticket(*, counter: Counter) -> Ticket | None:
    return (
        Ticket.objects.filter(counter=counter, status__in=list(ACTIVE_AT_COUNTER))
        .select_related("service")
        .order_by("-called_at")
        .first()
    )


def counters_for_branch(*, branch: Branch) -> QuerySet[Counter]:
    return Counter.objects.filter(branch=branch).prefetch_related("skills__service")


def services_for_branch(*, branch: Branch, active_only: bool = True) -> QuerySet[Service]:
    queryset = Service.objects.filter(branch=branch)
    return queryset.filter(is_active=True) if active_only else queryset


def waiting_by_service(*, branch: Branch) -> list[dict]:
    """Per active service: how many wait and since when (the longest wait)."""
    rows = {
        row["service"]: row
        for row in Ticket.objects.filter(branch=branch, status=TicketStatus.WAITING)
        .values("service")
        .annotate(waiting=Count("pk"), oldest=Min("arrived_at"))
    }
    now = timezone.now()
    result = []
    for service in services_for_branch(branch=branch):
        row = rows.get(service.pk)
        oldest = row["oldest"] if row else None
        result.append(
            {
                "service": service,
                "waiting": row["waiting"] if row else 0,
                "longest_wait_s": (now - oldest).total_seconds() if oldest else 0.0,
            }
        )
    return result


def tickets_for_branch(*, branch: Branch) -> QuerySet[Ticket]:
    return Ticket.objects.filter(branch=branch).select_related("service", "counter", "teller")


def recent_calls(*, branch: Branch, limit: int = 8) -> list[Ticket]:
    today = branch_today(branch)
    return list(
        Ticket.objects.filter(branch=branch, business_date=today, called_at__isnull=False)
        .select_related("service", "counter")
        .order_by("-called_at")[:limit]
    )


def walkaway_rate_today(*, branch: Branch, waiting: Iterable[routing.WaitingTicket] = ()) -> float:
    """Today's walk-aways per second of waiting (eta.walkaway_rate), for the estimate's replay.

    A walk-away is a customer called but not there (NO_SHOW after a call; a remote customer who
    never came is never called). The waiting time is everyone's who was called today plus the
    ``waiting`` tickets' so far. One aggregate on the (branch, business_date) index: it reads
    today's tickets only, whatever the history."""
    now = timezone.now()
    today = (
        Ticket.objects.filter(
            branch=branch, business_date=branch_today(branch), called_at__isnull=False
        )
        .order_by()
        .aggregate(
            walkaways=Count("pk", filter=Q(status=TicketStatus.NO_SHOW)),
            waited=Sum(F("called_at") - F("arrived_at")),
        )
    )
    waited_s = today["waited"].total_seconds() if today["waited"] else 0.0
    waited_s += sum(max(0.0, (now - t.arrived_at).total_seconds()) for t in waiting)
    return eta.walkaway_rate(today["walkaways"], max(0.0, waited_s))


def handling_stats(
    *, branch: Branch, sample: int = 100, waiting: Iterable[routing.WaitingTicket] = ()
) -> eta.HandlingStats:
    """Recent mean handling time per service, shrunk toward the standard when data is thin and
    each case capped (a "Finish" pressed an hour late must not set everyone's wait), and
    today's walk-away rate (walkaway_rate_today, with the ``waiting`` tickets' time so far).

    One query for the branch (newest first), then the last `sample` per service in Python:
    customers' status pages poll this, so it must not cost a query per service. 100 rather
    than 30: on simulated steady days 30 cases put the estimate 7 % further from the best
    possible (docs/benchmarks.md, "Branch simulator"); the row count is bounded, the query
    count unchanged."""
    since = timezone.now() - timedelta(days=14)
    services = list(services_for_branch(branch=branch))
    recent: dict[int, list[float]] = {service.pk: [] for service in services}
    rows = (
        Ticket.objects.filter(
            branch=branch,
            status=TicketStatus.DONE,
            finished_at__gte=since,
            started_at__isnull=False,
        )
        .order_by("-finished_at")
        .values_list("service_id", "started_at", "finished_at")[
            : sample * max(len(services), 1) * 4
        ]
    )
    for service_id, started, finished in rows:
        durations = recent.get(service_id)
        if durations is not None and len(durations) < sample:
            durations.append((finished - started).total_seconds())
    return eta.HandlingStats(
        walkaway_rate_per_s=walkaway_rate_today(branch=branch, waiting=waiting),
        mean_s={
            service.code: eta.handling_mean(
                recent[service.pk],
                service.standard_handle_minutes * 60.0,
                cap_factor=eta.HANDLING_CAP_FACTOR,
            )
            for service in services
        },
    )


def counter_states(*, branch: Branch, stats: eta.HandlingStats) -> list[eta.CounterState]:
    now = timezone.now()
    active = {
        ticket.counter_id: ticket
        for ticket in Ticket.objects.filter(
            branch=branch, status__in=list(ACTIVE_AT_COUNTER), counter__isnull=False
        ).select_related("service")
    }
    states = []
    for counter in counters_for_branch(branch=branch).filter(is_open=True, is_paused=False):
        codes = [skill.service.code for skill in counter.skills.all() if skill.service.is_active]
        current = active.get(counter.pk)
        busy = 0.0
        if current is not None:
            expected = stats.mean_s.get(current.service.code, 0.0)
            began = current.started_at or current.called_at or now
            # Conditional on the time already spent (a case past its usual time has a tail left).
            busy = eta.expected_residual(expected, (now - began).total_seconds())
        states.append(
            eta.CounterState(counter_id=counter.pk, service_codes=codes, busy_until_estimate_s=busy)
        )
    return states


# What a branch_outlook() entry holds: (service code, estimated wait, is remote, estimated wait
# if every remote customer were here). Waiting tickets are estimated on the real queue (call-
# next does not see remote tickets); remote ones as if they and the other remote customers had
# checked in, so a customer on their way sees the wait that awaits them once here.
Outlook = dict[int, tuple[str, float, bool, float]]
# Statuses with a place in the queue, shown with people ahead and an estimated wait.
QUEUED = (TicketStatus.WAITING, TicketStatus.REMOTE)


def remote_snapshot(*, branch: Branch) -> list[routing.WaitingTicket]:
    """The branch's remote tickets as if they were waiting (for the estimate only)."""
    tickets = Ticket.objects.filter(branch=branch, status=TicketStatus.REMOTE).select_related(
        "service"
    )
    return [as_waiting(t) for t in tickets]


def branch_outlook(*, branch: Branch) -> Outlook:
    """Every waiting and remote ticket's estimate for the branch (see Outlook).

    The expensive, branch-wide half of a status page (~20 queries, one of them today's walk-away
    rate); it is the same for every phone of the branch, so the status fragment computes it
    once per queue version (queueing/fragments.py) and each phone only reads its own ticket."""
    snapshot = waiting_snapshot(branch=branch)
    remote = remote_snapshot(branch=branch)
    stats = handling_stats(branch=branch, waiting=snapshot)
    counters = counter_states(branch=branch, stats=stats)
    policy = routing_policy(branch=branch)
    now = timezone.now()
    waits = eta.estimate_waits(snapshot, counters, stats, now, policy)
    with_remote = (
        eta.estimate_waits(snapshot + remote, counters, stats, now, policy) if remote else waits
    )
    inf = float("inf")
    result: Outlook = {
        t.id: (t.service_code, waits.get(t.id, inf), False, with_remote.get(t.id, inf))
        for t in snapshot
    }
    for t in remote:
        wait = with_remote.get(t.id, inf)
        result[t.id] = (t.service_code, wait, True, wait)
    return result


def outlook_for(ticket: Ticket, outlook: Outlook) -> dict:
    """People ahead and estimated wait of one ticket, from branch_outlook(). A waiting ticket
    counts the waiting customers ahead of it; a remote one everybody who would be called
    before it, were all of them here."""
    if ticket.status not in QUEUED:
        return {"people_ahead": 0, "eta_s": 0.0}
    is_remote = ticket.status == TicketStatus.REMOTE
    entry = outlook.get(ticket.pk)
    mine = (entry[3] if is_remote else entry[1]) if entry else float("inf")
    code = ticket.service.code
    ahead = sum(
        1
        for ticket_id, (service_code, wait_s, other_remote, wait_all_s) in outlook.items()
        if ticket_id != ticket.pk
        and service_code == code
        and (wait_all_s < mine if is_remote else (not other_remote and wait_s < mine))
    )
    return {"people_ahead": ahead, "eta_s": mine}


def outlook_positions(outlook: Outlook) -> dict[int, tuple[bool, int, float]]:
    """Every queued ticket's (is remote, people ahead, estimated wait) from branch_outlook():
    outlook_for() for all of them at once, in O(n log n) (the live service sends each phone its
    own part, queueing/live.py)."""
    waiting_waits: dict[str, list[float]] = {}  # per service: waiting tickets' waits
    all_waits: dict[str, list[float]] = {}  # per service: everybody's, were all of them here
    for service_code, wait_s, is_remote, wait_all_s in outlook.values():
        if not is_remote:
            waiting_waits.setdefault(service_code, []).append(wait_s)
        all_waits.setdefault(service_code, []).append(wait_all_s)
    for waits in (*waiting_waits.values(), *all_waits.values()):
        waits.sort()
    positions = {}
    for ticket_id, (service_code, wait_s, is_remote, wait_all_s) in outlook.items():
        # Strictly less than its own wait: the ticket never counts itself (as outlook_for).
        if is_remote:
            ahead = bisect.bisect_left(all_waits[service_code], wait_all_s)
            positions[ticket_id] = (True, ahead, wait_all_s)
        else:
            ahead = bisect.bisect_left(waiting_waits[service_code], wait_s)
            positions[ticket_id] = (False, ahead, wait_s)
    return positions


def ticket_outlook(*, ticket: Ticket) -> dict:
    """People ahead and estimated wait for a waiting or remote ticket (status page, printout)."""
    if ticket.status not in QUEUED:
        return {"people_ahead": 0, "eta_s": 0.0}
    return outlook_for(ticket, branch_outlook(branch=ticket.branch))


def remote_by_service(*, branch: Branch) -> dict[int, int]:
    """Remote tickets not checked in yet, per service id (the lobby overview: "on their way").
    One query on the (branch, status, service) index."""
    return dict(
        Ticket.objects.filter(branch=branch, status=TicketStatus.REMOTE)
        .values("service")
        .annotate(n=Count("pk"))
        .values_list("service", "n")
        .order_by()
    )


def remote_tickets_today(*, branch: Branch) -> QuerySet[Ticket]:
    """The branch's remote tickets not checked in yet, oldest first (the lobby's list)."""
    return (
        Ticket.objects.filter(branch=branch, status=TicketStatus.REMOTE)
        .select_related("service")
        .order_by("arrived_at", "pk")
    )


# --- Reads for the REST API (queueing/api.py) -------------------------------------------------


def service_by_code(*, branch: Branch, code: str) -> Service | None:
    """The branch's service with this code (inactive ones too: issuing refuses those itself)."""
    return branch_setup(branch_id=branch.pk).service(code)


def counter_by_number(*, branch: Branch, number: int) -> Counter | None:
    return Counter.objects.filter(branch=branch, number=number).first()


def counters_with_tellers(*, branch: Branch) -> QuerySet[Counter]:
    return counters_for_branch(branch=branch).select_related("teller").order_by("number")


def current_tickets_by_counter(*, branch: Branch) -> dict[int, Ticket]:
    """Each busy counter's current ticket, in one query (the counter list shows them all)."""
    current: dict[int, Ticket] = {}
    for ticket in Ticket.objects.filter(
        branch=branch, counter__isnull=False, status__in=list(ACTIVE_AT_COUNTER)
    ).order_by("called_at"):
        current[ticket.counter_id] = ticket  # the latest call wins, as in counter_current_ticket
    return current


def ticket_list(
    *, branch: Branch, business_date, status: str = "", service_code: str = ""
) -> QuerySet[Ticket]:
    queryset = tickets_for_branch(branch=branch).filter(business_date=business_date)
    if status:
        queryset = queryset.filter(status=status)
    if service_code:
        queryset = queryset.filter(service__code=service_code)
    return queryset.order_by("-issued_at", "-pk")


# --- Reads for the display board and the customer's pages (queueing/views.py) ------------------


def branch_by_display_token(*, token: str) -> Branch | None:
    if not token:
        return None
    return Branch.objects.filter(display_token=token).first()


def branch_by_id(*, branch_id: int) -> Branch | None:
    """The branch a live stream follows (the live service knows only its id)."""
    return Branch.objects.filter(pk=branch_id).first()


def ticket_for_customer(*, ticket_id: int) -> Ticket | None:
    """The one ticket a signed status link names, with what its page shows."""
    return (
        Ticket.objects.select_related("branch", "service", "counter").filter(pk=ticket_id).first()
    )


def ticket_successor(*, ticket: Ticket) -> Ticket | None:
    """The new ticket a transfer issued (the customer's link follows them there)."""
    return Ticket.objects.filter(transferred_from=ticket).first()


def queue_version(*, branch_id: int) -> int:
    """The id of the branch's latest ticket event: it changes whenever the queue does.

    The database truth behind the live screens' version (queueing.broadcast); one lookup on the
    (branch, -id) index, whatever the history (statements.LATEST_EVENT_SQL says how).
    """
    return statements.latest_event_id(branch_id)
