"""Lobby and counter pages (thin: parse, call a service or selector, render).

Counter actions are plain form POSTs that htmx enhances: with htmx the main panel is re-rendered
in place; without it the browser is redirected back to the page (post/redirect/get). A refused
action (a DomainError or an invalid form) re-renders with the message and what was entered.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.access import get_for_branch, staff_required
from accounts.errors import DomainError
from accounts.models import Branch, Role
from crm.personal_data import is_valid_phone, normalise_phone
from crm.selectors import customer_by_phone, customer_history
from queueing import live
from queueing import selectors as queue_selectors
from queueing import services as queue
from queueing.models import Counter
from queueing.states import TicketStatus

from .. import selectors, services
from ..forms import (
    ACTION_DIVERT,
    FinishForm,
    RegisterForm,
    ServiceErrorForm,
    TakeOverForm,
    TransferForm,
)
from ..models import Visit
from ..triage import SpecialNeeds

HISTORY_LENGTH = 5


# --- Lobby ------------------------------------------------------------------------------------


def _lookup_context(raw_phone: str, branch: Branch) -> dict:
    """The customer card for a phone number: nothing while it is still being typed; for a
    customer already holding a ticket here today, that ticket, before anything is issued."""
    phone = normalise_phone(raw_phone)
    complete = is_valid_phone(phone)
    customer = customer_by_phone(phone=phone) if complete else None
    known = selectors.customer_for_registration(phone=phone, branch=branch) if customer else None
    return {
        "lookup_done": complete,
        "customer": customer,
        "visit_count": selectors.visit_count_for_customer(customer=customer) if customer else 0,
        "card_ticket": known[1] if known else None,
        # The last visits here, today's appointments (the card's second line).
        **(selectors.customer_card(customer=customer, branch=branch) if customer else {}),
    }


def _visits_context(request: HttpRequest, confirm: str | None = None) -> dict:
    """Today's visits. `confirm` (a ticket id from the query string) asks "has the customer
    left?" under that row while its ticket still waits; the polls carry it, so the question
    stays until it is answered. `undo_ids`: cancelled tickets that may still be put back."""
    branch = request.branch
    visits = list(selectors.visits_today(branch=branch))
    now = timezone.now()
    waiting = {v.ticket_id for v in visits if v.ticket and v.ticket.status == TicketStatus.WAITING}
    confirm_id = int(confirm) if confirm and confirm.isascii() and confirm.isdigit() else None
    return {
        "visits": visits,
        "confirm_ticket_id": confirm_id if confirm_id in waiting else None,
        "undo_ids": {
            v.ticket_id
            for v in visits
            if v.ticket and queue.ticket_reinstatable(v.ticket, branch=branch, now=now)
        },
        "undo_minutes": int(queue.REINSTATE_WINDOW.total_seconds() // 60),
    }


def _lobby_context(request: HttpRequest, form: RegisterForm, *, asked: dict | None = None) -> dict:
    context = {"form": form, **_visits_context(request, request.GET.get("confirm"))}
    # Customers who joined from their phone: the manager checks them in at the door.
    context["remote_rows"] = selectors.remote_ticket_rows(branch=request.branch)
    context["remote_queue_enabled"] = request.branch.remote_queue_enabled
    if form.is_bound:  # shown again after an error: keep the card of the number entered
        context.update(_lookup_context(form.data.get("phone", ""), request.branch))
    # A question the service asked (a second ticket, the name on file), with its answer fields.
    context.update(asked or {})
    return context


def _record_outcome(request: HttpRequest, form: RegisterForm) -> Visit:
    """An arrival that ends without a ticket (a redirect, an answer, left before triage)."""
    data = form.cleaned_data
    return services.visit_record_outcome(
        branch=request.branch,
        registered_by=request.user,
        route=form.outcome_route,
        phone=data["phone"],
        name=data["name"],
        service=data["service"],
        amount=data["amount"],
        redirect_to=form.redirect_to,
        note=data["note"],
        sms_consent=data["sms_consent"] or None,
        greeting_elapsed_s=data["greeting_elapsed"],
    )


@staff_required(Role.LOBBY_MANAGER)
def lobby(request: HttpRequest) -> HttpResponse:
    form = RegisterForm(request.POST or None, branch=request.branch)
    asked = {}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if form.outcome_route is not None:
                visit = _record_outcome(request, form)
                messages.success(
                    request,
                    _("Recorded: %(route)s.") % {"route": visit.get_route_display()},
                )
                return redirect("reception:lobby")
            visit = services.visit_register(
                branch=request.branch,
                registered_by=request.user,
                phone=data["phone"],
                service=data["service"],
                name=data["name"],
                amount=data["amount"],
                needs=SpecialNeeds(
                    elderly=data["elderly"],
                    disabled=data["disabled"],
                    pregnant=data["pregnant"],
                    vip=data["vip"],
                    appointment_at=data["appointment_at"] if data["appointment"] else None,
                ),
                divert=data["action"] == ACTION_DIVERT,
                # An unticked box means "not asked", not "refused": keep an earlier consent.
                sms_consent=data["sms_consent"] or None,
                note=data["note"],
                update_name=data["update_name"],
                allow_second_ticket=data["second_ticket"],
                greeting_elapsed_s=data["greeting_elapsed"],
            )
        except services.AlreadyWaiting as exc:
            form.add_error(None, exc.message)
            asked = {"open_ticket": exc.ticket}
        except services.NameDiffers as exc:
            form.add_error(None, exc.message)
            asked = {"name_question": True}
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            return redirect("reception:visit_done", pk=visit.pk)
    context = _lobby_context(request, form, asked=asked)
    # Today's visits refresh when the queue changes (live.js), not on a timer.
    context["live"] = live.live_context(request, request.branch.pk)
    return render(request, "reception/lobby.html", context)


def _render_visits(request: HttpRequest, confirm: str | None = None) -> HttpResponse:
    return render(request, "reception/lobby.html#visits", _visits_context(request, confirm))


@require_GET
@staff_required(Role.LOBBY_MANAGER)
def lobby_visits(request: HttpRequest) -> HttpResponse:
    """Today's visits (the lobby page polls it so statuses follow the counters), with the
    "has the customer left?" question for ?confirm=<ticket id>."""
    return _render_visits(request, request.GET.get("confirm"))


@require_POST
@staff_required(Role.LOBBY_MANAGER)
def customer_lookup(request: HttpRequest) -> HttpResponse:
    """The customer card as the number is typed. A POST: a number in a query string would end up
    in access logs, proxies and the browser's history."""
    return render(
        request,
        "reception/lobby.html#customer-card",
        _lookup_context(request.POST.get("phone", ""), request.branch),
    )


