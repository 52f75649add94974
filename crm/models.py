from django.conf import settings
from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from accounts.models import Branch
from accounts.names import pick_name

from .personal_data import mask_id_number, mask_phone


class Tier(models.TextChoices):
    STANDARD = "", _("Standard")
    GOLD = "gold", _("Gold")
    PLATINUM = "platinum", _("Platinum")
    PRIVATE = "private", _("Private banking")


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
