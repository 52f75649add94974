"""Reception use cases: register a walk-in, and record what the teller did."""

import json
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from accounts import outbox
from accounts.errors import DomainError
from accounts.models import Branch
from accounts.sql import Rider, for_update
from accounts.timeutil import branch_today
from crm import services as crm_services
from crm.models import Customer, Interaction
from crm.personal_data import is_valid_phone, normalise_phone
from crm.services import customer_find_or_create, interaction_record
from queueing.models import Counter, Service, Ticket
from queueing.selectors import branch_setup
from queueing.services import (
    call_next_in_transaction,
    counter_lock_of_ticket,
    ticket_finish_at_once,
    ticket_finish_in_transaction,
    ticket_issue,
    ticket_transfer,
)
from queueing.statements import change_is_one_statement

from .. import controls
from ..models import Visit, VisitHandover
from ..selectors import control_versions_published, customer_for_registration
from ..triage import (
    APPOINTMENT_WINDOW_MESSAGE,
    SpecialNeeds,
    amount_band,
    appointment_in_window,
    greeting_started,
    may_divert,
    priority_for,
)
from .handling import control_version_current

VISIT_COMPLETED = "reception.visit_completed"  # payload: visit_id, ticket_id, branch_id, outcome


class ReceptionError(DomainError):
    pass


def _service_names(service: Service) -> tuple[str, str, str]:
    """What crm keeps of a service with an interaction: its names (crm knows no services)."""
    return service.name_zh, service.name_zh_hant, service.name_en


class AlreadyWaiting(ReceptionError):
    """The customer already holds an open ticket today at this branch: the caller shows it
    (to print it again) and may confirm a second one."""

    code = "already_waiting"

    def __init__(self, ticket: Ticket) -> None:
        super().__init__(
            _("This customer already has ticket %(code)s today (%(status)s).")
            % {"code": ticket.code, "status": ticket.get_status_display()}
        )
        self.ticket = ticket


class NameDiffers(ReceptionError):
    """A known number typed with another name: the caller asks whether to update the stored
    name or keep it, instead of the customer being renamed silently. The message leaves the
    stored name out: the lobby's customer card shows it, under the card's own rule."""

    code = "name_differs"

    def __init__(self, *, typed: str) -> None:
        super().__init__(
            _(
                "This number is registered under another name. Keep the stored name, or "
                "update it to %(typed)s?"
            )
            % {"typed": typed}
        )
        self.typed = typed


def _greeting_times(now: datetime, elapsed_s: float | None) -> dict:
    """A lobby arrival: first seen and greeted at the manager's first tap, triaged now."""
    greeted = greeting_started(now, elapsed_s)
    return {
        "channel": Visit.Channel.LOBBY,
        "arrived_at": greeted,
        "greeted_at": greeted,
        "triaged_at": now,
    }


