"""REST API of reception (thin: serializers validate shape; services decide)."""

from collections.abc import Mapping

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from accounts.access import get_for_branch
from accounts.api import ANY_STAFF, BoundedLimitOffsetPagination, BranchApi, FlatInputSerializer
from accounts.models import Role
from queueing import api as queue_api
from queueing import selectors as queue_selectors
from queueing.models import Ticket
from queueing.serializers import TicketOutputSerializer
from queueing.services import COUNTER_ROLES

from .. import selectors, services
from ..models import Visit
from ..serializers import (
    FinishAndCallNextOutputSerializer,
    VisitDetailOutputSerializer,
    VisitOutputSerializer,
)
from ..triage import APPOINTMENT_WINDOW_MESSAGE, SpecialNeeds, appointment_in_window

TAG = "reception"


class VisitListApi(BranchApi):
    """GET lists today's visits at the branch; POST registers a walk-in (the same URL)."""

    pagination_class = BoundedLimitOffsetPagination

    class InputSerializer(serializers.Serializer):
        route = serializers.ChoiceField(
            choices=Visit.Route.choices,
            required=False,
            help_text="What happened: queue (a ticket, the default), self_service (the "
            "machines; as divert=true), or an outcome without a ticket: digital "
            "(redirect_to mobile or online), other_branch (redirect_to: its name), answered, "
            "booked, left (phone and service may be omitted).",
        )
        phone = serializers.CharField(
            max_length=30,
            required=False,
            allow_blank=True,
            default="",
            help_text="Required for a ticket or the machines.",
        )
        service = serializers.CharField(
            max_length=30,
            required=False,
            allow_blank=True,
            default="",
            help_text="Service code, e.g. cash. Required for a ticket or the machines.",
        )
        redirect_to = serializers.CharField(
            max_length=100, required=False, allow_blank=True, default=""
        )
        greeting_elapsed_seconds = serializers.IntegerField(
            min_value=0,
            max_value=24 * 3600,
            required=False,
            allow_null=True,
            default=None,
            help_text="Seconds since the customer was first greeted (a duration measured by "
            "the client, not a time): arrival and greeting are recorded that long ago "
            "(at most 30 minutes), triage now.",
        )
        name = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
        amount = serializers.DecimalField(
            max_digits=14, decimal_places=2, min_value=0, required=False, allow_null=True
        )
        elderly = serializers.BooleanField(default=False)
        disabled = serializers.BooleanField(default=False)
        pregnant = serializers.BooleanField(default=False)
        vip = serializers.BooleanField(default=False)
        appointment_at = serializers.DateTimeField(required=False, allow_null=True)
        divert = serializers.BooleanField(
            default=False, help_text="Send the customer to the self-service machines."
        )
        sms_consent = serializers.BooleanField(
            allow_null=True, default=None, help_text="Omit or null: leave consent unchanged."
        )
        note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
        update_name = serializers.BooleanField(
            allow_null=True,
            default=None,
            help_text="For a known number typed with another name: true renames the customer, "
            "false keeps the stored name; omitted, the request is refused (code name_differs).",
        )
        allow_second_ticket = serializers.BooleanField(
            default=False,
            help_text="Issue a ticket although the customer already holds an open one today "
            "(otherwise refused with code already_waiting and that ticket).",
        )

        class Meta:
            ref_name = "VisitRegisterInput"

        def validate_appointment_at(self, value):
            if value is not None and not appointment_in_window(value, timezone.now()):
                raise serializers.ValidationError(APPOINTMENT_WINDOW_MESSAGE)
            return value

        @staticmethod
        def _route(data) -> str:
            route = data.get("route")
            if route:
                return route
            divert = data.get("divert")
            return (
                Visit.Route.SELF_SERVICE if divert in (True, "true", "1", 1) else Visit.Route.QUEUE
            )

        def _missing(self, data) -> dict:
            """A ticket or the machines need the number and the need; other outcomes do not."""
            if self._route(data) not in (Visit.Route.QUEUE, Visit.Route.SELF_SERVICE):
                return {}
            return {
                name: [_("This field is required.")]
                for name in ("phone", "service")
                if not str(data.get(name) or "").strip()
            }

        def to_internal_value(self, data):
            # Reported with the other fields' errors, as when phone and service were required.
            raw = data if isinstance(data, Mapping) else None
            try:
                attrs = super().to_internal_value(data)
            except ValidationError as exc:
                if raw is None or not isinstance(exc.detail, dict):
                    raise
                raise ValidationError({**self._missing(raw), **exc.detail}) from exc
            missing = self._missing(raw)
            if missing:
                raise ValidationError(missing)
            attrs["route"] = self._route(attrs)
            return attrs

    def get_permissions(self):
        if self.request.method == "POST":
            self.allowed_roles = (Role.LOBBY_MANAGER,)
        return super().get_permissions()

    @extend_schema(tags=[TAG], responses=VisitDetailOutputSerializer(many=True))
    def get(self, request):
        visits = selectors.visits_today(branch=request.branch)
        paginator = self.pagination_class()
        page = selectors.with_showable_appointments(
            paginator.paginate_queryset(visits, request, view=self)
        )
        return paginator.get_paginated_response(VisitDetailOutputSerializer(page, many=True).data)

    @extend_schema(tags=[TAG], request=InputSerializer, responses={201: VisitOutputSerializer})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        service = None
        if fields["service"]:
            service = queue_selectors.service_by_code(branch=request.branch, code=fields["service"])
            if service is None:
                raise ValidationError({"service": [_("No such service at this branch.")]})
        if fields["route"] in services.OUTCOME_ROUTES:
            visit = services.visit_record_outcome(
                branch=request.branch,
                registered_by=request.user,
                route=fields["route"],
                phone=fields["phone"],
                name=fields["name"],
                service=service,
                amount=fields.get("amount"),
                redirect_to=fields["redirect_to"],
                note=fields["note"],
                sms_consent=fields["sms_consent"],
                consent_source="api",
                greeting_elapsed_s=fields["greeting_elapsed_seconds"],
            )
            return Response(VisitOutputSerializer(visit).data, status=status.HTTP_201_CREATED)
        try:
            visit = services.visit_register(
                branch=request.branch,
                registered_by=request.user,
                phone=fields["phone"],
                service=service,
                name=fields["name"],
                amount=fields.get("amount"),
                needs=SpecialNeeds(
                    elderly=fields["elderly"],
                    disabled=fields["disabled"],
                    pregnant=fields["pregnant"],
                    vip=fields["vip"],
                    appointment_at=fields.get("appointment_at"),
                ),
                divert=fields["route"] == Visit.Route.SELF_SERVICE,
                sms_consent=fields["sms_consent"],
                consent_source="api",
                note=fields["note"],
                update_name=fields["update_name"],
                allow_second_ticket=fields["allow_second_ticket"],
                greeting_elapsed_s=fields["greeting_elapsed_seconds"],
            )
        except services.AlreadyWaiting as exc:
            # The usual body of a refusal, plus the open ticket: the client can print it again.
            body = {"detail": str(exc.message), "code": exc.code}
            body["ticket"] = TicketOutputSerializer(exc.ticket).data
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        return Response(VisitOutputSerializer(visit).data, status=status.HTTP_201_CREATED)


