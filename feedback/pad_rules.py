"""The counter rating pad's pure rules (no database): answers, reasons and the KPI mapping."""

from django.utils.translation import gettext_lazy as _

__all__ = [
    "PAD_REASONS",
    "PAD_SATISFACTION",
    "PAD_WINDOW_S",
    "PHONE_INTERACTION_KEY",
    "pad_reason_valid",
    "pad_satisfaction",
]

# A phone survey's answers name the visit called about under this key.
PHONE_INTERACTION_KEY = "_interaction"

# A pad lights up for a ticket finished at its counter within this many seconds.
PAD_WINDOW_S = 120

# The pad's three answers on the 1–5 satisfaction scale the KPIs use (issue 9):
# very satisfied = 5, satisfied = 4, dissatisfied = 2.
PAD_SATISFACTION = {"very": 5, "satisfied": 4, "dissatisfied": 2}

# What "dissatisfied" asks about (tap one).
PAD_REASONS = {
    "waiting": _("Waiting time"),
    "attitude": _("Attitude"),
    "professionalism": _("Professionalism"),
    "environment": _("Environment"),
    "other": _("Other"),
}


def pad_satisfaction(rating: str) -> int | None:
    return PAD_SATISFACTION.get(rating)


def pad_reason_valid(rating: str, reason: str) -> bool:
    """Only "dissatisfied" carries a reason, and then one of PAD_REASONS (or none)."""
    if rating != "dissatisfied":
        return reason == ""
    return reason == "" or reason in PAD_REASONS