@transaction.atomic
def visit_register(
    *,
    branch: Branch,
    registered_by: AbstractBaseUser,
    phone: str,
    service: Service,
    name: str = "",
    amount: Decimal | None = None,
    needs: SpecialNeeds | None = None,
    divert: bool = False,
    sms_consent: bool | None = None,
    consent_source: str = "lobby",
    note: str = "",
    update_name: bool | None = None,
    allow_second_ticket: bool = False,
    greeting_elapsed_s: float | None = None,
) -> Visit:
    """Greet a customer: find or create them, then issue a ticket or send them to the machines.

    `greeting_elapsed_s`: seconds since the manager's first tap for this customer, measured by
    the tablet (a duration, not its clock's time): arrival and greeting are recorded that long
    ago (at most 30 minutes), triage now.

    Two things are asked, never assumed. A known number typed with another name raises
    NameDiffers unless `update_name` says what to do (True: rename, False: keep the stored
    name). A customer who already holds a waiting, called or served ticket today at this
    branch gets no second one (AlreadyWaiting, with that ticket) unless
    `allow_second_ticket`; a diversion to the machines issues no ticket, so it is not asked.
    """
    needs = needs or SpecialNeeds()
    if service.branch_id != branch.pk:
        raise ReceptionError(_("That service belongs to another branch."))
    now = timezone.now()
    # Forms and the API check this too, for a field error; this guards every other caller.
    if needs.appointment_at is not None and not appointment_in_window(needs.appointment_at, now):
        raise ReceptionError(APPOINTMENT_WINDOW_MESSAGE, code="appointment_at")
    name = name.strip()
    normalised = normalise_phone(phone)
    # An invalid number is refused by customer_find_or_create, with its own message.
    known = (
        customer_for_registration(phone=normalised, branch=branch)
        if is_valid_phone(normalised)
        else None
    )
    if known is not None:
        stored_name, open_ticket = known
        if open_ticket is not None and not divert and not allow_second_ticket:
            raise AlreadyWaiting(open_ticket)
        if name and stored_name and name != stored_name:
            if update_name is None:
                raise NameDiffers(typed=name)
            if not update_name:
                name = ""  # crm keeps the stored name when given none
    customer, _created = customer_find_or_create(
        phone=phone,
        name=name,
        is_vip=True if needs.vip else None,
        sms_consent=sms_consent,
        consent_source=consent_source,  # crm.models.ConsentSource: "lobby" or "api"
        branch=branch,  # the branch knows the customer from now on (CRM look-ups)
    )
    vip = needs.vip or customer.is_vip
    if divert and not may_divert(
        divertible=service.divertible, amount=amount, threshold=branch.self_service_threshold
    ):
        raise ReceptionError(
            _("Only cash jobs up to ¥%(limit)s can go to the self-service machines.")
            % {"limit": f"{branch.self_service_threshold:,.0f}"},
            code="divert",
        )
    visit = Visit(
        branch=branch,
        customer=customer,
        service=service,
        amount=amount,
        is_elderly=needs.elderly,
        is_disabled=needs.disabled,
        is_pregnant=needs.pregnant,
        is_vip=vip,
        appointment_at=needs.appointment_at,
        note=note,
        registered_by=registered_by,
        registered_at=now,
        route=Visit.Route.SELF_SERVICE if divert else Visit.Route.QUEUE,
        amount_band=amount_band(amount) if divert else "",
        **_greeting_times(now, greeting_elapsed_s),
    )
    if divert:
        visit.save()
        interaction_record(
            customer=customer,
            branch=branch,
            kind=Interaction.Kind.SELF_SERVICE,
            occurred_at=now,
            service_code=service.code,
            service_names=_service_names(service),
            staff=registered_by,
            source=f"visit:{visit.pk}",
        )
        return visit
    priority = priority_for(
        SpecialNeeds(
            elderly=needs.elderly,
            disabled=needs.disabled,
            pregnant=needs.pregnant,
            vip=vip,
            appointment_at=needs.appointment_at,
        ),
        now,
    )
    visit.ticket = ticket_issue(
        branch=branch, service=service, priority=priority, issued_by=registered_by
    )
    visit.save()
    return visit


# The ways a visit at the door ends without a ticket (a ticket or the machines: visit_register).
OUTCOME_ROUTES = (
    Visit.Route.DIGITAL,
    Visit.Route.OTHER_BRANCH,
    Visit.Route.ANSWERED,
    Visit.Route.APPOINTMENT_BOOKED,
    Visit.Route.LEFT,
)
# Where a redirect to digital banking sends the customer (Visit.redirect_to holds the code).
DIGITAL_CHANNELS = {"mobile": _("Mobile banking"), "online": _("Online banking")}


