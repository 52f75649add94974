"""Reader-facing names of the KPIs (kpi.metrics.METRICS keys) and of the trend granularities.

kpi.metrics stays pure (no Django); the translated labels live here, one per metric, so every
page, export and chart names a KPI the same way (docs/kpi.md defines them)."""

from django.utils.translation import gettext_lazy as _

METRIC_LABELS = {
    "customers": _("Customers"),
    "served": _("Served"),
    "avg_wait_s": _("Average wait"),
    "median_wait_s": _("Median wait"),
    "p90_wait_s": _("90th percentile wait"),
    "max_wait_s": _("Longest wait"),
    "within_target_share": _("Served within target wait"),
    "greeted_within_target_share": _("Greeted within target"),
    "avg_handle_s": _("Average handling time"),
    "over_standard_share": _("Handling over standard"),
    "no_show_rate": _("No-show rate"),
    "walkaway_rate": _("Walk-away rate"),
    "cancellation_rate": _("Cancellation rate"),
    "diversion_rate": _("Self-service diversion rate"),
    "utilisation": _("Counter utilisation"),
    "customers_per_teller_hour": _("Customers per teller hour"),
    "resolution_rate": _("Resolution rate"),
    "error_rate": _("Error rate"),
    "errors": _("Errors"),
    "control_points_missed": _("Control points missed"),
    "csat_avg": _("Average satisfaction (1-5)"),
    "csat_share": _("Satisfied customers"),
    "nps": _("Net promoter score"),
    "response_rate": _("Survey response rate"),
    "complaints": _("Complaints"),
    "avg_acknowledge_h": _("Time to acknowledge a complaint (h)"),
    "avg_resolve_h": _("Time to resolve a complaint (h)"),
    "complaints_overdue_share": _("Complaints overdue"),
    "appointments_kept_share": _("Appointments kept"),
    "reminders_on_time_share": _("Care reminders done on time"),
    "alerts": _("Lobby alerts"),
    "avg_alert_recovery_min": _("Time until the wait was back under target (min)"),
}

GRANULARITY_LABELS = {
    "day": _("Day"),
    "week": _("Week"),
    "month": _("Month"),
    "quarter": _("Quarter"),
    "half": _("Half-year"),
}


def metric_label(key: str) -> str:
    # tests/test_kpi_dashboards.py checks every kpi.metrics.METRICS key has a label.
    return str(METRIC_LABELS.get(key, key))
