"""REST API of the phone call-back survey (branch head and lobby manager)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from accounts.api import BoundedLimitOffsetPagination, BranchApi
from accounts.models import Role

from .. import selectors, services

__all__ = ["PhoneSurveyCandidateListApi", "PhoneSurveyResponseCreateApi"]

TAG = "feedback"


class PhoneSurveyApi(BranchApi):
    allowed_roles = (Role.BRANCH_HEAD, Role.LOBBY_MANAGER)


class PhoneSurveyCandidateListApi(PhoneSurveyApi):
    """Served visits of the last 7 days without a survey answer (phone masked)."""

    pagination_class = BoundedLimitOffsetPagination

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        occurred_at = serializers.DateTimeField()
        service_code = serializers.CharField()
        customer_id = serializers.IntegerField()
        masked_phone = serializers.CharField(source="customer.masked_phone")

        class Meta:
            ref_name = "PhoneSurveyCandidate"

    @extend_schema(tags=[TAG], responses=OutputSerializer(many=True))
    def get(self, request):
        candidates = selectors.phone_survey_candidates(branch=request.branch)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(candidates, request, view=self)
        return paginator.get_paginated_response(self.OutputSerializer(page, many=True).data)


class PhoneSurveyResponseCreateApi(PhoneSurveyApi):
    """Record a call-back's answers to the branch's survey (channel phone, recorded by the
    caller)."""

    class InputSerializer(serializers.Serializer):
        interaction = serializers.IntegerField(min_value=1)
        # question key -> answer, for the branch's current survey version (surveys/current/)
        answers = serializers.DictField(allow_empty=True)

        class Meta:
            ref_name = "PhoneSurveyResponseInput"

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        channel = serializers.CharField()
        satisfaction = serializers.IntegerField(allow_null=True)
        answers = serializers.DictField()
        recommend = serializers.IntegerField(allow_null=True)
        comment = serializers.CharField()
        submitted_at = serializers.DateTimeField()

        class Meta:
            ref_name = "PhoneSurveyResponse"

    @extend_schema(tags=[TAG], request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        response = services.phone_survey_submit(
            branch=request.branch,
            interaction_id=data.validated_data["interaction"],
            recorded_by=request.user,
            raw_answers=data.validated_data["answers"],
        )
        return Response(self.OutputSerializer(response).data, status=status.HTTP_201_CREATED)
