"""Output shapes the queue API shares between its views (each view keeps its own input)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .routing import PriorityClass
from .states import TicketStatus

PRIORITY_NAMES = [p.name.lower() for p in PriorityClass]
# What a lobby manager or teller may ask for; "transferred" is only set by a transfer.
ISSUABLE_PRIORITIES = ["regular", "vip", "care", "appointment"]


def priority_from_name(name: str) -> PriorityClass:
    return PriorityClass[name.upper()]


class ServiceOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name_zh = serializers.CharField()
    name_en = serializers.CharField()
    prefix = serializers.CharField()
    target_wait_minutes = serializers.IntegerField()
    standard_handle_minutes = serializers.IntegerField()
    divertible = serializers.BooleanField()
    is_active = serializers.BooleanField()


class TicketRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()


_TIME = serializers.DateTimeField()  # its output format (ISO 8601, the active time zone)


def _time(value):
    return None if value is None else _TIME.to_representation(value)


class TicketOutputSerializer(serializers.Serializer):
    """A ticket. The fields below document it (OpenAPI); to_representation builds the same
    dict directly, because this is every hot request's answer and instantiating the fields
    (DRF deep-copies them per serializer) cost more than the rest of the response."""

    id = serializers.IntegerField()
    code = serializers.CharField()
    service = serializers.CharField(source="service.code")
    status = serializers.ChoiceField(choices=[s.value for s in TicketStatus])
    priority = serializers.SerializerMethodField()
    issued_at = serializers.DateTimeField()
    arrived_at = serializers.DateTimeField()
    called_at = serializers.DateTimeField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    counter = serializers.IntegerField(source="counter.number", allow_null=True)
    recall_count = serializers.IntegerField()
    bypass_count = serializers.IntegerField()
    is_remote = serializers.BooleanField(help_text="Joined the queue from the customer's phone.")
    checked_in_at = serializers.DateTimeField(allow_null=True)
    skipped_at = serializers.DateTimeField(
        allow_null=True, help_text="When its turn passed before check-in (grace runs from it)."
    )

    @extend_schema_field(serializers.ChoiceField(choices=PRIORITY_NAMES))
    def get_priority(self, ticket) -> str:
        return PriorityClass(ticket.priority).name.lower()

    def to_representation(self, ticket) -> dict:
        counter = ticket.counter
        return {
            "id": ticket.pk,
            "code": ticket.code,
            "service": ticket.service.code,
            "status": str(ticket.status),
            "priority": self.get_priority(ticket),
            "issued_at": _time(ticket.issued_at),
            "arrived_at": _time(ticket.arrived_at),
            "called_at": _time(ticket.called_at),
            "started_at": _time(ticket.started_at),
            "finished_at": _time(ticket.finished_at),
            "counter": counter.number if counter is not None else None,
            "recall_count": ticket.recall_count,
            "bypass_count": ticket.bypass_count,
            "is_remote": ticket.is_remote,
            "checked_in_at": _time(ticket.checked_in_at),
            "skipped_at": _time(ticket.skipped_at),
        }


class CounterOutputSerializer(serializers.Serializer):
    """A counter; pass context={"current": {counter_id: ticket}} to show who is at it."""

    id = serializers.IntegerField()
    number = serializers.IntegerField()
    label = serializers.CharField()
    is_open = serializers.BooleanField()
    is_paused = serializers.BooleanField()
    teller = serializers.CharField(source="teller.username", allow_null=True)
    services = serializers.SerializerMethodField()
    current_ticket = serializers.SerializerMethodField()

    def get_services(self, counter) -> list[str]:
        # Ranked by CounterSkill.Meta.ordering; all() reuses the selector's prefetch.
        return [skill.service.code for skill in counter.skills.all()]

    @extend_schema_field(TicketRefSerializer(allow_null=True))
    def get_current_ticket(self, counter) -> dict | None:
        ticket = self.context.get("current", {}).get(counter.pk)
        return TicketRefSerializer(ticket).data if ticket is not None else None