@staff_required(Role.LOBBY_MANAGER)
def visit_done(request: HttpRequest, pk: int) -> HttpResponse:
    visit = get_for_branch(
        Visit.objects.select_related("ticket", "service", "customer"), request.branch, pk=pk
    )
    return render(request, "reception/visit_done.html", {"visit": visit})


@require_POST
@staff_required(Role.LOBBY_MANAGER)
def ticket_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        ticket = queue.ticket_cancel(
            ticket_id=pk, by=request.user, branch=request.branch, note="customer left"
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Ticket %(code)s cancelled.") % {"code": ticket.code})
    if request.htmx:
        return _render_visits(request)
    return redirect("reception:lobby")


@require_POST
@staff_required(Role.LOBBY_MANAGER)
def ticket_reinstate(request: HttpRequest, pk: int) -> HttpResponse:
    """Undo "customer left": the service decides whether it is still possible."""
    try:
        ticket = queue.ticket_reinstate(ticket_id=pk, by=request.user, branch=request.branch)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, _("Ticket %(code)s is waiting again, in its place.") % {"code": ticket.code}
        )
    if request.htmx:
        return _render_visits(request)
    return redirect("reception:lobby")


# --- Counters ---------------------------------------------------------------------------------
# Open to tellers and to the branch head (who may take a counter over); whether the user is
# the one seated at the counter is checked by the services, for the API alike.
COUNTER_ROLES = queue.COUNTER_ROLES


@staff_required(*COUNTER_ROLES)
def counters(request: HttpRequest) -> HttpResponse:
    current = queue_selectors.current_tickets_by_counter(branch=request.branch)
    rows = [
        {"counter": counter, "current": current.get(counter.pk)}
        for counter in queue_selectors.counters_with_tellers(branch=request.branch)
    ]
    return render(request, "reception/counters.html", {"rows": rows})


def _counter(request: HttpRequest, pk: int) -> Counter:
    return get_for_branch(
        Counter.objects.select_related("branch", "teller").prefetch_related("skills__service"),
        request.branch,
        pk=pk,
    )


def _history_rows(visit: Visit, counter: Counter) -> list[dict]:
    """The customer's last interactions at this branch (another branch's visits and notes are
    theirs), with the service's name (kept on the interaction, in the reader's language) and
    the outcome's label in place of the stored codes."""
    outcomes = dict(Visit.Outcome.choices)
    return [
        {
            "interaction": item,
            "service": item.service_label,
            "outcome": outcomes.get(item.outcome, ""),
        }
        for item in customer_history(
            customer=visit.customer, branch=counter.branch, limit=HISTORY_LENGTH
        )
    ]


