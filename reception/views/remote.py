"""Remote queueing pages (thin: parse, call a service or selector, render).

Customer pages (no login, rate-limited, phone-sized), reached from the branch's QR poster
(reception.links.branch_token): join today's queue (service → verified phone → ticket → its
status page) and check in on arrival (verified phone → today's remote tickets of that number at
this branch → check in). The number is verified by SMS code (reception.verification) and kept in
the session: never in a URL.

Staff: the lobby manager's list of remote tickets not checked in yet, with a check-in button
(`reception/_remote_tickets.html`, included by the lobby page).
"""

from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.access import staff_required
from accounts.errors import DomainError
from accounts.models import Role
from accounts.throttle import rate_limited
from crm.personal_data import mask_phone
from queueing.links import ticket_status_token
from queueing.models import Service

from .. import selectors, services, verification
from .appointments import poster_branch_or_404

__all__ = [
    "remote_check_in",
    "remote_join",
    "remote_ticket_check_in",
    "remote_tickets",
]


def _status_path(ticket_id: int) -> str:
    return reverse("queueing:ticket_status", args=[ticket_status_token(ticket_id)])


class RemoteJoinForm(forms.Form):
    service = forms.ChoiceField(
        label=_("What do you need?"),
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose a service.")},
    )
    name = forms.CharField(
        label=_("Your name (optional)"),
        max_length=60,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )

    def __init__(self, *args, services: list[Service], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.services = {s.code: s for s in services}
        self.fields["service"].choices = [(s.code, s.display_name) for s in services]


# --- Customer pages -----------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@rate_limited("visit_page")
def remote_join(request: HttpRequest, token: str) -> HttpResponse:
    """Choose a service; the phone is verified (once per session); the ticket is issued as
    "remote" and the customer lands on its live status page."""
    branch = poster_branch_or_404(token)
    context: dict = {"branch": branch, "token": token}
    if not branch.remote_queue_enabled:
        return render(request, "reception/visit/remote_unavailable.html", context)
    services_ = selectors.remote_join_services(branch=branch)
    phone = verification.verified_phone(request)
    chosen = request.GET.get("service", "")
    form = RemoteJoinForm(
        request.POST if request.method == "POST" else None,
        services=services_,
        initial={"service": chosen} if chosen in {s.code for s in services_} else None,
    )
    existing = None
    if request.method == "POST" and form.is_valid():
        service = form.services[form.cleaned_data["service"]]
        if phone is None:
            back = reverse("visit:remote_join", args=[token])
            back += "?" + urlencode({"service": service.code})
            return redirect(verification.verify_url(back))
        try:
            visit = services.remote_join(
                branch=branch, service=service, phone=phone, name=form.cleaned_data["name"]
            )
        except services.AlreadyWaiting as error:
            existing = error.ticket  # theirs: the number is verified
        except DomainError as error:
            field = error.code if error.code in form.fields else None
            form.add_error(field, error.message)
        else:
            return redirect(_status_path(visit.ticket_id))
    context.update(
        form=form,
        masked_phone=mask_phone(phone) if phone else "",
        open_now=services.branch_open_now(branch, timezone.now()),
        existing=existing,
        existing_url=_status_path(existing.pk) if existing else "",
    )
    return render(
        request, "reception/visit/remote_join.html", context, status=400 if form.errors else 200
    )


@require_http_methods(["GET", "POST"])
@rate_limited("visit_page")
def remote_check_in(request: HttpRequest, token: str) -> HttpResponse:
    """At the branch: the customer's remote tickets of today (by verified number), and a
    button to check each in; then its status page, now "waiting"."""
    branch = poster_branch_or_404(token)
    phone = verification.verified_phone(request)
    if phone is None:
        return redirect(verification.verify_url(request.get_full_path()))
    tickets = selectors.remote_tickets_for_phone(branch=branch, phone=phone)
    error = ""
    if request.method == "POST":
        raw = request.POST.get("ticket", "")
        ticket_id = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 12 else None
        if ticket_id is None or ticket_id not in {t.pk for t in tickets}:
            error = _("That ticket is not one of yours waiting to be checked in here.")
        else:
            try:
                services.remote_check_in(ticket_id=ticket_id, branch=branch, channel="qr")
            except DomainError as refused:
                error = refused.message
            else:
                return redirect(_status_path(ticket_id))
        tickets = selectors.remote_tickets_for_phone(branch=branch, phone=phone)
    context = {
        "branch": branch,
        "token": token,
        "tickets": tickets,
        "masked_phone": mask_phone(phone),
        "error": error,
        "join_url": reverse("visit:remote_join", args=[token])
        if branch.remote_queue_enabled
        else "",
    }
    return render(
        request, "reception/visit/remote_check_in.html", context, status=400 if error else 200
    )


# --- Lobby manager --------------------------------------------------------------------------------


def _remote_tickets_context(request: HttpRequest, **extra) -> dict:
    return {"remote_rows": selectors.remote_ticket_rows(branch=request.branch), **extra}


@require_GET
@staff_required(Role.LOBBY_MANAGER)
def remote_tickets(request: HttpRequest) -> HttpResponse:
    """The lobby's list of remote tickets not checked in yet (an htmx fragment)."""
    return render(request, "reception/_remote_tickets.html", _remote_tickets_context(request))


@require_POST
@staff_required(Role.LOBBY_MANAGER)
def remote_ticket_check_in(request: HttpRequest, pk: int) -> HttpResponse:
    """The manager checks in a customer who joined from their phone (found by code/name)."""
    error = ""
    done = None
    try:
        done = services.remote_check_in(
            ticket_id=pk, branch=request.branch, by=request.user, channel="lobby"
        )
    except DomainError as refused:
        error = refused.message
        if refused.code == "not_found":
            raise Http404 from None
    if request.htmx:
        response = render(
            request,
            "reception/_remote_tickets.html",
            _remote_tickets_context(request, remote_error=error, remote_done=done),
            status=400 if error else 200,
        )
        if done is not None:
            response["HX-Trigger"] = "queue-changed"
        return response
    if error:
        messages.error(request, error)
    else:
        messages.success(
            request, _("Ticket %(code)s checked in: it now waits.") % {"code": done.code}
        )
    return redirect("reception:lobby")
