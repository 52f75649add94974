"""Pre-filled forms (预填单): publish a form's fields as a version, fill it in, reveal it.

The definitions and the checks of each answer are pure (reception.prefill); these use cases
decide who may fill in what and when, and keep one submission per visit.
"""

from datetime import timedelta

from auditlog.models import LogEntry
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.versioning import publish_snapshot
from queueing.states import ACTIVE_AT_COUNTER, TicketStatus

from .. import prefill
from ..models import FormSubmission, FormVersion, ServiceForm, Visit
from ..selectors.forms import current_form_version, forget_services_with_form
from .desk import ReceptionError

__all__ = [
    "CUSTOMER_MAY_EDIT",
    "FORM_CLOSED",
    "REVEAL_ACTION",
    "FormError",
    "FormInvalid",
    "form_answers_purge",
    "form_publish",
    "form_reveal",
    "form_submit",
]

# A customer may change their answers until their number is called; staff until it is over.
CUSTOMER_MAY_EDIT = frozenset({TicketStatus.REMOTE, TicketStatus.WAITING})
FORM_CLOSED = frozenset({TicketStatus.DONE, TicketStatus.CANCELLED, TicketStatus.NO_SHOW})


class FormError(ReceptionError):
    pass


class FormInvalid(FormError):
    """Answers refused field by field: `errors` is {field key: [messages]} (the API answers
    400 with it, the pages show each message at its field)."""

    code = "invalid"

    def __init__(self, errors: dict[str, list[str]], cleaned: dict | None = None) -> None:
        super().__init__(_("Please correct the answers marked below."))
        self.errors = errors
        self.cleaned = cleaned or {}


def _current_fields(form: ServiceForm) -> list[dict]:
    return [
        prefill.snapshot_field(
            key=field.key,
            kind=field.kind,
            label_zh=field.label_zh,
            label_zh_hant=field.label_zh_hant,
            label_en=field.label_en,
            required=field.required,
            sensitive=field.sensitive,
            choices=field.choices,
        )
        for field in form.fields.order_by("sort_order", "pk")
    ]


@transaction.atomic
def form_publish(form: ServiceForm, by: AbstractBaseUser | None, *, now=None) -> FormVersion | None:
    """Freeze the form's current fields as its next version, unless they are those of the
    latest version already (then that one is returned). A form without fields publishes
    nothing (None). Submissions keep the version they were filled in against."""
    form = ServiceForm.objects.select_for_update().get(pk=form.pk)
    # Now and after the commit (a page may have cached the old set in between).
    forget_services_with_form(form.branch_id)
    transaction.on_commit(lambda: forget_services_with_form(form.branch_id))
    return publish_snapshot(
        FormVersion.objects.filter(form=form),
        snapshot=_current_fields(form),
        snapshot_field="fields",
        extra={
            "form": form,
            "created_at": now or timezone.now(),
            "created_by": by if by is not None and by.is_authenticated else None,
        },
    )


def _locked_visit(visit: Visit | int) -> Visit:
    pk = visit.pk if isinstance(visit, Visit) else visit
    locked = Visit.objects.select_for_update(of=("self",)).select_related("ticket").get(pk=pk)
    return locked


def _check_open(visit: Visit, filled_by: str) -> None:
    ticket = visit.ticket
    if ticket is None:
        raise FormError(
            _("This visit has no ticket: there is no form to fill in."), code="no_ticket"
        )
    if ticket.status in FORM_CLOSED:
        raise FormError(_("This visit is over: its form can no longer change."), code="closed")
    if filled_by == FormSubmission.FilledBy.CUSTOMER and ticket.status not in CUSTOMER_MAY_EDIT:
        raise FormError(
            _("Your number has been called: please tell the teller what changed."),
            code="called",
        )