@transaction.atomic
def visit_record_outcome(
    *,
    branch: Branch,
    registered_by: AbstractBaseUser,
    route: str,
    phone: str = "",
    name: str = "",
    service: Service | None = None,
    amount: Decimal | None = None,
    redirect_to: str = "",
    note: str = "",
    sms_consent: bool | None = None,
    greeting_elapsed_s: float | None = None,
    consent_source: str = "lobby",
) -> Visit:
    """Record an arrival that ends without a ticket: redirected to mobile or online banking
    (`redirect_to` "mobile" or "online") or to another branch (`redirect_to` its name),
    answered on the spot, an appointment booked, or the customer left before triage.

    No number is needed (someone who left gave none); with one, the customer is found or
    created and the branch knows them, and a redirect or an answer goes into their CRM history
    (an appointment's booking records its own). Arrival, greeting and triage times as for
    visit_register."""
    if route not in OUTCOME_ROUTES:
        raise ReceptionError(_("Choose what happened with the customer."), code="route")
    if service is not None and service.branch_id != branch.pk:
        raise ReceptionError(_("That service belongs to another branch."), code="service")
    redirect_to = redirect_to.strip()
    if route == Visit.Route.DIGITAL and redirect_to not in DIGITAL_CHANNELS:
        raise ReceptionError(_("Choose mobile or online banking."), code="redirect_to")
    if route == Visit.Route.OTHER_BRANCH and not redirect_to:
        raise ReceptionError(_("Enter the branch the customer was sent to."), code="redirect_to")
    if route not in (Visit.Route.DIGITAL, Visit.Route.OTHER_BRANCH):
        redirect_to = ""
    now = timezone.now()
    customer = None
    if phone.strip():
        customer, _created = customer_find_or_create(
            phone=phone,
            name=name.strip(),
            sms_consent=sms_consent,
            consent_source=consent_source,
            branch=branch,
        )
    visit = Visit.objects.create(
        branch=branch,
        customer=customer,
        service=service,
        amount=amount,
        note=note,
        route=route,
        redirect_to=redirect_to[:100],
        registered_by=registered_by,
        registered_at=now,
        **_greeting_times(now, greeting_elapsed_s),
    )
    if customer is not None and route in (
        Visit.Route.DIGITAL,
        Visit.Route.OTHER_BRANCH,
        Visit.Route.ANSWERED,
    ):
        summary = str(DIGITAL_CHANNELS.get(redirect_to, redirect_to))
        interaction_record(
            customer=customer,
            branch=branch,
            kind=Interaction.Kind.LOBBY,
            occurred_at=now,
            service_code=service.code if service else "",
            service_names=_service_names(service) if service else ("", "", ""),
            summary=(f"{summary} {note}" if summary else note).strip(),
            outcome=route,
            staff=registered_by,
            source=f"visit:{visit.pk}",
        )
    return visit


def _checklist_note(*, outcome: str, ticked: list[str], reason: str, error_note: str) -> str:
    """The checklist as the finish event's note: the only record of it for a ticket issued
    without a visit, and the audit trail's copy for one with a visit."""
    flags = {
        "identity": controls.IDENTITY in ticked,
        "documents": controls.DOCUMENTS in ticked,
        "funds": controls.FUNDS in ticked,
    }
    note = " ".join([outcome, *(f"{name}={'yes' if on else 'no'}" for name, on in flags.items())])
    others = [key for key in ticked if key not in controls.LEGACY_KEYS]
    if others:
        note += " +" + ",".join(others)
    if reason:
        note += f" reason={reason}"
    return f"{note} {error_note}".strip()[:200]


def _lock_visit_of(ticket_id: int) -> Visit | None:
    """The visit behind a ticket, row-locked; None for a ticket issued without one. SQL, not a
    QuerySet: every finish runs this, and building the query cost more than running it
    (queueing.statements says more)."""
    sql = f"SELECT * FROM {Visit._meta.db_table} WHERE ticket_id = %s{for_update()}"  # noqa: S608
    return next(iter(Visit.objects.raw(sql, [ticket_id])), None)


class RecordedOutcome(NamedTuple):
    """The visit a finish recorded its outcome on."""

    visit_id: int
    branch_id: int
    customer_id: int | None


