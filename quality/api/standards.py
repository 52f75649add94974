"""/api/quality/standards/…: the standards with their effective version and clauses, and "I
have read this" (any staff of the branch)."""

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from accounts.api import BranchApi
from accounts.timeutil import branch_today

from .. import selectors, services

TAG = "quality"

__all__ = ["StandardAcknowledgeApi", "StandardDetailApi", "StandardListApi"]


class ClauseSerializer(serializers.Serializer):
    number = serializers.CharField()
    text = serializers.SerializerMethodField()

    class Meta:
        ref_name = "StandardClause"

    def get_text(self, clause) -> str:
        return selectors.clause_text(clause)


class VersionSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    status = serializers.CharField()
    effective_from = serializers.DateField()
    summary = serializers.CharField()

    class Meta:
        ref_name = "StandardVersion"


class StandardRowSerializer(serializers.Serializer):
    code = serializers.CharField(source="standard.code")
    title = serializers.CharField()
    effective = VersionSerializer(allow_null=True)
    upcoming = VersionSerializer(allow_null=True)
    read = serializers.BooleanField(help_text="Has the caller acknowledged the effective version?")

    class Meta:
        ref_name = "StandardRow"


class StandardDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    title = serializers.CharField()
    version = VersionSerializer()
    clauses = ClauseSerializer(many=True)
    read = serializers.BooleanField()

    class Meta:
        ref_name = "StandardDetail"


class AcknowledgementSerializer(serializers.Serializer):
    code = serializers.CharField()
    version = serializers.IntegerField()
    acknowledged_at = serializers.DateTimeField()

    class Meta:
        ref_name = "StandardAcknowledgement"


class StandardListApi(BranchApi):
    @extend_schema(tags=[TAG], responses=StandardRowSerializer(many=True))
    def get(self, request):
        rows = selectors.standards_overview(today=branch_today(request.branch), user=request.user)
        return Response(StandardRowSerializer(rows, many=True).data)


def _effective(request, code: str):
    standard = selectors.standard_by_code(code)
    if standard is None or not standard.is_active:
        raise NotFound()
    version = selectors.standard_effective_version(standard, branch_today(request.branch))
    if version is None:
        raise NotFound()
    return standard, version


class StandardDetailApi(BranchApi):
    @extend_schema(
        tags=[TAG],
        responses=StandardDetailSerializer,
        description="The standard's effective version (the branch's today) with its clauses.",
    )
    def get(self, request, code: str):
        standard, version = _effective(request, code)
        body = {
            "code": standard.code,
            "title": selectors.standard_title(standard),
            "version": version,
            "clauses": list(version.clauses.order_by("sort_order", "number")),
            "read": selectors.user_has_acknowledged(version, request.user),
        }
        return Response(StandardDetailSerializer(body).data)


class StandardAcknowledgeApi(BranchApi):
    @extend_schema(
        tags=[TAG],
        request=None,
        responses={201: AcknowledgementSerializer},
        description="The caller has read the effective version; a second call answers the first.",
    )
    def post(self, request, code: str):
        standard, version = _effective(request, code)
        ack = services.standard_acknowledge(version, user=request.user, branch=request.branch)
        body = {
            "code": standard.code,
            "version": version.number,
            "acknowledged_at": ack.acknowledged_at,
        }
        return Response(AcknowledgementSerializer(body).data, status=status.HTTP_201_CREATED)


urlpatterns = [
    path("standards/", StandardListApi.as_view(), name="quality-standards"),
    path("standards/<slug:code>/", StandardDetailApi.as_view(), name="quality-standard"),
    path(
        "standards/<slug:code>/acknowledge/",
        StandardAcknowledgeApi.as_view(),
        name="quality-standard-acknowledge",
    ),
]
