"""Pages of this app (thin: parse, call a service or selector, render).

Staff look up a customer of their branch by phone (the customer's record: views/customers.py).
Numbers are always masked here.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from accounts.access import staff_required
from accounts.models import Role

from .. import selectors
from ..forms import PhoneSearchForm

STAFF_ROLES = (Role.LOBBY_MANAGER, Role.TELLER, Role.BRANCH_HEAD)


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
