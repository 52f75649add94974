"""REST API of feedback (thin: serializers validate shape; services decide).

Staff endpoints are for the branch head; the public one takes a customer's answer, authorised
only by the signed one-time token in their SMS link.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from accounts.api import BoundedLimitOffsetPagination, BranchApi
from accounts.models import Role

from .. import selectors, services
from ..models import SurveyInvitation, SurveyResponse
from ..serializers import InvitationOutputSerializer, ResponseOutputSerializer

TAG = "feedback"


class BranchHeadApi(BranchApi):
    allowed_roles = (Role.BRANCH_HEAD, Role.ADMIN)


class InvitationListApi(BranchHeadApi):
    pagination_class = BoundedLimitOffsetPagination

    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=SurveyInvitation.Status.choices, required=False)

        class Meta:
            ref_name = "InvitationListFilter"

    @extend_schema(
        tags=[TAG], parameters=[FilterSerializer], responses=InvitationOutputSerializer(many=True)
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        invitations = selectors.invitations_for_branch(branch=request.branch).order_by(
            "-created_at", "-pk"
        )
        if "status" in filters.validated_data:
            invitations = invitations.filter(status=filters.validated_data["status"])
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(invitations, request, view=self)
        return paginator.get_paginated_response(InvitationOutputSerializer(page, many=True).data)


class ResponseListApi(BranchHeadApi):
    pagination_class = BoundedLimitOffsetPagination

    class FilterSerializer(serializers.Serializer):
        """Issue 8 (H12): by channel, service, dates (the branch's days), low scores only."""

        channel = serializers.ChoiceField(choices=SurveyResponse.Channel.choices, required=False)
        service_code = serializers.CharField(max_length=30, required=False)
        start = serializers.DateField(required=False)
        end = serializers.DateField(required=False)
        followed_up = serializers.BooleanField(required=False, allow_null=True, default=None)

        class Meta:
            ref_name = "ResponseListFilter"

    @extend_schema(
        tags=[TAG], parameters=[FilterSerializer], responses=ResponseOutputSerializer(many=True)
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        responses = selectors.responses_filtered(
            branch=request.branch, **filters.validated_data
        ).order_by("-submitted_at", "-pk")
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(responses, request, view=self)
        return paginator.get_paginated_response(ResponseOutputSerializer(page, many=True).data)


class PublicResponseCreateApi(APIView):
    """A customer's answer to their survey link. No login: the signed token names the one
    invitation it may answer, and it works once."""

    authentication_classes: list = []  # no session, so no CSRF: the token is the authority
    permission_classes = [AllowAny]
    # Public: limit guessing and floods per client address (rate in settings).
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "survey"

    class InputSerializer(serializers.Serializer):
        token = serializers.CharField(max_length=500)
        satisfaction = serializers.IntegerField(min_value=1, max_value=5)
        recommend = serializers.IntegerField(
            min_value=0, max_value=10, required=False, allow_null=True
        )
        comment = serializers.CharField(
            max_length=1000, required=False, allow_blank=True, default=""
        )

        class Meta:
            ref_name = "PublicSurveyResponseInput"

    class OutputSerializer(serializers.Serializer):
        satisfaction = serializers.IntegerField()
        recommend = serializers.IntegerField(allow_null=True)
        comment = serializers.CharField()
        submitted_at = serializers.DateTimeField()

        class Meta:
            ref_name = "PublicSurveyResponse"

    @extend_schema(tags=[TAG], auth=[], request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        response = services.response_submit(
            token=data.validated_data["token"],
            satisfaction=data.validated_data["satisfaction"],
            recommend=data.validated_data.get("recommend"),
            comment=data.validated_data["comment"],
        )
        return Response(self.OutputSerializer(response).data, status=status.HTTP_201_CREATED)
