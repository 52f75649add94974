"""REST API of the KPIs (thin: serializers validate shape; selectors compute)."""

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from accounts.api import BranchApi
from accounts.models import Role

from .. import selectors
from ..serializers import TodaySummarySerializer

TAG = "kpi"
HEAD_ROLES = (Role.BRANCH_HEAD, Role.ADMIN)


class TodayApi(BranchApi):
    allowed_roles = HEAD_ROLES

    @extend_schema(tags=[TAG], responses=TodaySummarySerializer)
    def get(self, request):
        return Response(TodaySummarySerializer(selectors.today_summary(branch=request.branch)).data)


urlpatterns = [
    path("today/", TodayApi.as_view(), name="kpi-today"),
]
