from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Branch
from crm.models import Customer, Interaction


class DeliveryStatus(models.TextChoices):
    ACCEPTED = "accepted", _("Accepted by the gateway")
    DELIVERED = "delivered", _("Delivered")
    UNDELIVERED = "undelivered", _("Not delivered")


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
    # The gateway's answer: its message id, then the delivery receipt (issue 8).
    provider_message_id = models.CharField(_("gateway message id"), max_length=80, blank=True)
    delivery_status = models.CharField(
        _("delivery"), max_length=12, choices=DeliveryStatus.choices, blank=True
    )
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

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
        PHONE = "phone", _("Phone call-back survey")

    class PadRating(models.TextChoices):
        VERY_SATISFIED = "very", _("Very satisfied")
        SATISFIED = "satisfied", _("Satisfied")
        DISSATISFIED = "dissatisfied", _("Dissatisfied")

    invitation = models.OneToOneField(
        SurveyInvitation, on_delete=models.CASCADE, null=True, blank=True, related_name="response"
    )
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="survey_responses")
    channel = models.CharField(max_length=12, choices=Channel.choices)
    # Overall satisfaction; empty for a rating-pad tap (pad_rating says it).
    satisfaction = models.PositiveSmallIntegerField(
        _("satisfaction (1–5)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
    )
    recommend = models.PositiveSmallIntegerField(
        _("would recommend (0–10)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(10)],
    )
    comment = models.TextField(_("comment"), blank=True, max_length=1000)
    submitted_at = models.DateTimeField(_("submitted at"))
    # Issue 8: the survey version answered and every question's answer (key -> value); the
    # language it was answered in; what it rates (feedback imports no queueing: plain ids and
    # the service's code, as crm's interactions keep them).
    version = models.ForeignKey(
        "SurveyVersion", on_delete=models.PROTECT, null=True, blank=True, related_name="responses"
    )
    answers = models.JSONField(_("answers"), default=dict, blank=True)
    language = models.CharField(_("language"), max_length=10, blank=True)
    ticket_id = models.PositiveBigIntegerField(_("ticket"), null=True, blank=True)
    service_code = models.CharField(_("service"), max_length=30, blank=True)
    teller = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("teller"),
    )
    pad_rating = models.CharField(
        _("rating pad answer"), max_length=12, choices=PadRating.choices, blank=True
    )
    pad_reason = models.CharField(_("reason"), max_length=30, blank=True)
    recorded_by = models.ForeignKey(  # a phone survey: who called
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("survey response")
        verbose_name_plural = _("survey responses")
        ordering = ["-submitted_at"]
        indexes = [
            models.Index(fields=["branch", "submitted_at"]),
            # The answers of the last minute, whatever the branch (kpi marks their days).
            models.Index(fields=["submitted_at"], name="response_submitted"),
        ]
        constraints = [
            # One rating-pad answer per ticket.
            models.UniqueConstraint(
                fields=["ticket_id", "channel"],
                condition=models.Q(channel="counter_pad"),
                name="uniq_pad_answer_per_ticket",
            )
        ]

    def __str__(self) -> str:
        return f"{self.satisfaction}/5 {self.submitted_at:%Y-%m-%d}"


class SurveyDefinition(models.Model):
    """A branch's survey: its questions are edited in the admin; each change publishes a new
    SurveyVersion, and every answer keeps the version it answered."""

    branch = models.OneToOneField(Branch, on_delete=models.CASCADE, related_name="survey")
    is_active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")

    def __str__(self) -> str:
        return f"{self.branch_id}"


class SurveyQuestion(models.Model):
    class Kind(models.TextChoices):
        RATING = "rating", _("Satisfaction 1–5")
        NPS = "nps", _("Recommendation 0–10")
        COMMENT = "comment", _("Free comment")
        YES_NO = "yes_no", _("Yes / no")

    survey = models.ForeignKey(SurveyDefinition, on_delete=models.CASCADE, related_name="questions")
    key = models.SlugField(_("key"), max_length=40)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    text_zh = models.CharField(_("text (Chinese)"), max_length=200)
    text_zh_hant = models.CharField(_("text (Traditional Chinese)"), max_length=200, blank=True)
    text_en = models.CharField(_("text (English)"), max_length=200, blank=True)
    required = models.BooleanField(_("required"), default=False)
    # Empty: asked after every service; else only after this one (queueing's Service code).
    service_code = models.CharField(_("only for service (code)"), max_length=30, blank=True)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("survey question")
        verbose_name_plural = _("survey questions")
        ordering = ["survey", "sort_order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["survey", "key"], name="uniq_survey_question_key")
        ]

    def __str__(self) -> str:
        return self.key


class SurveyVersion(models.Model):
    survey = models.ForeignKey(SurveyDefinition, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    questions = models.JSONField(_("questions"))
    created_at = models.DateTimeField(_("published at"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("survey version")
        verbose_name_plural = _("survey versions")
        ordering = ["survey", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["survey", "number"], name="uniq_survey_version")
        ]

    def __str__(self) -> str:
        return f"{self.survey_id} v{self.number}"


class FeedbackSettings(models.Model):
    """A branch's invitation policy (feedback.policy reads it)."""

    branch = models.OneToOneField(
        Branch, on_delete=models.CASCADE, related_name="feedback_settings"
    )
    delay_minutes = models.PositiveSmallIntegerField(
        _("send after the visit (minutes)"), default=30, validators=[MaxValueValidator(1440)]
    )
    sampling_percent = models.PositiveSmallIntegerField(
        _("share of served visits asked (%)"),
        default=100,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    min_days_between_surveys = models.PositiveSmallIntegerField(
        _("days between two surveys of one customer"), default=30
    )
    quiet_from = models.TimeField(_("quiet hours from"), default="21:00")
    quiet_until = models.TimeField(_("quiet hours until"), default="08:00")
    link_valid_days = models.PositiveSmallIntegerField(
        _("survey link valid (days)"), default=7, validators=[MinValueValidator(1)]
    )

    class Meta:
        verbose_name = _("feedback settings")
        verbose_name_plural = _("feedback settings")

    def __str__(self) -> str:
        return f"{self.branch_id}"


class RatingPad(models.Model):
    """A small screen at a counter, paired by a token in its URL like the display board."""

    branch = models.ForeignKey(Branch, on_delete=models.CASCADE, related_name="+")
    counter_id = models.PositiveIntegerField(_("counter"))  # queueing's Counter (no import)
    name = models.CharField(_("name"), max_length=60, blank=True)
    token = models.CharField(_("pairing token"), max_length=64, unique=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("rating pad")
        verbose_name_plural = _("rating pads")
        constraints = [
            models.UniqueConstraint(fields=["branch", "counter_id"], name="uniq_pad_per_counter")
        ]

    def __str__(self) -> str:
        return self.name or f"{self.branch_id}:{self.counter_id}"


class FollowUp(models.Model):
    """A bad answer reaches someone who acts: the branch head's follow-up of one response."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        DONE = "done", _("Followed up")

    response = models.OneToOneField(
        SurveyResponse, on_delete=models.CASCADE, related_name="follow_up"
    )
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default="open")
    reason = models.CharField(_("why"), max_length=100)
    created_at = models.DateTimeField(_("opened at"))
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    called_at = models.DateTimeField(_("called back at"), null=True, blank=True)
    result = models.TextField(_("result"), blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    complaint_id = models.PositiveBigIntegerField(_("complaint"), null=True, blank=True)

    class Meta:
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["branch", "status"], name="followup_branch_status")]

    def __str__(self) -> str:
        return f"{self.response_id} {self.status}"


class Suggestion(models.Model):
    class Status(models.TextChoices):
        NEW = "new", _("New")
        ADOPTED = "adopted", _("Adopted")
        DECLINED = "declined", _("Declined")

    class Source(models.TextChoices):
        CUSTOMER = "customer", _("Customer (lobby QR code)")
        STAFF = "staff", _("Staff")

    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="+")
    source = models.CharField(_("from"), max_length=10, choices=Source.choices)
    text = models.TextField(_("suggestion"), max_length=2000)
    # Optional: to tell the author the answer (a mobile number, stored normalised).
    contact_phone = models.CharField(_("contact phone"), max_length=20, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    submitted_at = models.DateTimeField(_("submitted at"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default="new")
    answer = models.TextField(_("answer"), blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    author_told_at = models.DateTimeField(_("author told at"), null=True, blank=True)

    class Meta:
        verbose_name = _("suggestion")
        verbose_name_plural = _("suggestions")
        ordering = ["-submitted_at"]
        indexes = [models.Index(fields=["branch", "-submitted_at"], name="suggestion_branch_at")]

    def __str__(self) -> str:
        return f"{self.pk} {self.status}"


class InboundSms(models.Model):
    """A reply from a customer (opt-out keywords withdraw consent); the number masked."""

    received_at = models.DateTimeField(_("received at"))
    from_masked = models.CharField(_("from"), max_length=20)
    body = models.CharField(_("message"), max_length=500)
    action = models.CharField(_("what was done"), max_length=30, blank=True)

    class Meta:
        verbose_name = _("inbound SMS")
        verbose_name_plural = _("inbound SMS")
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.from_masked} {self.received_at:%Y-%m-%d %H:%M}"