def _counter_context(
    request: HttpRequest,
    counter: Counter,
    *,
    finish_form: FinishForm | None = None,
    transfer_form: TransferForm | None = None,
    take_over_form: TakeOverForm | None = None,
    error_form: ServiceErrorForm | None = None,
    confirm_no_show: bool = False,
) -> dict:
    current = queue_selectors.counter_current_ticket(counter=counter)
    visit = selectors.visit_for_ticket(ticket=current) if current else None
    seated = counter.is_open and counter.teller_id == request.user.pk
    language = translation.get_language() or ""
    points = []
    if current is not None and seated and current.status == TicketStatus.SERVING:
        version = services.control_version_current(service_id=current.service_id)
        points = selectors.control_points_rows(version["points"], language)
    if finish_form is None:
        finish_form = FinishForm(
            points=points, initial={"checked_points": visit.checked_points if visit else []}
        )
    # An error is recorded on the customer at the counter, else on the last one served.
    error_ticket = current
    if error_ticket is None and seated:
        error_ticket = selectors.last_served_ticket(counter=counter, teller_id=request.user.pk)
    if error_form is None and error_ticket is not None:
        error_form = ServiceErrorForm(branch=request.branch, initial={"ticket": error_ticket.pk})
    return {
        "counter": counter,
        "seated": seated,
        # Another teller sits here: this user sees the counter but may only take it over.
        "held_by_other": counter.is_open and counter.teller_id is not None and not seated,
        "take_over_form": take_over_form or TakeOverForm(),
        "current": current,
        "confirm_no_show": confirm_no_show,
        "visit": visit,
        "history": _history_rows(visit, counter) if visit else [],
        # What earlier counters handed on with a transfer: their note and checked points.
        "handovers": selectors.handovers_for_visit(visit=visit) if visit else [],
        "finish_form": finish_form,
        "error_ticket": error_ticket,
        "error_form": error_form,
        "transfer_form": transfer_form
        or TransferForm(branch=request.branch, exclude_counter=counter),
        "waiting": selectors.waiting_for_counter(counter=counter),
        "recalls_left": current is not None and current.recall_count < counter.branch.max_recalls,
        # Pre-filled form (reception/selectors/forms.py): the visit's answers, sensitive masked.
        "form_answers": selectors.form_answers(visit=visit, language=translation.get_language()),
    }


def _counter_page(request: HttpRequest, context: dict) -> HttpResponse:
    # The waiting panel refreshes when the queue changes (live.js), not on a timer.
    context["live"] = live.live_context(request, context["counter"].branch_id)
    return render(request, "reception/counter.html", context)


@staff_required(*COUNTER_ROLES)
def counter(request: HttpRequest, pk: int) -> HttpResponse:
    return _counter_page(request, _counter_context(request, _counter(request, pk)))


@require_GET
@staff_required(*COUNTER_ROLES)
def counter_waiting(request: HttpRequest, pk: int) -> HttpResponse:
    counter = _counter(request, pk)
    return render(
        request,
        "reception/counter.html#waiting",
        {"counter": counter, "waiting": selectors.waiting_for_counter(counter=counter)},
    )