def _visit_queryset():
    return Visit.objects.select_related("customer", "service", "ticket")


class VisitDetailApi(BranchApi):
    allowed_roles = ANY_STAFF

    @extend_schema(tags=[TAG], responses=VisitDetailOutputSerializer)
    def get(self, request, pk: int):
        visit = get_for_branch(_visit_queryset(), request.branch, pk=pk)
        return Response(VisitDetailOutputSerializer(visit).data)


class PointKeysField(serializers.ListField):
    """A list of control point keys whose errors are one flat message (the API's 400 names
    each field with its messages, not an item index)."""

    def run_child_validation(self, data):
        try:
            return super().run_child_validation(data)
        except ValidationError as exc:
            raise ValidationError(
                [_("Each control point is a key, such as identity_verified.")]
            ) from exc


class CompleteServiceInputSerializer(FlatInputSerializer):
    """The teller's checklist and outcome: the same for a visit and for a bare ticket."""

    outcome = serializers.ChoiceField(choices=Visit.Outcome.choices)
    checked_points = PointKeysField(
        child=serializers.SlugField(max_length=40),
        max_length=50,
        required=False,
        default=list,
        help_text="Keys of the service's control points ticked (GET the visit for its "
        "version). completed needs every required point.",
    )
    identity_verified = serializers.BooleanField(
        default=False, help_text="Legacy: ticks the point identity_verified."
    )
    documents_signed = serializers.BooleanField(
        default=False, help_text="Legacy: ticks the point documents_signed."
    )
    funds_handed_over = serializers.BooleanField(
        default=False, help_text="Legacy: ticks the point funds_handed_over."
    )
    incomplete_reason = serializers.ChoiceField(
        choices=Visit.IncompleteReason.choices,
        required=False,
        allow_blank=True,
        default="",
        help_text="Required with outcome incomplete.",
    )
    follow_up_on = serializers.DateField(
        required=False,
        allow_null=True,
        default=None,
        help_text="With outcome follow_up: the care reminder's due date (default: next day).",
    )
    error_note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")

    class Meta:
        ref_name = "VisitCompleteInput"


