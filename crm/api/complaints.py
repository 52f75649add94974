"""/api/crm/complaints/…: complaints (thin: serializers check shape, services decide).

Reading: the complaints of the branches the user reads (their branch; a regional head's
region), filtered as on the page. Changing: at the user's active branch only; who may take
which step is crm.complaint_flow (refused: 403; wrong moment: 400 with a code, e.g. closing
before the customer was informed: `not_informed`).
"""

from django.contrib.auth import get_user_model
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import BranchReaderPermission, BranchRolePermission
from accounts.api import BoundedLimitOffsetPagination, BranchApi
from accounts.models import Role
from accounts.selectors import roles_at_branch

from .. import complaint_flow as flow
from .. import selectors, services
from ..filters import ComplaintFilter
from ..models import Complaint, Severity

__all__ = [
    "ComplaintAssignApi",
    "ComplaintCloseApi",
    "ComplaintDetailApi",
    "ComplaintInformApi",
    "ComplaintListApi",
    "ComplaintResolveApi",
    "ComplaintStartApi",
]

TAG = "crm"
COMPLAINT_ROLES = (Role.LOBBY_MANAGER, Role.TELLER, Role.BRANCH_HEAD, Role.ADMIN)
MAX_ID = 2**31 - 1


class ComplaintEventOutputSerializer(serializers.Serializer):
    action = serializers.CharField()
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    at = serializers.DateTimeField()
    by = serializers.CharField(source="by.username", allow_null=True, default=None)
    note = serializers.CharField()

    class Meta:
        ref_name = "ComplaintEventOutput"


class ComplaintOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    branch = serializers.CharField(source="branch.code")
    customer = serializers.IntegerField(source="customer_id", allow_null=True)
    customer_name = serializers.CharField(source="customer.name", allow_null=True, default=None)
    customer_masked_phone = serializers.CharField(
        source="customer.masked_phone", allow_null=True, default=None
    )
    channel = serializers.ChoiceField(choices=Complaint.Channel.choices)
    severity = serializers.ChoiceField(choices=Severity.choices)
    subject = serializers.CharField()
    details = serializers.CharField()
    status = serializers.ChoiceField(choices=Complaint.Status.choices)
    source = serializers.CharField(help_text='Where it came from: "survey:12"; empty: staff.')
    logged_by = serializers.CharField(source="logged_by.username", allow_null=True, default=None)
    logged_at = serializers.DateTimeField()
    assignee = serializers.CharField(source="assignee.username", allow_null=True, default=None)
    acknowledge_due_at = serializers.DateTimeField()
    resolve_due_at = serializers.DateTimeField()
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    resolved_at = serializers.DateTimeField(allow_null=True)
    resolution = serializers.CharField()
    informed_at = serializers.DateTimeField(allow_null=True)
    informed_by = serializers.CharField()
    informed_note = serializers.CharField()
    closed_at = serializers.DateTimeField(allow_null=True)
    reminded_at = serializers.DateTimeField(allow_null=True)
    escalated_at = serializers.DateTimeField(allow_null=True)
    escalation_level = serializers.IntegerField(help_text="How many deadlines were missed.")
    overdue = serializers.SerializerMethodField()

    class Meta:
        ref_name = "ComplaintOutput"

    def get_overdue(self, complaint: Complaint) -> bool:
        if complaint.status == Complaint.Status.CLOSED:
            return False
        now = timezone.now()
        return (complaint.acknowledged_at is None and complaint.acknowledge_due_at < now) or (
            complaint.resolved_at is None and complaint.resolve_due_at < now
        )


class ComplaintDetailOutputSerializer(ComplaintOutputSerializer):
    events = ComplaintEventOutputSerializer(many=True, help_text="The trail, oldest first.")
    allowed_actions = serializers.ListField(
        child=serializers.ChoiceField(choices=flow.ACTIONS),
        help_text="The steps you may take now.",
    )

    class Meta:
        ref_name = "ComplaintDetailOutput"


class ComplaintLogInputSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=Complaint.Channel.choices)
    severity = serializers.ChoiceField(choices=Severity.choices)
    subject = serializers.CharField(max_length=200)
    details = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
    customer = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ID,
        required=False,
        allow_null=True,
        help_text="A customer of your branch (optional).",
    )

    class Meta:
        ref_name = "ComplaintLogInput"


class ComplaintAssignInputSerializer(serializers.Serializer):
    assignee = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, help_text="A user of the branch."
    )

    class Meta:
        ref_name = "ComplaintAssignInput"


class ComplaintResolveInputSerializer(serializers.Serializer):
    resolution = serializers.CharField(max_length=4000)

    class Meta:
        ref_name = "ComplaintResolveInput"


class ComplaintInformInputSerializer(serializers.Serializer):
    by_how = serializers.ChoiceField(choices=Complaint.InformedBy.choices)
    note = serializers.CharField(
        max_length=300,
        required=False,
        allow_blank=True,
        default="",
        help_text="What the customer is told (required for a call or in person; for an SMS, "
        "its text: empty sends the resolution).",
    )

    class Meta:
        ref_name = "ComplaintInformInput"


FILTER_PARAMETERS = [
    OpenApiParameter("status", str, enum=Complaint.Status.values),
    OpenApiParameter("severity", str, enum=Severity.values),
    OpenApiParameter("channel", str, enum=Complaint.Channel.values),
    OpenApiParameter("assignee", int, description="User id."),
    OpenApiParameter("overdue", bool, description="Open and past a deadline (true) or not."),
    OpenApiParameter("escalated", bool, description="Escalated at least once (true) or not."),
    OpenApiParameter("logged_from", str, description="YYYY-MM-DD (the branch's date)"),
    OpenApiParameter("logged_to", str, description="YYYY-MM-DD (the branch's date)"),
]


def _detail(request, complaint: Complaint) -> dict:
    """The complaint, its trail and the steps the caller may take now."""
    roles = roles_at_branch(user=request.user, branch=complaint.branch)
    is_assignee = complaint.assignee_id is not None and complaint.assignee_id == request.user.pk
    data = dict(ComplaintOutputSerializer(complaint).data)
    data["events"] = ComplaintEventOutputSerializer(
        selectors.complaint_events(complaint=complaint), many=True
    ).data
    data["allowed_actions"] = [
        action
        for action in flow.allowed_actions(
            status=complaint.status, roles=roles, is_assignee=is_assignee
        )
        if flow.status_allows(action, complaint.status)
    ]
    return data


class _ReadingApi(BranchApi):
    """A regional head may read without a branch of their own: times in the active branch's
    zone, else the first readable branch's."""

    allowed_roles = COMPLAINT_ROLES

    def initial(self, request, *args, **kwargs):
        APIView.initial(self, request, *args, **kwargs)
        branch = request.branch
        readable = getattr(request, "readable_branches", None)
        if branch is None or (readable is not None and branch not in readable):
            branch = readable[0]
        timezone.activate(branch.tz)


class ComplaintListApi(_ReadingApi):
    """GET: complaints of the branches you read. POST: log a complaint at your branch."""

    pagination_class = BoundedLimitOffsetPagination

    def get_permissions(self):
        if self.request.method == "GET":
            return [BranchReaderPermission()]
        return [BranchRolePermission()]

    @extend_schema(
        tags=[TAG], parameters=FILTER_PARAMETERS, responses=ComplaintOutputSerializer(many=True)
    )
    def get(self, request):
        branches = list(request.readable_branches)
        here = request.branch if request.branch in branches else branches[0]
        filterset = ComplaintFilter(
            request.query_params,
            queryset=selectors.complaints_for_branches(branches=branches),
            staff=selectors.branch_staff(branch=here),
        )
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(filterset.qs, request, view=self)
        return paginator.get_paginated_response(ComplaintOutputSerializer(page, many=True).data)

    @extend_schema(
        tags=[TAG],
        request=ComplaintLogInputSerializer,
        responses={201: ComplaintDetailOutputSerializer},
    )
    def post(self, request):
        data = ComplaintLogInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        customer = None
        if values.get("customer"):
            customer = selectors.customer_for_branch(branch=request.branch, pk=values["customer"])
            if customer is None:
                raise ValidationError({"customer": ["No customer of this branch has that id."]})
        values["customer"] = customer
        complaint = services.complaint_log(branch=request.branch, by=request.user, **values)
        return Response(_detail(request, complaint), status=status.HTTP_201_CREATED)