_outcome_statements: dict[tuple[str, ...], str] = {}


def _visit_assignments(values: dict[str, object]) -> tuple[str, list]:
    """`SET`'s "column = %s, …" for the visit's fields in `values` (by field name; relations as
    ids), and their parameters, each prepared by its field as save() would."""
    fields = [Visit._meta.get_field(name) for name in values]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    return assignments, [field.get_db_prep_save(values[field.name], connection) for field in fields]


def _record_outcome(ticket_id: int, values: dict[str, object]) -> RecordedOutcome | None:
    """Write the finish's outcome (`values`, by field name; relations as ids) onto the
    ticket's visit in one UPDATE, which also row-locks it, after the ticket: the order
    visit_transfer takes them in. None for a ticket issued without a visit. One statement
    where a locking SELECT, a RawQuerySet and a model save were three (and two round trips);
    the finish's transaction path runs it (_complete_at_once writes the same in its statement)."""
    assignments, params = _visit_assignments(values)
    names = tuple(values)
    sql = _outcome_statements.get(names)
    if sql is None:
        quote = connection.ops.quote_name
        sql = _outcome_statements[names] = (
            f"UPDATE {quote(Visit._meta.db_table)} SET {assignments}"  # noqa: S608
            " WHERE ticket_id = %s RETURNING id, branch_id, customer_id"
        )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, ticket_id])
        row = cursor.fetchone()
    return None if row is None else RecordedOutcome(*row)


def _check_outcome(outcome: str, incomplete_reason: str) -> str:
    if outcome not in Visit.Outcome.values:
        raise ReceptionError(_("Choose an outcome."), code="outcome")
    if outcome != Visit.Outcome.INCOMPLETE:
        return ""
    if incomplete_reason not in Visit.IncompleteReason.values:
        raise ReceptionError(
            _("Choose why the service could not be completed."), code="incomplete_reason"
        )
    return incomplete_reason


def _check_points(points: list[dict], ticked: list[str], outcome: str, language: str) -> None:
    """Unknown keys are refused; "completed" needs every required point ticked."""
    unknown = controls.unknown_keys(points, ticked)
    if unknown:
        raise ReceptionError(
            _("These control points are not this service's: %(keys)s.")
            % {"keys": ", ".join(unknown)},
            code="checked_points",
        )
    if outcome != Visit.Outcome.COMPLETED:
        return
    missing = controls.missing_required(points, ticked)
    if not missing:
        return
    keys = [point["key"] for point in missing]
    if keys == [controls.IDENTITY]:
        raise ReceptionError(
            _("Verify the customer's identity before completing the service."), code="identity"
        )
    raise ReceptionError(
        _("Tick every required control point before completing the service: %(points)s.")
        % {"points": ", ".join(controls.point_label(point, language) for point in missing)},
        # The old code while the identity check is among them: clients test for it.
        code="identity" if controls.IDENTITY in keys else "checked_points",
    )


def _follow_up(
    visit: RecordedOutcome | None, ticket: Ticket, teller: AbstractBaseUser, note: str, due_on
) -> None:
    """The outcome "follow-up needed": a care reminder for the customer, assigned to the
    teller, once per visit (crm keeps it unique by its source)."""
    if visit is None or visit.customer_id is None:
        raise ReceptionError(
            _("A follow-up needs a customer: this ticket has no customer record."),
            code="outcome",
        )
    service = ticket.service
    branch = Branch.objects.get(pk=visit.branch_id)
    title = _("Follow up: %(service)s") % {"service": service.display_name}
    if note:
        title = f"{title} · {note}"
    crm_services.reminder_create(
        customer=Customer.objects.get(pk=visit.customer_id),
        branch=branch,
        kind="follow_up",
        title=str(title),
        due_on=due_on or branch_today(branch) + timedelta(days=1),
        assignee=teller,
        created_by=teller,
        source=f"visit:{visit.visit_id}",
    )


