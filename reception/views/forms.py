"""Pre-filled form pages (thin): the customer's, from their ticket's signed link; the lobby
manager's, on the tablet; the teller's "show" button for the hidden answers.

The customer's page needs no login: the ticket's status token (queueing.links) is the authority,
and it reaches that ticket's visit only.
"""

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import get_for_branch, staff_required
from accounts.models import Role
from accounts.throttle import rate_limited
from queueing.extensions import register_ticket_page_link
from queueing.links import ticket_id_from_token, ticket_status_token
from queueing.models import Ticket
from queueing.services import COUNTER_ROLES

from .. import prefill
from ..models import FormSubmission, Visit
from ..selectors.forms import (
    current_form_version,
    form_answers,
    form_title,
    services_with_form,
    submission_for_visit,
)
from ..services.forms import CUSTOMER_MAY_EDIT, FormError, FormInvalid, form_reveal, form_submit

__all__ = [
    "customer_form",
    "register_ticket_links",
    "ticket_form_links",
    "visit_form",
    "visit_form_reveal",
]

# --- The link on the customer's ticket pages (queueing.extensions) -------------------------------


def ticket_form_links(ticket: Ticket) -> list[tuple[str, str]]:
    """ "Fill in your form" while the ticket waits, when its service has a form. No query once
    the branch's set of services with a form is cached."""
    if ticket.status not in CUSTOMER_MAY_EDIT:
        return []
    if ticket.service_id not in services_with_form(branch_id=ticket.branch_id):
        return []
    url = reverse("visit:form", args=[ticket_status_token(ticket.pk)])
    return [(_("Fill in your form before your turn"), url)]


def register_ticket_links() -> None:
    """Called from ReceptionConfig.ready()."""
    register_ticket_page_link(ticket_form_links)


# --- Shared -------------------------------------------------------------------------------------


def _raw_answers(request: HttpRequest, fields: list[prefill.FieldDef]) -> dict[str, str]:
    return {field.key: request.POST.get(f"f_{field.key}", "") for field in fields}


def _form_context(
    *,
    visit: Visit,
    language: str,
    typed: dict | None = None,
    errors: dict | None = None,
    error: str = "",
) -> dict | None:
    """The inputs of the visit's service's form (None: the service has no form)."""
    version = current_form_version(service_id=visit.service_id)
    if version is None:
        return None
    fields = prefill.fields_from_snapshot(version.fields)
    submission = submission_for_visit(visit=visit)
    stored = submission.data if submission else {}
    return {
        "form_title": form_title(version.form, language),
        "inputs": prefill.input_rows(
            fields,
            values=typed if typed is not None else stored,
            errors=errors or {},
            language=language,
            kept=stored,
            typed=typed is not None,
        ),
        "form_error": error,
        "submission": submission,
        "fields": fields,
    }


# --- The customer's page ------------------------------------------------------------------------


def _customer_visit(token: str) -> tuple[Ticket, Visit] | None:
    """The visit behind the ticket the link names; None for a bad or expired link, a ticket
    without a visit, or one whose visit moved on with a transfer."""
    ticket_id = ticket_id_from_token(token)
    if ticket_id is None:
        return None
    visit = (
        Visit.objects.select_related("ticket", "branch", "service", "customer")
        .filter(ticket_id=ticket_id)
        .first()
    )
    if visit is None:
        return None
    return visit.ticket, visit


def _customer_language(request: HttpRequest, visit: Visit) -> str:
    """The customer's preferred language, unless they picked one with the language switch."""
    if request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) or visit.customer is None:
        return translation.get_language()
    return visit.customer.preferred_language or settings.LANGUAGE_CODE


@never_cache
@require_http_methods(["GET", "POST"])
@rate_limited("public_page")
def customer_form(request: HttpRequest, token: str) -> HttpResponse:
    found = _customer_visit(token)
    if found is None:
        return render(request, "reception/form_customer_invalid.html", status=404)
    ticket, visit = found
    with translation.override(_customer_language(request, visit)):
        language = translation.get_language()
        base = {
            "branch": visit.branch,
            "ticket": ticket,
            "status_url": reverse("queueing:ticket_status", args=[token]),
            "editable": ticket.status in CUSTOMER_MAY_EDIT,
        }
        typed = errors = None
        error = ""
        if request.method == "POST":
            version = current_form_version(service_id=visit.service_id)
            fields = prefill.fields_from_snapshot(version.fields) if version else []
            typed = _raw_answers(request, fields)
            try:
                form_submit(
                    visit=visit,
                    raw=typed,
                    filled_by=FormSubmission.FilledBy.CUSTOMER,
                    keep_sensitive=True,
                )
            except FormInvalid as exc:
                errors, error = exc.errors, str(exc.message)
            except FormError as exc:
                error = str(exc.message)
                typed = None
            else:
                return redirect(reverse("visit:form", args=[token]) + "?saved=1")
        context = _form_context(
            visit=visit, language=language, typed=typed, errors=errors, error=error
        )
        if context is None:
            return render(request, "reception/form_customer_invalid.html", base, status=404)
        context |= base
        show_form = base["editable"] and (
            request.method == "POST" or context["submission"] is None or "edit" in request.GET
        )
        if not show_form:
            context["answers"] = form_answers(visit=visit, language=language)
            context["saved"] = "saved" in request.GET
            return render(request, "reception/form_customer_saved.html", context)
        return render(request, "reception/form_customer.html", context)


# --- The lobby manager's page -------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@staff_required(Role.LOBBY_MANAGER)
def visit_form(request: HttpRequest, pk: int) -> HttpResponse:
    visit = get_for_branch(
        Visit.objects.select_related("ticket", "service", "customer"), request.branch, pk=pk
    )
    language = translation.get_language()
    typed = errors = None
    error = ""
    if request.method == "POST":
        version = current_form_version(service_id=visit.service_id)
        fields = prefill.fields_from_snapshot(version.fields) if version else []
        typed = _raw_answers(request, fields)
        try:
            form_submit(
                visit=visit,
                raw=typed,
                filled_by=FormSubmission.FilledBy.STAFF,
                staff=request.user,
                keep_sensitive=True,
            )
        except FormInvalid as exc:
            errors, error = exc.errors, str(exc.message)
        except FormError as exc:
            error = str(exc.message)
        else:
            messages.success(request, _("The form is saved for the teller."))
            return redirect("reception:visit_done", pk=visit.pk)
    context = _form_context(visit=visit, language=language, typed=typed, errors=errors, error=error)
    if context is None:
        messages.error(request, _("This service has no form to fill in."))
        return redirect("reception:visit_done", pk=visit.pk)
    context["visit"] = visit
    return render(request, "reception/form_staff.html", context)


# --- The teller's "show" button -----------------------------------------------------------------


@require_POST
@staff_required(*COUNTER_ROLES)
def visit_form_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    """The sensitive answers, unmasked, for the teller serving the visit (audited)."""
    visit = get_for_branch(Visit.objects.all(), request.branch, pk=pk)
    try:
        form_reveal(visit=visit, by=request.user)
    except FormError as exc:
        messages.error(request, exc.message)
        answers = form_answers(visit=visit, language=translation.get_language())
        status = 403
    else:
        answers = form_answers(visit=visit, language=translation.get_language(), reveal=True)
        status = 200
    context = {"form_answers": answers, "visit": visit}
    template = "reception/_form_answers.html" if request.htmx else "reception/form_answers.html"
    response = render(request, template, context, status=status)
    response["Cache-Control"] = "no-store"
    return response