class ComplaintDetailApi(_ReadingApi):
    permission_classes = [BranchReaderPermission]

    @extend_schema(tags=[TAG], responses=ComplaintDetailOutputSerializer)
    def get(self, request, pk: int):
        complaint = get_object_or_404(
            selectors.complaints_for_branches(branches=list(request.readable_branches)), pk=pk
        )
        return Response(_detail(request, complaint))


class _StepApi(BranchApi):
    allowed_roles = COMPLAINT_ROLES

    def complaint(self, request, pk: int) -> Complaint:
        return get_object_or_404(
            selectors.complaints_for_branches(branches=[request.branch]), pk=pk
        )

    def done(self, request, complaint: Complaint) -> Response:
        fresh = selectors.complaint_for_branches(branches=[request.branch], pk=complaint.pk)
        return Response(_detail(request, fresh))


class ComplaintAssignApi(_StepApi):
    @extend_schema(
        tags=[TAG],
        request=ComplaintAssignInputSerializer,
        responses=ComplaintDetailOutputSerializer,
    )
    def post(self, request, pk: int):
        complaint = self.complaint(request, pk)
        data = ComplaintAssignInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        assignee = get_user_model().objects.filter(pk=data.validated_data["assignee"]).first()
        if assignee is None:
            raise ValidationError({"assignee": ["No such user."]})
        services.complaint_assign(complaint=complaint, assignee=assignee, by=request.user)
        return self.done(request, complaint)


class ComplaintStartApi(_StepApi):
    @extend_schema(tags=[TAG], request=None, responses=ComplaintDetailOutputSerializer)
    def post(self, request, pk: int):
        complaint = self.complaint(request, pk)
        services.complaint_start(complaint=complaint, by=request.user)
        return self.done(request, complaint)


class ComplaintResolveApi(_StepApi):
    @extend_schema(
        tags=[TAG],
        request=ComplaintResolveInputSerializer,
        responses=ComplaintDetailOutputSerializer,
    )
    def post(self, request, pk: int):
        complaint = self.complaint(request, pk)
        data = ComplaintResolveInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.complaint_resolve(
            complaint=complaint, resolution=data.validated_data["resolution"], by=request.user
        )
        return self.done(request, complaint)


class ComplaintInformApi(_StepApi):
    """A call or in person: informed at once. SMS: sent through the outbox; the complaint shows
    "informed" once it went out (or an `inform_failed` event: call the customer instead)."""

    @extend_schema(
        tags=[TAG],
        request=ComplaintInformInputSerializer,
        responses=ComplaintDetailOutputSerializer,
    )
    def post(self, request, pk: int):
        complaint = self.complaint(request, pk)
        data = ComplaintInformInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.complaint_inform(complaint=complaint, by=request.user, **data.validated_data)
        return self.done(request, complaint)


class ComplaintCloseApi(_StepApi):
    """The branch head closes the loop; before the customer was informed: 400 `not_informed`."""

    @extend_schema(tags=[TAG], request=None, responses=ComplaintDetailOutputSerializer)
    def post(self, request, pk: int):
        complaint = self.complaint(request, pk)
        services.complaint_close(complaint=complaint, by=request.user)
        return self.done(request, complaint)