def visit_complete_service(
    *,
    ticket: Ticket | int,
    teller: AbstractBaseUser,
    branch: Branch | None = None,
    outcome: str,
    identity_verified: bool = False,
    documents_signed: bool = False,
    funds_handed_over: bool = False,
    checked_points: Iterable[str] = (),
    incomplete_reason: str = "",
    error_note: str = "",
    follow_up_on: date | None = None,
) -> Ticket:
    """The teller finishes serving: check the control points, record the outcome, end the
    ticket.

    The one way staff finish a service: the counter screen, POST /api/queue/tickets/<id>/finish/
    and POST /api/reception/visits/<id>/complete/ all come here. The ticked points are
    `checked_points` (keys of the service's current version, reception.controls) plus the
    legacy booleans, which are the default points' keys. "completed" needs every required point
    ticked; "incomplete" needs a reason (Visit.IncompleteReason); "follow_up" creates a care
    reminder for the customer (crm) in this transaction, due `follow_up_on` (default: the
    branch's next day). A ticket issued without a visit (straight from the API) obeys the same
    rules; its checklist is kept in the finish event's note, as there is no visit to hold it.
    Only the teller seated at the ticket's counter may finish (queueing.services.ticket_finish
    checks it).

    `ticket` is the ticket or its id; with an id, `branch` is the user's branch (a ticket of
    another branch is then "not found"). Returns the finished ticket.

    One statement on PostgreSQL (_complete_at_once): the ticket, its history row, its visit's
    outcome and both outbox events, with no BEGIN and COMMIT around them. Otherwise, or where
    that statement does not match, one transaction (_complete_service), which says why.
    """
    checklist = _checklist(
        outcome=outcome,
        identity_verified=identity_verified,
        documents_signed=documents_signed,
        funds_handed_over=funds_handed_over,
        checked_points=checked_points,
        incomplete_reason=incomplete_reason,
        error_note=error_note,
        follow_up_on=follow_up_on,
    )
    finished = _complete_at_once(ticket, teller, branch, checklist)
    if finished is not None:
        return finished
    with transaction.atomic():
        return _complete_service(ticket, teller, branch, checklist)


class _Checklist(NamedTuple):
    """What a finish records, checked as far as it can be without knowing the service."""

    outcome: str
    ticked: list[str]  # the ticked keys, legacy booleans included (controls.ticked_keys)
    reason: str  # why not completed ("" unless the outcome is "incomplete")
    error_note: str
    follow_up_on: date | None

    @property
    def note(self) -> str:
        return _checklist_note(
            outcome=self.outcome, ticked=self.ticked, reason=self.reason, error_note=self.error_note
        )

    def visit_values(self, teller: AbstractBaseUser) -> dict[str, object]:
        """The visit's outcome fields that do not depend on the service's points."""
        return {
            "outcome": self.outcome,
            "identity_verified": controls.IDENTITY in self.ticked,
            "documents_signed": controls.DOCUMENTS in self.ticked,
            "funds_handed_over": controls.FUNDS in self.ticked,
            "incomplete_reason": self.reason,
            "error_note": self.error_note,
            "served_by": teller.pk,
        }


def _ticked(
    checked_points: Iterable[str],
    identity_verified: bool,
    documents_signed: bool,
    funds_handed_over: bool,
) -> list[str]:
    return controls.ticked_keys(
        checked_points,
        {
            controls.IDENTITY: identity_verified,
            controls.DOCUMENTS: documents_signed,
            controls.FUNDS: funds_handed_over,
        },
    )


def _checklist(
    *,
    outcome: str,
    identity_verified: bool,
    documents_signed: bool,
    funds_handed_over: bool,
    checked_points: Iterable[str],
    incomplete_reason: str,
    error_note: str,
    follow_up_on: date | None,
) -> _Checklist:
    """The finish's input as a _Checklist; raises for an outcome wrong whatever the service."""
    return _Checklist(
        outcome=outcome,
        ticked=_ticked(checked_points, identity_verified, documents_signed, funds_handed_over),
        reason=_check_outcome(outcome, incomplete_reason),
        error_note=error_note,
        follow_up_on=follow_up_on,
    )


