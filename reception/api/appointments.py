"""/api/reception/slots/ and /api/reception/appointments/…: the same rules as the pages (lobby
manager and branch head of the branch; another branch's appointment is a 404). A refusal that
concerns one input field is a 400 naming that field; others are {"detail", "code"}."""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from accounts.access import get_for_branch
from accounts.api import BoundedLimitOffsetPagination, BranchApi
from accounts.errors import DomainError
from accounts.models import Role
from queueing import selectors as queue_selectors
from queueing.serializers import TicketOutputSerializer

from .. import selectors, services
from ..models import Appointment, Visit

TAG = "appointments"
APPOINTMENT_ROLES = (Role.LOBBY_MANAGER, Role.BRANCH_HEAD)

__all__ = [
    "AppointmentCancelApi",
    "AppointmentCheckInApi",
    "AppointmentDetailApi",
    "AppointmentListApi",
    "AppointmentRescheduleApi",
    "AppointmentSlotsApi",
]


class SlotOutputSerializer(serializers.Serializer):
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    capacity = serializers.IntegerField()
    booked = serializers.IntegerField()
    remaining = serializers.IntegerField()

    class Meta:
        ref_name = "AppointmentSlot"


class AppointmentOutputSerializer(serializers.ModelSerializer):
    service = serializers.CharField(source="service.code")
    service_name = serializers.CharField(source="service.display_name")
    customer_name = serializers.CharField(source="customer.name")
    customer_phone = serializers.CharField(
        source="customer.masked_phone", help_text="Masked (138****8000)."
    )
    ticket = serializers.SerializerMethodField()

    class Meta:
        model = Appointment
        ref_name = "Appointment"
        fields = [
            "id",
            "service",
            "service_name",
            "customer_name",
            "customer_phone",
            "starts_at",
            "ends_at",
            "status",
            "channel",
            "note",
            "created_at",
            "checked_in_at",
            "cancelled_at",
            "no_show_at",
            "reschedule_count",
            "ticket",
        ]

    def get_ticket(self, appointment: Appointment) -> str | None:
        visit = appointment.visit
        return visit.ticket.code if visit is not None and visit.ticket is not None else None


def _service(branch, code: str):
    service = queue_selectors.service_by_code(branch=branch, code=code)
    if service is None:
        raise ValidationError({"service": [_("No such service at this branch.")]})
    return service


def _field_errors(error: DomainError, fields: set[str]) -> Exception:
    """A refusal about one input field as a 400 naming it; anything else as it is."""
    if error.code in fields:
        return ValidationError({error.code: [str(error.message)]})
    return error


def _queryset():
    return Appointment.objects.select_related("service", "customer", "visit__ticket")


class SlotQuerySerializer(serializers.Serializer):
    service = serializers.CharField(max_length=30, help_text="Service code, e.g. loan.")
    date = serializers.DateField(help_text="The branch's local day, YYYY-MM-DD.")

    class Meta:
        ref_name = "AppointmentSlotQuery"


class AppointmentSlotsApi(BranchApi):
    allowed_roles = APPOINTMENT_ROLES

    @extend_schema(
        tags=[TAG],
        parameters=[SlotQuerySerializer],
        responses=SlotOutputSerializer(many=True),
        description="The service's free and full slots of a day (none in the past, on a closed "
        "day or beyond the plan's days ahead).",
    )
    def get(self, request):
        query = SlotQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        service = _service(request.branch, query.validated_data["service"])
        plan = selectors.appointment_plan_for(service=service)
        if plan is None:
            raise ValidationError({"service": [_("This service cannot be booked.")]})
        slots = selectors.appointment_slots(
            plan=plan, day=query.validated_data["date"], now=timezone.now()
        )
        return Response(SlotOutputSerializer(slots, many=True).data)


class AppointmentInputSerializer(serializers.Serializer):
    phone = serializers.CharField(max_length=30)
    name = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    service = serializers.CharField(max_length=30, help_text="Service code, e.g. loan.")
    starts_at = serializers.DateTimeField(
        help_text="A free slot's start (GET slots/); without an offset, the branch's local time."
    )
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    at_the_door = serializers.BooleanField(
        default=False,
        help_text="The customer is at the branch: their arrival is recorded as a visit that "
        "ended in an appointment booked.",
    )

    class Meta:
        ref_name = "AppointmentBookInput"


