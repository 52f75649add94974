"""The customer's survey form: shape only (the service decides what is acceptable); the forms
and the date filter of the closed loop's pages (issue 8)."""

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Suggestion, SurveyResponse

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


YES_NO_CHOICES = [("yes", _("Yes")), ("no", _("No"))]


def question_text(question: dict, language: str) -> str:
    """The question in the page's language, else Simplified Chinese (always filled in)."""
    texts = question.get("text", {})
    return texts.get(language) or texts.get("zh-hans") or question["key"]


def survey_form_for(questions: list[dict], language: str, data=None) -> forms.Form:
    """A form with one field per question of the survey version (key = field name)."""
    fields: dict[str, forms.Field] = {}
    for question in questions:
        label, required, kind = (
            question_text(question, language),
            question["required"],
            question["kind"],
        )
        if kind == "rating":
            field = forms.TypedChoiceField(
                choices=SATISFACTION_CHOICES,
                coerce=int,
                empty_value=None,
                widget=forms.RadioSelect,
                error_messages={"required": _("Choose from 1 to 5 stars.")},
            )
        elif kind == "nps":
            field = forms.TypedChoiceField(
                choices=RECOMMEND_CHOICES, coerce=int, empty_value=None, widget=forms.RadioSelect
            )
        elif kind == "yes_no":
            field = forms.ChoiceField(choices=YES_NO_CHOICES, widget=forms.RadioSelect)
        else:
            field = forms.CharField(
                max_length=1000, widget=forms.Textarea(attrs={"rows": 4, "maxlength": 1000})
            )
        field.label, field.required = label, required
        field.kind = kind  # the template draws stars, the 0–10 scale, yes/no or a text box
        fields[question["key"]] = field
    form_class = type("VersionSurveyForm", (forms.Form,), fields)
    return form_class(data)


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
