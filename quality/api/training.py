"""REST API of training: the branch head's sessions and attendance; participation."""

from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from accounts.access import get_for_branch
from accounts.api import BoundedLimitOffsetPagination, BranchApi
from accounts.models import Role

from .. import scoring, selectors, services
from ..models import ServiceStandard, TrainingSession
from ._common import TAG, QualityApi

__all__ = ["TrainingAttendanceApi", "TrainingParticipationApi", "TrainingSessionListCreateApi"]

HEAD = (Role.BRANCH_HEAD, Role.ADMIN)
MAX_ID = 2**31 - 1
REFUSED = OpenApiResponse(description="Refused: field errors, or the service's reason.")
NOT_FOUND = OpenApiResponse(description="Not a session of your branch.")


class SessionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    topic = serializers.CharField()
    trainer = serializers.CharField()
    standard = serializers.IntegerField(source="standard_id", allow_null=True)
    starts_at = serializers.DateTimeField()
    duration_minutes = serializers.IntegerField()
    expected = serializers.IntegerField()
    came = serializers.IntegerField()

    class Meta:
        ref_name = "QualityTrainingSession"


class TrainingSessionListCreateApi(BranchApi):
    allowed_roles = HEAD
    pagination_class = BoundedLimitOffsetPagination

    class InputSerializer(serializers.Serializer):
        title = serializers.CharField(max_length=200)
        topic = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
        trainer = serializers.CharField(
            max_length=100, required=False, allow_blank=True, default=""
        )
        standard = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
        starts_at = serializers.DateTimeField()
        duration_minutes = serializers.IntegerField(min_value=5, max_value=600, default=60)
        attendees = serializers.ListField(
            child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
            required=False,
            max_length=500,
        )

        class Meta:
            ref_name = "QualityTrainingSessionInput"

    @extend_schema(tags=[TAG], responses=SessionSerializer(many=True))
    def get(self, request):
        rows = selectors.training_sessions_of(branch=request.branch)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(SessionSerializer(page, many=True).data)

    @extend_schema(
        tags=[TAG], request=InputSerializer, responses={201: SessionSerializer, 400: REFUSED}
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        standard = None
        if "standard" in values:
            standard = ServiceStandard.objects.filter(pk=values["standard"]).first()
            if standard is None:
                raise serializers.ValidationError({"standard": ["No such standard."]})
        session = services.training_session_create(
            user=request.user,
            branch=request.branch,
            title=values["title"],
            topic=values["topic"],
            trainer=values["trainer"],
            standard=standard,
            starts_at=values["starts_at"],
            duration_minutes=values["duration_minutes"],
            attendee_ids=values.get("attendees"),
        )
        row = selectors.training_sessions_of(branch=request.branch).get(pk=session.pk)
        return Response(SessionSerializer(row).data, status=status.HTTP_201_CREATED)


class TrainingAttendanceApi(BranchApi):
    allowed_roles = HEAD

    class InputSerializer(serializers.Serializer):
        attended = serializers.ListField(
            child=serializers.IntegerField(min_value=1, max_value=MAX_ID), max_length=500
        )

        class Meta:
            ref_name = "QualityTrainingAttendanceInput"

    @extend_schema(
        tags=[TAG],
        request=InputSerializer,
        responses={200: SessionSerializer, 400: REFUSED, 404: NOT_FOUND},
    )
    def post(self, request, pk: int):
        session = get_for_branch(TrainingSession.objects.all(), request.branch, pk=pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.training_attendance_mark(
            session=session, user=request.user, attended_ids=data.validated_data["attended"]
        )
        row = selectors.training_sessions_of(branch=request.branch).get(pk=session.pk)
        return Response(SessionSerializer(row).data)


class ParticipationSerializer(serializers.Serializer):
    branch = serializers.IntegerField(source="branch.pk")
    branch_code = serializers.CharField(source="branch.code")
    sessions = serializers.IntegerField()
    expected = serializers.IntegerField()
    came = serializers.IntegerField()
    rate = serializers.FloatField(allow_null=True)

    class Meta:
        ref_name = "QualityTrainingParticipation"


class TrainingParticipationApi(QualityApi):
    class FilterSerializer(serializers.Serializer):
        year = serializers.IntegerField(min_value=2000, max_value=2100, required=False)
        quarter = serializers.IntegerField(min_value=1, max_value=4, required=False)

        class Meta:
            ref_name = "QualityParticipationFilter"

    @extend_schema(
        tags=[TAG], parameters=[FilterSerializer], responses=ParticipationSerializer(many=True)
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        year, quarter = scoring.quarter_of(timezone.localdate())
        rows = selectors.participation_by_branch(
            branches=request.quality_branches,
            year=filters.validated_data.get("year", year),
            quarter=filters.validated_data.get("quarter", quarter),
        )
        return Response(ParticipationSerializer(rows, many=True).data)


urlpatterns = [
    path(
        "training/sessions/",
        TrainingSessionListCreateApi.as_view(),
        name="quality-training-session-list",
    ),
    path(
        "training/sessions/<int:pk>/attendance/",
        TrainingAttendanceApi.as_view(),
        name="quality-training-attendance",
    ),
    path(
        "training/participation/",
        TrainingParticipationApi.as_view(),
        name="quality-training-participation",
    ),
]
