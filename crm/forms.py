"""Staff forms of the CRM pages: shape only; crm.services decides."""

from django import forms
from django.utils.translation import gettext_lazy as _


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
