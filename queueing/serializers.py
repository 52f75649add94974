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


class TicketOutputSerializer(serializers.Serializer):
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

    @extend_schema_field(serializers.ChoiceField(choices=PRIORITY_NAMES))
    def get_priority(self, ticket) -> str:
        return PriorityClass(ticket.priority).name.lower()


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
