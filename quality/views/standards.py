"""Service standards pages: the list with each effective version, a version with its clauses,
"I have read this", who of the branch has read it (branch head), and a clause by reference
(the link from a counter's control point)."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import staff_required
from accounts.errors import DomainError
from accounts.models import Role
from accounts.timeutil import branch_today

from .. import selectors, services
from ..models import StandardVersion

HEAD_ROLES = {Role.BRANCH_HEAD, Role.ADMIN}


def _standard_or_404(code: str):
    standard = selectors.standard_by_code(code)
    if standard is None or not standard.is_active:
        raise Http404
    return standard


@staff_required()
def standard_list(request: HttpRequest) -> HttpResponse:
    rows = selectors.standards_overview(today=branch_today(request.branch), user=request.user)
    return render(request, "quality/standards_list.html", {"rows": rows})


def _version_page(request: HttpRequest, standard, version: StandardVersion | None) -> HttpResponse:
    today = branch_today(request.branch)
    effective = selectors.standard_effective_version(standard, today)
    if version is None:
        version = effective
    if version is None or (
        version.status != StandardVersion.Status.PUBLISHED and not request.user.is_superuser
    ):
        raise Http404
    is_head = bool(request.roles & HEAD_ROLES)
    acks = (
        selectors.standard_acknowledgements(version=version, branch=request.branch)
        if is_head and version.status == StandardVersion.Status.PUBLISHED
        else None
    )
    clauses = [
        {"clause": clause, "text": selectors.clause_text(clause)}
        for clause in version.clauses.order_by("sort_order", "number")
    ]
    return render(
        request,
        "quality/standards_version.html",
        {
            "standard": standard,
            "title": selectors.standard_title(standard),
            "version": version,
            "is_effective": effective is not None and effective.pk == version.pk,
            "clauses": clauses,
            "read": selectors.user_has_acknowledged(version, request.user),
            "acks": acks,
            "versions": standard.versions.order_by("-number"),
        },
    )


@staff_required()
def standard_detail(request: HttpRequest, code: str) -> HttpResponse:
    return _version_page(request, _standard_or_404(code), None)


@staff_required()
def standard_version_detail(request: HttpRequest, code: str, number: int) -> HttpResponse:
    standard = _standard_or_404(code)
    version = selectors.standard_version(standard, number)
    if version is None:
        raise Http404
    return _version_page(request, standard, version)


@staff_required()
@require_POST
def standard_acknowledge(request: HttpRequest, code: str, number: int) -> HttpResponse:
    standard = _standard_or_404(code)
    version = selectors.standard_version(standard, number)
    if version is None:
        raise Http404
    try:
        services.standard_acknowledge(version, user=request.user, branch=request.branch)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Thank you: your reading is recorded."))
    return redirect("quality:standard_version", code=standard.code, number=version.number)


@staff_required()
@require_POST
def standard_publish(request: HttpRequest, code: str, number: int) -> HttpResponse:
    """The platform operator publishes a draft version (also an admin action)."""
    standard = _standard_or_404(code)
    version = selectors.standard_version(standard, number)
    if version is None or not request.user.is_superuser:
        raise Http404
    try:
        services.standard_version_publish(version, by=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Version published."))
    return redirect("quality:standard_version", code=standard.code, number=version.number)


@staff_required()
def standard_clause(request: HttpRequest, code: str, number: str) -> HttpResponse:
    clause = selectors.standard_clause(code, number, branch_today(request.branch))
    if clause is None or not clause.version.standard.is_active:
        raise Http404
    standard = clause.version.standard
    return render(
        request,
        "quality/standards_clause.html",
        {
            "standard": standard,
            "title": selectors.standard_title(standard),
            "clause": clause,
            "text": selectors.clause_text(clause),
            "version": clause.version,
        },
    )


urlpatterns = [
    path("standards/", standard_list, name="standard_list"),
    path("standards/<slug:code>/", standard_detail, name="standard_detail"),
    path("standards/<slug:code>/v/<int:number>/", standard_version_detail, name="standard_version"),
    path(
        "standards/<slug:code>/v/<int:number>/acknowledge/",
        standard_acknowledge,
        name="standard_acknowledge",
    ),
    path(
        "standards/<slug:code>/v/<int:number>/publish/", standard_publish, name="standard_publish"
    ),
    path("standards/<slug:code>/clause/<str:number>/", standard_clause, name="standard_clause"),
]
