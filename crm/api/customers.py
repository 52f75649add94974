"""/api/crm/… for the customer record: the lists (django-filter, the pages' FilterSets), the
profile, reveal (logged) and merge.

The lists answer for every branch the caller may read (accounts.access.branches_readable_by: a
regional head reads the region's branches); everything else acts at the caller's branch.
"""

from django.conf import settings
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from accounts.access import BranchReaderPermission
from accounts.api import BoundedLimitOffsetPagination, BranchApi
from accounts.models import Role

from .. import selectors, services
from ..filters import CustomerFilter, InteractionFilter
from ..models import ConsentSource, Customer, Interaction, RevealLog, Tier
from ..serializers import CustomerOutputSerializer, InteractionOutputSerializer

__all__ = [
    "CustomerListApi",
    "CustomerMergeApi",
    "CustomerProfileApi",
    "CustomerRevealApi",
    "InteractionListApi",
]

TAG = "crm"
STAFF_ROLES = (Role.LOBBY_MANAGER, Role.TELLER, Role.BRANCH_HEAD)


class _ReaderListApi(GenericAPIView):
    """A read-only list over the branches the caller may read; times in the caller's branch's
    zone (a regional head's: the region's first branch's)."""

    permission_classes = [BranchReaderPermission]
    allowed_roles: tuple[str, ...] = (*STAFF_ROLES, Role.ADMIN)
    pagination_class = BoundedLimitOffsetPagination
    filter_backends = [DjangoFilterBackend]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        readable = request.readable_branches
        branch = request.branch if request.branch in readable else readable[0]
        timezone.activate(branch.tz)

    def finalize_response(self, request, response, *args, **kwargs):
        timezone.deactivate()
        return super().finalize_response(request, response, *args, **kwargs)

    def get(self, request):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class CustomerListApi(_ReaderListApi):
    """The customers known at the branch (a regional head: at the region's branches), latest
    visit first. Filters as on the customers page; a look-up by number is `customers/search/`."""

    serializer_class = CustomerOutputSerializer
    filterset_class = CustomerFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator
            return Customer.objects.none()
        return selectors.customers_readable(branches=self.request.readable_branches)

    @extend_schema(tags=[TAG], responses=CustomerOutputSerializer(many=True))
    def get(self, request):
        return super().get(request)


class InteractionListApi(_ReaderListApi):
    """Interactions at the branch (a regional head: the region's branches), newest first."""

    serializer_class = InteractionOutputSerializer
    filterset_class = InteractionFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator
            return Interaction.objects.none()
        return selectors.interactions_readable(branches=self.request.readable_branches)

    @extend_schema(tags=[TAG], responses=InteractionOutputSerializer(many=True))
    def get(self, request):
        return super().get(request)


def _customer_here(request, pk: int):
    return get_object_or_404(selectors.customers_known_at_branch(branch=request.branch), pk=pk)


class CustomerProfileApi(BranchApi):
    """Change the profile; fields left out stay as they are. Consent given or withdrawn here is
    recorded with the source "api" and the current wording version."""

    allowed_roles = STAFF_ROLES

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=60, required=False, allow_blank=True)
        other_phone = serializers.CharField(
            max_length=30, required=False, allow_blank=True, help_text="Empty: remove it."
        )
        tier = serializers.ChoiceField(choices=Tier.choices, required=False)
        is_vip = serializers.BooleanField(required=False)
        preferred_language = serializers.ChoiceField(choices=settings.LANGUAGES, required=False)
        birth_date = serializers.DateField(required=False, allow_null=True)
        id_number = serializers.CharField(max_length=30, required=False, allow_blank=True)
        id_expires_on = serializers.DateField(required=False, allow_null=True)
        sms_consent = serializers.BooleanField(required=False)

        class Meta:
            ref_name = "CustomerProfileInput"

    @extend_schema(tags=[TAG], request=InputSerializer, responses=CustomerOutputSerializer)
    def patch(self, request, pk: int):
        customer = _customer_here(request, pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.customer_update_profile(
            customer=customer,
            by=request.user,
            branch=request.branch,
            consent_source=ConsentSource.API,
            **data.validated_data,
        )
        return Response(CustomerOutputSerializer(customer).data)


class CustomerRevealApi(BranchApi):
    """The full mobile number, other phone or ID number, for this answer only; logged with the
    reason (the branch head lists reveals). Never cached."""

    allowed_roles = STAFF_ROLES

    class InputSerializer(serializers.Serializer):
        field = serializers.ChoiceField(choices=RevealLog.Field.choices)
        reason = serializers.CharField(max_length=200)

        class Meta:
            ref_name = "CustomerRevealInput"

    class OutputSerializer(serializers.Serializer):
        field = serializers.ChoiceField(choices=RevealLog.Field.choices)
        value = serializers.CharField()

        class Meta:
            ref_name = "CustomerRevealOutput"

    @extend_schema(tags=[TAG], request=InputSerializer, responses=OutputSerializer)
    def post(self, request, pk: int):
        customer = _customer_here(request, pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        value = services.customer_reveal(
            customer=customer,
            field=data.validated_data["field"],
            reason=data.validated_data["reason"],
            by=request.user,
            branch=request.branch,
        )
        response = Response({"field": data.validated_data["field"], "value": value})
        response["Cache-Control"] = "no-store"
        return response


class CustomerMergeApi(BranchApi):
    """Branch head: merge the duplicate `source` into this customer (every history row kept)."""

    allowed_roles = (Role.BRANCH_HEAD,)

    class InputSerializer(serializers.Serializer):
        source = serializers.IntegerField(min_value=1, max_value=2**31 - 1)

        class Meta:
            ref_name = "CustomerMergeInput"

    @extend_schema(tags=[TAG], request=InputSerializer, responses=CustomerOutputSerializer)
    def post(self, request, pk: int):
        target = _customer_here(request, pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        source = _customer_here(request, data.validated_data["source"])
        merged = services.customer_merge(
            source=source, target=target, by=request.user, branch=request.branch
        )
        return Response(CustomerOutputSerializer(merged).data)
