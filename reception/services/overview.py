"""Lobby alerts: raised when a service's queue runs over, cleared when that ends, acknowledged by
the lobby manager. Recorded (LobbyAlert) for issue 9's reports."""

from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.errors import DomainError
from accounts.models import Branch

from ..alerts import Alert, ServiceLoad, branch_alerts
from ..models import LobbyAlert
from ..selectors.overview import lobby_overview, open_lobby_alerts

__all__ = [
    "LobbyAlertError",
    "lobby_alert_acknowledge",
    "lobby_alerts_refresh",
    "lobby_alerts_refresh_all",
]


class LobbyAlertError(DomainError):
    pass


def _stats(load: ServiceLoad) -> dict:
    return {
        "waiting": load.waiting,
        "longest_wait_seconds": int(load.longest_wait_s),
        "target_wait_seconds": int(load.target_wait_s),
        "open_counters": min(load.open_counters, 32767),
    }


@transaction.atomic
def lobby_alerts_refresh(
    *, branch: Branch, now: datetime | None = None, loads: Iterable[ServiceLoad] | None = None
) -> list[LobbyAlert]:
    """Make the branch's recorded alerts match its queues now: raise the new ones, clear the
    ones that ended (a suggestion that changed is updated). Returns the open alerts.

    Run by beat every minute for every branch and whenever the overview is rendered, so the
    page and the record agree. Safe to run concurrently: a second insert of the same open
    alert (service × kind) meets the partial unique constraint and is skipped."""
    now = now or timezone.now()
    if loads is None:
        loads = lobby_overview(branch=branch, now=now)["loads"]
    loads = {load.service_id: load for load in loads}
    wanted: dict[tuple[int, str], Alert] = {
        (alert.service_id, alert.kind): alert for alert in branch_alerts(list(loads.values()))
    }
    current = {(a.service_id, a.kind): a for a in open_lobby_alerts(branch=branch)}
    ended = [a.pk for key, a in current.items() if key not in wanted]
    if ended:
        LobbyAlert.objects.filter(pk__in=ended, cleared_at__isnull=True).update(cleared_at=now)
    for key, alert in wanted.items():
        existing = current.get(key)
        if existing is not None and existing.suggestion != alert.suggestion:
            LobbyAlert.objects.filter(pk=existing.pk).update(suggestion=alert.suggestion)
            existing.suggestion = alert.suggestion
    new = [
        LobbyAlert(
            branch=branch,
            service_id=alert.service_id,
            kind=alert.kind,
            suggestion=alert.suggestion,
            raised_at=now,
            **_stats(loads[alert.service_id]),
        )
        for key, alert in wanted.items()
        if key not in current
    ]
    if new:
        # ON CONFLICT DO NOTHING: another refresh raised it a moment ago.
        LobbyAlert.objects.bulk_create(new, ignore_conflicts=True)
        return open_lobby_alerts(branch=branch)
    return [a for key, a in current.items() if key in wanted]


def lobby_alerts_refresh_all(*, now: datetime | None = None) -> int:
    """Refresh every branch's alerts (beat, every minute); returns how many are open."""
    now = now or timezone.now()
    return sum(
        len(lobby_alerts_refresh(branch=branch, now=now))
        for branch in Branch.objects.order_by("pk")
    )


@transaction.atomic
def lobby_alert_acknowledge(*, alert_id: int, branch: Branch, by: AbstractBaseUser) -> LobbyAlert:
    """The lobby manager has seen the alert (and is acting on it): recorded once, who and when.
    Another branch's alert is not found; acknowledging twice keeps the first."""
    alert = (
        LobbyAlert.objects.select_for_update(of=("self",))
        .select_related("service")
        .filter(branch=branch, pk=alert_id)
        .first()
    )
    if alert is None:
        raise LobbyAlertError(_("No such alert at this branch."), code="not_found")
    if alert.acknowledged_at is None:
        alert.acknowledged_by = by
        alert.acknowledged_at = timezone.now()
        alert.save(update_fields=["acknowledged_by", "acknowledged_at"])
    return alert
