"""reception's part of the customer's timeline (crm.timeline): their visits at the branch, with
the ticket, the service, the outcome, the control points ticked and the errors recorded.
Registered in ReceptionConfig.ready(); two queries whatever the history (visits, errors)."""

from django.db.models import Prefetch
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.names import pick_name
from crm.timeline import TimelineEntry, register

from .models import ServiceError, Visit


def _visits(customer, branch, limit: int) -> list[TimelineEntry]:
    visits = (
        Visit.objects.filter(customer=customer, branch=branch)
        .select_related("service", "ticket")
        .prefetch_related(
            Prefetch("errors", queryset=ServiceError.objects.select_related("category"))
        )
        .order_by("-registered_at", "-pk")[:limit]
    )
    language = translation.get_language()
    entries = []
    for visit in visits:
        parts = []
        if visit.ticket is not None:
            parts.append(_("Ticket %(code)s") % {"code": visit.ticket.code})
        parts.append(visit.get_route_display())
        if visit.checked_points:
            parts.append(
                _("%(count)s control points ticked") % {"count": len(visit.checked_points)}
            )
        if visit.incomplete_reason:
            parts.append(visit.get_incomplete_reason_display())
        errors = list(visit.errors.all())
        if errors:
            names = ", ".join(
                pick_name(
                    language,
                    zh_hans=e.category.name_zh,
                    zh_hant=e.category.name_zh_hant,
                    en=e.category.name_en,
                )
                for e in errors
            )
            parts.append(_("Errors: %(names)s") % {"names": names})
        title = _("Visit")
        if visit.service is not None:
            title = f"{title} · {visit.service.display_name}"
        covers = [f"visit:{visit.pk}"]
        if visit.ticket_id:
            covers.append(f"ticket:{visit.ticket_id}")
        entries.append(
            TimelineEntry(
                at=visit.registered_at,
                kind="visit",
                title=title,
                detail=" · ".join(parts),
                badge=visit.get_outcome_display() if visit.outcome else "",
                covers=tuple(covers),
            )
        )
    return entries


def register_timeline() -> None:
    register("reception.visits", _visits)
