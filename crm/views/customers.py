"""The customer record: profile, timeline, notes, edit, reveal (logged), merge; the lists of
customers, interactions and reveals.

A record is opened at the user's active branch (a customer known there). The lists also serve a
regional head (accounts.access.reader_required): every branch of the region, read-only.
"""

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import reader_required, staff_required
from accounts.errors import DomainError
from accounts.models import Role

from .. import selectors, services
from ..filters import CustomerFilter, InteractionFilter, RevealLogFilter
from ..forms import MergeForm, NoteForm, PhoneSearchForm, ProfileForm, RevealForm
from ..models import CustomerBranch, Interaction, RevealLog
from ..personal_data import mask_phone

__all__ = [
    "customer",
    "customer_edit",
    "customer_list",
    "customer_merge",
    "customer_reveal",
    "interaction_list",
    "reveal_log_list",
]

STAFF_ROLES = (Role.LOBBY_MANAGER, Role.TELLER, Role.BRANCH_HEAD)
LIST_PAGE_SIZE = 25


def _customer_or_404(request: HttpRequest, pk: int):
    found = selectors.customer_for_branch(branch=request.branch, pk=pk)
    if found is None:
        raise Http404
    return found


def _shown(request: HttpRequest) -> int:
    try:
        return int(request.GET.get("shown", selectors.TIMELINE_PAGE))
    except ValueError:
        return selectors.TIMELINE_PAGE


def _record_context(request: HttpRequest, found, **extra) -> dict:
    shown = _shown(request)
    entries, has_more = selectors.customer_timeline(
        customer=found, branch=request.branch, shown=shown
    )
    is_head = Role.BRANCH_HEAD in request.roles or Role.ADMIN in request.roles
    context = {
        "customer": found,
        "branch": request.branch,
        "timeline": entries,
        "has_more": has_more,
        "show_more": min(len(entries) + selectors.TIMELINE_PAGE, selectors.TIMELINE_MAX),
        "note_form": NoteForm(),
        "search_form": PhoneSearchForm(),
        "reveal_fields": [
            (field, label, _masked(found)[field])
            for field, label in (
                (RevealLog.Field.PHONE, _("Mobile phone")),
                (RevealLog.Field.OTHER_PHONE, _("Other phone")),
                (RevealLog.Field.ID_NUMBER, _("ID number")),
            )
        ],
        "revealed_field": "",
        "revealed_value": "",
        "reveal_form": None,
        "may_merge": is_head,
        "duplicates": selectors.customer_duplicates(customer=found, branch=request.branch)
        if is_head
        else [],
        "merge_form": None,
    }
    context.update(extra)
    return context


def _masked(found) -> dict[str, str]:
    return {
        RevealLog.Field.PHONE: found.masked_phone,
        RevealLog.Field.OTHER_PHONE: mask_phone(found.other_phone),
        RevealLog.Field.ID_NUMBER: found.masked_id_number,
    }


@staff_required(*STAFF_ROLES)
@require_http_methods(["GET", "POST"])
def customer(request: HttpRequest, pk: int) -> HttpResponse:
    found = selectors.customer_for_branch(branch=request.branch, pk=pk)
    if found is None:
        merged_into = selectors.customer_merged_redirect(branch=request.branch, pk=pk)
        if merged_into is not None:
            messages.info(request, _("That record was merged into this one."))
            return redirect("crm:customer", pk=merged_into.pk)
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
    return render(request, "crm/customer.html", _record_context(request, found, note_form=form))


@staff_required(*STAFF_ROLES)
@require_http_methods(["GET", "POST"])
def customer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    found = _customer_or_404(request, pk)
    if request.method == "POST":
        form = ProfileForm(request.POST)
        if form.is_valid():
            try:
                changed = services.customer_update_profile(
                    customer=found, by=request.user, branch=request.branch, **form.service_kwargs()
                )
            except DomainError as exc:
                field = exc.code if exc.code in form.fields else None
                field = {"other_phone": "new_other_phone", "id_number": "new_id_number"}.get(
                    exc.code, field
                )
                form.add_error(field, exc.message)
            else:
                if changed:
                    messages.success(request, _("Profile saved."))
                return redirect("crm:customer", pk=found.pk)
    else:
        form = ProfileForm.for_customer(found)
    return render(
        request,
        "crm/customer_edit.html",
        {
            "customer": found,
            "branch": request.branch,
            "form": form,
            "masked_other_phone": mask_phone(found.other_phone),
            "wording_version": settings.SMS_CONSENT_WORDING_VERSION,
        },
    )


