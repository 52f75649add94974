"""REST API of the lobby overview and its alerts (thin: selectors read, services decide)."""

from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from accounts.api import BoundedLimitOffsetPagination, BranchApi
from accounts.models import Role

from .. import selectors, services
from ..models import LobbyAlert

__all__ = ["LobbyAlertAcknowledgeApi", "LobbyAlertListApi", "LobbyOverviewApi"]

TAG = "reception"
OVERVIEW_ROLES = (Role.LOBBY_MANAGER, Role.BRANCH_HEAD, Role.ADMIN)


class LobbyAlertOutputSerializer(serializers.ModelSerializer):
    service = serializers.CharField(source="service.code")
    acknowledged_by = serializers.CharField(
        source="acknowledged_by.username", allow_null=True, default=None
    )
    is_open = serializers.SerializerMethodField()

    class Meta:
        model = LobbyAlert
        ref_name = "LobbyAlert"
        fields = [
            "id",
            "service",
            "kind",
            "suggestion",
            "is_open",
            "raised_at",
            "cleared_at",
            "waiting",
            "longest_wait_seconds",
            "target_wait_seconds",
            "open_counters",
            "acknowledged_by",
            "acknowledged_at",
        ]

    def get_is_open(self, alert: LobbyAlert) -> bool:
        return alert.cleared_at is None


class OverviewCounterSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    teller = serializers.CharField(source="teller.username", allow_null=True, default=None)

    class Meta:
        ref_name = "LobbyOverviewCounter"


class OverviewServiceSerializer(serializers.Serializer):
    service = serializers.CharField(source="service.code")
    name = serializers.CharField(source="service.display_name")
    waiting = serializers.IntegerField()
    longest_wait_seconds = serializers.IntegerField(source="longest_wait_s")
    target_wait_seconds = serializers.IntegerField(source="target_wait_s")
    over_target = serializers.BooleanField()
    open_counters = OverviewCounterSerializer(many=True)
    remote = serializers.IntegerField(help_text="Remote tickets whose customer is not here yet.")
    appointments_due = serializers.IntegerField(
        help_text="Booked appointments starting within the next hour."
    )

    class Meta:
        ref_name = "LobbyOverviewService"


class OverviewAppointmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    service = serializers.CharField(source="service.code")
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    customer_name = serializers.CharField(source="customer.name")
    customer_masked_phone = serializers.CharField(source="customer.masked_phone")

    class Meta:
        ref_name = "LobbyOverviewAppointment"


class LobbyOverviewOutputSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    services = OverviewServiceSerializer(many=True)
    appointments = OverviewAppointmentSerializer(many=True)
    alerts = LobbyAlertOutputSerializer(many=True)

    class Meta:
        ref_name = "LobbyOverview"


class LobbyOverviewApi(BranchApi):
    """GET /api/reception/overview/: the lobby overview now (the open alerts refreshed first,
    as on the page)."""

    allowed_roles = OVERVIEW_ROLES

    @extend_schema(tags=[TAG], responses=LobbyOverviewOutputSerializer)
    def get(self, request):
        now = timezone.now()
        overview = selectors.lobby_overview(branch=request.branch, now=now)
        alerts = services.lobby_alerts_refresh(
            branch=request.branch, now=now, loads=overview["loads"]
        )
        body = {
            "at": now,
            "services": overview["services"],
            "appointments": overview["appointments"],
            "alerts": alerts,
        }
        return Response(LobbyOverviewOutputSerializer(body).data)


class LobbyAlertListApi(BranchApi):
    """GET /api/reception/alerts/: the branch's alerts, newest first; ?open=true for the
    running ones only."""

    allowed_roles = OVERVIEW_ROLES
    pagination_class = BoundedLimitOffsetPagination

    @extend_schema(
        tags=[TAG],
        parameters=[OpenApiParameter("open", bool, description="Only the alerts still running.")],
        responses=LobbyAlertOutputSerializer(many=True),
    )
    def get(self, request):
        alerts = selectors.lobby_alerts_for_branch(branch=request.branch).order_by(
            "-raised_at", "-pk"
        )
        if request.query_params.get("open", "").lower() in ("1", "true", "yes"):
            alerts = alerts.filter(cleared_at__isnull=True)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(alerts, request, view=self)
        return paginator.get_paginated_response(LobbyAlertOutputSerializer(page, many=True).data)


class LobbyAlertAcknowledgeApi(BranchApi):
    """POST /api/reception/alerts/<id>/acknowledge/: record who saw the alert, and when."""

    allowed_roles = OVERVIEW_ROLES

    @extend_schema(tags=[TAG], request=None, responses=LobbyAlertOutputSerializer)
    def post(self, request, pk: int):
        try:
            alert = services.lobby_alert_acknowledge(
                alert_id=pk, branch=request.branch, by=request.user
            )
        except services.LobbyAlertError as exc:
            raise Http404 from exc
        return Response(LobbyAlertOutputSerializer(alert).data)