def _ticket_and_branch(ticket: Ticket | int, branch: Branch | None) -> tuple[int, Branch | None]:
    if isinstance(ticket, Ticket):
        return ticket.pk, branch or ticket.branch
    return ticket, branch


def _complete_at_once(
    ticket: Ticket | int, teller: AbstractBaseUser, branch: Branch | None, checklist: _Checklist
) -> Ticket | None:
    """_complete_service as one statement (queueing.services.ticket_finish_at_once), in the
    caller's transaction if there is one, else as its own. The control points are checked
    before the statement, against the current version of every service of the branch (cached:
    one round trip), instead of after it against the ticket's own service: the statement
    finishes the ticket only if its service is one whose points this finish passes, and writes
    the visit's outcome with that service's version. None, and nothing written, where it cannot
    be so (SQLite; a follow-up, which writes a care reminder; no branch known) or where the
    statement did not match (not seated, not serving, a service whose points refuse this finish
    or were never published): the caller then takes _complete_service's path, which gives the
    reason."""
    ticket_id, branch = _ticket_and_branch(ticket, branch)
    if (
        checklist.outcome == Visit.Outcome.FOLLOW_UP
        or branch is None
        or not change_is_one_statement()
    ):
        return None
    setup = branch_setup(branch_id=branch.pk)
    completed = checklist.outcome == Visit.Outcome.COMPLETED
    passing = {
        service_id: version
        for service_id, version in control_versions_published(service_ids=setup.services).items()
        if not controls.refused(version["points"], checklist.ticked, completed=completed)
    }
    if not passing:
        return None
    visit = _outcome_rider(
        checklist.visit_values(teller),
        {
            str(service_id): {
                "id": version["id"],
                "points": controls.kept_keys(version["points"], checklist.ticked),
            }
            for service_id, version in passing.items()
        },
    )
    event = outbox.publish_sql(
        VISIT_COMPLETED,
        source="visit_outcome",
        payload_columns={"visit_id": "id", "ticket_id": "ticket_id", "branch_id": "branch_id"},
        payload={"outcome": checklist.outcome},
        created_at=timezone.now(),
        name="visit_outbox",
    )
    finished = ticket_finish_at_once(
        ticket_id=ticket_id,
        by=teller,
        branch=branch,
        service_ids=list(passing),
        riders=[visit] if event is None else [visit, event],
        note=checklist.note,
    )
    if finished is None:
        return None
    event_id = None if event is None else getattr(finished, event.event_id_name)
    if event_id is not None:  # None: a ticket issued without a visit
        outbox.published(event_id, event)
    return finished


_outcome_ctes: dict[tuple[str, ...], str] = {}


def _outcome_rider(values: dict[str, object], by_service: dict[str, dict]) -> Rider:
    """The finish's outcome onto the ticket's visit (none: nothing), as a CTE `visit_outcome`
    of the finish's own statement, reading the finished ticket as `changed`: `values` by field
    name (relations as ids), as _record_outcome writes them; the control version
    and the kept keys are those of the ticket's service in `by_service` (service id as text ->
    {"id", "points"}). Returns the visit's id, branch_id, ticket_id and customer_id."""
    assignments, params = _visit_assignments(values)
    names = tuple(values)
    ctes = _outcome_ctes.get(names)
    if ctes is None:
        quote = connection.ops.quote_name
        table = quote(Visit._meta.db_table)
        version = quote(Visit._meta.get_field("control_version").column)
        points = quote(Visit._meta.get_field("checked_points").column)
        ticket = quote(Visit._meta.get_field("ticket").column)
        # Names from the model; every value is a parameter.
        ctes = _outcome_ctes[names] = (
            f"visit_outcome AS (UPDATE {table} SET {assignments},"  # noqa: S608
            f" {version} = (%s::jsonb -> changed.service_id::text ->> 'id')::bigint,"
            f" {points} = %s::jsonb -> changed.service_id::text -> 'points'"
            f" FROM changed WHERE {table}.{ticket} = changed.id"
            f" RETURNING {table}.id, {table}.branch_id, {table}.{ticket}, {table}.customer_id)"
        )
    by_service_json = json.dumps(by_service)
    return Rider(ctes=ctes, params=[*params, by_service_json, by_service_json], returns={})


