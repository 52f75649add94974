"""GET/POST /api/reception/errors/: the errors (差错) recorded at the counters (thin: the
FilterSet and selectors read, reception.services.service_error_record decides)."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from accounts.api import BoundedLimitOffsetPagination, BranchApi
from accounts.models import Role
from accounts.selectors import user_has_role
from queueing.services import COUNTER_ROLES

from .. import selectors, services
from ..models import ServiceError

__all__ = ["ServiceErrorListApi"]

TAG = "reception"


class ServiceErrorOutputSerializer(serializers.ModelSerializer):
    ticket = serializers.CharField(source="ticket.code")
    ticket_id = serializers.IntegerField()
    visit_id = serializers.IntegerField(allow_null=True)
    service = serializers.CharField(source="service.code")
    teller = serializers.CharField(source="teller.username")
    category = serializers.CharField(source="category.code")
    recorded_by = serializers.CharField(
        source="recorded_by.username", allow_null=True, default=None
    )

    class Meta:
        model = ServiceError
        ref_name = "ServiceError"
        fields = [
            "id",
            "ticket",
            "ticket_id",
            "visit_id",
            "service",
            "teller",
            "category",
            "severity",
            "note",
            "recorded_at",
            "recorded_by",
        ]


class ServiceErrorInputSerializer(serializers.Serializer):
    ticket = serializers.IntegerField(
        min_value=1,
        max_value=2**31 - 1,
        help_text="The ticket id: at the counter now, or finished today.",
    )
    category = serializers.SlugField(max_length=30, help_text="An error category's code.")
    severity = serializers.ChoiceField(choices=ServiceError.Severity.choices)
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")

    class Meta:
        ref_name = "ServiceErrorInput"


FILTER_PARAMETERS = [
    OpenApiParameter("date_from", str, description="From this day (YYYY-MM-DD, branch's zone)."),
    OpenApiParameter("date_to", str, description="To this day, included."),
    OpenApiParameter("teller", int, description="A teller's user id."),
    OpenApiParameter("service", int, description="A service's id."),
    OpenApiParameter("category", int, description="An error category's id."),
    OpenApiParameter("severity", str, enum=ServiceError.Severity.values),
]


class ServiceErrorListApi(BranchApi):
    """GET lists the branch's errors, newest first, filtered like the Errors page (a teller
    sees their own); POST records one on a ticket (the teller seated at its counter, or after
    the finish, the same day, the teller who served it or the branch head)."""

    allowed_roles = COUNTER_ROLES
    pagination_class = BoundedLimitOffsetPagination

    @extend_schema(
        tags=[TAG],
        parameters=FILTER_PARAMETERS,
        responses=ServiceErrorOutputSerializer(many=True),
    )
    def get(self, request):
        errors = selectors.service_errors(branch=request.branch)
        if not user_has_role(user=request.user, branch=request.branch, roles=[Role.BRANCH_HEAD]):
            errors = errors.filter(teller=request.user)
        filterset = selectors.ServiceErrorFilter(
            request.query_params, queryset=errors, branch=request.branch
        )
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        rows = filterset.qs.order_by("-recorded_at", "-pk")
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(ServiceErrorOutputSerializer(page, many=True).data)

    @extend_schema(
        tags=[TAG],
        request=ServiceErrorInputSerializer,
        responses={201: ServiceErrorOutputSerializer},
    )
    def post(self, request):
        data = ServiceErrorInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        category = (
            selectors.error_categories(branch=request.branch)
            .filter(code=data.validated_data["category"])
            .first()
        )
        if category is None:
            raise ValidationError({"category": [_("No such error category at this branch.")]})
        error = services.service_error_record(
            ticket=data.validated_data["ticket"],
            by=request.user,
            branch=request.branch,
            category=category,
            severity=data.validated_data["severity"],
            note=data.validated_data["note"],
        )
        error = selectors.service_errors(branch=request.branch).get(pk=error.pk)
        return Response(ServiceErrorOutputSerializer(error).data, status=status.HTTP_201_CREATED)
