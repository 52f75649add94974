"""REST API of the queue (thin: serializers validate shape; services decide).

One APIView per operation. Every view checks role and branch with BranchRolePermission and
fetches objects with get_for_branch, so another branch's counter or ticket is a 404. Whether
the user is the teller seated at the counter is the services' check (code "not_seated").
Domain errors (QueueError) become 400 {"detail", "code"} in accounts.api.exception_handler.
"""

from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from accounts.access import get_for_branch
from accounts.api import BoundedLimitOffsetPagination, BranchApi, FlatInputSerializer
from accounts.models import Role
from accounts.timeutil import branch_today

from . import live, selectors, services
from .models import Counter, Ticket
from .serializers import (
    ISSUABLE_PRIORITIES,
    CounterOutputSerializer,
    ServiceOutputSerializer,
    TicketOutputSerializer,
    priority_from_name,
)
from .states import TicketStatus

TAG = "queue"


def _ticket_response(ticket: Ticket, code: int = status.HTTP_200_OK) -> Response:
    # Built from what the service returned (it carries its service and counter): the hot path
    # pays no query to answer.
    return Response(TicketOutputSerializer(ticket).data, status=code)


def _counter_response(counter: Counter) -> Response:
    counter = selectors.counters_with_tellers(branch=counter.branch).get(pk=counter.pk)
    current = selectors.counter_current_ticket(counter=counter)
    context = {"current": {counter.pk: current} if current else {}}
    return Response(CounterOutputSerializer(counter, context=context).data)


# --- services and counters ---------------------------------------------------------------------


class ServiceListApi(BranchApi):
    @extend_schema(tags=[TAG], responses=ServiceOutputSerializer(many=True))
    def get(self, request):
        services_ = selectors.services_for_branch(branch=request.branch, active_only=False)
        return Response(ServiceOutputSerializer(services_, many=True).data)


class CounterListApi(BranchApi):
    @extend_schema(tags=[TAG], responses=CounterOutputSerializer(many=True))
    def get(self, request):
        counters = selectors.counters_with_tellers(branch=request.branch)
        context = {"current": selectors.current_tickets_by_counter(branch=request.branch)}
        return Response(CounterOutputSerializer(counters, many=True, context=context).data)


class _CounterActionApi(BranchApi):
    allowed_roles = services.COUNTER_ROLES

    def act(self, request, counter: Counter) -> Counter:
        raise NotImplementedError

    @extend_schema(tags=[TAG], request=None, responses=CounterOutputSerializer)
    def post(self, request, pk: int):
        counter = get_for_branch(Counter.objects.all(), request.branch, pk=pk)
        return _counter_response(self.act(request, counter))


class CounterOpenApi(_CounterActionApi):
    def act(self, request, counter):
        return services.counter_open(counter=counter, teller=request.user)


class CounterCloseApi(_CounterActionApi):
    def act(self, request, counter):
        return services.counter_close(counter=counter, teller=request.user)


class CounterPauseApi(_CounterActionApi):
    def act(self, request, counter):
        return services.counter_set_paused(counter=counter, teller=request.user, paused=True)


class CounterResumeApi(_CounterActionApi):
    def act(self, request, counter):
        return services.counter_set_paused(counter=counter, teller=request.user, paused=False)


