"""Branches and who works where, in which role.

This app is the foundation every other app may import (like django.contrib.auth); among the
domain apps, queueing imports none (docs/architecture.md).
"""

import secrets
import zoneinfo
from datetime import time
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from .names import pick_name


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)s is not a known time zone."), params={"value": value})


def new_display_token() -> str:
    return secrets.token_urlsafe(24)


class Region(models.Model):
    """A group of branches under a regional head (issue 7): lists and reports across them."""

    code = models.SlugField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name (Chinese)"), max_length=100)
    name_zh_hant = models.CharField(_("name (Traditional Chinese)"), max_length=100, blank=True)
    name_en = models.CharField(_("name (English)"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def local_name(self) -> str:
        return pick_name(
            translation.get_language(),
            zh_hans=self.name,
            zh_hant=self.name_zh_hant,
            en=self.name_en,
        )


class LateArrivalRule(models.TextChoices):
    """What a customer who checks in after their appointment window gets."""

    REGULAR = "regular", _("Queue as a regular customer")
    KEEP = "keep", _("Keep appointment priority")
    REBOOK = "rebook", _("No ticket: book again")


class Branch(models.Model):
    code = models.SlugField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name (Chinese)"), max_length=100)
    name_zh_hant = models.CharField(_("name (Traditional Chinese)"), max_length=100, blank=True)
    name_en = models.CharField(_("name (English)"), max_length=100, blank=True)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="Asia/Shanghai", validators=[validate_time_zone]
    )
    opens_at = models.TimeField(_("opens at"), default=time(9, 0))
    closes_at = models.TimeField(_("closes at"), default=time(17, 0))
    # Routing policy (docs/routing.md): how far priority customers may go ahead.
    max_priority_bypass = models.PositiveSmallIntegerField(
        _("max priority bypass (K)"),
        default=3,
        validators=[MinValueValidator(0), MaxValueValidator(50)],
        help_text=_(
            "No regular customer is passed over by more than this many priority customers."
        ),
    )
    aging_enabled = models.BooleanField(
        _("tickets past their target wait skip the counter's service order"), default=True
    )
    max_recalls = models.PositiveSmallIntegerField(
        _("recalls before no-show"),
        default=2,
        validators=[MinValueValidator(0), MaxValueValidator(10)],
    )
    self_service_threshold = models.DecimalField(
        _("self-service threshold (CNY)"),
        max_digits=12,
        decimal_places=2,
        default=Decimal("20000"),
        # A negative threshold was once saved and shown to the lobby: refuse it everywhere.
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("Cash jobs up to this amount may be diverted to the self-service machines."),
    )
    region = models.ForeignKey(
        Region,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="branches",
        verbose_name=_("region"),
    )
    # The lobby display authenticates with this token in its URL, not with a staff login.
    display_token = models.CharField(
        _("display board token"), max_length=64, unique=True, default=new_display_token
    )
    # Reception (issue 6): remote queueing, late arrivals for appointments, the greeting target.
    remote_queue_enabled = models.BooleanField(
        _("customers may join the queue from their phone"), default=False
    )
    remote_grace_minutes = models.PositiveSmallIntegerField(
        _("remote ticket grace (minutes)"),
        default=15,
        validators=[MinValueValidator(1), MaxValueValidator(240)],
        help_text=_(
            "A remote ticket whose turn came before its customer checked in is kept this long."
        ),
    )
    late_arrival_rule = models.CharField(
        _("late appointment arrivals"),
        max_length=12,
        choices=LateArrivalRule.choices,
        default=LateArrivalRule.REGULAR,
    )
    greeting_target_minutes = models.PositiveSmallIntegerField(
        _("greeting target (minutes)"),
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(60)],
    )
    appointment_reminder_minutes = models.PositiveSmallIntegerField(
        _("appointment reminder (minutes before)"),
        default=120,
        validators=[MinValueValidator(10), MaxValueValidator(2880)],
    )

    class Meta:
        verbose_name = _("branch")
        verbose_name_plural = _("branches")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def clean(self) -> None:
        super().clean()
        if self.opens_at and self.closes_at and self.opens_at >= self.closes_at:
            raise ValidationError({"closes_at": _("The branch must close after it opens.")})

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def local_name(self) -> str:
        """The name in the reader's language (accounts.names.pick_name's fallback order)."""
        return pick_name(
            translation.get_language(),
            zh_hans=self.name,
            zh_hant=self.name_zh_hant,
            en=self.name_en,
        )


class BranchClosedDay(models.Model):
    """A day the branch is closed (public holiday, works): no appointment slots."""

    branch = models.ForeignKey(Branch, on_delete=models.CASCADE, related_name="closed_days")
    date = models.DateField(_("date"))
    reason = models.CharField(_("reason"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("closed day")
        verbose_name_plural = _("closed days")
        ordering = ["branch", "date"]
        constraints = [
            models.UniqueConstraint(fields=["branch", "date"], name="uniq_branch_closed_day")
        ]

    def __str__(self) -> str:
        return f"{self.branch_id} {self.date}"


class Role(models.TextChoices):
    LOBBY_MANAGER = "lobby_manager", _("Lobby manager")
    TELLER = "teller", _("Teller")
    BRANCH_HEAD = "branch_head", _("Branch head")
    ADMIN = "admin", _("Branch administrator")


class Membership(models.Model):
    """A user's role at a branch; a user may hold several roles, and work at several branches."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    branch = models.ForeignKey(Branch, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("staff membership")
        verbose_name_plural = _("staff memberships")
        constraints = [
            models.UniqueConstraint(fields=["user", "branch", "role"], name="uniq_membership_role")
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.branch.code}: {self.get_role_display()}"


class OutboxEvent(models.Model):
    """A domain event, written in the same transaction as the change it reports.

    The relay (accounts.outbox) hands it to every listener registered for its topic, at least
    once: one OutboxDelivery row per listener records whether that listener has run.
    """

    topic = models.CharField(_("topic"), max_length=60)
    payload = models.JSONField(_("payload"), default=dict)
    branch = models.ForeignKey(
        Branch, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("outbox event")
        verbose_name_plural = _("outbox events")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.topic}"


class OutboxDelivery(models.Model):
    """One listener's delivery of one event: pending until the listener's work commits."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DONE = "done", _("Delivered")
        DEAD = "dead", _("Gave up")

    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="deliveries")
    listener = models.CharField(_("listener"), max_length=80)
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("outbox delivery")
        verbose_name_plural = _("outbox deliveries")
        constraints = [
            models.UniqueConstraint(fields=["event", "listener"], name="outbox_delivery_once")
        ]
        # Only undelivered rows are ever searched; delivered ones stay out of the index, so the
        # relay's and the health check's queries do not grow with history.
        indexes = [
            models.Index(
                fields=["status", "next_attempt_at"],
                condition=~models.Q(status="done"),
                name="outbox_delivery_open",
            )
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.listener}: {self.get_status_display()}"


class RegionRole(models.TextChoices):
    HEAD = "head", _("Regional head")
    INSPECTOR = "inspector", _("Inspector")


class RegionMembership(models.Model):
    """A role over every branch of a region. A regional head reads the lists and reports of
    the region's branches; an inspector inspects them (quality: checklists, findings) and reads
    their scores. Neither has counter, lobby or configuration rights there: those come with a
    branch membership."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="region_memberships"
    )
    region = models.ForeignKey(Region, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(
        _("role"), max_length=12, choices=RegionRole.choices, default=RegionRole.HEAD
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("regional role")
        verbose_name_plural = _("regional roles")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "region", "role"], name="uniq_region_membership_role"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.region.code} ({self.role})"
