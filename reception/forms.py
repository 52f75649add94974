"""Forms for the lobby and the counter: they check the shape of input; services decide."""

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.personal_data import is_valid_phone, normalise_phone
from queueing.models import Counter, Service

from .models import Visit


class RegisterForm(forms.Form):
    phone = forms.CharField(
        label=_("Mobile phone"),
        max_length=20,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off", "inputmode": "tel"}),
    )
    name = forms.CharField(label=_("Name"), max_length=60, required=False)
    service = forms.ModelChoiceField(
        label=_("Need"), queryset=Service.objects.none(), widget=forms.RadioSelect, empty_label=None
    )
    amount = forms.DecimalField(
        label=_("Amount (CNY)"), required=False, min_value=0, max_digits=14, decimal_places=2
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
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def __init__(self, *args, branch, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = Service.objects.filter(branch=branch, is_active=True)

    def clean_phone(self) -> str:
        phone = normalise_phone(self.cleaned_data["phone"])
        if not is_valid_phone(phone):
            raise forms.ValidationError(_("Enter a valid mobile phone number."))
        return phone

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("appointment") and not cleaned.get("appointment_at"):
            self.add_error("appointment_at", _("Enter the appointment time."))
        return cleaned


class FinishForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=Visit.Outcome.choices)
    identity_verified = forms.BooleanField(label=_("Identity verified"), required=False)
    documents_signed = forms.BooleanField(label=_("Documents signed"), required=False)
    funds_handed_over = forms.BooleanField(label=_("Funds handed over"), required=False)
    error_note = forms.CharField(label=_("Error or problem"), max_length=300, required=False)


class TransferForm(forms.Form):
    to_service = forms.ModelChoiceField(
        label=_("To service"), queryset=Service.objects.none(), required=False
    )
    to_counter = forms.ModelChoiceField(
        label=_("To counter"), queryset=Counter.objects.none(), required=False
    )
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def __init__(self, *args, branch, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["to_service"].queryset = Service.objects.filter(branch=branch, is_active=True)
        self.fields["to_counter"].queryset = Counter.objects.filter(branch=branch)