class CounterTakeOverApi(BranchApi):
    """Take the seat of a counter another teller holds; the reason goes to its audit trail.
    The explicit endpoint is the confirmation; the counter screen asks for a tick as well."""

    allowed_roles = services.TAKE_OVER_ROLES

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=200)

        class Meta:
            ref_name = "CounterTakeOverInput"

    @extend_schema(tags=[TAG], request=InputSerializer, responses=CounterOutputSerializer)
    def post(self, request, pk: int):
        counter = get_for_branch(Counter.objects.all(), request.branch, pk=pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        counter = services.counter_take_over(
            counter=counter, by=request.user, reason=data.validated_data["reason"]
        )
        return _counter_response(counter)


class CounterCallNextApi(BranchApi):
    allowed_roles = services.COUNTER_ROLES

    @extend_schema(
        tags=[TAG],
        request=None,
        responses={
            200: TicketOutputSerializer,
            204: OpenApiResponse(description="Nobody this counter serves is waiting."),
        },
    )
    def post(self, request, pk: int):
        # The service locks the counter of this branch (another branch's is "not found": 404).
        # Nobody waiting: the long poll the 204 points at starts from the queue version read
        # with the waiting tickets, so a ticket issued after that look wakes it at once.
        ticket, version = services.call_next(counter=pk, teller=request.user, branch=request.branch)
        if ticket is None:
            return _nobody_waiting(request.branch.pk, version, counter_id=pk)
        return _ticket_response(ticket)


# An idle counter asks again after this long, or at once when the queue changes (X-Queue-Wait).
RETRY_AFTER_EMPTY_S = 5


def idle_counter_headers(branch_id: int, version: int, *, counter_id: int) -> dict[str, str]:
    """What tells an idle client when to ask again instead of polling: Retry-After, and a
    long-poll URL that answers as soon as a ticket this counter can serve joins a queue after
    `version` (queueing.live.wait; one idle counter is woken per such ticket). Call-next's 204
    and reception's finish-and-call-next (nobody called) carry the same."""
    headers = {"Retry-After": str(RETRY_AFTER_EMPTY_S)}
    if settings.LIVE_SSE:  # a live service answers long polls
        token = live.live_token(branch_id)
        serves = selectors.branch_setup(branch_id=branch_id).skills.get(counter_id, ())
        query = urlencode(
            {"after": version, "on": "arrival", "counter": counter_id, "serves": ",".join(serves)}
        )
        headers["X-Queue-Wait"] = f"{reverse('queueing:wait', args=[token])}?{query}"
    return headers


def _nobody_waiting(branch_id: int, version: int, *, counter_id: int) -> Response:
    response = Response(status=status.HTTP_204_NO_CONTENT)
    for name, value in idle_counter_headers(branch_id, version, counter_id=counter_id).items():
        response[name] = value
    return response


# --- tickets -----------------------------------------------------------------------------------


class TicketListApi(BranchApi):
    """GET lists the day's tickets; POST issues one (the same URL, two operations)."""

    pagination_class = BoundedLimitOffsetPagination

    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=[s.value for s in TicketStatus], required=False)
        service = serializers.CharField(max_length=30, required=False)
        date = serializers.DateField(required=False, help_text="Business date; default today.")

        class Meta:
            ref_name = "TicketListFilter"

    class InputSerializer(FlatInputSerializer):
        service = serializers.CharField(max_length=30, help_text="Service code, e.g. cash.")
        priority = serializers.ChoiceField(choices=ISSUABLE_PRIORITIES, default="regular")

        class Meta:
            ref_name = "TicketIssueInput"

    def get_permissions(self):
        # Anyone on staff may look; issuing is the lobby's and the counters' job.
        if self.request.method == "POST":
            self.allowed_roles = (Role.LOBBY_MANAGER, Role.TELLER)
        return super().get_permissions()

    @extend_schema(
        tags=[TAG], parameters=[FilterSerializer], responses=TicketOutputSerializer(many=True)
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        tickets = selectors.ticket_list(
            branch=request.branch,
            business_date=filters.validated_data.get("date") or branch_today(request.branch),
            status=filters.validated_data.get("status", ""),
            service_code=filters.validated_data.get("service", ""),
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(tickets, request, view=self)
        return paginator.get_paginated_response(TicketOutputSerializer(page, many=True).data)

    @extend_schema(tags=[TAG], request=InputSerializer, responses={201: TicketOutputSerializer})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        service = selectors.service_by_code(
            branch=request.branch, code=data.validated_data["service"]
        )
        if service is None:
            raise ValidationError({"service": [_("No such service at this branch.")]})
        ticket = services.ticket_issue(
            branch=request.branch,
            service=service,
            priority=priority_from_name(data.validated_data["priority"]),
            issued_by=request.user,
        )
        return _ticket_response(ticket, status.HTTP_201_CREATED)


class TicketDetailApi(BranchApi):
    @extend_schema(tags=[TAG], responses=TicketOutputSerializer)
    def get(self, request, pk: int):
        ticket = get_for_branch(
            Ticket.objects.select_related("service", "counter"), request.branch, pk=pk
        )
        return Response(TicketOutputSerializer(ticket).data)


class _TicketActionApi(BranchApi):
    allowed_roles = services.COUNTER_ROLES

    def act(self, request, pk: int) -> Ticket:
        raise NotImplementedError

    @extend_schema(tags=[TAG], request=None, responses=TicketOutputSerializer)
    def post(self, request, pk: int):
        # The services fetch the ticket within the user's branch: another branch's is a 404.
        return _ticket_response(self.act(request, pk))


class TicketRecallApi(_TicketActionApi):
    def act(self, request, pk):
        return services.ticket_recall(ticket_id=pk, by=request.user, branch=request.branch)


class TicketStartApi(_TicketActionApi):
    def act(self, request, pk):
        return services.ticket_start(ticket_id=pk, by=request.user, branch=request.branch)


class TicketNoShowApi(_TicketActionApi):
    def act(self, request, pk):
        return services.ticket_no_show(ticket_id=pk, by=request.user, branch=request.branch)


class TicketCancelApi(_TicketActionApi):
    allowed_roles = (Role.TELLER, Role.LOBBY_MANAGER)

    def act(self, request, pk):
        return services.ticket_cancel(ticket_id=pk, by=request.user, branch=request.branch)
