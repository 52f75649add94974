"""Output shapes of the KPI API."""

from rest_framework import serializers


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


class SnapshotOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    day = serializers.DateField()
    hour = serializers.IntegerField(allow_null=True, help_text="null: the whole day.")
    service_code = serializers.CharField(help_text="Empty: all services.")
    issued = serializers.IntegerField()
    served = serializers.IntegerField()
    no_shows = serializers.IntegerField()
    diverted = serializers.IntegerField()
    avg_wait_s = serializers.FloatField(allow_null=True)
    avg_handle_s = serializers.FloatField(allow_null=True)
    within_target_share = serializers.FloatField(allow_null=True)
    avg_satisfaction = serializers.FloatField(allow_null=True)
    responses = serializers.IntegerField()
    computed_at = serializers.DateTimeField()