@never_cache
@staff_required(*STAFF_ROLES)
@require_POST
def customer_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    """The full number for this answer only (never stored in the page's URL, never cached),
    logged with the reason. With htmx, just the revealed value replaces the masked one."""
    found = _customer_or_404(request, pk)
    form = RevealForm(request.POST)
    value = None
    if form.is_valid():
        try:
            value = services.customer_reveal(
                customer=found,
                field=form.cleaned_data["field"],
                reason=form.cleaned_data["reason"],
                by=request.user,
                branch=request.branch,
            )
        except DomainError as exc:
            form.add_error("reason" if exc.code == "reason" else None, exc.message)
    field = form.data.get("field", "")
    if request.htmx:
        return render(
            request,
            "crm/_reveal.html",
            {
                "customer": found,
                "field": field,
                "value": value,
                "form": form,
                "masked": _masked(found).get(field, ""),
            },
        )  # 200 either way: htmx swaps only a 2xx answer (the errors are in the fragment)
    context = _record_context(
        request,
        found,
        revealed_field=field if value is not None else "",
        revealed_value=value or "",
        reveal_form=form if value is None else None,
    )
    return render(request, "crm/customer.html", context, status=200 if value else 400)


@staff_required(Role.BRANCH_HEAD)
@require_POST
def customer_merge(request: HttpRequest, pk: int) -> HttpResponse:
    """Merge a duplicate (one of the candidates shown on the record) into this customer."""
    target = _customer_or_404(request, pk)
    form = MergeForm(request.POST)
    if form.is_valid():
        source = selectors.customer_for_branch(
            branch=request.branch, pk=form.cleaned_data["source"]
        )
        if source is None:
            form.add_error("source", _("That customer is not known at this branch."))
        else:
            try:
                services.customer_merge(
                    source=source, target=target, by=request.user, branch=request.branch
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("Records merged: all history is on this record."))
                return redirect("crm:customer", pk=target.pk)
    context = _record_context(request, target, merge_form=form)
    return render(request, "crm/customer.html", context, status=400)


def _page(request: HttpRequest, queryset):
    return Paginator(queryset, LIST_PAGE_SIZE).get_page(request.GET.get("page"))


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@reader_required(*STAFF_ROLES)
@require_http_methods(["GET"])
def customer_list(request: HttpRequest) -> HttpResponse:
    queryset = selectors.customers_readable(branches=request.readable_branches)
    if request.branch is not None and request.roles & {*STAFF_ROLES, Role.ADMIN}:
        queryset = queryset.annotate(
            here=Exists(
                CustomerBranch.objects.filter(customer=OuterRef("pk"), branch=request.branch)
            )
        )
    filterset = CustomerFilter(request.GET or None, queryset=queryset, request=request)
    valid = not filterset.is_bound or filterset.is_valid()
    rows = (filterset.qs if filterset.is_bound else queryset) if valid else queryset.none()
    return render(
        request,
        "crm/customer_list.html",
        {
            "filter": filterset,
            "page": _page(request, rows),
            "query": _query_without_page(request),
            "several_branches": len(request.readable_branches) > 1,
        },
        status=200 if valid else 400,
    )


@reader_required(*STAFF_ROLES)
@require_http_methods(["GET"])
def interaction_list(request: HttpRequest) -> HttpResponse:
    queryset = selectors.interactions_readable(branches=request.readable_branches)
    filterset = InteractionFilter(request.GET or None, queryset=queryset, request=request)
    valid = not filterset.is_bound or filterset.is_valid()
    rows = (filterset.qs if filterset.is_bound else queryset) if valid else queryset.none()
    page = _page(request, rows)
    return render(
        request,
        "crm/interaction_list.html",
        {
            "filter": filterset,
            "page": page,
            "rows": [
                (i, selectors.OUTCOME_LABELS.get(i.outcome, i.outcome)) for i in page.object_list
            ],
            "query": _query_without_page(request),
            "several_branches": len(request.readable_branches) > 1,
        },
        status=200 if valid else 400,
    )


@staff_required(Role.BRANCH_HEAD)
@require_http_methods(["GET"])
def reveal_log_list(request: HttpRequest) -> HttpResponse:
    request.readable_branches = [request.branch]  # the staff filter's choices
    queryset = selectors.reveal_logs_for_branch(branch=request.branch)
    filterset = RevealLogFilter(request.GET or None, queryset=queryset, request=request)
    valid = not filterset.is_bound or filterset.is_valid()
    rows = (filterset.qs if filterset.is_bound else queryset) if valid else queryset.none()
    return render(
        request,
        "crm/reveal_list.html",
        {
            "filter": filterset,
            "page": _page(request, rows),
            "query": _query_without_page(request),
            "branch": request.branch,
        },
        status=200 if valid else 400,
    )
