from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Branch
from crm.models import Customer, Interaction


class SurveyInvitation(models.Model):
    """An invitation to rate one served visit, sent by SMS with a signed one-time link."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        ANSWERED = "answered", _("Answered")
        SKIPPED = "skipped", _("Not sent")
        FAILED = "failed", _("Failed")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="invitations")
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="invitations")
    interaction = models.OneToOneField(
        Interaction, on_delete=models.CASCADE, related_name="invitation"
    )
    status = models.CharField(_("status"), max_length=12, choices=Status.choices)
    skip_reason = models.CharField(_("why not sent"), max_length=40, blank=True)
    scheduled_for = models.DateTimeField(_("send at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # While SENDING: the claiming worker's lease. Past it, the worker is presumed dead and the
    # sweep claims the invitation again (the SMS idempotency key stops a second message).
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("survey invitation")
        verbose_name_plural = _("survey invitations")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "scheduled_for"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_status_display()}"


class SurveyResponse(models.Model):
    class Channel(models.TextChoices):
        SMS_LINK = "sms_link", _("SMS link")
        COUNTER_PAD = "counter_pad", _("Counter rating pad")

    invitation = models.OneToOneField(
        SurveyInvitation, on_delete=models.CASCADE, null=True, blank=True, related_name="response"
    )
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="survey_responses")
    channel = models.CharField(max_length=12, choices=Channel.choices)
    satisfaction = models.PositiveSmallIntegerField(
        _("satisfaction (1–5)"), validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    recommend = models.PositiveSmallIntegerField(
        _("would recommend (0–10)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(10)],
    )
    comment = models.TextField(_("comment"), blank=True, max_length=1000)
    submitted_at = models.DateTimeField(_("submitted at"))

    class Meta:
        verbose_name = _("survey response")
        verbose_name_plural = _("survey responses")
        ordering = ["-submitted_at"]
        indexes = [models.Index(fields=["branch", "submitted_at"])]

    def __str__(self) -> str:
        return f"{self.satisfaction}/5 {self.submitted_at:%Y-%m-%d}"