class FinishedAndCalled(NamedTuple):
    """What "finish and call next" did: the ticket finished, and the one called (None when
    nobody this counter serves was waiting)."""

    finished: Ticket
    called: Ticket | None
    # The branch's queue version as of the call's look at the waiting tickets (nobody called:
    # an idle counter's long poll starts from it).
    queue_version: int = 0


@transaction.atomic
def visit_complete_service_and_call_next(
    *,
    ticket: Ticket | int,
    teller: AbstractBaseUser,
    branch: Branch | None = None,
    outcome: str,
    identity_verified: bool = False,
    documents_signed: bool = False,
    funds_handed_over: bool = False,
    checked_points: Iterable[str] = (),
    incomplete_reason: str = "",
    error_note: str = "",
    follow_up_on: date | None = None,
) -> FinishedAndCalled:
    """The teller's "Next" key: finish the customer being served, then call the next one for
    the same counter, in one transaction.

    The finish is visit_complete_service's, unchanged (outcome, control points, the error
    note, the follow-up reminder, the visit, the outbox events); the call is
    queueing.services.ticket_call_next's (routing, counter lock, claim, event, the live
    screens' nudge after commit). Both check that `teller` is seated at the ticket's counter,
    in `branch`. Any refusal, of the finish or of the call (the counter was paused, the teller
    signed out meanwhile), rolls the whole back: nothing is finished and nobody called. Nobody
    waiting is not a refusal: the ticket is finished and `called` is None.

    `ticket` is the ticket or its id; with an id, `branch` is the user's branch (a ticket of
    another branch is then "not found").

    Locks: the ticket's counter first, then the ticket (the finish's conditional UPDATE), its
    visit, and the counter again for the call (already held): the order every action at a
    counter takes (a transfer or recall of this ticket pressed in the same instant waits
    instead of deadlocking with the finish). One statement more than the finish and the call
    alone; a call waits on no ticket lock (SKIP LOCKED).
    """
    checklist = _checklist(
        outcome=outcome,
        identity_verified=identity_verified,
        documents_signed=documents_signed,
        funds_handed_over=funds_handed_over,
        checked_points=checked_points,
        incomplete_reason=incomplete_reason,
        error_note=error_note,
        follow_up_on=follow_up_on,
    )
    ticket_id, branch = _ticket_and_branch(ticket, branch)
    counter_lock_of_ticket(ticket_id=ticket_id, branch=branch)
    finished = _complete_at_once(ticket_id, teller, branch, checklist) or _complete_service(
        ticket_id, teller, branch, checklist
    )
    called, version = call_next_in_transaction(
        counter=finished.counter_id, teller=teller, branch=branch
    )
    return FinishedAndCalled(finished=finished, called=called, queue_version=version)


