"""Output shapes of the feedback API (customers appear masked)."""

from rest_framework import serializers

from .models import SurveyInvitation, SurveyResponse


class InvitationCustomerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    masked_phone = serializers.CharField()


class InvitationOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    customer = InvitationCustomerSerializer()
    interaction = serializers.IntegerField(source="interaction_id")
    status = serializers.ChoiceField(choices=SurveyInvitation.Status.choices)
    skip_reason = serializers.CharField()
    scheduled_for = serializers.DateTimeField(allow_null=True)
    sent_at = serializers.DateTimeField(allow_null=True)
    answered_at = serializers.DateTimeField(allow_null=True)
    attempts = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class ResponseOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    invitation = serializers.IntegerField(source="invitation_id", allow_null=True)
    channel = serializers.ChoiceField(choices=SurveyResponse.Channel.choices)
    satisfaction = serializers.IntegerField(allow_null=True)
    recommend = serializers.IntegerField(allow_null=True)
    comment = serializers.CharField()
    submitted_at = serializers.DateTimeField()
    # Issue 8: "open" or "done"; null when the answer needed no follow-up (DRF gives None for
    # a missing one-to-one, whatever the default).
    follow_up = serializers.CharField(source="follow_up.status", allow_null=True, default=None)
