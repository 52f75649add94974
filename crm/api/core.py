"""REST API of the CRM (thin: serializers validate shape; services decide).

Staff reach only customers known at their branch (registered or served there:
selectors.customers_known_at_branch, the same rule as the pages), and only that branch's part of
the history; numbers are masked. A look-up by phone number is a POST (`customers/search/`): a
number in a query string ends up in access logs, proxies and browser history.
"""

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from accounts.api import BoundedLimitOffsetPagination, BranchApi

from .. import selectors, services
from ..models import Interaction
from ..serializers import CustomerOutputSerializer, InteractionOutputSerializer

TAG = "crm"


def _customer_here(request, pk: int):
    return get_object_or_404(selectors.customers_known_at_branch(branch=request.branch), pk=pk)


class CustomerSearchApi(BranchApi):
    """Look a customer of this branch up by mobile number (in the body, never in the URL)."""

    class InputSerializer(serializers.Serializer):
        phone = serializers.CharField(max_length=30, help_text="The full mobile number.")

        class Meta:
            ref_name = "CustomerSearchInput"

    @extend_schema(
        tags=[TAG], request=InputSerializer, responses=CustomerOutputSerializer(many=True)
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        found = selectors.customer_search_at_branch(
            branch=request.branch, phone=data.validated_data["phone"]
        )
        return Response(CustomerOutputSerializer(found, many=True).data)


class CustomerDetailApi(BranchApi):
    @extend_schema(tags=[TAG], responses=CustomerOutputSerializer)
    def get(self, request, pk: int):
        return Response(CustomerOutputSerializer(_customer_here(request, pk)).data)


class CustomerInteractionListApi(BranchApi):
    pagination_class = BoundedLimitOffsetPagination

    @extend_schema(tags=[TAG], responses=InteractionOutputSerializer(many=True))
    def get(self, request, pk: int):
        interactions = selectors.customer_interactions_at_branch(
            customer=_customer_here(request, pk), branch=request.branch
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(interactions, request, view=self)
        return paginator.get_paginated_response(InteractionOutputSerializer(page, many=True).data)


class CustomerNoteCreateApi(BranchApi):
    class InputSerializer(serializers.Serializer):
        text = serializers.CharField(max_length=300)

        class Meta:
            ref_name = "CustomerNoteInput"

    @extend_schema(
        tags=[TAG], request=InputSerializer, responses={201: InteractionOutputSerializer}
    )
    def post(self, request, pk: int):
        customer = _customer_here(request, pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        interaction = services.interaction_record(
            customer=customer,
            branch=request.branch,
            kind=Interaction.Kind.NOTE,
            occurred_at=timezone.now(),
            summary=data.validated_data["text"],
            staff=request.user,
        )
        return Response(
            InteractionOutputSerializer(interaction).data, status=status.HTTP_201_CREATED
        )
