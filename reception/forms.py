"""Forms for the lobby and the counter: they check the shape of input; services decide."""

from django import forms
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from accounts.names import pick_name
from crm.personal_data import is_valid_phone, normalise_phone
from queueing.models import Counter
from queueing.selectors import counters_for_branch, services_for_branch

from .models import ErrorCategory, ServiceError, Visit
from .triage import APPOINTMENT_WINDOW_MESSAGE, appointment_in_window


class ServiceTiles(forms.RadioSelect):
    """Radio tiles for the branch's services; each says whether it may be diverted, so the
    lobby page can offer the self-service button only where it applies (the service decides)."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        service = getattr(value, "instance", None)
        if service is not None:
            option["attrs"]["data-divertible"] = "true" if service.divertible else "false"
            option["attrs"]["data-prefix"] = service.prefix
        return option


# The lobby's buttons: a ticket, the machines, or an outcome without a ticket.
ACTION_TICKET, ACTION_DIVERT = "ticket", "divert"
OUTCOME_ACTIONS = {
    "digital": Visit.Route.DIGITAL,
    "other_branch": Visit.Route.OTHER_BRANCH,
    "answered": Visit.Route.ANSWERED,
    "left": Visit.Route.LEFT,
}


class RegisterForm(forms.Form):
    """The lobby's one form: who, what for, and which button ended the greeting. A ticket or
    the machines need the number and the need; the other outcomes record the arrival with
    whatever was typed ("left before triage" with nothing at all)."""

    phone = forms.CharField(
        label=_("Mobile phone"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off", "inputmode": "tel"}),
    )
    name = forms.CharField(
        label=_("Name"),
        max_length=60,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    service = forms.ModelChoiceField(
        label=_("Need"), queryset=None, widget=ServiceTiles, empty_label=None, required=False
    )
    amount = forms.DecimalField(
        label=_("Amount (CNY)"),
        required=False,
        min_value=0,
        max_digits=14,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.01", "min": "0"}),
    )
    elderly = forms.BooleanField(label=_("Elderly"), required=False)
    disabled = forms.BooleanField(label=_("Disabled"), required=False)
    pregnant = forms.BooleanField(label=_("Pregnant"), required=False)
    vip = forms.BooleanField(label=_("VIP"), required=False)
    appointment = forms.BooleanField(label=_("Appointment"), required=False)
    appointment_at = forms.DateTimeField(
        label=_("Appointment time"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    sms_consent = forms.BooleanField(label=_("Agrees to service SMS"), required=False)
    note = forms.CharField(
        label=_("Note"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    # Answers to the lobby's two questions (reception.services.visit_register asks them); each
    # holds only for the number it was asked about (`asked_phone`), never for one typed later.
    name_choice = forms.ChoiceField(
        label=_("Name on file"),
        choices=[("keep", _("Keep the stored name")), ("update", _("Update the name"))],
        required=False,
        widget=forms.RadioSelect,
    )
    second_ticket = forms.BooleanField(label=_("Issue a second ticket anyway"), required=False)
    asked_phone = forms.CharField(required=False, max_length=20, widget=forms.HiddenInput)

    # Which button was pressed (a submit button's name/value; "ticket" without one).
    action = forms.CharField(required=False, max_length=20)
    # Seconds since the manager's first tap for this customer, measured by static/js/lobby.js
    # (a duration, so the tablet's clock does not matter); the service clamps it.
    greeting_elapsed = forms.IntegerField(
        required=False, min_value=0, max_value=24 * 3600, widget=forms.HiddenInput
    )
    digital_channel = forms.ChoiceField(
        label=_("Redirect to"),
        choices=[("mobile", _("Mobile banking")), ("online", _("Online banking"))],
        initial="mobile",
        required=False,
        widget=forms.RadioSelect,
    )
    redirect_branch = forms.CharField(
        label=_("Other branch"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    NEEDS = ("elderly", "disabled", "pregnant", "vip", "appointment")

    def __init__(self, *args, branch, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = services_for_branch(branch=branch)

    def special_needs(self) -> list[forms.BoundField]:
        return [self[name] for name in self.NEEDS]

    def answers(self) -> dict:
        """The answers that still hold (for the number now typed), to show them again."""
        cleaned = getattr(self, "cleaned_data", {})
        return {
            "second_ticket": cleaned.get("second_ticket", False),
            "name_choice": cleaned.get("name_choice", ""),
        }

    def clean_phone(self) -> str:
        raw = self.cleaned_data["phone"]
        if not raw.strip():
            return ""  # required for a ticket or the machines: clean() says so
        phone = normalise_phone(raw)
        if not is_valid_phone(phone):
            raise forms.ValidationError(_("Enter a valid mobile phone number."))
        return phone

    def clean_action(self) -> str:
        """The button pressed; anything else (no button: Enter in a field) issues a ticket."""
        action = self.cleaned_data["action"]
        return action if action in (ACTION_DIVERT, *OUTCOME_ACTIONS) else ACTION_TICKET

    @property
    def outcome_route(self) -> str | None:
        """The route of an outcome without a ticket, None for a ticket or the machines."""
        return OUTCOME_ACTIONS.get(getattr(self, "cleaned_data", {}).get("action", ""))

    @property
    def redirect_to(self) -> str:
        cleaned = self.cleaned_data
        if cleaned.get("action") == "digital":
            return cleaned.get("digital_channel") or "mobile"
        if cleaned.get("action") == "other_branch":
            return cleaned.get("redirect_branch", "").strip()
        return ""

    def clean(self):
        cleaned = super().clean()
        action = cleaned.get("action", ACTION_TICKET)
        if action in (ACTION_TICKET, ACTION_DIVERT):
            required = forms.Field.default_error_messages["required"]
            if not cleaned.get("phone") and "phone" not in self.errors:
                self.add_error("phone", required)
            if not cleaned.get("service") and "service" not in self.errors:
                self.add_error("service", required)
        elif action == "other_branch" and not cleaned.get("redirect_branch", "").strip():
            self.add_error("redirect_branch", _("Enter the branch the customer was sent to."))
        if normalise_phone(cleaned.get("asked_phone", "")) != cleaned.get("phone"):
            cleaned["name_choice"], cleaned["second_ticket"] = "", False
        cleaned["update_name"] = {"keep": False, "update": True}.get(cleaned.get("name_choice"))
        if cleaned.get("appointment") and not cleaned.get("appointment_at"):
            self.add_error("appointment_at", _("Enter the appointment time."))
        elif cleaned.get("appointment") and not appointment_in_window(
            cleaned["appointment_at"], timezone.now()
        ):
            self.add_error("appointment_at", APPOINTMENT_WINDOW_MESSAGE)
        return cleaned


class FinishForm(forms.Form):
    """The finish: the service's control points (its current version, ticked by key), the
    outcome and, by outcome, why not completed or when to follow up. The legacy booleans are
    accepted too (the default points' keys)."""

    checked_points = forms.MultipleChoiceField(
        label=_("Key control points"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    identity_verified = forms.BooleanField(required=False, widget=forms.HiddenInput)
    documents_signed = forms.BooleanField(required=False, widget=forms.HiddenInput)
    funds_handed_over = forms.BooleanField(required=False, widget=forms.HiddenInput)
    outcome = forms.ChoiceField(
        label=_("Outcome"), choices=Visit.Outcome.choices, initial=Visit.Outcome.COMPLETED
    )
    incomplete_reason = forms.ChoiceField(
        label=_("Reason not completed"),
        choices=[("", "—"), *Visit.IncompleteReason.choices],
        required=False,
    )
    follow_up_on = forms.DateField(
        label=_("Follow up on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Default: the next day."),
    )
    error_note = forms.CharField(
        label=_("Note"),
        max_length=300,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    LEGACY = ("identity_verified", "documents_signed", "funds_handed_over")

    def __init__(self, *args, points: list[dict] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.is_bound and hasattr(self.data, "getlist"):
            # A legacy box posted ticks its point, so a refused finish shows it ticked.
            legacy = [name for name in self.LEGACY if self.data.get(name) in ("on", "true", "1")]
            if legacy:
                self.data = self.data.copy()
                ticked = self.data.getlist("checked_points")
                self.data.setlist(
                    "checked_points", [*ticked, *(k for k in legacy if k not in ticked)]
                )
        # Rows from reception.selectors.control_points_rows: key, label, required.
        self.points = points or []
        self.fields["checked_points"].choices = [
            (point["key"], point["label"]) for point in self.points
        ]
        self.required_keys = {point["key"] for point in self.points if point["required"]}

    def clean(self):
        cleaned = super().clean()
        outcome = cleaned.get("outcome")
        if outcome == Visit.Outcome.REFERRED:
            self.add_error(
                "outcome",
                _(
                    "To refer the customer to another counter or a specialist, use Transfer: "
                    "the next counter gets your note and the points already checked."
                ),
            )
        if outcome == Visit.Outcome.INCOMPLETE and not cleaned.get("incomplete_reason"):
            self.add_error("incomplete_reason", _("Choose why the service could not be completed."))
        return cleaned

    def point_options(self) -> list[dict]:
        """Each point's checkbox, and whether it is required (the counter's checklist)."""
        clauses = {point["key"]: point.get("clause_ref", "") for point in self.points}
        return [
            {
                "option": option,
                "required": option.data["value"] in self.required_keys,
                "clause_ref": clauses.get(option.data["value"], ""),
            }
            for option in self["checked_points"]
        ]

    def finish_kwargs(self) -> dict:
        """What visit_complete_service takes."""
        data = self.cleaned_data
        return {
            "outcome": data["outcome"],
            "checked_points": data["checked_points"],
            "identity_verified": data["identity_verified"],
            "documents_signed": data["documents_signed"],
            "funds_handed_over": data["funds_handed_over"],
            "incomplete_reason": data["incomplete_reason"],
            "follow_up_on": data["follow_up_on"],
            "error_note": data["error_note"],
        }


class ServiceErrorForm(forms.Form):
    """An error (差错) on the customer at the counter, or the last one served (prefixed: the
    transfer form on the same page has a note too)."""

    prefix = "err"

    ticket = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=2**31 - 1)
    category = forms.ModelChoiceField(label=_("Error category"), queryset=None)
    severity = forms.ChoiceField(
        label=_("Severity"),
        choices=ServiceError.Severity.choices,
        widget=forms.RadioSelect,
        initial=ServiceError.Severity.MINOR,
    )
    note = forms.CharField(
        label=_("Note"),
        max_length=300,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def __init__(self, *args, branch, tickets=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if tickets is not None:  # the Errors page: choose among the day's finished tickets
            self.fields["ticket"] = forms.ModelChoiceField(label=_("Ticket"), queryset=tickets)
            self.fields["ticket"].label_from_instance = lambda ticket: (
                f"{ticket.code} · {ticket.service.display_name} · "
                f"{(ticket.teller.get_full_name() or ticket.teller.username) if ticket.teller else '—'}"
            )
        self.fields["category"].queryset = ErrorCategory.objects.filter(
            branch=branch, is_active=True
        ).order_by("sort_order", "code")
        self.fields["category"].label_from_instance = category_name


def category_name(category: ErrorCategory) -> str:
    """An error category's name in the reader's language."""
    return pick_name(
        translation.get_language() or "",
        zh_hans=category.name_zh,
        zh_hant=category.name_zh_hant,
        en=category.name_en,
    )


class TransferForm(forms.Form):
    """Where the customer goes, and what travels with them: a note for the next teller and the
    control points already checked here (named apart from the finish form's on the same page)."""

    to_service = forms.ModelChoiceField(label=_("To service"), queryset=None, required=False)
    to_counter = forms.ModelChoiceField(label=_("To counter"), queryset=None, required=False)
    note = forms.CharField(
        label=_("Note"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    handover_identity_verified = forms.BooleanField(label=_("Identity verified"), required=False)
    handover_documents_signed = forms.BooleanField(label=_("Documents signed"), required=False)
    handover_funds_handed_over = forms.BooleanField(label=_("Funds handed over"), required=False)

    CHECKLIST = (
        "handover_identity_verified",
        "handover_documents_signed",
        "handover_funds_handed_over",
    )

    def __init__(self, *args, branch, exclude_counter: Counter | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["to_service"].queryset = services_for_branch(branch=branch)
        counters = counters_for_branch(branch=branch)
        if exclude_counter is not None:
            counters = counters.exclude(pk=exclude_counter.pk)
        self.fields["to_counter"].queryset = counters

    def checklist(self) -> list[forms.BoundField]:
        return [self[name] for name in self.CHECKLIST]

    def handover(self) -> dict[str, bool]:
        """The checked control points, as visit_transfer takes them."""
        return {name.removeprefix("handover_"): self.cleaned_data[name] for name in self.CHECKLIST}


class TakeOverForm(forms.Form):
    """Taking another teller's seat: a reason for the audit trail, and an explicit tick."""

    reason = forms.CharField(
        label=_("Reason"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    confirm = forms.BooleanField(
        label=_("I confirm that I am taking over this counter"),
        error_messages={"required": _("Tick the box to confirm the take-over.")},
    )
