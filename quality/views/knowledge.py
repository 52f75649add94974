"""Knowledge base pages: list and search, an entry with its history, writing and review, and
the panel the counter screen and the lobby tablet load (reception.extensions)."""

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from accounts.access import staff_required
from accounts.errors import DomainError
from queueing.selectors import services_for_branch

from .. import selectors, services
from ..models import EntryStatus, KnowledgeFlag
from ..search import MAX_TERM_LENGTH, MAX_TERMS

PANEL_LIMIT = 6


class SearchForm(forms.Form):
    q = forms.CharField(
        label=gettext_lazy("Search"),
        required=False,
        max_length=MAX_TERMS * (MAX_TERM_LENGTH + 1),
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    service = forms.ChoiceField(label=gettext_lazy("Service"), required=False)

    def __init__(self, *args, service_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].choices = [("", gettext_lazy("All services")), *service_choices]


class EntryForm(forms.Form):
    question_zh = forms.CharField(label=gettext_lazy("Question (Chinese)"), max_length=300)
    answer_zh = forms.CharField(label=gettext_lazy("Answer (Chinese)"), widget=forms.Textarea)
    question_zh_hant = forms.CharField(
        label=gettext_lazy("Question (Traditional Chinese)"), max_length=300, required=False
    )
    answer_zh_hant = forms.CharField(
        label=gettext_lazy("Answer (Traditional Chinese)"), widget=forms.Textarea, required=False
    )
    question_en = forms.CharField(
        label=gettext_lazy("Question (English)"), max_length=300, required=False
    )
    answer_en = forms.CharField(
        label=gettext_lazy("Answer (English)"), widget=forms.Textarea, required=False
    )
    service_codes = forms.MultipleChoiceField(
        label=gettext_lazy("Services"), required=False, widget=forms.CheckboxSelectMultiple
    )
    tags = forms.CharField(label=gettext_lazy("Tags"), max_length=200, required=False)
    bank_wide = forms.BooleanField(label=gettext_lazy("For the whole bank"), required=False)

    def __init__(self, *args, service_choices=(), allow_bank_wide=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service_codes"].choices = list(service_choices)
        if not allow_bank_wide:
            del self.fields["bank_wide"]

    def content(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("bank_wide", None)
        return data


class FlagForm(forms.Form):
    note = forms.CharField(label=gettext_lazy("What is outdated?"), max_length=300)


def _service_choices(branch) -> list[tuple[str, str]]:
    return [(s.code, s.display_name) for s in services_for_branch(branch=branch)]


def _may_edit(request: HttpRequest) -> bool:
    return services.kb_may_edit(request.user, request.branch)


@staff_required()
def kb_list(request: HttpRequest) -> HttpResponse:
    choices = _service_choices(request.branch)
    form = SearchForm(request.GET or None, service_choices=choices)
    query, service = "", ""
    if form.is_valid():
        query, service = form.cleaned_data["q"], form.cleaned_data["service"]
    rows = selectors.kb_search(branch=request.branch, query=query, service_code=service, limit=50)
    may_edit = _may_edit(request)
    unpublished = []
    if may_edit:
        unpublished = list(
            selectors.kb_entries_for_staff(branch=request.branch, may_edit=True)
            .filter(status__in=[EntryStatus.DRAFT, EntryStatus.IN_REVIEW])
            .order_by("-updated_at")[:50]
        )
    return render(
        request,
        "quality/knowledge_list.html",
        {
            "form": form,
            "rows": rows,
            "query": query,
            "service_names": dict(choices),
            "may_edit": may_edit,
            "unpublished": unpublished,
        },
    )


@staff_required()
def kb_panel(request: HttpRequest) -> HttpResponse:
    """The fragment on the counter screen and the lobby tablet: the service's entries and a
    search box that answers in place (htmx)."""
    service = (request.GET.get("service") or "").strip()[:30]
    service_id = (request.GET.get("service_id") or "").strip()
    if not service and service_id.isdigit():
        match = services_for_branch(branch=request.branch).filter(pk=int(service_id))
        service = match.values_list("code", flat=True).first() or ""
    # The service is the screen's own (not a choice): only the words are validated here.
    query = (request.GET.get("q") or "")[: MAX_TERMS * (MAX_TERM_LENGTH + 1)].strip()
    rows = selectors.kb_search(
        branch=request.branch,
        query=query,
        # A search looks through everything; without one, the service's entries.
        service_code="" if query else service,
        limit=PANEL_LIMIT,
    )
    return render(
        request,
        "quality/_kb_panel.html",
        {"rows": rows, "query": query, "service": service, "searched": bool(query)},
    )


def _entry_or_404(request: HttpRequest, pk: int):
    entry = selectors.kb_entry_for_staff(branch=request.branch, pk=pk, may_edit=_may_edit(request))
    if entry is None:
        raise Http404
    return entry


@staff_required()
@require_http_methods(["GET", "POST"])
def kb_entry(request: HttpRequest, pk: int) -> HttpResponse:
    entry = _entry_or_404(request, pk)
    flag_form = FlagForm()
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "flag":
                flag_form = FlagForm(request.POST)
                if flag_form.is_valid():
                    services.entry_flag(
                        entry,
                        by=request.user,
                        branch=request.branch,
                        note=flag_form.cleaned_data["note"],
                    )
                    messages.success(request, _("Thank you: the reviewer will look at it."))
                    return redirect("quality:kb_entry", pk=entry.pk)
            elif action == "submit":
                services.entry_submit(entry, by=request.user)
                messages.success(request, _("Submitted for review."))
                return redirect("quality:kb_entry", pk=entry.pk)
            elif action == "publish":
                revision = services.entry_publish(
                    entry, by=request.user, note=request.POST.get("note", "")[:200]
                )
                messages.success(request, _("Published as version %(n)s.") % {"n": revision.number})
                return redirect("quality:kb_entry", pk=entry.pk)
            elif action == "return":
                services.entry_return_to_draft(entry, by=request.user)
                messages.success(request, _("Sent back to the author."))
                return redirect("quality:kb_entry", pk=entry.pk)
            elif action == "reviewed":
                services.entry_mark_reviewed(entry, by=request.user)
                messages.success(request, _("Marked as reviewed today."))
                return redirect("quality:kb_entry", pk=entry.pk)
            elif action == "resolve":
                flag_id = request.POST.get("flag", "")
                flag = (
                    KnowledgeFlag.objects.filter(entry=entry, pk=int(flag_id)).first()
                    if flag_id.isdigit()
                    else None
                )
                if flag is None:
                    raise Http404
                services.flag_resolve(
                    flag, by=request.user, resolution=request.POST.get("resolution", "")
                )
                messages.success(request, _("Flag resolved."))
                return redirect("quality:kb_entry", pk=entry.pk)
            else:
                messages.error(request, _("Unknown action."))
        except DomainError as error:
            messages.error(request, error.message)
        entry = _entry_or_404(request, pk)
    may_review = services.kb_may_review(request.user, entry)
    return render(
        request,
        "quality/knowledge_entry.html",
        {
            "entry": entry,
            "row": selectors.kb_row(entry),
            "draft": selectors.kb_row(entry, working_copy=True)
            if entry.status != EntryStatus.PUBLISHED and _may_edit(request)
            else None,
            "revisions": selectors.kb_revisions(entry),
            "flags": selectors.kb_open_flags(entry) if may_review else [],
            "flag_form": flag_form,
            "may_edit": services.kb_may_edit(request.user, entry.branch),
            "may_review": may_review,
            "own_submission": entry.submitted_by_id == request.user.pk,
            "service_names": dict(_service_choices(request.branch)),
        },
    )


@staff_required()
@require_http_methods(["GET", "POST"])
def kb_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    entry = _entry_or_404(request, pk) if pk is not None else None
    if not services.kb_may_edit(request.user, entry.branch if entry else request.branch):
        raise Http404
    allow_bank_wide = entry is None and request.user.is_superuser
    initial = {}
    if entry is not None:
        initial = {name: getattr(entry, name) for name in services.KB_CONTENT_FIELDS}
    form = EntryForm(
        request.POST or None,
        initial=initial,
        service_choices=_service_choices(request.branch),
        allow_bank_wide=allow_bank_wide,
    )
    if request.method == "POST" and form.is_valid():
        try:
            if entry is None:
                bank_wide = allow_bank_wide and form.cleaned_data.get("bank_wide")
                entry = services.entry_create_draft(
                    branch=None if bank_wide else request.branch, by=request.user, **form.content()
                )
            else:
                entry = services.entry_update(entry, by=request.user, **form.content())
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Draft saved: submit it for review when it is ready."))
            return redirect("quality:kb_entry", pk=entry.pk)
    return render(request, "quality/knowledge_edit.html", {"form": form, "entry": entry})


@staff_required()
def kb_review(request: HttpRequest) -> HttpResponse:
    if not _may_edit(request):
        raise Http404
    queue = selectors.kb_review_queue(user=request.user, branch=request.branch)
    return render(request, "quality/knowledge_review.html", queue)


urlpatterns = [
    path("kb/", kb_list, name="kb_list"),
    path("kb/panel/", kb_panel, name="kb_panel"),
    path("kb/review/", kb_review, name="kb_review"),
    path("kb/new/", kb_edit, name="kb_new"),
    path("kb/<int:pk>/", kb_entry, name="kb_entry"),
    path("kb/<int:pk>/edit/", kb_edit, name="kb_edit"),
]
