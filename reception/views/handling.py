"""The branch head's Errors page: the errors (差错) recorded at the counters, counted per teller
and service, filtered by date, teller, service and category; an error found after a finish
recorded on one of the day's tickets; and the optional control points tellers missed."""

from datetime import timedelta

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.access import staff_required
from accounts.errors import DomainError
from accounts.models import Role
from accounts.timeutil import branch_today

from .. import selectors, services
from ..forms import ServiceErrorForm, category_name

__all__ = ["ERRORS_ROLES", "errors_page"]

ERRORS_ROLES = (Role.BRANCH_HEAD, Role.ADMIN)
PAGE_SIZE = 50
MISSED_DAYS = 30  # the missed optional points' default range: the last 30 days


@staff_required(*ERRORS_ROLES)
def errors_page(request: HttpRequest) -> HttpResponse:
    branch = request.branch
    language = translation.get_language() or ""
    record_form = ServiceErrorForm(
        request.POST or None, branch=branch, tickets=selectors.tickets_served_today(branch=branch)
    )
    if request.method == "POST" and record_form.is_valid():
        data = record_form.cleaned_data
        try:
            services.service_error_record(
                ticket=data["ticket"],
                by=request.user,
                branch=branch,
                category=data["category"],
                severity=data["severity"],
                note=data["note"],
            )
        except DomainError as exc:
            record_form.add_error(None, exc.message)
        else:
            messages.success(
                request, _("Error recorded on %(code)s.") % {"code": data["ticket"].code}
            )
            return redirect("reception:errors")
    filterset = selectors.ServiceErrorFilter(
        request.GET or None, queryset=selectors.service_errors(branch=branch), branch=branch
    )
    rows = (
        filterset.qs.order_by("-recorded_at", "-pk")
        if filterset.is_valid()
        else filterset.qs.none()
    )
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    for error in page:
        error.category_label = category_name(error.category)
    today = branch_today(branch)
    data = filterset.form.cleaned_data if filterset.is_bound and filterset.is_valid() else {}
    missed_to = data.get("date_to") or today
    missed_from = data.get("date_from") or missed_to - timedelta(days=MISSED_DAYS - 1)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "reception/errors.html",
        {
            "filter": filterset,
            "page": page,
            "query": query.urlencode(),
            "counts": selectors.error_counts(rows, language),
            "record_form": record_form,
            "missed": selectors.missed_optional_points(
                branch=branch, start=missed_from, end=missed_to, language=language
            ),
            "missed_from": missed_from,
            "missed_to": missed_to,
        },
    )
