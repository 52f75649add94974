"""REST API of inspections: checklists (read), inspections (start, answer, photo, submit),
coverage."""

from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from accounts.api import BoundedLimitOffsetPagination
from accounts.models import Branch

from .. import selectors, services
from ..models import Checklist, Inspection
from ..services.inspections import OUTCOMES
from ._common import TAG, QualityApi

__all__ = [
    "ChecklistListApi",
    "CoverageApi",
    "InspectionAnswerApi",
    "InspectionDetailApi",
    "InspectionListCreateApi",
    "InspectionPhotoApi",
    "InspectionSubmitApi",
]

MAX_ID = 2**31 - 1
NOT_FOUND = OpenApiResponse(description="Not found, or not a branch you may read.")
REFUSED = OpenApiResponse(description="Refused: field errors, or the service's reason.")


class ChecklistItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    key = serializers.CharField()
    category = serializers.CharField()
    text_zh = serializers.CharField()
    text_en = serializers.CharField()
    weight = serializers.IntegerField()
    evidence_required = serializers.BooleanField()
    clause_ref = serializers.CharField()

    class Meta:
        ref_name = "QualityChecklistItem"


class ChecklistSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    kind = serializers.CharField()
    name_zh = serializers.CharField()
    name_en = serializers.CharField()
    items = serializers.SerializerMethodField()

    class Meta:
        ref_name = "QualityChecklist"

    def get_items(self, obj) -> list[dict]:
        active = [item for item in obj.items.all() if item.is_active]
        return ChecklistItemSerializer(active, many=True).data


class ResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    item = serializers.IntegerField(source="item_id")
    text = serializers.CharField()
    category = serializers.CharField()
    weight = serializers.IntegerField()
    answered = serializers.BooleanField()
    passed = serializers.BooleanField(allow_null=True)
    note = serializers.CharField()

    class Meta:
        ref_name = "QualityInspectionResult"


class InspectionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    branch = serializers.IntegerField(source="branch_id")
    checklist = serializers.IntegerField(source="checklist_id")
    kind = serializers.CharField()
    status = serializers.CharField()
    inspector = serializers.IntegerField(source="inspector_id")
    visited_on = serializers.DateField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    score = serializers.FloatField(allow_null=True)
    category_scores = serializers.DictField(child=serializers.FloatField())

    class Meta:
        ref_name = "QualityInspection"


class InspectionDetailSerializer(InspectionSerializer):
    results = ResultSerializer(many=True)

    class Meta:
        ref_name = "QualityInspectionDetail"


class ChecklistListApi(QualityApi):
    @extend_schema(tags=[TAG], responses=ChecklistSerializer(many=True))
    def get(self, request):
        rows = selectors.checklists_in_use().prefetch_related("items")
        return Response(ChecklistSerializer(rows, many=True).data)


def _inspection(request, pk: int) -> Inspection:
    inspection = get_object_or_404(Inspection, pk=pk)
    if inspection.branch_id not in {b.pk for b in request.quality_branches}:
        raise Http404
    return inspection


