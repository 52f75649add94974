"""The counter's handling reads: a service's current control points (cached: every finish asks),
the report of missed optional points, and the service errors with their counts."""

from collections.abc import Iterable
from datetime import date, datetime

import django_filters
from django.core.cache import caches
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.utils.translation import gettext_lazy as _

from accounts.models import Branch, Membership, Role
from accounts.names import pick_name
from accounts.timeutil import branch_today, local_day_bounds
from queueing.models import Counter, Service, Ticket
from queueing.states import TicketStatus

from .. import controls
from ..models import ControlPointVersion, ErrorCategory, ServiceError, Visit

__all__ = [
    "ServiceErrorFilter",
    "control_points_rows",
    "control_version_for_service",
    "control_versions_published",
    "error_categories",
    "error_counts",
    "forget_control_version",
    "last_served_ticket",
    "missed_optional_points",
    "remember_control_version",
    "service_errors",
    "tickets_served_today",
]

CONTROL_VERSION_TTL_S = 3600  # dropped at once when the service's points are published
NONE_PUBLISHED = 0  # cached for a service without a version yet (falsy, unlike a version)


def _key(service_id: int) -> str:
    return f"control-points:{service_id}"


def control_version_for_service(*, service_id: int) -> dict | None:
    """{"id", "number", "points"} of the service's latest published control points, None when
    it has none yet; no query while cached (the shared cache: a change reaches every process)."""
    return control_versions_published(service_ids=[service_id]).get(service_id)


def control_versions_published(*, service_ids: Iterable[int]) -> dict[int, dict]:
    """The current control points ({"id", "number", "points"}) of these services, by service
    id: the shared cache's (one round trip), and for those it lacks one query, whose answers
    are cached. A service with none published yet is absent (its first finish publishes the
    defaults: reception.services.handling.control_version_current). A finish checks the points
    of every service its ticket may be of before its one statement."""
    keys = {_key(pk): pk for pk in service_ids}
    cache = caches["shared"]
    cached = cache.get_many(list(keys))
    found = {keys[key]: version for key, version in cached.items() if version}
    missing = [pk for key, pk in keys.items() if key not in cached]
    if missing:
        latest = ControlPointVersion.objects.filter(service_id=OuterRef("service_id")).order_by(
            "-number"
        )
        read = {
            row.pop("service_id"): row
            for row in ControlPointVersion.objects.filter(
                service_id__in=missing, number=Subquery(latest.values("number")[:1])
            ).values("service_id", "id", "number", "points")
        }
        # NONE_PUBLISHED for the others: no query per finish for them (publishing deletes it).
        cache.set_many(
            {_key(pk): read.get(pk, NONE_PUBLISHED) for pk in missing}, CONTROL_VERSION_TTL_S
        )
        found.update(read)
    return found


def forget_control_version(service_id: int) -> None:
    caches["shared"].delete(_key(service_id))


def remember_control_version(service_id: int, version: dict) -> None:
    caches["shared"].set(_key(service_id), version, CONTROL_VERSION_TTL_S)


def control_points_rows(points: list[dict], language: str, checked=()) -> list[dict]:
    """The points for a screen: key, label in the reader's language, required, ticked."""
    ticked = set(checked)
    return [
        {
            "key": point["key"],
            "label": controls.point_label(point, language),
            "required": bool(point.get("required")),
            "checked": point["key"] in ticked,
            "clause_ref": point.get("clause_ref", ""),
        }
        for point in points
    ]


def last_served_ticket(*, counter: Counter, teller_id: int) -> Ticket | None:
    """The teller's last customer finished at this counter today (an error found after the
    finish is recorded on it)."""
    start, end = local_day_bounds(counter.branch, branch_today(counter.branch))
    return (
        Ticket.objects.select_related("service")
        .filter(
            counter=counter,
            teller_id=teller_id,
            status=TicketStatus.DONE,
            finished_at__gte=start,
            finished_at__lt=end,
        )
        .order_by("-finished_at")
        .first()
    )


def tickets_served_today(*, branch: Branch) -> QuerySet[Ticket]:
    """The branch's tickets finished today (an error found after the finish is recorded on
    one of them)."""
    return (
        Ticket.objects.select_related("service", "teller")
        .filter(branch=branch, status=TicketStatus.DONE, business_date=branch_today(branch))
        .order_by("-finished_at")
    )


def _day_bounds(branch: Branch, start: date, end: date) -> tuple[datetime, datetime]:
    return local_day_bounds(branch, start)[0], local_day_bounds(branch, end)[1]