@transaction.atomic
def form_submit(
    *,
    visit: Visit | int,
    raw: dict,
    filled_by: str,
    staff: AbstractBaseUser | None = None,
    now=None,
    keep_sensitive: bool = False,
) -> FormSubmission:
    """Check the answers against the current version of the visit's service's form and keep
    them with the visit (a second submission replaces the first, on the newest version).

    `keep_sensitive`: a sensitive answer left empty keeps the one given before (pages show
    sensitive answers masked, never in an input). Raises FormInvalid with the field errors,
    FormError when the form is closed or there is none."""
    now = now or timezone.now()
    visit = _locked_visit(visit)
    _check_open(visit, filled_by)
    version = current_form_version(service_id=visit.service_id)
    if version is None:
        raise FormError(_("This service has no form to fill in."), code="no_form")
    fields = prefill.fields_from_snapshot(version.fields)
    existing = FormSubmission.objects.filter(visit=visit).first()
    if keep_sensitive and existing is not None:
        raw = prefill.keep_sensitive(fields, raw, existing.data)
    cleaned, errors = prefill.validate(fields, raw)
    if errors:
        raise FormInvalid(errors, cleaned)
    values = {
        "version": version,
        "data": cleaned,
        "filled_by": filled_by,
        "staff": staff if filled_by == FormSubmission.FilledBy.STAFF else None,
        "updated_at": now,
    }
    if existing is None:
        return FormSubmission.objects.create(visit=visit, submitted_at=now, **values)
    for name, value in values.items():
        setattr(existing, name, value)
    existing.save(update_fields=[*values])
    return existing


REVEAL_ACTION = "prefill.reveal"


@transaction.atomic
def form_reveal(*, visit: Visit | int, by: AbstractBaseUser, now=None) -> FormSubmission:
    """The serving teller asks to see the sensitive answers: allowed only to the teller seated
    at the counter where the visit's ticket is, and written to the audit trail (who, when,
    which visit, which fields), never with the values."""
    visit = Visit.objects.select_related("ticket__counter").get(
        pk=visit.pk if isinstance(visit, Visit) else visit
    )
    ticket = visit.ticket
    if (
        ticket is None
        or ticket.status not in ACTIVE_AT_COUNTER
        or ticket.counter is None
        or ticket.counter.teller_id != by.pk
    ):
        raise FormError(
            _("Only the teller serving this customer may see the hidden answers."),
            code="not_serving",
        )
    submission = FormSubmission.objects.select_related("version").filter(visit=visit).first()
    if submission is None:
        raise FormError(_("There is no form for this visit."), code="no_form")
    sensitive = [
        field.key
        for field in prefill.fields_from_snapshot(submission.version.fields)
        if field.sensitive and field.key in submission.data
    ]
    LogEntry.objects.log_create(
        visit,
        force_log=True,
        action=LogEntry.Action.ACCESS,
        actor=by,
        object_repr=f"visit {visit.pk}",
        timestamp=now or timezone.now(),
        changes_text="pre-filled form: sensitive answers shown",
        additional_data={
            "event": REVEAL_ACTION,
            "visit": visit.pk,
            "branch": visit.branch_id,
            "ticket": ticket.pk,
            "fields": sensitive,
        },
    )
    return submission


# How many answers one purge run erases: bounded work per run (beat runs it daily).
PURGE_BATCH = 5000


def form_answers_purge(*, retention_days: int, now=None) -> int:
    """Erase the answers of forms submitted more than `retention_days` ago. They exist to
    spare the teller's keying; once the visit is long over, the bank's own systems hold what
    was opened or paid, and a copy of ID numbers here would only be a liability. Each batch is
    its own transaction; returns how many were erased."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=retention_days)
    erased = 0
    while True:
        with transaction.atomic():
            ids = list(
                FormSubmission.objects.filter(submitted_at__lt=cutoff)
                .order_by("pk")
                .values_list("pk", flat=True)[:PURGE_BATCH]
            )
            if not ids:
                return erased
            FormSubmission.objects.filter(pk__in=ids).delete()
        erased += len(ids)