def _run_counter_action(request: HttpRequest, counter: Counter) -> dict:
    """Dispatch one button of the counter screen to its service.

    Returns the bound forms to show again when the action was refused, or the question to
    ask first ({} on success); a DomainError propagates to the caller.
    """
    action = request.POST.get("action", "")
    user, branch = request.user, request.branch
    current = queue_selectors.counter_current_ticket(counter=counter)
    if action == "open":
        queue.counter_open(counter=counter, teller=user)
    elif action == "take_over":
        form = TakeOverForm(request.POST)
        if not form.is_valid():
            return {"take_over_form": form}
        try:
            queue.counter_take_over(counter=counter, by=user, reason=form.cleaned_data["reason"])
        except DomainError as exc:
            form.add_error(None, exc.message)
            return {"take_over_form": form}
        messages.success(request, _("You have taken over %(counter)s.") % {"counter": counter})
    elif action == "close":
        queue.counter_close(counter=counter, teller=user)
    elif action in ("pause", "resume"):
        queue.counter_set_paused(counter=counter, teller=user, paused=action == "pause")
    elif action == "call":
        if queue.ticket_call_next(counter=counter, teller=user) is None:
            messages.info(request, _("Nobody is waiting for your services."))
    elif action == "record_error":
        return _record_error(request, counter)
    elif current is None:
        messages.error(request, _("There is no customer at this counter."))
    elif action == "recall":
        queue.ticket_recall(ticket_id=current.pk, by=user, branch=branch)
    elif action == "ask_no_show":
        # Nothing changes yet: a no-show cannot be taken back, so the panel asks first.
        return {"confirm_no_show": True}
    elif action == "no_show":
        queue.ticket_no_show(ticket_id=current.pk, by=user, branch=branch)
    elif action == "start":
        queue.ticket_start(ticket_id=current.pk, by=user, branch=branch)
    elif action == "transfer":
        form = TransferForm(request.POST, branch=branch, exclude_counter=counter)
        if not form.is_valid():
            return {"transfer_form": form}
        try:
            new = services.visit_transfer(
                ticket_id=current.pk,
                by=user,
                branch=branch,
                to_service=form.cleaned_data["to_service"],
                to_counter=form.cleaned_data["to_counter"],
                note=form.cleaned_data["note"],
                **form.handover(),
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
            return {"transfer_form": form}
        messages.success(request, _("Transferred as %(code)s.") % {"code": new.code})
    elif action == "finish":
        return _finish(request, current)
    elif action == "finish_next":
        # The "Next" key: the same form and rules, and the next customer called with it.
        return _finish(request, current, call_next=True)
    else:
        messages.error(request, _("Unknown action."))
    return {}


# Refusals of the finish shown at the field they concern (the points: the checklist).
FINISH_ERROR_FIELDS = {
    "identity": "checked_points",
    "checked_points": "checked_points",
    "incomplete_reason": "incomplete_reason",
    "outcome": "outcome",
}


def _finish(request: HttpRequest, current, *, call_next: bool = False) -> dict:
    """Finish the customer being served; with `call_next`, call the next one in the same
    transaction (a refusal of either changes nothing and shows the form again)."""
    version = services.control_version_current(service_id=current.service_id)
    points = selectors.control_points_rows(version["points"], translation.get_language() or "")
    form = FinishForm(request.POST, points=points)
    if not form.is_valid():
        return {"finish_form": form}
    try:
        if call_next:
            result = services.visit_complete_service_and_call_next(
                ticket=current, teller=request.user, branch=request.branch, **form.finish_kwargs()
            )
        else:
            services.visit_complete_service(
                ticket=current, teller=request.user, branch=request.branch, **form.finish_kwargs()
            )
    except DomainError as exc:
        form.add_error(FINISH_ERROR_FIELDS.get(exc.code), exc.message)
        return {"finish_form": form}
    if call_next and result.called is None:
        messages.info(
            request,
            _("%(code)s finished. Nobody is waiting for your services.")
            % {"code": result.finished.code},
        )
    return {}


def _record_error(request: HttpRequest, counter: Counter) -> dict:
    form = ServiceErrorForm(request.POST, branch=request.branch)
    if not form.is_valid():
        return {"error_form": form, **_kept_finish_form(request, counter)}
    data = form.cleaned_data
    try:
        error = services.service_error_record(
            ticket=data["ticket"],
            by=request.user,
            branch=request.branch,
            category=data["category"],
            severity=data["severity"],
            note=data["note"],
        )
    except DomainError as exc:
        form.add_error(exc.code if exc.code in ("category", "severity") else None, exc.message)
        return {"error_form": form, **_kept_finish_form(request, counter)}
    messages.success(request, _("Error recorded on %(code)s.") % {"code": error.ticket.code})
    return _kept_finish_form(request, counter)


def _kept_finish_form(request: HttpRequest, counter: Counter) -> dict:
    """What the teller had already entered in the finish form (htmx sends it along with the
    error), shown again as it was; nothing to keep without htmx or a customer being served."""
    current = queue_selectors.counter_current_ticket(counter=counter)
    if not request.htmx or current is None or current.status != TicketStatus.SERVING:
        return {}
    version = services.control_version_current(service_id=current.service_id)
    points = selectors.control_points_rows(version["points"], translation.get_language() or "")
    post = request.POST
    initial = {
        "checked_points": post.getlist("checked_points"),
        "outcome": post.get("outcome") or Visit.Outcome.COMPLETED,
        "incomplete_reason": post.get("incomplete_reason", ""),
        "follow_up_on": post.get("follow_up_on", ""),
        "error_note": post.get("error_note", ""),
    }
    return {"finish_form": FinishForm(points=points, initial=initial)}


@require_POST
@staff_required(*COUNTER_ROLES)
def counter_action(request: HttpRequest, pk: int) -> HttpResponse:
    counter = _counter(request, pk)
    try:
        refused = _run_counter_action(request, counter)
    except DomainError as exc:
        messages.error(request, exc.message)
        refused = {}
    if not refused and not request.htmx:
        return redirect("reception:counter", pk=pk)
    context = _counter_context(request, _counter(request, pk), **refused)
    if request.htmx:
        response = render(request, "reception/counter.html#panel", context)
        # The waiting panel refreshes now rather than on its next 3-second poll.
        response["HX-Trigger"] = "queue-changed"
        return response
    return _counter_page(request, context)
