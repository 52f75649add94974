from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from accounts.models import Branch
from accounts.names import pick_name

from .routing import PriorityClass
from .states import STATUS_LABELS, TicketAction, TicketStatus

# The longest target or handling time a service may have: one working day.
MAX_MINUTES = 600

PRIORITY_LABELS = {
    PriorityClass.TRANSFERRED: _("Transferred"),
    PriorityClass.APPOINTMENT: _("Appointment"),
    PriorityClass.CARE: _("Elderly / disabled / pregnant"),
    PriorityClass.VIP: _("VIP"),
    PriorityClass.REGULAR: _("Regular"),
}


class Service(models.Model):
    """A business type offered at a branch, with its own queue (prefix letter) and targets."""

    branch = models.ForeignKey(Branch, on_delete=models.CASCADE, related_name="services")
    code = models.SlugField(_("code"), max_length=30)
    name_zh = models.CharField(_("name (Chinese)"), max_length=60)
    name_zh_hant = models.CharField(_("name (Traditional Chinese)"), max_length=60, blank=True)
    name_en = models.CharField(_("name (English)"), max_length=60)
    prefix = models.CharField(
        _("queue prefix"),
        max_length=1,
        validators=[RegexValidator(r"^[A-Z]$", _("One capital letter, A to Z."))],
    )
    # Bounded by a working day: 0 would make every wait "over target" and divide the ETA by zero.
    target_wait_minutes = models.PositiveSmallIntegerField(
        _("target wait (minutes)"),
        default=15,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_MINUTES)],
    )
    standard_handle_minutes = models.PositiveSmallIntegerField(
        _("standard handling time (minutes)"),
        default=8,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_MINUTES)],
    )
    divertible = models.BooleanField(_("can be diverted to self-service"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("service")
        verbose_name_plural = _("services")
        ordering = ["branch", "sort_order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["branch", "code"], name="uniq_service_code"),
            models.UniqueConstraint(fields=["branch", "prefix"], name="uniq_service_prefix"),
        ]

    def __str__(self) -> str:
        return f"{self.prefix} {self.display_name}"

    @property
    def display_name(self) -> str:
        """The name in the reader's language (accounts.names.pick_name's fallback order)."""
        return pick_name(
            translation.get_language(),
            zh_hans=self.name_zh,
            zh_hant=self.name_zh_hant,
            en=self.name_en,
        )


class Counter(models.Model):
    branch = models.ForeignKey(Branch, on_delete=models.CASCADE, related_name="counters")
    number = models.PositiveSmallIntegerField(
        _("number"), validators=[MinValueValidator(1), MaxValueValidator(999)]
    )
    label = models.CharField(_("label"), max_length=60, blank=True)
    is_open = models.BooleanField(_("open"), default=False)
    is_paused = models.BooleanField(_("paused"), default=False)
    services = models.ManyToManyField(
        Service, through="CounterSkill", related_name="counters", verbose_name=_("services")
    )
    # Who is seated at the counter: set by counter_open / counter_take_over, cleared on close
    # and logout. Every counter and ticket action is refused to anyone else (queueing.services).
    teller = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("teller"),
    )

    class Meta:
        verbose_name = _("counter")
        verbose_name_plural = _("counters")
        ordering = ["branch", "number"]
        constraints = [
            models.UniqueConstraint(fields=["branch", "number"], name="uniq_counter_number")
        ]

    def __str__(self) -> str:
        return str(_("Counter %(number)s") % {"number": self.number})

    @property
    def accepts_calls(self) -> bool:
        return self.is_open and not self.is_paused


class CounterSkill(models.Model):
    """A service a counter serves; rank 0 is its primary service."""

    counter = models.ForeignKey(Counter, on_delete=models.CASCADE, related_name="skills")
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="skills")
    rank = models.PositiveSmallIntegerField(_("priority"), default=0)

    class Meta:
        verbose_name = _("counter skill")
        verbose_name_plural = _("counter skills")
        ordering = ["counter", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["counter", "service"], name="uniq_counter_skill")
        ]

    def __str__(self) -> str:
        return f"{self.counter_id}:{self.service_id}#{self.rank}"

    def clean(self) -> None:
        super().clean()
        try:
            # The objects, not the ids: in the admin's inline the counter may not be saved yet.
            counter, service = self.counter, self.service
        except ObjectDoesNotExist:
            return
        if counter.branch_id is not None and service.branch_id != counter.branch_id:
            raise ValidationError(
                {"service": _("That service belongs to another branch than the counter.")}
            )


