"""REST API of the closed loop (issue 8): the current survey, rating-pad answers, follow-ups
(list, record the call back, close) and suggestions (list, create by staff, answer)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from accounts.api import BoundedLimitOffsetPagination, BranchApi
from accounts.models import Role
from accounts.timeutil import local_day_bounds

from .. import selectors, services
from ..models import FollowUp, Suggestion, SurveyResponse

__all__ = [
    "FollowUpCallApi",
    "FollowUpCloseApi",
    "FollowUpListApi",
    "PadAnswerListApi",
    "SuggestionAnswerApi",
    "SuggestionListCreateApi",
    "SurveyCurrentApi",
]

TAG = "feedback"
HEAD = (Role.BRANCH_HEAD, Role.ADMIN)
STAFF = (Role.LOBBY_MANAGER, Role.TELLER, Role.BRANCH_HEAD, Role.ADMIN)


class DateRangeSerializer(serializers.Serializer):
    start = serializers.DateField(required=False)
    end = serializers.DateField(required=False)

    class Meta:
        ref_name = "FeedbackDateRange"


def _in_dates(queryset, branch, data: dict, field: str):
    if "start" in data:
        queryset = queryset.filter(**{f"{field}__gte": local_day_bounds(branch, data["start"])[0]})
    if "end" in data:
        queryset = queryset.filter(**{f"{field}__lt": local_day_bounds(branch, data["end"])[1]})
    return queryset


def _filtered_page(view, request, queryset, filters_class, date_field: str, output_serializer):
    """The follow-up and suggestion lists differ only in their rows and serializers: validate the
    date range and optional status, filter, order newest first and paginate."""
    filters = filters_class(data=request.query_params)
    filters.is_valid(raise_exception=True)
    rows = _in_dates(queryset, request.branch, filters.validated_data, date_field)
    if "status" in filters.validated_data:
        rows = rows.filter(status=filters.validated_data["status"])
    rows = rows.order_by(f"-{date_field}", "-pk")
    paginator = view.pagination_class()
    page = paginator.paginate_queryset(rows, request, view=view)
    return paginator.get_paginated_response(output_serializer(page, many=True).data)


class SurveyCurrentApi(BranchApi):
    allowed_roles = HEAD

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        number = serializers.IntegerField()
        questions = serializers.JSONField()
        created_at = serializers.DateTimeField()

        class Meta:
            ref_name = "SurveyVersion"

    @extend_schema(
        tags=[TAG],
        responses={
            200: OutputSerializer,
            404: OpenApiResponse(description="The branch's survey has no questions."),
        },
    )
    def get(self, request):
        # A branch without a survey gets the default one on first use, as the survey page does.
        version = services.survey_current_version(request.branch)
        if version is None:
            return Response({"detail": "No survey published."}, status=status.HTTP_404_NOT_FOUND)
        return Response(self.OutputSerializer(version).data)


class PadAnswerListApi(BranchApi):
    allowed_roles = HEAD
    pagination_class = BoundedLimitOffsetPagination

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        ticket_id = serializers.IntegerField(allow_null=True)
        service_code = serializers.CharField()
        teller = serializers.IntegerField(source="teller_id", allow_null=True)
        pad_rating = serializers.ChoiceField(choices=SurveyResponse.PadRating.choices)
        pad_reason = serializers.CharField()
        submitted_at = serializers.DateTimeField()

        class Meta:
            ref_name = "PadAnswer"

    @extend_schema(
        tags=[TAG], parameters=[DateRangeSerializer], responses=OutputSerializer(many=True)
    )
    def get(self, request):
        dates = DateRangeSerializer(data=request.query_params)
        dates.is_valid(raise_exception=True)
        rows = _in_dates(
            selectors.pad_answers_for_branch(branch=request.branch),
            request.branch,
            dates.validated_data,
            "submitted_at",
        ).order_by("-submitted_at", "-pk")
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(self.OutputSerializer(page, many=True).data)


class FollowUpOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    response = serializers.IntegerField(source="response_id")
    status = serializers.ChoiceField(choices=FollowUp.Status.choices)
    reason = serializers.CharField()
    satisfaction = serializers.IntegerField(source="response.satisfaction", allow_null=True)
    recommend = serializers.IntegerField(source="response.recommend", allow_null=True)
    comment = serializers.CharField(source="response.comment")
    created_at = serializers.DateTimeField()
    called_at = serializers.DateTimeField(allow_null=True)
    result = serializers.CharField()
    closed_at = serializers.DateTimeField(allow_null=True)
    complaint = serializers.IntegerField(source="complaint_id", allow_null=True)

    class Meta:
        ref_name = "FollowUp"


class FollowUpListApi(BranchApi):
    allowed_roles = HEAD
    pagination_class = BoundedLimitOffsetPagination

    class FilterSerializer(DateRangeSerializer):
        status = serializers.ChoiceField(choices=FollowUp.Status.choices, required=False)

        class Meta:
            ref_name = "FollowUpListFilter"

    @extend_schema(
        tags=[TAG], parameters=[FilterSerializer], responses=FollowUpOutputSerializer(many=True)
    )
    def get(self, request):
        return _filtered_page(
            self,
            request,
            selectors.follow_ups_for_branch(branch=request.branch),
            self.FilterSerializer,
            "created_at",
            FollowUpOutputSerializer,
        )


class FollowUpResultSerializer(serializers.Serializer):
    result = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")

    class Meta:
        ref_name = "FollowUpResultInput"


class FollowUpCallApi(BranchApi):
    allowed_roles = HEAD
    service = staticmethod(services.follow_up_record_call)

    @extend_schema(tags=[TAG], request=FollowUpResultSerializer, responses=FollowUpOutputSerializer)
    def post(self, request, pk: int):
        get_object_or_404(FollowUp, pk=pk, branch=request.branch)
        data = FollowUpResultSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        follow_up = self.service(
            follow_up_id=pk,
            branch=request.branch,
            by=request.user,
            result=data.validated_data["result"],
        )
        return Response(FollowUpOutputSerializer(follow_up).data)


class FollowUpCloseApi(FollowUpCallApi):
    service = staticmethod(services.follow_up_close)


class SuggestionOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    source = serializers.ChoiceField(choices=Suggestion.Source.choices)
    text = serializers.CharField()
    has_contact = serializers.SerializerMethodField()
    submitted_at = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=Suggestion.Status.choices)
    answer = serializers.CharField()
    answered_at = serializers.DateTimeField(allow_null=True)
    author_told_at = serializers.DateTimeField(allow_null=True)

    class Meta:
        ref_name = "Suggestion"

    def get_has_contact(self, obj) -> bool:
        return bool(obj.contact_phone)  # the number itself never leaves the server


class SuggestionListCreateApi(BranchApi):
    allowed_roles = STAFF
    pagination_class = BoundedLimitOffsetPagination

    class InputSerializer(serializers.Serializer):
        text = serializers.CharField(max_length=2000)

        class Meta:
            ref_name = "SuggestionInput"

    class FilterSerializer(DateRangeSerializer):
        status = serializers.ChoiceField(choices=Suggestion.Status.choices, required=False)

        class Meta:
            ref_name = "SuggestionListFilter"

    @extend_schema(
        tags=[TAG], parameters=[FilterSerializer], responses=SuggestionOutputSerializer(many=True)
    )
    def get(self, request):
        return _filtered_page(
            self,
            request,
            selectors.suggestions_for_branch(branch=request.branch),
            self.FilterSerializer,
            "submitted_at",
            SuggestionOutputSerializer,
        )

    @extend_schema(tags=[TAG], request=InputSerializer, responses={201: SuggestionOutputSerializer})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        suggestion = services.suggestion_create(
            branch=request.branch, text=data.validated_data["text"], author=request.user
        )
        return Response(SuggestionOutputSerializer(suggestion).data, status=status.HTTP_201_CREATED)


class SuggestionAnswerApi(BranchApi):
    allowed_roles = HEAD

    class InputSerializer(serializers.Serializer):
        status = serializers.ChoiceField(
            choices=[Suggestion.Status.ADOPTED, Suggestion.Status.DECLINED]
        )
        answer = serializers.CharField(max_length=2000)

        class Meta:
            ref_name = "SuggestionAnswerInput"

    @extend_schema(tags=[TAG], request=InputSerializer, responses=SuggestionOutputSerializer)
    def post(self, request, pk: int):
        get_object_or_404(Suggestion, pk=pk, branch=request.branch)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        suggestion = services.suggestion_answer(
            suggestion_id=pk, branch=request.branch, by=request.user, **data.validated_data
        )
        return Response(SuggestionOutputSerializer(suggestion).data)