class AppointmentListApi(BranchApi):
    """GET a day's appointments (?date=, default today); POST books one (channel "api")."""

    allowed_roles = APPOINTMENT_ROLES
    pagination_class = BoundedLimitOffsetPagination

    @extend_schema(
        tags=[TAG],
        parameters=[OpenApiParameter("date", str, description="YYYY-MM-DD; default today")],
        responses=AppointmentOutputSerializer(many=True),
    )
    def get(self, request):
        raw = request.query_params.get("date")
        day = timezone.localtime(timezone.now(), request.branch.tz).date()
        if raw:
            field = serializers.DateField()
            try:
                day = field.to_internal_value(raw)
            except ValidationError as exc:
                raise ValidationError({"date": exc.detail}) from exc
            if abs((day - timezone.localtime(timezone.now(), request.branch.tz).date()).days) > 366:
                raise ValidationError({"date": [_("Choose a day within a year of today.")]})
        rows = selectors.appointments_on_day(branch=request.branch, day=day)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(AppointmentOutputSerializer(page, many=True).data)

    @extend_schema(
        tags=[TAG],
        request=AppointmentInputSerializer,
        responses={201: AppointmentOutputSerializer},
    )
    def post(self, request):
        data = AppointmentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        service = _service(request.branch, fields["service"])
        try:
            appointment = services.appointment_book(
                branch=request.branch,
                service=service,
                phone=fields["phone"],
                name=fields["name"],
                note=fields["note"],
                starts_at=fields["starts_at"],
                channel=Appointment.Channel.API,
                booked_by=request.user,
                record_lobby_visit=fields["at_the_door"],
            )
        except DomainError as error:
            raise _field_errors(error, {"phone", "service", "starts_at"}) from error
        appointment = _queryset().get(pk=appointment.pk)
        return Response(
            AppointmentOutputSerializer(appointment).data, status=status.HTTP_201_CREATED
        )


class AppointmentDetailApi(BranchApi):
    allowed_roles = APPOINTMENT_ROLES

    @extend_schema(tags=[TAG], responses=AppointmentOutputSerializer)
    def get(self, request, pk: int):
        appointment = get_for_branch(_queryset(), request.branch, pk=pk)
        return Response(AppointmentOutputSerializer(appointment).data)


class AppointmentCancelApi(BranchApi):
    allowed_roles = APPOINTMENT_ROLES

    @extend_schema(tags=[TAG], request=None, responses=AppointmentOutputSerializer)
    def post(self, request, pk: int):
        appointment = get_for_branch(_queryset(), request.branch, pk=pk)
        services.appointment_cancel(appointment=appointment, by=request.user)
        return Response(AppointmentOutputSerializer(_queryset().get(pk=pk)).data)


class RescheduleInputSerializer(serializers.Serializer):
    starts_at = serializers.DateTimeField(help_text="Another free slot's start.")

    class Meta:
        ref_name = "AppointmentRescheduleInput"


class AppointmentRescheduleApi(BranchApi):
    allowed_roles = APPOINTMENT_ROLES

    @extend_schema(
        tags=[TAG], request=RescheduleInputSerializer, responses=AppointmentOutputSerializer
    )
    def post(self, request, pk: int):
        appointment = get_for_branch(_queryset(), request.branch, pk=pk)
        data = RescheduleInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            services.appointment_reschedule(
                appointment=appointment,
                starts_at=data.validated_data["starts_at"],
                by=request.user,
            )
        except DomainError as error:
            raise _field_errors(error, {"starts_at"}) from error
        return Response(AppointmentOutputSerializer(_queryset().get(pk=pk)).data)


class AppointmentCheckInApi(BranchApi):
    """The customer is here: a ticket with appointment priority when on time (late: the
    branch's rule; too early or "book again": 400 with code too_early / late / missed)."""

    allowed_roles = APPOINTMENT_ROLES

    @extend_schema(tags=[TAG], request=None, responses={201: TicketOutputSerializer})
    def post(self, request, pk: int):
        appointment = get_for_branch(_queryset(), request.branch, pk=pk)
        ticket = services.appointment_check_in(
            appointment=appointment, channel=Visit.Channel.CHECK_IN, by=request.user
        )
        return Response(TicketOutputSerializer(ticket).data, status=status.HTTP_201_CREATED)
