"""REST API of the lobby duty roster: the branch head's shifts; who is on duty now."""

from datetime import timedelta

from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from accounts.access import get_for_branch
from accounts.api import BranchApi
from accounts.models import Role
from accounts.timeutil import branch_today

from .. import selectors, services
from ..models import DutyShift
from ._common import TAG

__all__ = ["DutyNowApi", "DutyShiftDetailApi", "DutyShiftListCreateApi"]

HEAD = (Role.BRANCH_HEAD, Role.ADMIN)
MAX_ID = 2**31 - 1
REFUSED = OpenApiResponse(description="Refused: field errors, or an overlapping shift.")
NOT_FOUND = OpenApiResponse(description="Not a shift of your branch.")


class ShiftSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    date = serializers.DateField()
    starts_at = serializers.TimeField()
    ends_at = serializers.TimeField()
    user = serializers.IntegerField(source="user_id")
    name = serializers.SerializerMethodField()
    note = serializers.CharField()

    class Meta:
        ref_name = "QualityDutyShift"

    def get_name(self, obj) -> str:
        return obj.user.get_full_name() or obj.user.username


class ShiftInputSerializer(serializers.Serializer):
    date = serializers.DateField()
    starts_at = serializers.TimeField()
    ends_at = serializers.TimeField()
    user = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    class Meta:
        ref_name = "QualityDutyShiftInput"


def _save(request, shift=None):
    data = ShiftInputSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    values = data.validated_data
    return services.duty_shift_save(
        user=request.user,
        branch=request.branch,
        day=values["date"],
        starts_at=values["starts_at"],
        ends_at=values["ends_at"],
        person_id=values["user"],
        note=values["note"],
        shift=shift,
    )


class DutyShiftListCreateApi(BranchApi):
    allowed_roles = HEAD

    @extend_schema(tags=[TAG], responses=ShiftSerializer(many=True))
    def get(self, request):
        start = branch_today(request.branch) - timedelta(days=1)
        rows = selectors.duty_shifts(branch=request.branch, start=start, days=31)
        return Response(ShiftSerializer(rows, many=True).data)

    @extend_schema(
        tags=[TAG], request=ShiftInputSerializer, responses={201: ShiftSerializer, 400: REFUSED}
    )
    def post(self, request):
        shift = _save(request)
        return Response(ShiftSerializer(shift).data, status=status.HTTP_201_CREATED)


class DutyShiftDetailApi(BranchApi):
    allowed_roles = HEAD

    @extend_schema(
        tags=[TAG],
        request=ShiftInputSerializer,
        responses={200: ShiftSerializer, 400: REFUSED, 404: NOT_FOUND},
    )
    def put(self, request, pk: int):
        shift = get_for_branch(DutyShift.objects.all(), request.branch, pk=pk)
        return Response(ShiftSerializer(_save(request, shift)).data)

    @extend_schema(tags=[TAG], responses={204: None, 404: NOT_FOUND})
    def delete(self, request, pk: int):
        shift = get_for_branch(DutyShift.objects.all(), request.branch, pk=pk)
        services.duty_shift_delete(user=request.user, shift=shift)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DutyNowApi(BranchApi):
    @extend_schema(
        tags=[TAG],
        responses={200: ShiftSerializer, 204: OpenApiResponse(description="Nobody on duty.")},
    )
    def get(self, request):
        shift = selectors.duty_now(branch=request.branch)
        if shift is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(ShiftSerializer(shift).data)


urlpatterns = [
    path("duty/shifts/", DutyShiftListCreateApi.as_view(), name="quality-duty-shift-list"),
    path("duty/shifts/<int:pk>/", DutyShiftDetailApi.as_view(), name="quality-duty-shift-detail"),
    path("duty/now/", DutyNowApi.as_view(), name="quality-duty-now"),
]
