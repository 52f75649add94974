"""Staff forms of the CRM pages: shape only; crm.services decides."""

from django import forms
from django.conf import settings
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from .models import Complaint, ConsentSource, Customer, RevealLog, Severity, Tier


class PhoneSearchForm(forms.Form):
    phone = forms.CharField(
        label=_("Mobile phone"),
        max_length=20,
        widget=forms.TextInput(
            attrs={"inputmode": "tel", "autocomplete": "off", "placeholder": "138 0013 8000"}
        ),
    )


class NoteForm(forms.Form):
    note = forms.CharField(
        label=_("Add a note"),
        max_length=300,  # Interaction.summary
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 300}),
    )

    def clean_note(self) -> str:
        note = self.cleaned_data["note"].strip()
        if not note:
            raise forms.ValidationError(_("Write the note first."))
        return note


# --- The customer record (crm.services.customers) -------------------------------------------


class DateInput(forms.DateInput):
    input_type = "date"


class ProfileForm(forms.Form):
    """Edit the profile. Numbers are never shown in full here: a new other phone or ID number
    replaces the stored one; left empty, it is kept (tick "remove" to clear it)."""

    name = forms.CharField(label=_("Name"), max_length=60, required=False)
    tier = forms.ChoiceField(label=_("Segment / VIP tier"), choices=Tier.choices, required=False)
    is_vip = forms.BooleanField(label=_("VIP"), required=False)
    preferred_language = forms.ChoiceField(
        label=_("Preferred language"), choices=settings.LANGUAGES
    )
    birth_date = forms.DateField(label=_("Date of birth"), required=False, widget=DateInput)
    new_other_phone = forms.CharField(
        label=_("New other phone"),
        max_length=30,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    clear_other_phone = forms.BooleanField(label=_("Remove the other phone"), required=False)
    new_id_number = forms.CharField(
        label=_("New ID number"),
        max_length=30,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    id_expires_on = forms.DateField(
        label=_("ID document expires on"), required=False, widget=DateInput
    )
    sms_consent = forms.BooleanField(label=_("Agrees to service SMS"), required=False)
    consent_source = forms.ChoiceField(
        label=_("Consent given via"),
        choices=[(k, v) for k, v in ConsentSource.choices if k != ConsentSource.API],
        initial=ConsentSource.COUNTER,
        help_text=_("Recorded only when the consent changes."),
    )

    @classmethod
    def for_customer(cls, customer: Customer) -> "ProfileForm":
        return cls(
            initial={
                "name": customer.name,
                "tier": customer.tier,
                "is_vip": customer.is_vip,
                "preferred_language": customer.preferred_language,
                "birth_date": customer.birth_date,
                "id_expires_on": customer.id_expires_on,
                "sms_consent": customer.sms_consent,
                "consent_source": ConsentSource.COUNTER,
            }
        )

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        kwargs = {
            "name": data["name"],
            "tier": data["tier"],
            "is_vip": data["is_vip"],
            "preferred_language": data["preferred_language"],
            "birth_date": data["birth_date"],
            "id_expires_on": data["id_expires_on"],
            "sms_consent": data["sms_consent"],
            "consent_source": data["consent_source"],
        }
        if data["clear_other_phone"]:
            kwargs["other_phone"] = ""
        elif data["new_other_phone"].strip():
            kwargs["other_phone"] = data["new_other_phone"]
        if data["new_id_number"].strip():
            kwargs["id_number"] = data["new_id_number"]
        return kwargs


class RevealForm(forms.Form):
    field = forms.ChoiceField(choices=RevealLog.Field.choices, widget=forms.HiddenInput)
    reason = forms.CharField(
        label=_("Why do you need it?"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "off", "maxlength": 200}),
    )

    def clean_reason(self) -> str:
        reason = " ".join(self.cleaned_data["reason"].split())
        if not reason:
            raise forms.ValidationError(_("Say why you need the full number."))
        return reason


class MergeForm(forms.Form):
    """Merge the duplicate `source` (one of the candidates shown) into this customer."""

    source = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=2**31 - 1)
    confirm = forms.BooleanField(
        label=_("I checked these are the same person"),
        error_messages={"required": _("Confirm that these are the same person.")},
    )


# --- Complaints (crm.services.complaints decides; these give the shape) ---------------------------


class ComplaintLogForm(forms.Form):
    channel = forms.ChoiceField(label=_("Received via"), choices=Complaint.Channel.choices)
    severity = forms.ChoiceField(
        label=_("Severity"), choices=Severity.choices, initial=Severity.MEDIUM
    )
    subject = forms.CharField(label=_("Subject"), max_length=200)
    details = forms.CharField(
        label=_("Details"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": 4000}),
    )

    def clean_subject(self) -> str:
        subject = self.cleaned_data["subject"].strip()
        if not subject:
            raise forms.ValidationError(_("Say what the complaint is about."))
        return subject


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(label=_("Assign to"), queryset=None)

    def __init__(self, *args, staff: QuerySet, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = staff
        self.fields["assignee"].label_from_instance = lambda u: u.get_full_name() or u.username


class ResolveForm(forms.Form):
    resolution = forms.CharField(
        label=_("What was found and done"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": 4000}),
    )


class InformForm(forms.Form):
    by_how = forms.ChoiceField(
        label=_("How the customer is told"),
        choices=Complaint.InformedBy.choices,
        widget=forms.RadioSelect,
        initial=Complaint.InformedBy.SMS,
    )
    note = forms.CharField(
        label=_("What the customer is told"),
        required=False,
        max_length=300,
        help_text=_("By SMS: the message (empty: the resolution). By call or in person: required."),
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 300}),
    )
