"""REST API of the region's benchmarking (inspectors and regional heads)."""

from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from .. import scoring, selectors
from ._common import TAG, QualityApi

__all__ = ["BenchmarkApi"]


class BenchmarkRowSerializer(serializers.Serializer):
    branch = serializers.IntegerField(source="branch.pk")
    branch_code = serializers.CharField(source="branch.code")
    rank = serializers.IntegerField(allow_null=True)
    measure = serializers.FloatField(allow_null=True)
    label = serializers.CharField()
    inspection = serializers.FloatField(allow_null=True)
    within_target = serializers.FloatField(allow_null=True)
    csat = serializers.FloatField(allow_null=True)
    nps = serializers.FloatField(allow_null=True, source="nps_raw")
    previous_rank = serializers.IntegerField(allow_null=True)
    previous_measure = serializers.FloatField(allow_null=True)
    trend = serializers.CharField()

    class Meta:
        ref_name = "QualityBenchmarkRow"


class BenchmarkApi(QualityApi):
    region_only = True

    class FilterSerializer(serializers.Serializer):
        year = serializers.IntegerField(min_value=2000, max_value=2100, required=False)
        quarter = serializers.IntegerField(min_value=1, max_value=4, required=False)
        measure = serializers.ChoiceField(choices=selectors.MEASURES, required=False)

        class Meta:
            ref_name = "QualityBenchmarkFilter"

    @extend_schema(
        tags=[TAG], parameters=[FilterSerializer], responses=BenchmarkRowSerializer(many=True)
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        year, quarter = scoring.quarter_of(timezone.localdate())
        rows = selectors.benchmark_table(
            branches=request.quality_branches,
            year=filters.validated_data.get("year", year),
            quarter=filters.validated_data.get("quarter", quarter),
            measure=filters.validated_data.get("measure", "composite"),
        )
        return Response(BenchmarkRowSerializer(rows, many=True).data)


urlpatterns = [path("benchmark/", BenchmarkApi.as_view(), name="quality-benchmark")]