def _complete_service(
    ticket: Ticket | int, teller: AbstractBaseUser, branch: Branch | None, checklist: _Checklist
) -> Ticket:
    """visit_complete_service's work, inside the caller's transaction: the finish, then the
    points checked against the ticket's service and the outcome onto its visit."""
    # The ticket first, then its visit: the order visit_transfer takes them in.
    ticket_id, branch = _ticket_and_branch(ticket, branch)
    finished = ticket_finish_in_transaction(
        ticket_id=ticket_id, by=teller, branch=branch, note=checklist.note
    )
    # Checked after the finish, which found the ticket (and its service) in the user's branch:
    # a refusal rolls the finish back.
    version = control_version_current(service_id=finished.service_id)
    _check_points(
        version["points"], checklist.ticked, checklist.outcome, translation.get_language() or ""
    )
    recorded = _record_outcome(
        ticket_id,
        {
            **checklist.visit_values(teller),
            "checked_points": controls.kept_keys(version["points"], checklist.ticked),
            "control_version": version["id"],
        },
    )
    if checklist.outcome == Visit.Outcome.FOLLOW_UP:
        _follow_up(recorded, finished, teller, checklist.error_note, checklist.follow_up_on)
    if recorded is None:
        return finished
    outbox.publish(
        VISIT_COMPLETED,
        {
            "visit_id": recorded.visit_id,
            "ticket_id": ticket_id,
            "branch_id": recorded.branch_id,
            "outcome": checklist.outcome,
        },
        branch_id=recorded.branch_id,
    )
    return finished


@transaction.atomic
def visit_transfer(
    *,
    ticket_id: int,
    by: AbstractBaseUser,
    branch: Branch,
    to_service: Service | None = None,
    to_counter: Counter | None = None,
    note: str = "",
    identity_verified: bool = False,
    documents_signed: bool = False,
    funds_handed_over: bool = False,
    checked_points: Iterable[str] = (),
) -> Ticket:
    """Send the customer on to another service or counter: the visit moves to the new ticket
    in the transfer's own transaction, so the two can never disagree. A handover record keeps
    the teller's note and the control points already checked, for the next counter; the
    visit keeps the ticked keys too (the next counter's finish form starts with them)."""
    new_ticket = ticket_transfer(
        ticket_id=ticket_id,
        by=by,
        to_service=to_service,
        to_counter=to_counter,
        branch=branch,
        note=note,
    )
    # The ticket first, then its visit: the order visit_complete_service takes them in.
    visit = _lock_visit_of(ticket_id)
    if visit is None:  # a ticket issued without a visit: its transfer event keeps the note
        return new_ticket
    ticked = _ticked(checked_points, identity_verified, documents_signed, funds_handed_over)
    visit.ticket = new_ticket
    visit.checked_points = controls.ticked_keys([*visit.checked_points, *ticked])
    visit.save(update_fields=["ticket", "checked_points"])
    identity_verified = controls.IDENTITY in ticked
    documents_signed = controls.DOCUMENTS in ticked
    funds_handed_over = controls.FUNDS in ticked
    VisitHandover.objects.create(
        visit=visit,
        from_ticket_id=ticket_id,
        to_ticket=new_ticket,
        by=by,
        at=timezone.now(),
        note=note,
        identity_verified=identity_verified,
        documents_signed=documents_signed,
        funds_handed_over=funds_handed_over,
    )
    return new_ticket


@transaction.atomic
def visit_record_ticket_end(*, ticket_id: int) -> Interaction | None:
    """After a ticket ends (done or no-show), write the visit into the customer's CRM history."""
    visit = (
        Visit.objects.select_related("ticket", "customer", "branch", "service")
        .filter(ticket_id=ticket_id)
        .first()
    )
    if visit is None or visit.ticket is None:
        return None
    ticket = visit.ticket
    served = ticket.service if ticket.service_id else visit.service
    if ticket.status == "done":
        kind, outcome = Interaction.Kind.BRANCH_SERVICE, visit.outcome or Visit.Outcome.COMPLETED
    elif ticket.status == "no_show":
        kind, outcome = Interaction.Kind.NO_SHOW, ""
    else:
        return None
    return interaction_record(
        customer=visit.customer,
        branch=visit.branch,
        kind=kind,
        occurred_at=ticket.finished_at or timezone.now(),
        service_code=served.code,
        service_names=_service_names(served),
        summary=visit.error_note,
        outcome=outcome,
        staff=ticket.teller,
        source=f"ticket:{ticket.pk}",
    )
