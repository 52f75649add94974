"""GET /api/kpi/staffing/: the coming week's staffing advice (kpi.selectors.staffing_week)."""

import math

from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from accounts.api import BranchApi
from accounts.models import Role

from .. import selectors

TAG = "kpi"


class StaffingHourSerializer(serializers.Serializer):
    hour = serializers.IntegerField(help_text="Local hour (branch time), 0-23.")
    arrivals = serializers.FloatField(help_text="Forecast customers in the hour.")
    mean_handle_s = serializers.FloatField(allow_null=True)
    weeks_seen = serializers.IntegerField(help_text="Past weeks the forecast stands on.")
    offered_load = serializers.FloatField(help_text="Arrivals x handling, in counters.")
    needed = serializers.IntegerField(allow_null=True, help_text="Counters needed (Erlang C).")
    needed_a = serializers.IntegerField(
        allow_null=True, help_text="Counters needed with walk-aways (Erlang A); null: no data."
    )
    service_level = serializers.FloatField(
        allow_null=True, help_text="Expected share within the target wait at `needed`."
    )
    p_abandon_a = serializers.FloatField(allow_null=True)
    open_last_week = serializers.FloatField(
        allow_null=True, help_text="Counters open on average that hour a week before."
    )
    short = serializers.BooleanField(help_text="Fewer counters were open than needed.")


class StaffingDaySerializer(serializers.Serializer):
    day = serializers.DateField()
    hours = StaffingHourSerializer(many=True)


class StaffingWeekSerializer(serializers.Serializer):
    start = serializers.DateField()
    target_share = serializers.FloatField()
    target_wait_s = serializers.FloatField()
    default_target_wait_s = serializers.FloatField()
    patience_s = serializers.FloatField(allow_null=True)
    history_from = serializers.DateField()
    history_to = serializers.DateField()
    closed = serializers.ListField(child=serializers.DateField())
    days = StaffingDaySerializer(many=True)


class StaffingApi(BranchApi):
    """Counters needed per day and hour of the coming week, against those open a week before."""

    allowed_roles = (Role.BRANCH_HEAD, Role.ADMIN)

    class FilterSerializer(serializers.Serializer):
        share = serializers.FloatField(
            required=False,
            min_value=0.5,
            max_value=0.99,
            help_text="Share of customers to call within the target wait (default 0.8).",
        )
        target_wait_s = serializers.FloatField(
            required=False,
            min_value=0,
            max_value=7200,
            help_text="Target wait in seconds (default: the services' targets, weighted by use).",
        )

        class Meta:
            ref_name = "StaffingFilter"

        def validate(self, attrs):
            for name, value in attrs.items():
                if not math.isfinite(value):  # "nan" passes min/max comparisons
                    raise serializers.ValidationError({name: _("Enter a number.")})
            return attrs

    @extend_schema(tags=[TAG], parameters=[FilterSerializer], responses=StaffingWeekSerializer)
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        week = selectors.staffing_week(
            branch=request.branch,
            target_share=filters.validated_data.get("share", selectors.DEFAULT_TARGET_SHARE),
            target_wait_s=filters.validated_data.get("target_wait_s"),
        )
        return Response(StaffingWeekSerializer(week).data)


urlpatterns = [path("staffing/", StaffingApi.as_view(), name="kpi-staffing")]
