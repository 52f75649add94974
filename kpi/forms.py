"""The dashboards' shared filter: a date range (the branch's local days), a service, a teller.

Every KPI page (trends, heatmap, services, tellers, the teller's own page, the region view,
staffing) reads its slice through `KpiFilterForm`, so a bad date gives a form error on the page,
never a 500, and a teller or service of another branch is simply not a valid choice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Branch, Role
from accounts.timeutil import branch_today
from queueing.models import Service

from .definitions import GRANULARITY_LABELS, METRIC_LABELS

__all__ = [
    "DEFAULT_DAYS",
    "MAX_RANGE_DAYS",
    "KpiFilter",
    "KpiFilterForm",
    "TrendForm",
    "tellers_of",
]

DEFAULT_DAYS = 30
MAX_RANGE_DAYS = 400


@dataclass(frozen=True, slots=True)
class KpiFilter:
    """A validated slice: what `kpi.selectors.rollup_rows` needs, plus the objects to name."""

    date_from: date
    date_to: date
    service: Service | None = None
    teller: Any = None  # a user, or None for every teller

    @property
    def days(self) -> int:
        return (self.date_to - self.date_from).days + 1

    def slice_args(self, *, branches: list[Branch] | None = None) -> dict[str, Any]:
        """Keyword arguments for rollup_rows / rollup_total (branches added by the caller
        when None)."""
        args: dict[str, Any] = {
            "date_from": self.date_from,
            "date_to": self.date_to,
            "service_ids": [self.service.pk] if self.service else None,
            "teller_id": self.teller.pk if self.teller else None,
        }
        if branches is not None:
            args["branches"] = branches
        return args

    def query(self, **extra: Any) -> str:
        """The filter as a query string (links, exports keep the same slice)."""
        params = {"date_from": self.date_from.isoformat(), "date_to": self.date_to.isoformat()}
        if self.service:
            params["service"] = str(self.service.pk)
        if self.teller:
            params["teller"] = str(self.teller.pk)
        params.update({key: str(value) for key, value in extra.items() if value not in (None, "")})
        return urlencode(params)


def tellers_of(branch: Branch):
    """Users holding an active teller membership at `branch` (the teller filter's choices)."""
    return (
        get_user_model()
        .objects.filter(
            memberships__branch=branch,
            memberships__role=Role.TELLER,
            memberships__is_active=True,
        )
        .distinct()
        .order_by("username")
    )


class TellerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return obj.get_full_name() or obj.username


class ServiceChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.prefix} {obj.display_name}"


class KpiFilterForm(forms.Form):
    """GET filter. Empty dates default to the last DEFAULT_DAYS days (today included) in the
    branch's zone; the range may not pass MAX_RANGE_DAYS. `with_teller=False` drops the
    teller field (a teller's own page: whatever `teller=` says is ignored)."""

    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    service = ServiceChoiceField(
        label=_("Service"), queryset=Service.objects.none(), required=False, empty_label=_("All")
    )
    teller = TellerChoiceField(
        label=_("Teller"),
        queryset=get_user_model().objects.none(),
        required=False,
        empty_label=_("All"),
    )

    def __init__(
        self,
        data: Any = None,
        *,
        branch: Branch | None,
        with_service: bool = True,
        with_teller: bool = True,
        today: date | None = None,
        **kwargs: Any,
    ) -> None:
        # Always bound: a GET form with nothing in it is the default slice, not "unbound".
        data = data.copy() if data is not None else {}
        super().__init__(data, **kwargs)
        self.branch = branch
        self.today = today or (branch_today(branch) if branch else timezone.localdate())
        if with_service and branch is not None:
            self.fields["service"].queryset = Service.objects.filter(branch=branch).order_by(
                "prefix", "code"
            )
        else:
            del self.fields["service"]
        if with_teller and branch is not None:
            self.fields["teller"].queryset = tellers_of(branch)
        else:
            del self.fields["teller"]
        self.default_from = self.today - timedelta(days=DEFAULT_DAYS - 1)
        # Show the defaults in the inputs when the user gave none.
        for name, value in (("date_from", self.default_from), ("date_to", self.today)):
            if not self.data.get(name):
                self.data[name] = value.isoformat()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        date_from = cleaned.get("date_from")
        date_to = cleaned.get("date_to")
        if date_from and date_to:
            if date_from > date_to:
                self.add_error("date_to", _("The end date is before the start date."))
            elif (date_to - date_from).days + 1 > MAX_RANGE_DAYS:
                self.add_error(
                    "date_to",
                    _("Choose at most %(days)d days.") % {"days": MAX_RANGE_DAYS},
                )
        return cleaned

    @property
    def filter(self) -> KpiFilter:
        """The slice to show: the cleaned values, or the default slice when the form has
        errors (the page shows the errors above the default figures)."""
        if self.is_valid():
            return KpiFilter(
                date_from=self.cleaned_data["date_from"] or self.default_from,
                date_to=self.cleaned_data["date_to"] or self.today,
                service=self.cleaned_data.get("service"),
                teller=self.cleaned_data.get("teller"),
            )
        return KpiFilter(date_from=self.default_from, date_to=self.today)


class TrendForm(forms.Form):
    """The trends page's choice of metric and granularity (bad values: a form error)."""

    metric = forms.ChoiceField(label=_("Figure"), required=False)
    granularity = forms.ChoiceField(label=_("By"), required=False)

    DEFAULT_METRIC = "within_target_share"
    DEFAULT_GRANULARITY = "day"

    def __init__(self, data: Any = None, **kwargs: Any) -> None:
        data = data.copy() if data is not None else {}
        # Show the defaults as selected when the user chose none.
        for name, value in (
            ("metric", self.DEFAULT_METRIC),
            ("granularity", self.DEFAULT_GRANULARITY),
        ):
            if not data.get(name):
                data[name] = value
        super().__init__(data, **kwargs)
        self.fields["metric"].choices = list(METRIC_LABELS.items())
        self.fields["granularity"].choices = list(GRANULARITY_LABELS.items())

    @property
    def chosen_metric(self) -> str:
        value = self.cleaned_data.get("metric") if self.is_valid() else None
        return value or self.DEFAULT_METRIC

    @property
    def chosen_granularity(self) -> str:
        value = self.cleaned_data.get("granularity") if self.is_valid() else None
        return value or self.DEFAULT_GRANULARITY
