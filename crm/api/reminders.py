"""/api/crm/reminders/…: care reminders (thin: serializers check shape, services decide).

Reading: the reminders of the branches the user reads (their branch; a regional head's region),
filtered as on the page (status, kind, assignee, due range, overdue). Changing: at the user's
active branch only; done/cancel by the assignee, anyone when unassigned, or the branch head.
"""

from django.contrib.auth import get_user_model
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import BranchReaderPermission, BranchRolePermission
from accounts.api import BoundedLimitOffsetPagination, BranchApi
from accounts.models import Branch
from accounts.timeutil import branch_today

from .. import selectors, services
from ..models import CareReminder, ReminderKind

__all__ = [
    "ReminderCancelApi",
    "ReminderDetailApi",
    "ReminderDoneApi",
    "ReminderListApi",
]

TAG = "crm"


class ReminderOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    branch = serializers.CharField(source="branch.code")
    customer = serializers.IntegerField(source="customer_id")
    customer_name = serializers.CharField(source="customer.name")
    customer_masked_phone = serializers.CharField(source="customer.masked_phone")
    kind = serializers.ChoiceField(choices=ReminderKind.choices)
    title = serializers.CharField()
    due_on = serializers.DateField()
    overdue = serializers.SerializerMethodField()
    assignee = serializers.CharField(source="assignee.username", allow_null=True, default=None)
    status = serializers.ChoiceField(choices=CareReminder.Status.choices)
    created_at = serializers.DateTimeField()
    done_at = serializers.DateTimeField(allow_null=True)
    outcome_note = serializers.CharField()
    source = serializers.CharField(help_text='What made it: "visit:12", "deposit:5:2026-12-01"…')

    class Meta:
        ref_name = "CareReminderOutput"

    def get_overdue(self, reminder: CareReminder) -> bool:
        return reminder.status == CareReminder.Status.OPEN and reminder.due_on < branch_today(
            reminder.branch
        )


class ReminderCreateInputSerializer(serializers.Serializer):
    customer = serializers.IntegerField(min_value=1, max_value=2**31 - 1)
    title = serializers.CharField(max_length=200)
    due_on = serializers.DateField()
    assignee = serializers.IntegerField(
        min_value=1,
        max_value=2**31 - 1,
        required=False,
        allow_null=True,
        help_text="A user of the branch; default: you.",
    )

    class Meta:
        ref_name = "CareReminderCreateInput"


class ReminderCloseInputSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")

    class Meta:
        ref_name = "CareReminderCloseInput"


FILTER_PARAMETERS = [
    OpenApiParameter("status", str, enum=CareReminder.Status.values),
    OpenApiParameter("kind", str, enum=ReminderKind.values),
    OpenApiParameter("assignee", int, description="User id."),
    OpenApiParameter("due_from", str, description="YYYY-MM-DD"),
    OpenApiParameter("due_to", str, description="YYYY-MM-DD"),
    OpenApiParameter("overdue", bool, description="Open and past due (true) or not (false)."),
]


def _readable(request) -> list[Branch]:
    return list(request.readable_branches)


class _ReadingApi(BranchApi):
    """A regional head may read without a branch of their own: times in the active branch's
    zone, else the first readable branch's."""

    def initial(self, request, *args, **kwargs):
        APIView.initial(self, request, *args, **kwargs)
        branch = request.branch
        if branch is None or branch not in getattr(request, "readable_branches", [branch]):
            branch = request.readable_branches[0]
        timezone.activate(branch.tz)


class ReminderListApi(_ReadingApi):
    """GET: reminders of the branches you read. POST: set a reminder for a customer of your
    branch."""

    pagination_class = BoundedLimitOffsetPagination

    def get_permissions(self):
        if self.request.method == "GET":
            return [BranchReaderPermission()]
        return [BranchRolePermission()]

    @extend_schema(
        tags=[TAG], parameters=FILTER_PARAMETERS, responses=ReminderOutputSerializer(many=True)
    )
    def get(self, request):
        branches = _readable(request)
        here = request.branch if request.branch in branches else branches[0]
        filterset = selectors.ReminderFilter(
            request.query_params,
            queryset=selectors.reminders_for_branches(branches=branches),
            branches=branches,
            today=branch_today(here),
        )
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(filterset.qs, request, view=self)
        return paginator.get_paginated_response(ReminderOutputSerializer(page, many=True).data)

    @extend_schema(
        tags=[TAG],
        request=ReminderCreateInputSerializer,
        responses={201: ReminderOutputSerializer},
    )
    def post(self, request):
        data = ReminderCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        customer = selectors.customer_for_branch(branch=request.branch, pk=values["customer"])
        if customer is None:
            raise ValidationError({"customer": ["No customer of this branch has that id."]})
        assignee = request.user
        if values.get("assignee"):
            assignee = get_user_model().objects.filter(pk=values["assignee"]).first()
            if assignee is None:
                raise ValidationError({"assignee": ["No such user."]})
        reminder = services.reminder_create(
            customer=customer,
            branch=request.branch,
            kind=ReminderKind.MANUAL,
            title=values["title"],
            due_on=values["due_on"],
            assignee=assignee,
            created_by=request.user,
        )
        return Response(ReminderOutputSerializer(reminder).data, status=status.HTTP_201_CREATED)


class ReminderDetailApi(_ReadingApi):
    permission_classes = [BranchReaderPermission]

    @extend_schema(tags=[TAG], responses=ReminderOutputSerializer)
    def get(self, request, pk: int):
        reminder = get_object_or_404(
            selectors.reminders_for_branches(branches=_readable(request)), pk=pk
        )
        return Response(ReminderOutputSerializer(reminder).data)


class _ReminderCloseApi(BranchApi):
    close_with = staticmethod(services.reminder_done)

    def close(self, request, pk: int):
        data = ReminderCloseInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        reminder = get_object_or_404(
            selectors.reminders_for_branches(branches=[request.branch]), pk=pk
        )
        if not selectors.reminder_may_close(
            reminder=reminder, user=request.user, roles=request.roles
        ):
            raise PermissionDenied("Not your reminder.")
        reminder = self.close_with(reminder, request.user, data.validated_data["note"])
        return Response(ReminderOutputSerializer(reminder).data)


class ReminderDoneApi(_ReminderCloseApi):
    close_with = staticmethod(services.reminder_done)

    @extend_schema(
        tags=[TAG], request=ReminderCloseInputSerializer, responses=ReminderOutputSerializer
    )
    def post(self, request, pk: int):
        return self.close(request, pk)


class ReminderCancelApi(_ReminderCloseApi):
    close_with = staticmethod(services.reminder_cancel)

    @extend_schema(
        tags=[TAG], request=ReminderCloseInputSerializer, responses=ReminderOutputSerializer
    )
    def post(self, request, pk: int):
        return self.close(request, pk)