class VisitCompleteApi(BranchApi):
    allowed_roles = COUNTER_ROLES

    @extend_schema(
        tags=[TAG], request=CompleteServiceInputSerializer, responses=VisitDetailOutputSerializer
    )
    def post(self, request, pk: int):
        visit = get_for_branch(_visit_queryset(), request.branch, pk=pk)
        data = CompleteServiceInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if visit.ticket is None:
            raise services.ReceptionError(
                _("This visit went to the self-service machines: there is no ticket to finish."),
                code="no_ticket",
            )
        services.visit_complete_service(
            ticket=visit.ticket_id,
            teller=request.user,
            branch=request.branch,  # the visit's, as found above
            **data.validated_data,
        )
        visit = _visit_queryset().get(pk=visit.pk)
        return Response(VisitDetailOutputSerializer(visit).data)


class TicketFinishApi(BranchApi):
    """POST /api/queue/tickets/<id>/finish/: served here so that finishing through the API
    records the same control points as the counter screen (visit_complete_service), with or
    without a visit behind the ticket; queueing cannot import reception."""

    allowed_roles = COUNTER_ROLES

    @extend_schema(
        tags=["queue"], request=CompleteServiceInputSerializer, responses=TicketOutputSerializer
    )
    def post(self, request, pk: int):
        data = CompleteServiceInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # The services look the ticket up within the user's branch (another's: 404).
        ticket = services.visit_complete_service(
            ticket=pk, branch=request.branch, teller=request.user, **data.validated_data
        )
        return Response(TicketOutputSerializer(ticket).data)


class TicketFinishAndCallNextApi(BranchApi):
    """POST /api/reception/tickets/<id>/finish-and-call-next/: the teller's "Next" key. The
    finish's body and rules (visit_complete_service), then call-next for the ticket's counter,
    in one transaction (visit_complete_service_and_call_next): one request per customer
    instead of two. A refused finish or call changes nothing."""

    allowed_roles = COUNTER_ROLES

    @extend_schema(
        tags=["queue"],
        request=CompleteServiceInputSerializer,
        responses={
            200: OpenApiResponse(
                response=FinishAndCallNextOutputSerializer,
                description="Finished; `called` is the next customer, or null when nobody "
                "this counter serves was waiting: the answer then carries call-next's 204 "
                "headers (Retry-After, and X-Queue-Wait where a live service answers long "
                "polls) saying when to call again.",
            )
        },
    )
    def post(self, request, pk: int):
        data = CompleteServiceInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # As the finish: the service looks the ticket up within the user's branch (another's:
        # 404); the answer is built from what it returns, with no query.
        result = services.visit_complete_service_and_call_next(
            ticket=pk, branch=request.branch, teller=request.user, **data.validated_data
        )
        response = Response(FinishAndCallNextOutputSerializer(result).data)
        if result.called is None:
            # Nobody waiting: the same advice as call-next's 204 (one protocol for idle
            # counters, kept in queueing.api).
            # The queue version read with the waiting tickets: a ticket issued after that look
            # wakes the long poll the answer points at.
            idle = queue_api.idle_counter_headers(
                request.branch.pk, result.queue_version, counter_id=result.finished.counter_id
            )
            for name, value in idle.items():
                response[name] = value
        return response


class TicketTransferApi(BranchApi):
    """POST /api/queue/tickets/<id>/transfer/: served here because the visit follows the
    ticket in the same transaction (reception.services.visit_transfer); queueing cannot
    import reception."""

    allowed_roles = COUNTER_ROLES

    class InputSerializer(serializers.Serializer):
        service = serializers.CharField(max_length=30, required=False, help_text="Service code.")
        counter = serializers.IntegerField(min_value=1, required=False, help_text="Counter number.")
        note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

        class Meta:
            ref_name = "TicketTransferInput"

    @extend_schema(tags=["queue"], request=InputSerializer, responses={201: TicketOutputSerializer})
    def post(self, request, pk: int):
        ticket = get_for_branch(Ticket.objects.all(), request.branch, pk=pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        to_service = to_counter = None
        if "service" in data.validated_data:
            to_service = queue_selectors.service_by_code(
                branch=request.branch, code=data.validated_data["service"]
            )
            if to_service is None:
                raise ValidationError({"service": [_("No such service at this branch.")]})
        if "counter" in data.validated_data:
            to_counter = queue_selectors.counter_by_number(
                branch=request.branch, number=data.validated_data["counter"]
            )
            if to_counter is None:
                raise ValidationError({"counter": [_("No such counter at this branch.")]})
        new_ticket = services.visit_transfer(
            ticket_id=ticket.pk,
            by=request.user,
            to_service=to_service,
            to_counter=to_counter,
            branch=request.branch,
            note=data.validated_data["note"],
        )
        new_ticket = Ticket.objects.select_related("service", "counter").get(pk=new_ticket.pk)
        return Response(TicketOutputSerializer(new_ticket).data, status=status.HTTP_201_CREATED)
