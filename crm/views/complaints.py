"""Complaint pages (issue 7): the list (filters, pages; a regional head reads the region's),
the log form (from the list, the customer page, the counter), and the detail page with the
trail, the deadlines and the steps the reader may take (crm.complaint_flow)."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import get_for_branch, reader_required, staff_required
from accounts.errors import DomainError
from accounts.models import Role
from accounts.selectors import roles_at_branch

from .. import complaint_flow as flow
from .. import selectors, services
from ..filters import ComplaintFilter
from ..forms import AssignForm, ComplaintLogForm, InformForm, ResolveForm
from ..models import Complaint

__all__ = [
    "COMPLAINT_ROLES",
    "complaint_action",
    "complaint_detail",
    "complaint_list",
    "complaint_new",
]

COMPLAINT_ROLES = (Role.LOBBY_MANAGER, Role.TELLER, Role.BRANCH_HEAD)
LIST_PAGE_SIZE = 25

EVENT_LABELS = {
    "logged": _("Logged"),
    "assigned": _("Assigned"),
    "started": _("Investigation started"),
    "resolved": _("Resolved"),
    "inform_requested": _("SMS to the customer requested"),
    "informed": _("Customer informed"),
    "inform_failed": _("SMS could not be sent"),
    "closed": _("Closed"),
    "reminded": _("Deadline reminder"),
    "escalated": _("Escalated"),
}
DEADLINE_NOTES = {
    "acknowledge": _("acknowledge deadline"),
    "resolve": _("resolve deadline"),
    "no_number": _("no mobile number on record: call the customer instead"),
    "no_consent": _("the customer has not agreed to SMS: call the customer instead"),
}
ACTION_LABELS = {
    flow.ASSIGN: _("Assign"),
    flow.START: _("Start investigating"),
    flow.RESOLVE: _("Record the resolution"),
    flow.INFORM: _("Inform the customer"),
    flow.CLOSE: _("Close"),
}


@reader_required(*COMPLAINT_ROLES)
def complaint_list(request: HttpRequest) -> HttpResponse:
    """The complaints of the branches the user reads (their branch; a regional head's region),
    newest first, filtered (status, severity, channel, assignee, overdue, escalated, dates)."""
    branches = request.readable_branches
    here = request.branch if request.branch in branches else branches[0]
    data = request.GET.copy()
    data.pop("page", None)
    filterset = ComplaintFilter(
        data,
        queryset=selectors.complaints_for_branches(branches=branches),
        staff=selectors.branch_staff(branch=here),
    )
    rows = filterset.qs if filterset.is_valid() else Complaint.objects.none()
    page = Paginator(rows, LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "crm/complaints/list.html",
        {
            "filter": filterset,
            "page": page,
            "now": timezone.now(),
            "query": data.urlencode(),
            "several_branches": len(branches) > 1,
            "may_log": request.branch is not None and flow.may_log(request.roles),
            "is_head": flow.is_head(request.roles),
        },
    )


@staff_required(*COMPLAINT_ROLES)
@require_http_methods(["GET", "POST"])
def complaint_new(request: HttpRequest) -> HttpResponse:
    """Log a complaint; `?customer=<id>` (a customer of this branch) and `?channel=` preset."""
    source = request.POST if request.method == "POST" else request.GET
    customer = None
    customer_id = source.get("customer", "")
    if customer_id:
        if not customer_id.isdigit():
            raise Http404
        customer = selectors.customer_for_branch(branch=request.branch, pk=int(customer_id))
        if customer is None:
            raise Http404
    initial = {}
    if request.GET.get("channel") in Complaint.Channel.values:
        initial["channel"] = request.GET["channel"]
    form = ComplaintLogForm(request.POST if request.method == "POST" else None, initial=initial)
    if form.is_valid():
        try:
            complaint = services.complaint_log(
                branch=request.branch,
                customer=customer,
                by=request.user,
                **form.cleaned_data,
            )
        except DomainError as exc:
            form.add_error(exc.code if exc.code in form.fields else None, exc.message)
        else:
            messages.success(request, _("Complaint logged."))
            return redirect("crm:complaint", pk=complaint.pk)
    return render(request, "crm/complaints/new.html", {"form": form, "customer": customer})


def _detail_context(request: HttpRequest, complaint: Complaint, forms: dict | None = None) -> dict:
    roles = roles_at_branch(user=request.user, branch=complaint.branch)
    is_assignee = complaint.assignee_id is not None and complaint.assignee_id == request.user.pk
    allowed = flow.allowed_actions(status=complaint.status, roles=roles, is_assignee=is_assignee)
    forms = forms or {}
    if flow.ASSIGN in allowed and flow.ASSIGN not in forms:
        staff = selectors.branch_staff(branch=complaint.branch)
        forms[flow.ASSIGN] = AssignForm(staff=staff, initial={"assignee": complaint.assignee_id})
    if flow.RESOLVE in allowed and flow.RESOLVE not in forms:
        forms[flow.RESOLVE] = ResolveForm()
    if flow.INFORM in allowed and flow.INFORM not in forms:
        forms[flow.INFORM] = InformForm()
    events = list(selectors.complaint_events(complaint=complaint))
    now = timezone.now()
    last_inform = next(
        (e for e in reversed(events) if e.action in ("inform_requested", "inform_failed")), None
    )
    return {
        "complaint": complaint,
        "branch": complaint.branch,
        "events": [
            {
                "event": event,
                "label": EVENT_LABELS.get(event.action, event.action),
                "note": _event_note(event),
            }
            for event in events
        ],
        "actions": [{"key": a, "label": ACTION_LABELS[a], "form": forms.get(a)} for a in allowed],
        "acknowledge_overdue": complaint.status != flow.CLOSED
        and (complaint.acknowledged_at or now) > complaint.acknowledge_due_at,
        "resolve_overdue": complaint.status != flow.CLOSED
        and (complaint.resolved_at or now) > complaint.resolve_due_at,
        "call_instead": complaint.status == flow.RESOLVED
        and last_inform is not None
        and last_inform.action == "inform_failed",
        "sms_pending": complaint.status == flow.RESOLVED
        and last_inform is not None
        and last_inform.action == "inform_requested",
    }


def _event_note(event) -> str:
    if event.action in ("reminded", "escalated", "inform_failed"):
        return ", ".join(str(DEADLINE_NOTES.get(part, part)) for part in event.note.split(","))
    return event.note


@reader_required(*COMPLAINT_ROLES)
def complaint_detail(request: HttpRequest, pk: int) -> HttpResponse:
    complaint = selectors.complaint_for_branches(branches=request.readable_branches, pk=pk)
    if complaint is None:
        raise Http404
    with timezone.override(complaint.branch.tz):
        return render(request, "crm/complaints/detail.html", _detail_context(request, complaint))


@staff_required(*COMPLAINT_ROLES)
@require_POST
def complaint_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """One step of the workflow; a refused step shows the page again with the reason."""
    complaint = get_for_branch(
        Complaint.objects.select_related("branch", "customer", "assignee"), request.branch, pk=pk
    )
    form = None
    try:
        if action == flow.ASSIGN:
            form = AssignForm(request.POST, staff=selectors.branch_staff(branch=request.branch))
            if form.is_valid():
                services.complaint_assign(
                    complaint=complaint, assignee=form.cleaned_data["assignee"], by=request.user
                )
        elif action == flow.START:
            services.complaint_start(complaint=complaint, by=request.user)
        elif action == flow.RESOLVE:
            form = ResolveForm(request.POST)
            if form.is_valid():
                services.complaint_resolve(
                    complaint=complaint,
                    resolution=form.cleaned_data["resolution"],
                    by=request.user,
                )
        elif action == flow.INFORM:
            form = InformForm(request.POST)
            if form.is_valid():
                services.complaint_inform(complaint=complaint, by=request.user, **form.cleaned_data)
        elif action == flow.CLOSE:
            services.complaint_close(complaint=complaint, by=request.user)
        else:
            raise Http404
    except DomainError as exc:
        if form is not None and form.is_bound:
            form.add_error(exc.code if exc.code in form.fields else None, exc.message)
        else:
            messages.error(request, exc.message)
            return redirect("crm:complaint", pk=complaint.pk)
    if form is not None and not form.is_valid():
        complaint.refresh_from_db()
        context = _detail_context(request, complaint, forms={action: form})
        return render(request, "crm/complaints/detail.html", context, status=400)
    messages.success(request, _("Saved."))
    return redirect("crm:complaint", pk=complaint.pk)
