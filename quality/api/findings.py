"""REST API of findings: list, assign, record the fix with evidence, close."""

from django.db.models import Q
from django.http import Http404
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from accounts.api import BoundedLimitOffsetPagination

from .. import services
from ..models import Finding
from ._common import TAG, QualityApi

__all__ = ["FindingAssignApi", "FindingCloseApi", "FindingFixApi", "FindingListApi"]

MAX_ID = 2**31 - 1
NOT_FOUND = OpenApiResponse(description="Not found, or not a finding you may read.")
REFUSED = OpenApiResponse(description="Refused: field errors, or the service's reason.")


class FindingSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    branch = serializers.IntegerField(source="branch_id")
    inspection = serializers.IntegerField(source="inspection_id")
    item = serializers.IntegerField(source="item_id")
    item_text = serializers.CharField(source="item.text_zh")
    category = serializers.CharField()
    status = serializers.CharField()
    owner = serializers.IntegerField(source="owner_id", allow_null=True)
    due_on = serializers.DateField()
    created_at = serializers.DateTimeField()
    fixed_at = serializers.DateTimeField(allow_null=True)
    fix_note = serializers.CharField()
    closed_at = serializers.DateTimeField(allow_null=True)
    recheck_inspection = serializers.IntegerField(source="recheck_inspection_id", allow_null=True)
    recheck_passed = serializers.BooleanField(allow_null=True)
    escalation_level = serializers.IntegerField()

    class Meta:
        ref_name = "QualityFinding"


def _readable(request):
    """Findings of the branches the user reads, and those they own."""
    return Finding.objects.filter(
        Q(branch__in=request.quality_branches) | Q(owner=request.user)
    ).select_related("item")


def _finding(request, pk: int) -> Finding:
    finding = _readable(request).filter(pk=pk).first()
    if finding is None:
        raise Http404
    return finding


class FindingListApi(QualityApi):
    allow_staff = True
    pagination_class = BoundedLimitOffsetPagination

    class FilterSerializer(serializers.Serializer):
        mine = serializers.BooleanField(required=False, default=False)
        open_only = serializers.BooleanField(required=False, default=False)

        class Meta:
            ref_name = "QualityFindingFilter"

    @extend_schema(
        tags=[TAG], parameters=[FilterSerializer], responses=FindingSerializer(many=True)
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        rows = _readable(request)
        if filters.validated_data["mine"]:
            rows = rows.filter(owner=request.user)
        if filters.validated_data["open_only"]:
            rows = rows.exclude(status=Finding.Status.CLOSED)
        rows = rows.order_by("due_on", "pk")
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(FindingSerializer(page, many=True).data)


class FindingAssignApi(QualityApi):
    class InputSerializer(serializers.Serializer):
        owner = serializers.IntegerField(min_value=1, max_value=MAX_ID)

        class Meta:
            ref_name = "QualityFindingAssign"

    @extend_schema(
        tags=[TAG],
        request=InputSerializer,
        responses={200: FindingSerializer, 400: REFUSED, 404: NOT_FOUND},
    )
    def post(self, request, pk: int):
        finding = _finding(request, pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        finding = services.finding_assign(
            finding=finding, user=request.user, owner_id=data.validated_data["owner"]
        )
        return Response(FindingSerializer(finding).data)


class FindingFixApi(QualityApi):
    allow_staff = True
    parser_classes = [MultiPartParser]

    class InputSerializer(serializers.Serializer):
        note = serializers.CharField(max_length=2000)
        evidence = serializers.FileField(required=False)

        class Meta:
            ref_name = "QualityFindingFix"

    @extend_schema(
        tags=[TAG],
        request={"multipart/form-data": InputSerializer},
        responses={200: FindingSerializer, 400: REFUSED, 404: NOT_FOUND},
    )
    def post(self, request, pk: int):
        finding = _finding(request, pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        finding = services.finding_fix(
            finding=finding,
            user=request.user,
            note=data.validated_data["note"],
            upload=data.validated_data.get("evidence"),
        )
        return Response(FindingSerializer(finding).data)


class FindingCloseApi(QualityApi):
    class InputSerializer(serializers.Serializer):
        note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")

        class Meta:
            ref_name = "QualityFindingClose"

    @extend_schema(
        tags=[TAG],
        request=InputSerializer,
        responses={200: FindingSerializer, 400: REFUSED, 404: NOT_FOUND},
    )
    def post(self, request, pk: int):
        finding = _finding(request, pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        finding = services.finding_close(
            finding=finding, user=request.user, note=data.validated_data["note"]
        )
        return Response(FindingSerializer(finding).data)


urlpatterns = [
    path("findings/", FindingListApi.as_view(), name="quality-finding-list"),
    path("findings/<int:pk>/assign/", FindingAssignApi.as_view(), name="quality-finding-assign"),
    path("findings/<int:pk>/fix/", FindingFixApi.as_view(), name="quality-finding-fix"),
    path("findings/<int:pk>/close/", FindingCloseApi.as_view(), name="quality-finding-close"),
]
