"""Output shapes of the CRM API: phone and ID numbers leave masked, always."""

from rest_framework import serializers

from .models import ConsentSource, Interaction, Tier
from .personal_data import mask_phone


class CustomerOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    masked_phone = serializers.CharField()
    name = serializers.CharField()
    masked_id_number = serializers.CharField()
    is_vip = serializers.BooleanField()
    tier = serializers.ChoiceField(choices=Tier.choices, help_text="Segment / VIP tier.")
    sms_consent = serializers.BooleanField()
    preferred_language = serializers.CharField()
    last_visit_at = serializers.DateTimeField(allow_null=True)
    anonymised_at = serializers.DateTimeField(allow_null=True)
    # The customer record (issue 7).
    masked_other_phone = serializers.SerializerMethodField()
    birth_date = serializers.DateField(allow_null=True)
    id_expires_on = serializers.DateField(allow_null=True)
    sms_consent_at = serializers.DateTimeField(allow_null=True)
    sms_consent_source = serializers.ChoiceField(
        choices=[("", ""), *ConsentSource.choices], help_text="Where consent was given."
    )
    sms_consent_wording = serializers.CharField(help_text="The consent wording's version.")

    def get_masked_other_phone(self, customer) -> str:
        return mask_phone(customer.other_phone)


class InteractionOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=Interaction.Kind.choices)
    service_code = serializers.CharField()
    service_name = serializers.CharField(
        source="service_label", help_text="The service in the request's language."
    )
    summary = serializers.CharField()
    outcome = serializers.CharField()
    staff = serializers.CharField(source="staff.username", allow_null=True)
    occurred_at = serializers.DateTimeField()
