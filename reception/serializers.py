"""Output shapes of the reception API. Phone numbers only ever leave masked."""

from rest_framework import serializers

from queueing.serializers import TicketOutputSerializer, TicketRefSerializer

from .models import Visit


class CustomerRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    masked_phone = serializers.CharField()
    name = serializers.CharField()

    class Meta:
        ref_name = "VisitCustomer"


class VisitOutputSerializer(serializers.Serializer):
    """What registering a visit answers: where the customer goes, and their ticket."""

    id = serializers.IntegerField()
    route = serializers.ChoiceField(choices=Visit.Route.choices)
    ticket = TicketRefSerializer(allow_null=True)
    # Empty for someone who left before giving a number (route "left").
    customer = CustomerRefSerializer(allow_null=True)


class VisitDetailOutputSerializer(VisitOutputSerializer):
    service = serializers.CharField(source="service.code", allow_null=True)
    ticket_status = serializers.CharField(source="ticket.status", allow_null=True)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    is_elderly = serializers.BooleanField()
    is_disabled = serializers.BooleanField()
    is_pregnant = serializers.BooleanField()
    is_vip = serializers.BooleanField()
    appointment_at = serializers.DateTimeField(allow_null=True)
    note = serializers.CharField()
    registered_at = serializers.DateTimeField()
    outcome = serializers.ChoiceField(choices=[("", ""), *Visit.Outcome.choices])
    identity_verified = serializers.BooleanField()
    documents_signed = serializers.BooleanField()
    funds_handed_over = serializers.BooleanField()
    error_note = serializers.CharField()
    # Issue 7: the control points ticked, the version they were checked against (its id), and
    # why a service could not be completed.
    checked_points = serializers.ListField(child=serializers.CharField())
    control_version = serializers.IntegerField(source="control_version_id", allow_null=True)
    incomplete_reason = serializers.CharField()
    # Greeting and triage (issue 6): how the arrival was recorded, and when.
    channel = serializers.ChoiceField(choices=Visit.Channel.choices)
    amount_band = serializers.CharField(help_text="A self-service diversion's amount band.")
    redirect_to = serializers.CharField(
        help_text="Route digital: mobile or online; other_branch: the branch's name."
    )
    arrived_at = serializers.DateTimeField(allow_null=True)
    greeted_at = serializers.DateTimeField(allow_null=True)
    triaged_at = serializers.DateTimeField(allow_null=True)


class FinishAndCallNextOutputSerializer(serializers.Serializer):
    """What "finish and call next" answers: the ticket finished, as the finish answers it, and
    the ticket called, as call-next answers it (null: nobody this counter serves was waiting).
    The fields document it (OpenAPI); to_representation builds the same dict directly, as
    TicketOutputSerializer does (a hot request's answer)."""

    finished = TicketOutputSerializer()
    called = TicketOutputSerializer(
        allow_null=True, help_text="Null when nobody this counter serves was waiting."
    )

    class Meta:
        ref_name = "TicketFinishAndCallNext"

    def to_representation(self, result) -> dict:
        called = result.called
        return {
            "finished": TicketOutputSerializer(result.finished).data,
            "called": None if called is None else TicketOutputSerializer(called).data,
        }
