"""The customer's survey form: shape only (the service decides what is acceptable)."""

from django import forms
from django.utils.translation import gettext_lazy as _

SATISFACTION_CHOICES = [(n, str(n)) for n in range(1, 6)]
RECOMMEND_CHOICES = [(n, str(n)) for n in range(11)]


class SurveyForm(forms.Form):
    satisfaction = forms.TypedChoiceField(
        label=_("How satisfied were you?"),
        choices=SATISFACTION_CHOICES,
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose from 1 to 5 stars.")},
    )
    recommend = forms.TypedChoiceField(
        label=_("How likely are you to recommend us to a friend?"),
        choices=RECOMMEND_CHOICES,
        coerce=int,
        empty_value=None,
        required=False,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Anything else you would like to tell us? (optional)"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": 1000}),
    )
