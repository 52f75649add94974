from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Branch
from crm.models import Customer
from queueing.models import Service, Ticket


class Visit(models.Model):
    """One customer's visit to a branch, from the door to the counter (or the machines)."""

    class Route(models.TextChoices):
        """Every way a visit at the door can end: ticket or not, each arrival is recorded."""

        QUEUE = "queue", _("Queue ticket")
        SELF_SERVICE = "self_service", _("Self-service machines")
        DIGITAL = "digital", _("Redirected to mobile or online banking")
        OTHER_BRANCH = "other_branch", _("Redirected to another branch")
        ANSWERED = "answered", _("Answered on the spot")
        APPOINTMENT_BOOKED = "booked", _("Appointment booked")
        LEFT = "left", _("Left before triage")

    class Channel(models.TextChoices):
        """How the arrival was first recorded."""

        LOBBY = "lobby", _("Lobby manager")
        CHECK_IN = "check_in", _("Appointment check-in")
        QR = "qr", _("Customer scanned the branch's QR code")
        REMOTE = "remote", _("Joined the queue from the phone")

    class Outcome(models.TextChoices):
        COMPLETED = "completed", _("Completed")
        INCOMPLETE = "incomplete", _("Not completed (customer to return)")
        REFERRED = "referred", _("Referred elsewhere")
        FOLLOW_UP = "follow_up", _("Follow-up needed")

    class IncompleteReason(models.TextChoices):
        """Why a service could not be completed (the outcome "incomplete")."""

        DOCUMENTS_MISSING = "documents", _("Documents missing")
        IDENTITY_NOT_VERIFIED = "identity", _("Identity could not be verified")
        SYSTEM_DOWN = "system", _("System unavailable")
        NEEDS_APPROVAL = "approval", _("Needs approval")
        CUSTOMER_DECLINED = "declined", _("Customer changed their mind")
        OTHER = "other", _("Other")

    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="visits")
    # Empty only for someone who left before giving a number (route "left").
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="visits", null=True, blank=True
    )
    # Empty only where no need was recorded (route "left").
    service = models.ForeignKey(
        Service,
        on_delete=models.PROTECT,
        related_name="visits",
        verbose_name=_("need"),
        null=True,
        blank=True,
    )
    amount = models.DecimalField(
        _("amount (CNY)"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    is_elderly = models.BooleanField(_("elderly"), default=False)
    is_disabled = models.BooleanField(_("disabled"), default=False)
    is_pregnant = models.BooleanField(_("pregnant"), default=False)
    is_vip = models.BooleanField(_("VIP"), default=False)
    appointment_at = models.DateTimeField(_("appointment time"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    route = models.CharField(_("route"), max_length=20, choices=Route.choices)
    channel = models.CharField(
        _("arrival recorded by"), max_length=10, choices=Channel.choices, default=Channel.LOBBY
    )
    # The self-service diversion's amount band (triage.amount_band), kept when the amount is.
    amount_band = models.CharField(_("amount band"), max_length=12, blank=True)
    # Redirects: where to (another branch's name, "mobile banking" …).
    redirect_to = models.CharField(_("redirected to"), max_length=100, blank=True)
    # Greeting and triage (branch plans: greeted within 5 minutes). arrived_at: the first sign
    # of the customer (check-in, QR scan or the manager's first tap); greeted_at: the manager's
    # first tap for them; triaged_at: when the route was decided. Empty for a remote ticket
    # until its customer checks in.
    arrived_at = models.DateTimeField(_("arrived at"), null=True, blank=True)
    greeted_at = models.DateTimeField(_("greeted at"), null=True, blank=True)
    triaged_at = models.DateTimeField(_("triaged at"), null=True, blank=True)
    # The visit's current ticket; a transfer moves it to the new ticket.
    ticket = models.OneToOneField(
        Ticket, on_delete=models.PROTECT, null=True, blank=True, related_name="visit"
    )
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    registered_at = models.DateTimeField(_("registered at"))
    # Filled in by the teller.
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices, blank=True)
    identity_verified = models.BooleanField(_("identity verified"), default=False)
    documents_signed = models.BooleanField(_("documents signed"), default=False)
    funds_handed_over = models.BooleanField(_("funds handed over"), default=False)
    error_note = models.CharField(_("error or problem"), max_length=300, blank=True)
    incomplete_reason = models.CharField(
        _("reason not completed"), max_length=12, choices=IncompleteReason.choices, blank=True
    )
    # The service's control points as the teller saw them (their version) and which were ticked.
    control_version = models.ForeignKey(
        "ControlPointVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="visits",
        verbose_name=_("control points version"),
    )
    checked_points = models.JSONField(_("control points ticked"), default=list, blank=True)
    served_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        ordering = ["-registered_at"]
        indexes = [
            models.Index(fields=["branch", "-registered_at"]),
            models.Index(fields=["branch", "arrived_at"], name="visit_branch_arrived"),
        ]

    def __str__(self) -> str:
        return f"{self.customer} {self.registered_at:%Y-%m-%d %H:%M}"


class VisitHandover(models.Model):
    """What one teller hands on with a transfer: their note and the control points they had
    already checked, so the next counter neither asks again nor assumes what was not done."""

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="handovers")
    from_ticket = models.OneToOneField(
        Ticket, on_delete=models.PROTECT, related_name="handover", verbose_name=_("from ticket")
    )
    to_ticket = models.OneToOneField(
        Ticket, on_delete=models.PROTECT, related_name="handed_over", verbose_name=_("to ticket")
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("transferred by"),
    )
    at = models.DateTimeField(_("transferred at"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    identity_verified = models.BooleanField(_("identity verified"), default=False)
    documents_signed = models.BooleanField(_("documents signed"), default=False)
    funds_handed_over = models.BooleanField(_("funds handed over"), default=False)

    class Meta:
        verbose_name = _("handover")
        verbose_name_plural = _("handovers")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.from_ticket_id} → {self.to_ticket_id}"


class AppointmentPlan(models.Model):
    """Which services a branch books, in slots of how long and how many customers each.
    Slots run within the branch's opening hours; closed days (accounts.BranchClosedDay) have
    none."""

    branch = models.ForeignKey(Branch, on_delete=models.CASCADE, related_name="+")
    service = models.OneToOneField(
        Service,
        on_delete=models.CASCADE,
        related_name="appointment_plan",
        verbose_name=_("service"),
    )
    slot_minutes = models.PositiveSmallIntegerField(
        _("slot length (minutes)"),
        default=30,
        validators=[MinValueValidator(5), MaxValueValidator(240)],
    )
    capacity = models.PositiveSmallIntegerField(
        _("customers per slot"), default=2, validators=[MinValueValidator(1), MaxValueValidator(50)]
    )
    days_ahead = models.PositiveSmallIntegerField(
        _("bookable days ahead"),
        default=14,
        validators=[MinValueValidator(1), MaxValueValidator(90)],
    )
    is_active = models.BooleanField(_("bookable"), default=True)

    class Meta:
        verbose_name = _("appointment plan")
        verbose_name_plural = _("appointment plans")
        ordering = ["branch", "service"]

    def __str__(self) -> str:
        return f"{self.service} / {self.slot_minutes} min x {self.capacity}"


class Appointment(models.Model):
    class Status(models.TextChoices):
        BOOKED = "booked", _("Booked")
        CHECKED_IN = "checked_in", _("Checked in")
        CANCELLED = "cancelled", _("Cancelled")
        NO_SHOW = "no_show", _("Did not come")

    class Channel(models.TextChoices):
        STAFF = "staff", _("Staff")
        API = "api", _("API")
        CUSTOMER = "customer", _("Customer's phone")

    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="appointments")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="appointments")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="appointments")
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.BOOKED
    )
    channel = models.CharField(_("booked by"), max_length=10, choices=Channel.choices)
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("booked at"))
    checked_in_at = models.DateTimeField(_("checked in at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    no_show_at = models.DateTimeField(_("recorded as no-show at"), null=True, blank=True)
    reminder_queued_at = models.DateTimeField(_("reminder queued at"), null=True, blank=True)
    reschedule_count = models.PositiveSmallIntegerField(_("times rescheduled"), default=0)
    # The visit its check-in opened.
    visit = models.OneToOneField(
        Visit, on_delete=models.SET_NULL, null=True, blank=True, related_name="appointment"
    )

    class Meta:
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        ordering = ["starts_at", "pk"]
        indexes = [
            models.Index(fields=["branch", "starts_at"], name="appointment_branch_start"),
            models.Index(fields=["service", "starts_at"], name="appointment_service_start"),
            # What is still open: reminders, no-shows, the lobby's "due in the next hour".
            models.Index(
                fields=["ends_at"],
                condition=models.Q(status="booked"),
                name="appointment_open",
            ),
            # Check-ins of the last minute (kpi marks their days).
            models.Index(
                fields=["checked_in_at"],
                condition=models.Q(checked_in_at__isnull=False),
                name="appointment_checked_in",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_id} {self.starts_at:%Y-%m-%d %H:%M}"


class PhoneVerification(models.Model):
    """A one-time code sent by SMS before a customer books or queues from their phone. Neither
    number nor code is stored: only keyed hashes (reception.verification)."""

    phone_hash = models.CharField(max_length=64, db_index=True)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    verified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("phone verification")
        verbose_name_plural = _("phone verifications")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.pk} {self.created_at:%Y-%m-%d %H:%M}"


class ServiceForm(models.Model):
    """A service's pre-filled form (预填单). Its fields are edited in the admin; each change
    publishes a new FormVersion, and every submission keeps the version it was filled in."""

    branch = models.ForeignKey(Branch, on_delete=models.CASCADE, related_name="+")
    service = models.OneToOneField(
        Service, on_delete=models.CASCADE, related_name="form", verbose_name=_("service")
    )
    title_zh = models.CharField(_("title (Chinese)"), max_length=100)
    title_zh_hant = models.CharField(_("title (Traditional Chinese)"), max_length=100, blank=True)
    title_en = models.CharField(_("title (English)"), max_length=100, blank=True)
    is_active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("pre-filled form")
        verbose_name_plural = _("pre-filled forms")
        ordering = ["branch", "service"]

    def __str__(self) -> str:
        return self.title_zh


class FormField(models.Model):
    class Kind(models.TextChoices):
        TEXT = "text", _("Text")
        NUMBER = "number", _("Number")
        AMOUNT = "amount", _("Amount (CNY)")
        CHOICE = "choice", _("Choice")
        DATE = "date", _("Date")
        ID_TYPE = "id_type", _("ID document type")
        YES_NO = "yes_no", _("Yes / no")

    form = models.ForeignKey(ServiceForm, on_delete=models.CASCADE, related_name="fields")
    key = models.SlugField(_("key"), max_length=40)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    label_zh = models.CharField(_("label (Chinese)"), max_length=100)
    label_zh_hant = models.CharField(_("label (Traditional Chinese)"), max_length=100, blank=True)
    label_en = models.CharField(_("label (English)"), max_length=100, blank=True)
    required = models.BooleanField(_("required"), default=False)
    # Masked on every screen but the serving teller's (account numbers, ID numbers …).
    sensitive = models.BooleanField(_("sensitive"), default=False)
    # For "choice": one option per line, "value | 中文 | 中文（繁體） | English".
    choices = models.TextField(_("options"), blank=True)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("form field")
        verbose_name_plural = _("form fields")
        ordering = ["form", "sort_order", "pk"]
        constraints = [models.UniqueConstraint(fields=["form", "key"], name="uniq_form_field_key")]

    def __str__(self) -> str:
        return self.key


class FormVersion(models.Model):
    """A frozen copy of a form's fields: what a submission was filled in against."""

    form = models.ForeignKey(ServiceForm, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    fields = models.JSONField(_("fields"))
    created_at = models.DateTimeField(_("published at"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("form version")
        verbose_name_plural = _("form versions")
        ordering = ["form", "-number"]
        constraints = [models.UniqueConstraint(fields=["form", "number"], name="uniq_form_version")]

    def __str__(self) -> str:
        return f"{self.form_id} v{self.number}"


class FormSubmission(models.Model):
    class FilledBy(models.TextChoices):
        CUSTOMER = "customer", _("Customer, on their phone")
        STAFF = "staff", _("Lobby manager")

    visit = models.OneToOneField(Visit, on_delete=models.CASCADE, related_name="form_submission")
    version = models.ForeignKey(FormVersion, on_delete=models.PROTECT, related_name="submissions")
    data = models.JSONField(_("answers"))
    filled_by = models.CharField(_("filled in by"), max_length=10, choices=FilledBy.choices)
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    submitted_at = models.DateTimeField(_("submitted at"))
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("form submission")
        verbose_name_plural = _("form submissions")

    def __str__(self) -> str:
        return f"{self.visit_id} v{self.version_id}"


class LobbyAlert(models.Model):
    """A service's queue running over: raised when its longest wait passes the target or the
    queue outgrows its open counters, cleared when that ends; kept for the reports."""

    class Kind(models.TextChoices):
        WAIT_OVER_TARGET = "wait", _("Longest wait over target")
        QUEUE_OUTGROWS = "queue", _("Queue outgrows its counters")

    class Suggestion(models.TextChoices):
        OPEN_COUNTER = "open_counter", _("Open a counter")
        DIVERT = "divert", _("Divert small cash jobs to the machines")
        FLOATING_TELLER = "floating", _("Call a floating teller")

    branch = models.ForeignKey(Branch, on_delete=models.CASCADE, related_name="+")
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    suggestion = models.CharField(_("suggestion"), max_length=12, choices=Suggestion.choices)
    raised_at = models.DateTimeField(_("raised at"))
    cleared_at = models.DateTimeField(_("cleared at"), null=True, blank=True)
    waiting = models.PositiveIntegerField(_("waiting"))
    longest_wait_seconds = models.PositiveIntegerField(_("longest wait (s)"))
    target_wait_seconds = models.PositiveIntegerField(_("target wait (s)"))
    open_counters = models.PositiveSmallIntegerField(_("open counters"))
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)

    class Meta:
        verbose_name = _("lobby alert")
        verbose_name_plural = _("lobby alerts")
        ordering = ["-raised_at"]
        indexes = [
            models.Index(fields=["branch", "-raised_at"], name="lobbyalert_branch_raised"),
            # Alerts cleared in the last minute (kpi marks their days).
            models.Index(
                fields=["cleared_at"],
                condition=models.Q(cleared_at__isnull=False),
                name="lobbyalert_cleared",
            ),
        ]
        constraints = [
            # At most one open alert of a kind per service.
            models.UniqueConstraint(
                fields=["service", "kind"],
                condition=models.Q(cleared_at__isnull=True),
                name="uniq_open_lobby_alert",
            )
        ]

    def __str__(self) -> str:
        return f"{self.service_id} {self.kind} {self.raised_at:%Y-%m-%d %H:%M}"


class ControlPoint(models.Model):
    """A key control point of a service (information checked, documents signed, funds handed
    over …): edited in the admin; each change publishes a new ControlPointVersion."""

    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, related_name="control_points", verbose_name=_("service")
    )
    key = models.SlugField(_("key"), max_length=40)
    label_zh = models.CharField(_("label (Chinese)"), max_length=120)
    label_zh_hant = models.CharField(_("label (Traditional Chinese)"), max_length=120, blank=True)
    label_en = models.CharField(_("label (English)"), max_length=120, blank=True)
    required = models.BooleanField(_("required"), default=True)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("in use"), default=True)
    # The service standard's clause this point comes from, "<standard code> <clause>", e.g.
    # "SOP-CASH 3.2": the counter links to it (quality serves standards; reception only keeps
    # the reference, so it needs nothing of quality).
    clause_ref = models.CharField(_("standard clause"), max_length=50, blank=True)

    class Meta:
        verbose_name = _("control point")
        verbose_name_plural = _("control points")
        ordering = ["service", "sort_order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["service", "key"], name="uniq_control_point_key")
        ]

    def __str__(self) -> str:
        return self.key


class ControlPointVersion(models.Model):
    """A frozen copy of a service's active control points: what a visit was checked against."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+")
    number = models.PositiveIntegerField(_("version"))
    points = models.JSONField(_("control points"))
    created_at = models.DateTimeField(_("published at"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("control points version")
        verbose_name_plural = _("control points versions")
        ordering = ["service", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["service", "number"], name="uniq_control_version")
        ]

    def __str__(self) -> str:
        return f"{self.service_id} v{self.number}"


class ErrorCategory(models.Model):
    """A kind of error (差错): wrong amount, wrong account, missing signature … (admin list)."""

    branch = models.ForeignKey(Branch, on_delete=models.CASCADE, related_name="+")
    code = models.SlugField(_("code"), max_length=30)
    name_zh = models.CharField(_("name (Chinese)"), max_length=60)
    name_zh_hant = models.CharField(_("name (Traditional Chinese)"), max_length=60, blank=True)
    name_en = models.CharField(_("name (English)"), max_length=60, blank=True)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("error category")
        verbose_name_plural = _("error categories")
        ordering = ["branch", "sort_order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["branch", "code"], name="uniq_error_category")
        ]

    def __str__(self) -> str:
        return self.name_zh


class ServiceError(models.Model):
    """An error made or found while serving, counted per teller and service."""

    class Severity(models.TextChoices):
        MINOR = "minor", _("Minor")
        MAJOR = "major", _("Major")
        CRITICAL = "critical", _("Critical")

    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="+")
    visit = models.ForeignKey(
        Visit, on_delete=models.PROTECT, null=True, blank=True, related_name="errors"
    )
    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="+")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    teller = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("teller"),
    )
    category = models.ForeignKey(
        ErrorCategory, on_delete=models.PROTECT, related_name="errors", verbose_name=_("category")
    )
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices)
    note = models.CharField(_("note"), max_length=300, blank=True)
    recorded_at = models.DateTimeField(_("recorded at"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        verbose_name = _("service error")
        verbose_name_plural = _("service errors")
        ordering = ["-recorded_at"]
        indexes = [
            models.Index(fields=["branch", "-recorded_at"], name="serviceerror_branch_at"),
            models.Index(fields=["teller", "-recorded_at"], name="serviceerror_teller_at"),
        ]

    def __str__(self) -> str:
        return f"{self.category_id} {self.recorded_at:%Y-%m-%d}"
