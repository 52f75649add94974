"""Forms and the date filter of the closed loop's pages (issue 8)."""

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Suggestion, SurveyResponse


class FollowUpCallForm(forms.Form):
    result = forms.CharField(
        label=_("What came of the call"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )


class FollowUpCloseForm(forms.Form):
    result = forms.CharField(
        label=_("Result (if not recorded yet)"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class SuggestionForm(forms.Form):
    text = forms.CharField(
        label=_("Your suggestion"), max_length=2000, widget=forms.Textarea(attrs={"rows": 5})
    )
    contact_phone = forms.CharField(
        label=_("Mobile number (optional: to hear our answer)"), max_length=20, required=False
    )


class SuggestionAnswerForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Decision"),
        choices=[
            (Suggestion.Status.ADOPTED, Suggestion.Status.ADOPTED.label),
            (Suggestion.Status.DECLINED, Suggestion.Status.DECLINED.label),
        ],
    )
    answer = forms.CharField(
        label=_("Answer"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )


class ReportFilter(django_filters.FilterSet):
    """The feedback page's dates (the branch's days, both inclusive)."""

    start = django_filters.DateFilter(
        label=_("From"),
        field_name="submitted_at",
        lookup_expr="date__gte",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    end = django_filters.DateFilter(
        label=_("Until"),
        field_name="submitted_at",
        lookup_expr="date__lte",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        model = SurveyResponse
        fields: list[str] = []
