from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Branch
from crm.models import Customer
from queueing.models import Service, Ticket


class Visit(models.Model):
    """One customer's visit to a branch, from the door to the counter (or the machines)."""

    class Route(models.TextChoices):
        QUEUE = "queue", _("Queue ticket")
        SELF_SERVICE = "self_service", _("Self-service machines")

    class Outcome(models.TextChoices):
        COMPLETED = "completed", _("Completed")
        INCOMPLETE = "incomplete", _("Not completed (customer to return)")
        REFERRED = "referred", _("Referred elsewhere")

    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="visits")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="visits")
    service = models.ForeignKey(
        Service, on_delete=models.PROTECT, related_name="visits", verbose_name=_("need")
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
    served_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        ordering = ["-registered_at"]
        indexes = [models.Index(fields=["branch", "-registered_at"])]

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
