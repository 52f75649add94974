"""REST API of the KPIs (thin: serializers validate shape; selectors compute)."""

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from accounts.api import BranchApi
from accounts.models import Role
from accounts.timeutil import branch_today

from .. import selectors
from ..serializers import SnapshotOutputSerializer, TodaySummarySerializer

TAG = "kpi"
HEAD_ROLES = (Role.BRANCH_HEAD, Role.ADMIN)


class TodayApi(BranchApi):
    allowed_roles = HEAD_ROLES

    @extend_schema(tags=[TAG], responses=TodaySummarySerializer)
    def get(self, request):
        return Response(TodaySummarySerializer(selectors.today_summary(branch=request.branch)).data)


class SnapshotListApi(BranchApi):
    """A day's snapshots: one row for the day per service ('' = all) and one per hour."""

    allowed_roles = HEAD_ROLES

    class FilterSerializer(serializers.Serializer):
        day = serializers.DateField(required=False, help_text="YYYY-MM-DD; default today.")

        class Meta:
            ref_name = "SnapshotListFilter"

    @extend_schema(
        tags=[TAG], parameters=[FilterSerializer], responses=SnapshotOutputSerializer(many=True)
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        day = filters.validated_data.get("day") or branch_today(request.branch)
        snapshots = selectors.snapshots_for_day(branch=request.branch, day=day)
        return Response(SnapshotOutputSerializer(snapshots, many=True).data)


urlpatterns = [
    path("today/", TodayApi.as_view(), name="kpi-today"),
    path("snapshots/", SnapshotListApi.as_view(), name="kpi-snapshot-list"),
]
