from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Branch


class KpiSnapshot(models.Model):
    """Figures for one branch and local day; `hour` None = the whole day, `service_code` '' =
    all services. Recomputed by Celery from the source rows, so it can always be rebuilt."""

    branch = models.ForeignKey(Branch, on_delete=models.CASCADE, related_name="kpi_snapshots")
    day = models.DateField(_("day"))
    hour = models.PositiveSmallIntegerField(_("hour"), null=True, blank=True)
    service_code = models.CharField(_("service"), max_length=30, blank=True)
    issued = models.PositiveIntegerField(_("tickets issued"), default=0)
    served = models.PositiveIntegerField(_("served"), default=0)
    no_shows = models.PositiveIntegerField(_("no-shows"), default=0)
    diverted = models.PositiveIntegerField(_("diverted to self-service"), default=0)
    avg_wait_s = models.FloatField(_("average wait (s)"), null=True, blank=True)
    avg_handle_s = models.FloatField(_("average handling (s)"), null=True, blank=True)
    within_target_share = models.FloatField(_("served within target"), null=True, blank=True)
    avg_satisfaction = models.FloatField(_("average satisfaction"), null=True, blank=True)
    responses = models.PositiveIntegerField(_("survey responses"), default=0)
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("KPI snapshot")
        verbose_name_plural = _("KPI snapshots")
        ordering = ["-day", "hour", "service_code"]
        constraints = [
            models.UniqueConstraint(
                fields=["branch", "day", "service_code"],
                condition=models.Q(hour__isnull=True),
                name="uniq_kpi_day",
            ),
            models.UniqueConstraint(
                fields=["branch", "day", "hour", "service_code"],
                condition=models.Q(hour__isnull=False),
                name="uniq_kpi_hour",
            ),
        ]

    def __str__(self) -> str:
        scope = f"{self.hour:02d}h" if self.hour is not None else "day"
        return f"{self.branch_id} {self.day} {scope} {self.service_code or '*'}"
