"""Shapes of the KPI API: query parameters in (validated, field errors as 400), bodies out.

Shape and range only; the figures come from kpi.selectors, targets are set by
kpi.services.kpi_target_set."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from .forms import MAX_RANGE_DAYS
from .metrics import METRICS
from .periods import EARLIEST_DAY, GRANULARITIES, LATEST_DAY
from .ranking import target_bounds, target_in_bounds

MAX_ID = 2**63 - 1  # a bigint: a larger id is a 400, not a database error
METRIC_CHOICES = sorted(METRICS)
TREND_CHOICES = ("up", "down", "flat")


class FiguresSerializer(serializers.Serializer):
    issued = serializers.IntegerField()
    served = serializers.IntegerField()
    no_shows = serializers.IntegerField()
    avg_wait_s = serializers.FloatField(allow_null=True)
    avg_handle_s = serializers.FloatField(allow_null=True)
    within_target_share = serializers.FloatField(allow_null=True)


class TodaySummarySerializer(serializers.Serializer):
    """kpi.selectors.today_summary, live."""

    day = serializers.DateField()
    figures = FiguresSerializer()
    diverted = serializers.IntegerField()
    avg_satisfaction = serializers.FloatField(allow_null=True)
    responses = serializers.IntegerField()


# --- query parameters -------------------------------------------------------------------------


class DateRangeSerializer(serializers.Serializer):
    """date_from / date_to (the branch's local days, both included); absent: the last 30 days."""

    date_from = serializers.DateField(required=False, help_text="YYYY-MM-DD")
    date_to = serializers.DateField(required=False, help_text="YYYY-MM-DD")

    def _in_calendar(self, value):
        if value is not None and not EARLIEST_DAY <= value <= LATEST_DAY:
            raise serializers.ValidationError(
                _("Choose a date from %(start)s to %(end)s.")
                % {"start": EARLIEST_DAY.isoformat(), "end": LATEST_DAY.isoformat()}
            )
        return value

    def validate_date_from(self, value):
        return self._in_calendar(value)

    def validate_date_to(self, value):
        return self._in_calendar(value)

    def validate(self, attrs):
        date_from, date_to = attrs.get("date_from"), attrs.get("date_to")
        if date_from and date_to:
            if date_from > date_to:
                raise serializers.ValidationError(
                    {"date_to": [_("The end date is before the start date.")]}
                )
            if (date_to - date_from).days + 1 > MAX_RANGE_DAYS:
                raise serializers.ValidationError(
                    {"date_to": [_("Choose at most %(days)d days.") % {"days": MAX_RANGE_DAYS}]}
                )
        return attrs


class SeriesQuerySerializer(DateRangeSerializer):
    metric = serializers.ChoiceField(choices=METRIC_CHOICES, help_text="A KPI (docs/kpi.md).")
    granularity = serializers.ChoiceField(choices=GRANULARITIES, default="day", required=False)
    service = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_ID, help_text="Service id (of the branch)."
    )
    teller = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_ID,
        help_text="User id of a teller of the branch; a teller may only ask for themselves.",
    )
    branch = serializers.CharField(
        required=False,
        max_length=20,
        help_text="Branch code; default: the caller's branch. A regional head: any branch of "
        "their region.",
    )

    class Meta:
        ref_name = "KpiSeriesQuery"


class RegionQuerySerializer(DateRangeSerializer):
    metric = serializers.ChoiceField(
        choices=METRIC_CHOICES, default="within_target_share", required=False
    )
    region = serializers.CharField(
        required=False, max_length=20, help_text="Region code; default: the first one headed."
    )

    class Meta:
        ref_name = "KpiRegionQuery"


# --- bodies -----------------------------------------------------------------------------------


class SeriesPointSerializer(serializers.Serializer):
    period = serializers.DateField(help_text="The period's first day.")
    value = serializers.FloatField(allow_null=True, help_text="null: no data in the period.")
    target = serializers.FloatField(allow_null=True, help_text="The branch's target, if set.")


class RankedBranchSerializer(serializers.Serializer):
    rank = serializers.IntegerField(allow_null=True, help_text="null: no data (listed last).")
    branch = serializers.CharField(help_text="Branch code.")
    name = serializers.CharField()
    value = serializers.FloatField(allow_null=True)
    vs_average = serializers.FloatField(allow_null=True)
    previous = serializers.FloatField(
        allow_null=True, help_text="The previous period of equal length."
    )
    trend = serializers.ChoiceField(choices=TREND_CHOICES, allow_null=True)
    improved = serializers.BooleanField(
        allow_null=True, help_text="The trend read with the KPI's direction."
    )


class RegionRankingSerializer(serializers.Serializer):
    region = serializers.CharField()
    metric = serializers.CharField()
    higher_is_better = serializers.BooleanField()
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    previous_from = serializers.DateField()
    previous_to = serializers.DateField()
    average = serializers.FloatField(allow_null=True)
    best = RankedBranchSerializer(allow_null=True)
    worst = RankedBranchSerializer(allow_null=True)
    rows = RankedBranchSerializer(many=True)


class TargetSerializer(serializers.Serializer):
    """A branch's target for one KPI (PUT: set it; the allowed range depends on the KPI)."""

    metric = serializers.ChoiceField(choices=METRIC_CHOICES)
    value = serializers.FloatField()
    unit = serializers.CharField(read_only=True)
    higher_is_better = serializers.BooleanField(read_only=True)

    class Meta:
        ref_name = "KpiTarget"

    def validate(self, attrs):
        metric = METRICS[attrs["metric"]]
        if not target_in_bounds(metric, attrs["value"]):
            low, high = target_bounds(metric)
            message = (
                _("Give a value from %(low)s to %(high)s.") % {"low": low, "high": high}
                if high is not None
                else _("Give a value of at least %(low)s.") % {"low": low}
            )
            raise serializers.ValidationError({"value": [message]})
        return attrs