def missed_optional_points(
    *, branch: Branch, start: date, end: date, language: str = "zh-hans"
) -> list[dict]:
    """Optional control points left unticked on completed visits, per service, teller and
    point, from `start` to `end` (the branch's days, both included), most missed first:
    {"service", "teller", "key", "label", "missed", "visits"} ("visits": that teller's
    completed visits of the service checked against a version with the point)."""
    since, until = _day_bounds(branch, start, end)
    visits = (
        Visit.objects.filter(
            branch=branch,
            outcome=Visit.Outcome.COMPLETED,
            control_version__isnull=False,
            ticket__finished_at__gte=since,
            ticket__finished_at__lt=until,
        )
        .select_related("control_version", "ticket__service", "served_by")
        .only(
            "checked_points",
            "control_version__points",
            "ticket__service__name_zh",
            "ticket__service__name_zh_hant",
            "ticket__service__name_en",
            "served_by__username",
            "served_by__first_name",
            "served_by__last_name",
        )
    )
    rows: dict[tuple, dict] = {}
    for visit in visits.iterator(chunk_size=500):
        service = visit.ticket.service
        teller = visit.served_by
        for point in visit.control_version.points:
            if point.get("required"):
                continue
            key = (service.pk, teller.pk if teller else None, point["key"])
            row = rows.setdefault(
                key,
                {
                    "service": pick_name(
                        language,
                        zh_hans=service.name_zh,
                        zh_hant=service.name_zh_hant,
                        en=service.name_en,
                    ),
                    "teller": (teller.get_full_name() or teller.username) if teller else "—",
                    "teller_id": teller.pk if teller else None,
                    "service_id": service.pk,
                    "key": point["key"],
                    "label": controls.point_label(point, language),
                    "missed": 0,
                    "visits": 0,
                },
            )
            row["visits"] += 1
            if point["key"] not in (visit.checked_points or []):
                row["missed"] += 1
    return sorted(
        (row for row in rows.values() if row["missed"]),
        key=lambda row: (-row["missed"], row["service"], row["teller"], row["key"]),
    )


def error_categories(*, branch: Branch) -> QuerySet[ErrorCategory]:
    return ErrorCategory.objects.filter(branch=branch, is_active=True).order_by(
        "sort_order", "code"
    )


def service_errors(*, branch: Branch) -> QuerySet[ServiceError]:
    return ServiceError.objects.filter(branch=branch).select_related(
        "category", "service", "teller", "ticket", "recorded_by"
    )


class ServiceErrorFilter(django_filters.FilterSet):
    """The errors list (page and API): a date range (the branch's days), teller, service,
    category and severity, all of the user's branch."""

    date_from = django_filters.DateFilter(label=_("From"), method="filter_from")
    date_to = django_filters.DateFilter(label=_("To"), method="filter_to")
    teller = django_filters.ModelChoiceFilter(label=_("Teller"), queryset=None)
    service = django_filters.ModelChoiceFilter(label=_("Service"), queryset=None)
    category = django_filters.ModelChoiceFilter(label=_("Category"), queryset=None)
    severity = django_filters.ChoiceFilter(
        label=_("Severity"), choices=ServiceError.Severity.choices
    )

    class Meta:
        model = ServiceError
        fields = ["date_from", "date_to", "teller", "service", "category", "severity"]

    def __init__(self, *args, branch: Branch, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.branch = branch
        from django.contrib.auth import get_user_model

        staff_ids = Membership.objects.filter(
            branch=branch, role__in=[Role.TELLER, Role.BRANCH_HEAD]
        ).values("user_id")
        self.filters["teller"].queryset = (
            get_user_model().objects.filter(pk__in=staff_ids).order_by("username")
        )
        self.filters["service"].queryset = Service.objects.filter(branch=branch).order_by(
            "sort_order", "code"
        )
        self.filters["category"].queryset = ErrorCategory.objects.filter(branch=branch)

    def filter_from(self, queryset, name, value):
        since, _until = _day_bounds(self.branch, value, value)
        return queryset.filter(recorded_at__gte=since)

    def filter_to(self, queryset, name, value):
        _since, until = _day_bounds(self.branch, value, value)
        return queryset.filter(recorded_at__lt=until)


def error_counts(queryset: QuerySet[ServiceError], language: str = "zh-hans") -> dict:
    """The errors counted per teller and per service (most first), and in all."""
    by_teller = [
        {
            "teller_id": row["teller"],
            "teller": " ".join(
                part for part in (row["teller__first_name"], row["teller__last_name"]) if part
            )
            or row["teller__username"],
            "count": row["count"],
        }
        for row in queryset.order_by()
        .values("teller", "teller__username", "teller__first_name", "teller__last_name")
        .annotate(count=Count("pk"))
        .order_by("-count", "teller__username")
    ]
    by_service = [
        {
            "service_id": row["service"],
            "service": pick_name(
                language,
                zh_hans=row["service__name_zh"],
                zh_hant=row["service__name_zh_hant"],
                en=row["service__name_en"],
            ),
            "count": row["count"],
        }
        for row in queryset.order_by()
        .values("service", "service__name_zh", "service__name_zh_hant", "service__name_en")
        .annotate(count=Count("pk"))
        .order_by("-count", "service__name_zh")
    ]
    return {
        "by_teller": by_teller,
        "by_service": by_service,
        "total": sum(row["count"] for row in by_teller),
    }
