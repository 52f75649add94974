from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Branch


class KpiRollup(models.Model):
    """Additive figures of one cell: branch x local day x local hour x service x teller.

    Every column is a count or a sum, so any slice (a month, a region, one teller, a weekday x
    hour) is one SUM over rows, and averages and shares are computed from the sums afterwards
    (kpi/metrics.py). `service` is empty for figures that belong to no service (complaints,
    care reminders), `teller` for those that belong to no teller (arrivals not yet called,
    walk-aways, greeting). Rebuilt per branch and day by kpi.services.rollup_recompute_day:
    the rows are derived, never edited.
    """

    branch = models.ForeignKey(Branch, on_delete=models.CASCADE, related_name="+")
    day = models.DateField(_("day"))
    hour = models.PositiveSmallIntegerField(_("hour"))
    weekday = models.PositiveSmallIntegerField(_("weekday"))  # 0 = Monday, for the heatmap
    service = models.ForeignKey(
        "queueing.Service", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    teller = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    # Arrivals and how they ended
    visits = models.PositiveIntegerField(_("visits registered"), default=0)
    diverted = models.PositiveIntegerField(_("diverted to self-service"), default=0)
    greeted = models.PositiveIntegerField(_("greeted (time known)"), default=0)
    greeted_within_target = models.PositiveIntegerField(_("greeted within target"), default=0)
    tickets = models.PositiveIntegerField(_("tickets"), default=0)  # transfers' follow-ups too
    customers = models.PositiveIntegerField(_("customers queued"), default=0)  # not follow-ups
    no_shows = models.PositiveIntegerField(_("no-shows"), default=0)
    walkaways = models.PositiveIntegerField(_("walked away"), default=0)
    cancelled = models.PositiveIntegerField(_("cancelled"), default=0)
    transferred = models.PositiveIntegerField(_("transferred"), default=0)

    # Waits (everyone who waited: served, no-shows, walk-aways), per ticket and service
    waited = models.PositiveIntegerField(_("waits measured"), default=0)
    wait_sum_s = models.FloatField(_("sum of waits (s)"), default=0)
    wait_max_s = models.FloatField(_("longest wait (s)"), default=0)
    wait_within_target = models.PositiveIntegerField(_("waits within target"), default=0)

    # Handling
    served = models.PositiveIntegerField(_("served"), default=0)
    completed = models.PositiveIntegerField(_("completed"), default=0)
    handled = models.PositiveIntegerField(_("handling times measured"), default=0)
    handle_sum_s = models.FloatField(_("sum of handling (s)"), default=0)
    handle_over_standard = models.PositiveIntegerField(_("over the standard time"), default=0)
    teller_open_s = models.FloatField(_("counter open time (s)"), default=0)
    teller_busy_s = models.FloatField(_("counter busy time (s)"), default=0)
    errors = models.PositiveIntegerField(_("errors"), default=0)
    control_points_missed = models.PositiveIntegerField(_("control points missed"), default=0)

    # Feedback
    surveys_sent = models.PositiveIntegerField(_("surveys sent"), default=0)
    responses = models.PositiveIntegerField(_("survey responses"), default=0)
    csat_count = models.PositiveIntegerField(_("satisfaction answers"), default=0)
    csat_sum = models.PositiveIntegerField(_("sum of satisfaction"), default=0)
    csat_satisfied = models.PositiveIntegerField(_("satisfied (4 or 5)"), default=0)
    nps_count = models.PositiveIntegerField(_("recommendation answers"), default=0)
    nps_promoters = models.PositiveIntegerField(_("promoters"), default=0)
    nps_detractors = models.PositiveIntegerField(_("detractors"), default=0)

    # Complaints (by the day and hour they were logged)
    complaints = models.PositiveIntegerField(_("complaints logged"), default=0)
    complaints_acknowledged = models.PositiveIntegerField(_("acknowledged"), default=0)
    acknowledge_sum_s = models.FloatField(_("sum of time to acknowledge (s)"), default=0)
    complaints_resolved = models.PositiveIntegerField(_("resolved"), default=0)
    resolve_sum_s = models.FloatField(_("sum of time to resolve (s)"), default=0)
    complaints_overdue = models.PositiveIntegerField(_("past a deadline"), default=0)

    # Appointments (by their slot), care reminders (by due day), lobby alerts (by raised time)
    appointments = models.PositiveIntegerField(_("appointments due"), default=0)
    appointments_kept = models.PositiveIntegerField(_("appointments kept"), default=0)
    reminders_due = models.PositiveIntegerField(_("care reminders due"), default=0)
    reminders_on_time = models.PositiveIntegerField(_("care reminders done on time"), default=0)
    alerts = models.PositiveIntegerField(_("alerts raised"), default=0)
    alerts_cleared = models.PositiveIntegerField(_("alerts cleared"), default=0)
    alert_recovery_sum_s = models.FloatField(_("sum of time to recover (s)"), default=0)

    # Wait histogram: wait_bNN counts waits up to kpi.metrics.WAIT_BUCKET_EDGES_MIN[NN] minutes
    # (the last: longer). One column per bucket, so a SUM over any slice gives its histogram,
    # and medians and p90 come out of the same query as the averages (metrics.kpi_values).
    wait_b00 = models.PositiveIntegerField(default=0)
    wait_b01 = models.PositiveIntegerField(default=0)
    wait_b02 = models.PositiveIntegerField(default=0)
    wait_b03 = models.PositiveIntegerField(default=0)
    wait_b04 = models.PositiveIntegerField(default=0)
    wait_b05 = models.PositiveIntegerField(default=0)
    wait_b06 = models.PositiveIntegerField(default=0)
    wait_b07 = models.PositiveIntegerField(default=0)
    wait_b08 = models.PositiveIntegerField(default=0)
    wait_b09 = models.PositiveIntegerField(default=0)
    wait_b10 = models.PositiveIntegerField(default=0)
    wait_b11 = models.PositiveIntegerField(default=0)
    wait_b12 = models.PositiveIntegerField(default=0)
    wait_b13 = models.PositiveIntegerField(default=0)
    wait_b14 = models.PositiveIntegerField(default=0)
    wait_b15 = models.PositiveIntegerField(default=0)
    wait_b16 = models.PositiveIntegerField(default=0)
    wait_b17 = models.PositiveIntegerField(default=0)
    wait_b18 = models.PositiveIntegerField(default=0)
    wait_b19 = models.PositiveIntegerField(default=0)
    wait_b20 = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("KPI rollup")
        verbose_name_plural = _("KPI rollups")
        indexes = [
            # Every dashboard reads a branch (or a region's branches) over a date range.
            models.Index(fields=["branch", "day"], name="kpi_rollup_branch_day"),
            models.Index(fields=["teller", "day"], name="kpi_rollup_teller_day"),
        ]

    def __str__(self) -> str:
        return f"{self.branch_id} {self.day} {self.hour:02d}h {self.service_id} {self.teller_id}"


class KpiDay(models.Model):
    """One branch's local day as the rollups know it: the lock that serialises its rebuild,
    and the flag that says it must be rebuilt (set by outbox listeners, cleared by beat)."""

    branch = models.ForeignKey(Branch, on_delete=models.CASCADE, related_name="+")
    day = models.DateField(_("day"))
    dirty = models.BooleanField(_("to recompute"), default=True)
    marked_at = models.DateTimeField(_("marked at"), null=True, blank=True)
    computed_at = models.DateTimeField(_("computed at"), null=True, blank=True)
    rows = models.PositiveIntegerField(_("rows"), default=0)

    class Meta:
        verbose_name = _("KPI day")
        verbose_name_plural = _("KPI days")
        constraints = [models.UniqueConstraint(fields=["branch", "day"], name="uniq_kpi_day_row")]
        indexes = [
            models.Index(fields=["marked_at"], condition=models.Q(dirty=True), name="kpi_day_dirty")
        ]

    def __str__(self) -> str:
        return f"{self.branch_id} {self.day}"


class KpiTarget(models.Model):
    """A branch's target for one KPI (the dashboards draw it as a line; the metric's direction,
    higher or lower is better, is part of its definition in kpi/definitions.py)."""

    branch = models.ForeignKey(Branch, on_delete=models.CASCADE, related_name="kpi_targets")
    metric = models.CharField(_("KPI"), max_length=40)
    value = models.FloatField(_("target"))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("KPI target")
        verbose_name_plural = _("KPI targets")
        constraints = [models.UniqueConstraint(fields=["branch", "metric"], name="uniq_kpi_target")]

    def __str__(self) -> str:
        return f"{self.branch_id} {self.metric} {self.value}"
