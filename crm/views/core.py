"""Pages of this app (thin: parse, call a service or selector, render).

Staff look up a customer of their branch by phone and see the card, the branch's history with
them, and add notes. Numbers are always masked here.
"""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from accounts.access import staff_required
from accounts.models import Role

from . import selectors, services
from .forms import NoteForm, PhoneSearchForm
from .models import Interaction

STAFF_ROLES = (Role.LOBBY_MANAGER, Role.TELLER, Role.BRANCH_HEAD)
# Outcomes reception writes into Interaction.outcome (crm does not import reception's choices).
OUTCOME_LABELS = {
    "completed": _("Completed"),
    "incomplete": _("Not completed (customer to return)"),
    "referred": _("Referred elsewhere"),
}
HISTORY_LENGTH = 20


@staff_required(*STAFF_ROLES)
@require_http_methods(["GET", "POST"])
def search(request: HttpRequest) -> HttpResponse:
    """The number is posted, never put in the URL (access logs, proxies, browser history)."""
    form = PhoneSearchForm(request.POST if request.method == "POST" else None)
    results = None
    if form.is_valid():
        results = selectors.customer_search_at_branch(
            branch=request.branch, phone=form.cleaned_data["phone"]
        )
        form = PhoneSearchForm()  # the results show the number masked; the box need not echo it
    return render(request, "crm/search.html", {"form": form, "results": results})


@staff_required(*STAFF_ROLES)
@require_http_methods(["GET", "POST"])
def customer(request: HttpRequest, pk: int) -> HttpResponse:
    found = selectors.customer_for_branch(branch=request.branch, pk=pk)
    if found is None:
        raise Http404
    form = NoteForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        services.interaction_record(
            customer=found,
            branch=request.branch,
            kind=Interaction.Kind.NOTE,
            occurred_at=timezone.now(),
            summary=form.cleaned_data["note"],
            staff=request.user,
        )
        messages.success(request, _("Note added."))
        return redirect("crm:customer", pk=found.pk)
    history = selectors.customer_interactions_at_branch(customer=found, branch=request.branch)
    context = {
        "customer": found,
        "branch": request.branch,
        "interactions": [
            {"interaction": i, "outcome": OUTCOME_LABELS.get(i.outcome, i.outcome)}
            for i in history[:HISTORY_LENGTH]
        ],
        "note_form": form,
        "search_form": PhoneSearchForm(),
    }
    return render(request, "crm/customer.html", context)
