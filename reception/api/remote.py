"""REST API of remote queueing (thin): the lobby's list of remote tickets not checked in yet,
and checking one in (the customer is at the branch)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from accounts.api import BranchApi
from accounts.models import Role
from queueing.serializers import TicketOutputSerializer

from .. import selectors, services

__all__ = ["RemoteTicketCheckInApi", "RemoteTicketListApi"]

TAG = "reception"


class RemoteTicketOutputSerializer(serializers.Serializer):
    ticket = TicketOutputSerializer()
    customer_name = serializers.CharField()
    masked_phone = serializers.CharField(help_text="The phone, masked: 138****8000.")
    joined_at = serializers.DateTimeField()
    turn_passed = serializers.BooleanField()
    grace_left_minutes = serializers.IntegerField(
        allow_null=True, help_text="Minutes left to check in once the turn has passed."
    )

    class Meta:
        ref_name = "RemoteTicket"


class RemoteTicketListApi(BranchApi):
    """Today's remote tickets whose customers have not checked in yet, oldest first."""

    allowed_roles = (Role.LOBBY_MANAGER, Role.BRANCH_HEAD)

    @extend_schema(tags=[TAG], responses=RemoteTicketOutputSerializer(many=True))
    def get(self, request):
        rows = selectors.remote_ticket_rows(branch=request.branch)
        return Response(RemoteTicketOutputSerializer(rows, many=True).data)


class RemoteTicketCheckInApi(BranchApi):
    """The lobby manager checks in a customer who joined from their phone: the ticket waits,
    with the same number and place; the visit's arrival and greeting are recorded. 400 with
    code "expired" once its grace ran out, "invalid_transition" if not remote; 404 for another
    branch's ticket."""

    allowed_roles = (Role.LOBBY_MANAGER,)

    @extend_schema(tags=[TAG], request=None, responses=TicketOutputSerializer)
    def post(self, request, pk: int):
        ticket = services.remote_check_in(
            ticket_id=pk, branch=request.branch, by=request.user, channel="lobby"
        )
        return Response(TicketOutputSerializer(ticket).data)
