from django.conf import settings
from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from accounts.models import Branch
from accounts.names import pick_name

from .personal_data import mask_id_number, mask_phone


class Severity(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


class Tier(models.TextChoices):
    STANDARD = "", _("Standard")
    GOLD = "gold", _("Gold")
    PLATINUM = "platinum", _("Platinum")
    PRIVATE = "private", _("Private banking")


class ConsentSource(models.TextChoices):
    LOBBY = "lobby", _("Lobby tablet")
    COUNTER = "counter", _("Counter")
    PHONE_PAGE = "phone_page", _("Customer's phone")
    API = "api", _("API")
    PAPER = "paper", _("Signed form")


class Customer(models.Model):
    """A bank customer, known across branches by mobile phone number."""

    # NULL, not "", once anonymised: many erased customers must not collide on the unique index.
    phone = models.CharField(_("mobile phone"), max_length=20, unique=True, null=True)  # noqa: DJ001
    name = models.CharField(_("name"), max_length=60, blank=True)
    id_number = models.CharField(_("ID number"), max_length=30, blank=True)
    is_vip = models.BooleanField(_("VIP"), default=False)
    tier = models.CharField(
        _("segment / VIP tier"), max_length=12, choices=Tier.choices, blank=True, default=""
    )
    sms_consent = models.BooleanField(_("agrees to service SMS"), default=False)
    sms_consent_at = models.DateTimeField(_("consent given at"), null=True, blank=True)
    # A second number the customer gave (home, work): found by search, never used for SMS.
    other_phone = models.CharField(_("other phone"), max_length=20, blank=True)
    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    id_expires_on = models.DateField(_("ID document expires on"), null=True, blank=True)
    # Consent is evidence: where it was given and the wording the customer agreed to.
    sms_consent_source = models.CharField(
        _("consent given via"), max_length=20, choices=ConsentSource.choices, blank=True
    )
    sms_consent_wording = models.CharField(_("consent wording version"), max_length=20, blank=True)
    # A duplicate merged into another record keeps its row (and nothing else) for the trail.
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merged_from",
        verbose_name=_("merged into"),
    )
    merged_at = models.DateTimeField(_("merged at"), null=True, blank=True)
    preferred_language = models.CharField(
        _("preferred language"), max_length=10, choices=settings.LANGUAGES, default="zh-hans"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_visit_at = models.DateTimeField(_("last visit"), null=True, blank=True)
    # Set when the retention period has passed and personal data was erased.
    anonymised_at = models.DateTimeField(_("anonymised at"), null=True, blank=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["-last_visit_at", "-created_at"]

    def __str__(self) -> str:
        return f"{self.name or _('Customer')} {self.masked_phone}"

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone or "")

    @property
    def masked_id_number(self) -> str:
        return mask_id_number(self.id_number)


class Interaction(models.Model):
    """Something that happened between the bank and a customer (a served visit, a note, …)."""

    class Kind(models.TextChoices):
        BRANCH_SERVICE = "branch_service", _("Served at a counter")
        SELF_SERVICE = "self_service", _("Diverted to self-service")
        NO_SHOW = "no_show", _("Left before being served")
        NOTE = "note", _("Note")
        # Helped at the door without a ticket: redirected or answered on the spot (the
        # outcome says which: reception's Visit.Route).
        LOBBY = "lobby", _("Helped in the lobby")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="interactions")
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="interactions")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    service_code = models.CharField(_("service"), max_length=30, blank=True)
    # The service's names when it happened (crm knows no services): pages show these, in the
    # reader's language, not the code. A later rename does not rewrite history.
    service_name_zh = models.CharField(_("name (Chinese)"), max_length=60, blank=True)
    service_name_zh_hant = models.CharField(
        _("name (Traditional Chinese)"), max_length=60, blank=True
    )
    service_name_en = models.CharField(_("name (English)"), max_length=60, blank=True)
    summary = models.CharField(_("summary"), max_length=300, blank=True)
    outcome = models.CharField(_("outcome"), max_length=30, blank=True)
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    occurred_at = models.DateTimeField(_("when"))
    # Where it came from ("ticket:123"): makes recording idempotent when an event is replayed.
    source = models.CharField(max_length=40, blank=True)

    class Meta:
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        ordering = ["-occurred_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["source"], condition=~models.Q(source=""), name="uniq_interaction_source"
            )
        ]
        indexes = [models.Index(fields=["customer", "-occurred_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.occurred_at:%Y-%m-%d}"

    @property
    def service_label(self) -> str:
        """The service in the reader's language; the code only when no name was recorded."""
        return (
            pick_name(
                translation.get_language(),
                zh_hans=self.service_name_zh,
                zh_hant=self.service_name_zh_hant,
                en=self.service_name_en,
            )
            or self.service_code
        )


class CustomerBranch(models.Model):
    """A branch that knows the customer: they registered or were served there.

    Staff of a branch may look up only these customers (crm.selectors.customers_known_at_branch),
    so a branch cannot browse the bank's whole customer base. Written by crm's own services
    (customer_find_or_create with a branch, interaction_record), so crm needs no other app to
    answer "has this customer been here?".
    """

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="branch_links")
    branch = models.ForeignKey(Branch, on_delete=models.CASCADE, related_name="+")
    first_seen_at = models.DateTimeField(_("first seen"))
    last_seen_at = models.DateTimeField(_("last seen"))

    class Meta:
        verbose_name = _("customer at branch")
        verbose_name_plural = _("customers at branches")
        constraints = [
            models.UniqueConstraint(fields=["branch", "customer"], name="uniq_customer_branch")
        ]

    def __str__(self) -> str:
        return f"{self.customer} @ {self.branch.code}"


class Deposit(models.Model):
    """A term deposit the branch holds for the customer: its maturity feeds a care reminder."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="deposits")
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="+")
    product = models.CharField(_("product"), max_length=60)
    amount = models.DecimalField(_("amount (CNY)"), max_digits=14, decimal_places=2)
    matures_on = models.DateField(_("matures on"))

    class Meta:
        verbose_name = _("term deposit")
        verbose_name_plural = _("term deposits")
        ordering = ["matures_on"]
        indexes = [models.Index(fields=["branch", "matures_on"], name="deposit_branch_matures")]

    def __str__(self) -> str:
        return f"{self.product} {self.matures_on}"


class ReminderKind(models.TextChoices):
    MANUAL = "manual", _("Set by staff")
    FOLLOW_UP = "follow_up", _("Follow-up after a visit")
    DEPOSIT_MATURITY = "deposit", _("Deposit maturing")
    ID_EXPIRY = "id_expiry", _("ID document expiring")
    BIRTHDAY = "birthday", _("Birthday (VIP)")


class CareRule(models.Model):
    """A branch's rule that creates care reminders (beat runs them daily)."""

    branch = models.ForeignKey(Branch, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(
        _("kind"),
        max_length=12,
        choices=[c for c in ReminderKind.choices if c[0] not in ("manual", "follow_up")],
    )
    days_before = models.PositiveSmallIntegerField(_("days before"), default=7)
    is_active = models.BooleanField(_("active"), default=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("assign to"),
    )

    class Meta:
        verbose_name = _("care rule")
        verbose_name_plural = _("care rules")
        constraints = [models.UniqueConstraint(fields=["branch", "kind"], name="uniq_care_rule")]

    def __str__(self) -> str:
        return f"{self.branch_id} {self.kind}"


class CareReminder(models.Model):
    """关怀提醒: something to do for a customer by a date, by someone."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="reminders")
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=12, choices=ReminderKind.choices)
    title = models.CharField(_("what to do"), max_length=200)
    due_on = models.DateField(_("due"))
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("assigned to"),
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default="open")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"))
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    outcome_note = models.CharField(_("what was done"), max_length=300, blank=True)
    # What made it ("visit:12", "deposit:5:2026-12-01", "birthday:7:2026"): a rule or a replayed
    # event never creates the same reminder twice.
    source = models.CharField(max_length=60, blank=True)

    class Meta:
        verbose_name = _("care reminder")
        verbose_name_plural = _("care reminders")
        ordering = ["due_on", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["source"], condition=~models.Q(source=""), name="uniq_reminder_source"
            )
        ]
        indexes = [
            models.Index(
                fields=["branch", "due_on"],
                condition=models.Q(status="open"),
                name="reminder_open_due",
            ),
            models.Index(fields=["customer", "status"], name="reminder_customer_status"),
            # Reminders done in the last minute (kpi marks their days).
            models.Index(
                fields=["done_at"],
                condition=models.Q(done_at__isnull=False),
                name="reminder_done_at",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} {self.due_on}"


class ComplaintDeadline(models.Model):
    """How long a branch has, by severity, to acknowledge and to resolve a complaint (working
    days: the branch's closed days and weekends do not count)."""

    branch = models.ForeignKey(Branch, on_delete=models.CASCADE, related_name="+")
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices)
    acknowledge_days = models.PositiveSmallIntegerField(_("acknowledge within (working days)"))
    resolve_days = models.PositiveSmallIntegerField(_("resolve within (working days)"))
    remind_days_before = models.PositiveSmallIntegerField(
        _("remind (working days before)"), default=1
    )

    class Meta:
        verbose_name = _("complaint deadline")
        verbose_name_plural = _("complaint deadlines")
        constraints = [
            models.UniqueConstraint(fields=["branch", "severity"], name="uniq_complaint_deadline")
        ]

    def __str__(self) -> str:
        return f"{self.branch_id} {self.severity}"


class Complaint(models.Model):
    class Status(models.TextChoices):
        LOGGED = "logged", _("Logged")
        ASSIGNED = "assigned", _("Assigned")
        INVESTIGATING = "investigating", _("Being investigated")
        RESOLVED = "resolved", _("Resolved")
        INFORMED = "informed", _("Customer informed")
        CLOSED = "closed", _("Closed")

    class Channel(models.TextChoices):
        COUNTER = "counter", _("At the counter")
        PHONE = "phone", _("Phone call")
        LETTER = "letter", _("Letter")
        SURVEY = "survey", _("Survey answer")
        ONLINE = "online", _("Online")

    class InformedBy(models.TextChoices):
        SMS = "sms", _("SMS")
        CALL = "call", _("Phone call (recorded)")
        IN_PERSON = "in_person", _("In person")

    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="complaints")
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="complaints"
    )
    channel = models.CharField(_("received via"), max_length=10, choices=Channel.choices)
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices)
    subject = models.CharField(_("subject"), max_length=200)
    details = models.TextField(_("details"), blank=True)
    status = models.CharField(_("status"), max_length=14, choices=Status.choices, default="logged")
    # Where it came from ("survey:12"): a replayed event never logs the same complaint twice.
    source = models.CharField(max_length=60, blank=True)
    logged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    logged_at = models.DateTimeField(_("logged at"))
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("assigned to"),
    )
    acknowledge_due_at = models.DateTimeField(_("acknowledge by"))
    resolve_due_at = models.DateTimeField(_("resolve by"))
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolution = models.TextField(_("resolution"), blank=True)
    informed_at = models.DateTimeField(_("customer informed at"), null=True, blank=True)
    informed_by = models.CharField(
        _("customer informed by"), max_length=10, choices=InformedBy.choices, blank=True
    )
    informed_note = models.CharField(_("what the customer was told"), max_length=300, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reminded_at = models.DateTimeField(_("deadline reminder sent at"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    escalation_level = models.PositiveSmallIntegerField(_("escalation level"), default=0)

    class Meta:
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        ordering = ["-logged_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["source"], condition=~models.Q(source=""), name="uniq_complaint_source"
            )
        ]
        indexes = [
            models.Index(fields=["branch", "-logged_at"], name="complaint_branch_logged"),
            models.Index(
                fields=["resolve_due_at"],
                condition=~models.Q(status="closed"),
                name="complaint_open_due",
            ),
            # Steps taken and deadlines passed in the last minute, whatever the status (kpi
            # marks the days they change).
            models.Index(fields=["acknowledged_at"], name="complaint_acknowledged"),
            models.Index(fields=["resolved_at"], name="complaint_resolved"),
            models.Index(fields=["acknowledge_due_at"], name="complaint_ack_due"),
            models.Index(fields=["resolve_due_at"], name="complaint_resolve_due"),
        ]

    def __str__(self) -> str:
        return f"{self.pk} {self.subject}"


class ComplaintEvent(models.Model):
    """The complaint's full trail: every step, who, when, what was said."""

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(_("action"), max_length=20)
    from_status = models.CharField(max_length=14, blank=True)
    to_status = models.CharField(max_length=14, blank=True)
    at = models.DateTimeField(_("at"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("complaint event")
        verbose_name_plural = _("complaint events")
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["complaint", "at"], name="complaintevent_at")]

    def __str__(self) -> str:
        return f"{self.complaint_id} {self.action}"


class RevealLog(models.Model):
    """Every time someone unmasked a customer's number or ID: who, when, why (the branch head
    lists them)."""

    class Field(models.TextChoices):
        PHONE = "phone", _("Mobile phone")
        OTHER_PHONE = "other_phone", _("Other phone")
        ID_NUMBER = "id_number", _("ID number")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="+")
    field = models.CharField(_("what"), max_length=12, choices=Field.choices)
    reason = models.CharField(_("why"), max_length=200)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by")
    )
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("revealed personal data")
        verbose_name_plural = _("revealed personal data")
        ordering = ["-at"]
        indexes = [models.Index(fields=["branch", "-at"], name="reveallog_branch_at")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.field} {self.at:%Y-%m-%d %H:%M}"