class CounterEvent(models.Model):
    """Who opened, closed, paused, resumed, took over or left a counter, when and why: the
    audit trail of the seat (tickets have their own, TicketEvent)."""

    class Action(models.TextChoices):
        OPEN = "open", _("Opened")
        CLOSE = "close", _("Closed")
        PAUSE = "pause", _("Paused")
        RESUME = "resume", _("Resumed")
        TAKE_OVER = "take_over", _("Taken over")
        SIGN_OUT = "sign_out", _("Closed on sign-out")
        LEAVE = "leave", _("Left on sign-out, customer still at the counter")

    counter = models.ForeignKey(Counter, on_delete=models.CASCADE, related_name="events")
    branch = models.ForeignKey(Branch, on_delete=models.CASCADE, related_name="+")
    action = models.CharField(_("action"), max_length=12, choices=Action.choices)
    at = models.DateTimeField(_("at"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    # On a take-over: whose seat it was.
    previous_teller = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("previous teller"),
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("counter event")
        verbose_name_plural = _("counter events")
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["counter", "-at"], name="counterevent_counter_at")]

    def __str__(self) -> str:
        return f"{self.counter_id} {self.action} {self.at:%Y-%m-%d %H:%M:%S}"


class DailySequence(models.Model):
    """The last number issued per branch, prefix and local day; its row lock serialises issuing."""

    branch = models.ForeignKey(Branch, on_delete=models.CASCADE, related_name="+")
    prefix = models.CharField(max_length=1)
    business_date = models.DateField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["branch", "prefix", "business_date"], name="uniq_daily_sequence"
            )
        ]

    def __str__(self) -> str:
        return f"{self.prefix} {self.business_date}: {self.last_number}"


class Ticket(models.Model):
    # No index of its own: every index below that starts with the branch serves a lookup by
    # branch, and one index fewer is one less to update on each of a ticket's four changes.
    branch = models.ForeignKey(
        Branch, on_delete=models.PROTECT, related_name="tickets", db_index=False
    )
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="tickets")
    business_date = models.DateField(_("business date"))
    number = models.PositiveIntegerField(_("number"))
    code = models.CharField(_("ticket"), max_length=8)
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=[(s.value, label) for s, label in STATUS_LABELS.items()],
        default=TicketStatus.WAITING,
    )
    priority = models.PositiveSmallIntegerField(
        _("priority"),
        choices=[(p.value, label) for p, label in PRIORITY_LABELS.items()],
        default=PriorityClass.REGULAR,
    )
    issued_at = models.DateTimeField(_("issued at"))
    # The customer's first arrival in this visit: a transfer keeps it, so waits add up honestly.
    arrived_at = models.DateTimeField(_("arrived at"))
    called_at = models.DateTimeField(_("called at"), null=True, blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    counter = models.ForeignKey(
        Counter, on_delete=models.PROTECT, null=True, blank=True, related_name="tickets"
    )
    teller = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="served_tickets",
    )
    target_counter = models.ForeignKey(
        Counter,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Only this counter may call the ticket (a transfer to a named counter)."),
    )
    transferred_from = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="transferred_to"
    )
    recall_count = models.PositiveSmallIntegerField(_("recalls"), default=0)
    bypass_count = models.PositiveSmallIntegerField(
        _("passed over by priority customers"), default=0
    )
    # Remote queueing (status "remote" until the customer checks in at the branch). The queue
    # place counts from joining (arrived_at); checked_in_at is when they reached the branch.
    is_remote = models.BooleanField(_("joined remotely"), default=False)
    checked_in_at = models.DateTimeField(_("checked in at"), null=True, blank=True)
    # When its turn came while the customer was not here yet: the grace period runs from this.
    skipped_at = models.DateTimeField(_("turn passed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        ordering = ["-issued_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["branch", "business_date", "code"], name="uniq_ticket_code_per_day"
            )
        ]
        indexes = [
            models.Index(fields=["branch", "status", "service"], name="ticket_queue_idx"),
            models.Index(fields=["branch", "business_date"], name="ticket_day_idx"),
            # The counter's current ticket (call-next, close, the counter screen): only the
            # few tickets at a counter right now are in it, whatever the history.
            models.Index(
                fields=["counter"],
                condition=models.Q(status__in=["called", "serving"]),
                name="ticket_at_counter_now",
            ),
            # The recent handling times behind every wait estimate (selectors.handling_stats):
            # newest finished first, so the LIMIT stops early however long the history
            # (without it: 17 ms at 1 M tickets, 156 ms at 10 M).
            models.Index(
                fields=["branch", "-finished_at"],
                condition=models.Q(status="done"),
                name="ticket_done_recent",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def wait_seconds(self) -> float | None:
        if self.called_at is None:
            return None
        return (self.called_at - self.arrived_at).total_seconds()

    @property
    def handle_seconds(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class TicketEvent(models.Model):
    """Every transition, time-stamped and attributed: the audit trail and the KPI source."""

    # Indexed by (ticket, at) below, which serves a lookup by ticket too.
    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    # The ticket's branch, copied so that the latest event of a branch (the queue version live
    # screens poll, queueing.broadcast) is one index lookup however long the history.
    branch = models.ForeignKey(Branch, on_delete=models.CASCADE, related_name="+", db_index=False)
    action = models.CharField(max_length=12, choices=[(a.value, a.value) for a in TicketAction])
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12)
    at = models.DateTimeField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    counter = models.ForeignKey(
        Counter, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [
            models.Index(fields=["ticket", "at"]),
            models.Index(fields=["branch", "-id"], name="ticketevent_branch_latest"),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.action} {self.at:%H:%M:%S}"
