"""Pre-filled forms: the current version of a service's form, a visit's answers for a screen,
and which services of a branch have a form (cached: the customer's status page asks it)."""

from django.core.cache import cache

from accounts.names import pick_name

from .. import prefill
from ..models import FormSubmission, FormVersion, ServiceForm, Visit

__all__ = [
    "current_form_version",
    "forget_services_with_form",
    "form_answers",
    "form_for_service",
    "form_title",
    "services_with_form",
    "submission_for_visit",
]

SERVICES_WITH_FORM_TTL_S = 600  # dropped at once when a form is published, changed or deleted


def _services_key(branch_id: int) -> str:
    return f"prefill:services-with-form:{branch_id}"


def services_with_form(*, branch_id: int) -> frozenset[int]:
    """Ids of the branch's services with an active, published form: at most one cheap query,
    none while cached."""
    key = _services_key(branch_id)
    cached = cache.get(key)
    if cached is None:
        cached = frozenset(
            FormVersion.objects.filter(form__branch_id=branch_id, form__is_active=True)
            .values_list("form__service_id", flat=True)
            .distinct()
        )
        cache.set(key, cached, SERVICES_WITH_FORM_TTL_S)
    return cached


def forget_services_with_form(branch_id: int) -> None:
    cache.delete(_services_key(branch_id))


def form_for_service(*, service_id: int | None) -> ServiceForm | None:
    if service_id is None:
        return None
    return ServiceForm.objects.filter(service_id=service_id, is_active=True).first()


def current_form_version(*, service_id: int | None) -> FormVersion | None:
    """The latest version of the service's active form (None: no form, or none published)."""
    if service_id is None:
        return None
    return (
        FormVersion.objects.select_related("form")
        .filter(form__service_id=service_id, form__is_active=True)
        .order_by("-number")
        .first()
    )


def submission_for_visit(*, visit: Visit) -> FormSubmission | None:
    return (
        FormSubmission.objects.select_related("version__form", "staff").filter(visit=visit).first()
    )


def form_title(form: ServiceForm, language: str) -> str:
    return pick_name(language, zh_hans=form.title_zh, zh_hant=form.title_zh_hant, en=form.title_en)


def form_answers(*, visit: Visit | None, language: str, reveal: bool = False) -> dict | None:
    """A visit's answers for the teller (or the lobby), in the reader's language and with the
    labels of the version they were filled in against; sensitive answers masked unless
    `reveal`. None when the visit has no submission."""
    if visit is None:
        return None
    submission = submission_for_visit(visit=visit)
    if submission is None:
        return None
    fields = prefill.fields_from_snapshot(submission.version.fields)
    rows = prefill.rows(fields, submission.data, language, reveal=reveal)
    return {
        "submission": submission,
        "visit": visit,
        "title": form_title(submission.version.form, language),
        "version": submission.version.number,
        "rows": rows,
        "has_masked": any(row["masked"] for row in rows),
        "revealed": reveal,
    }