class InspectionListCreateApi(QualityApi):
    pagination_class = BoundedLimitOffsetPagination

    class InputSerializer(serializers.Serializer):
        branch = serializers.IntegerField(min_value=1, max_value=MAX_ID)
        checklist = serializers.IntegerField(min_value=1, max_value=MAX_ID)
        visited_on = serializers.DateField(required=False)

        class Meta:
            ref_name = "QualityInspectionStart"

    @extend_schema(tags=[TAG], responses=InspectionSerializer(many=True))
    def get(self, request):
        rows = selectors.inspections_of(branches=request.quality_branches)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(InspectionSerializer(page, many=True).data)

    @extend_schema(
        tags=[TAG],
        request=InputSerializer,
        responses={201: InspectionDetailSerializer, 400: REFUSED, 404: NOT_FOUND},
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        branch = get_object_or_404(Branch, pk=data.validated_data["branch"])
        checklist = get_object_or_404(Checklist, pk=data.validated_data["checklist"])
        visited_on = data.validated_data.get("visited_on")
        if visited_on and abs((visited_on - timezone.localdate()).days) > 366:
            raise serializers.ValidationError({"visited_on": ["Within a year of today."]})
        inspection = services.inspection_start(
            user=request.user, branch=branch, checklist=checklist, visited_on=visited_on
        )
        return Response(InspectionDetailSerializer(inspection).data, status=status.HTTP_201_CREATED)


class InspectionDetailApi(QualityApi):
    @extend_schema(tags=[TAG], responses={200: InspectionDetailSerializer, 404: NOT_FOUND})
    def get(self, request, pk: int):
        return Response(InspectionDetailSerializer(_inspection(request, pk)).data)


class InspectionAnswerApi(QualityApi):
    class InputSerializer(serializers.Serializer):
        result = serializers.IntegerField(min_value=1, max_value=MAX_ID)
        answer = serializers.ChoiceField(
            choices=OUTCOMES, help_text="pass, fail or na (not applicable)"
        )
        note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")

        class Meta:
            ref_name = "QualityInspectionAnswer"

    @extend_schema(
        tags=[TAG],
        request=InputSerializer,
        responses={200: ResultSerializer, 400: REFUSED, 404: NOT_FOUND},
    )
    def post(self, request, pk: int):
        inspection = _inspection(request, pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.inspection_answer(
            inspection=inspection,
            user=request.user,
            result_id=data.validated_data["result"],
            outcome=data.validated_data["answer"],
            note=data.validated_data["note"],
        )
        return Response(ResultSerializer(result).data)


class InspectionPhotoApi(QualityApi):
    parser_classes = [MultiPartParser]

    class InputSerializer(serializers.Serializer):
        result = serializers.IntegerField(min_value=1, max_value=MAX_ID)
        file = serializers.FileField()

        class Meta:
            ref_name = "QualityInspectionPhoto"

    @extend_schema(
        tags=[TAG],
        request={"multipart/form-data": InputSerializer},
        responses={
            201: inline_serializer(
                "QualityAttachment",
                {"id": serializers.IntegerField(), "content_type": serializers.CharField()},
            ),
            400: REFUSED,
            404: NOT_FOUND,
        },
    )
    def post(self, request, pk: int):
        inspection = _inspection(request, pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        attachment = services.inspection_photo_add(
            inspection=inspection,
            user=request.user,
            result_id=data.validated_data["result"],
            upload=data.validated_data["file"],
        )
        return Response(
            {"id": attachment.pk, "content_type": attachment.content_type},
            status=status.HTTP_201_CREATED,
        )


class InspectionSubmitApi(QualityApi):
    class InputSerializer(serializers.Serializer):
        notes = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")

        class Meta:
            ref_name = "QualityInspectionSubmit"

    @extend_schema(
        tags=[TAG],
        request=InputSerializer,
        responses={200: InspectionDetailSerializer, 400: REFUSED, 404: NOT_FOUND},
    )
    def post(self, request, pk: int):
        inspection = _inspection(request, pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            inspection = services.inspection_submit(
                inspection=inspection, user=request.user, notes=data.validated_data["notes"]
            )
        except services.InspectionIncomplete as exc:
            return Response(
                {
                    "detail": str(exc.message),
                    "code": exc.code,
                    "results": {str(k): [v] for k, v in exc.item_errors.items()},
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response(InspectionDetailSerializer(inspection).data)


class CoverageRowSerializer(serializers.Serializer):
    branch = serializers.IntegerField(source="branch.pk")
    branch_code = serializers.CharField(source="branch.code")
    checklist = serializers.IntegerField(source="schedule.checklist_id")
    frequency = serializers.CharField(source="schedule.frequency")
    last_visit = serializers.DateField(allow_null=True)
    due_by = serializers.DateField()
    overdue = serializers.BooleanField()
    covered_this_quarter = serializers.BooleanField()

    class Meta:
        ref_name = "QualityCoverageRow"


class CoverageApi(QualityApi):
    @extend_schema(
        tags=[TAG],
        responses=inline_serializer(
            "QualityCoverage",
            {
                "branches": serializers.IntegerField(),
                "covered": serializers.IntegerField(),
                "percent": serializers.FloatField(allow_null=True),
                "overdue": serializers.IntegerField(),
                "rows": CoverageRowSerializer(many=True),
            },
        ),
    )
    def get(self, request):
        rows = selectors.coverage_rows(
            branches=request.quality_branches, today=timezone.localdate()
        )
        return Response(
            {
                **selectors.coverage_summary(rows),
                "rows": CoverageRowSerializer(rows, many=True).data,
            }
        )


urlpatterns = [
    path("checklists/", ChecklistListApi.as_view(), name="quality-checklist-list"),
    path("inspections/", InspectionListCreateApi.as_view(), name="quality-inspection-list"),
    path("inspections/<int:pk>/", InspectionDetailApi.as_view(), name="quality-inspection-detail"),
    path(
        "inspections/<int:pk>/results/",
        InspectionAnswerApi.as_view(),
        name="quality-inspection-answer",
    ),
    path(
        "inspections/<int:pk>/photos/",
        InspectionPhotoApi.as_view(),
        name="quality-inspection-photo",
    ),
    path(
        "inspections/<int:pk>/submit/",
        InspectionSubmitApi.as_view(),
        name="quality-inspection-submit",
    ),
    path("coverage/", CoverageApi.as_view(), name="quality-coverage"),
]
