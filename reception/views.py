"""Lobby and counter pages (thin: parse, call a service or selector, render)."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.access import get_for_branch, staff_required
from accounts.errors import DomainError
from accounts.models import Role
from crm.selectors import customer_by_phone, customer_history
from queueing import selectors as queue_selectors
from queueing import services as queue
from queueing.models import Counter

from . import selectors, services
from .forms import FinishForm, RegisterForm, TransferForm
from .models import Visit
from .triage import SpecialNeeds


@staff_required(Role.LOBBY_MANAGER)
def lobby(request: HttpRequest) -> HttpResponse:
    form = RegisterForm(request.POST or None, branch=request.branch)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
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
                divert=request.POST.get("action") == "divert",
                sms_consent=data["sms_consent"] or None,
                note=data["note"],
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            return redirect("reception:visit_done", pk=visit.pk)
    return render(
        request,
        "reception/lobby.html",
        {"form": form, "visits": selectors.visits_today(branch=request.branch)},
    )


@require_GET
@staff_required(Role.LOBBY_MANAGER)
def customer_lookup(request: HttpRequest) -> HttpResponse:
    customer = customer_by_phone(phone=request.GET.get("phone", ""))
    visits = customer.visits.count() if customer else 0
    return render(
        request, "reception/lobby.html#customer-card", {"customer": customer, "visit_count": visits}
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
    return redirect("reception:lobby")


@staff_required(Role.TELLER)
def counters(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "reception/counters.html",
        {
            "counters": queue_selectors.counters_for_branch(branch=request.branch).select_related(
                "teller"
            )
        },
    )


def _counter_context(request: HttpRequest, counter: Counter) -> dict:
    current = queue_selectors.counter_current_ticket(counter=counter)
    visit = selectors.visit_for_ticket(ticket=current) if current else None
    served = {skill.service_id for skill in counter.skills.all()}
    return {
        "counter": counter,
        "current": current,
        "visit": visit,
        "history": customer_history(customer=visit.customer, limit=5) if visit else [],
        "finish_form": FinishForm(),
        "transfer_form": TransferForm(branch=request.branch),
        "waiting": [
            row
            for row in queue_selectors.waiting_by_service(branch=request.branch)
            if row["service"].pk in served
        ],
    }


def _counter(request: HttpRequest, pk: int) -> Counter:
    return get_for_branch(
        Counter.objects.prefetch_related("skills__service"), request.branch, pk=pk
    )


@staff_required(Role.TELLER)
def counter(request: HttpRequest, pk: int) -> HttpResponse:
    return render(
        request, "reception/counter.html", _counter_context(request, _counter(request, pk))
    )


@require_GET
@staff_required(Role.TELLER)
def counter_waiting(request: HttpRequest, pk: int) -> HttpResponse:
    context = _counter_context(request, _counter(request, pk))
    return render(request, "reception/counter.html#waiting", context)


def _run_counter_action(request: HttpRequest, counter: Counter) -> None:
    """Dispatch one button of the counter screen to its service; errors become messages."""
    action = request.POST.get("action", "")
    user, branch = request.user, request.branch
    current = queue_selectors.counter_current_ticket(counter=counter)
    if action == "open":
        queue.counter_open(counter=counter, teller=user)
    elif action == "close":
        queue.counter_close(counter=counter, teller=user)
    elif action in ("pause", "resume"):
        queue.counter_set_paused(counter=counter, teller=user, paused=action == "pause")
    elif action == "call":
        if queue.ticket_call_next(counter=counter, teller=user) is None:
            messages.info(request, _("Nobody is waiting for your services."))
    elif current is None:
        messages.error(request, _("There is no customer at this counter."))
    elif action == "recall":
        queue.ticket_recall(ticket_id=current.pk, by=user, branch=branch)
    elif action == "no_show":
        queue.ticket_no_show(ticket_id=current.pk, by=user, branch=branch)
    elif action == "start":
        queue.ticket_start(ticket_id=current.pk, by=user, branch=branch)
    elif action == "transfer":
        form = TransferForm(request.POST, branch=branch)
        if form.is_valid():
            new = queue.ticket_transfer(
                ticket_id=current.pk,
                by=user,
                branch=branch,
                to_service=form.cleaned_data["to_service"],
                to_counter=form.cleaned_data["to_counter"],
                note=form.cleaned_data["note"],
            )
            messages.success(request, _("Transferred as %(code)s.") % {"code": new.code})
        else:
            messages.error(request, _("Choose a service or a counter to transfer to."))
    elif action == "finish":
        form = FinishForm(request.POST)
        if form.is_valid():
            services.visit_complete_service(ticket=current, teller=user, **form.cleaned_data)
        else:
            messages.error(request, _("Choose an outcome."))
    else:
        messages.error(request, _("Unknown action."))


@require_POST
@staff_required(Role.TELLER)
def counter_action(request: HttpRequest, pk: int) -> HttpResponse:
    counter = _counter(request, pk)
    try:
        _run_counter_action(request, counter)
    except DomainError as exc:
        messages.error(request, exc.message)
    if request.htmx:
        counter = _counter(request, pk)
        response = render(
            request, "reception/counter.html#panel", _counter_context(request, counter)
        )
        # The waiting panel refreshes now rather than on its next 3-second poll.
        response["HX-Trigger"] = "queue-changed"
        return response
    return redirect("reception:counter", pk=pk)
