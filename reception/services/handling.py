"""The counter's handling: publish a service's control points as a version, and record the
errors (差错) made or found while serving.

The finish itself (control points enforced, outcome, follow-up) is visit_complete_service in
reception.services.desk; it reads the points through `control_version_current`.
"""

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts import outbox
from accounts.errors import DomainError
from accounts.models import Branch, Role
from accounts.selectors import user_has_role
from accounts.timeutil import branch_today
from accounts.versioning import publish_snapshot
from queueing.models import Service, Ticket
from queueing.states import ACTIVE_AT_COUNTER, TicketStatus

from .. import controls
from ..models import ControlPoint, ControlPointVersion, ErrorCategory, ServiceError, Visit
from ..selectors.handling import (
    control_version_for_service,
    forget_control_version,
    remember_control_version,
)

__all__ = [
    "SERVICE_ERROR_RECORDED",
    "HandlingError",
    "control_points_publish",
    "control_version_current",
    "service_error_record",
]

# payload: error_id, branch_id, ticket_id, visit_id, service_id, teller_id, category, severity
SERVICE_ERROR_RECORDED = "reception.service_error_recorded"


class HandlingError(DomainError):
    pass


def _current_points(service: Service) -> list[dict]:
    return [
        controls.snapshot_point(
            key=point.key,
            label_zh=point.label_zh,
            label_zh_hant=point.label_zh_hant,
            label_en=point.label_en,
            required=point.required,
            clause_ref=point.clause_ref,
        )
        for point in ControlPoint.objects.filter(service=service, is_active=True).order_by(
            "sort_order", "pk"
        )
    ]


@transaction.atomic
def control_points_publish(
    service: Service, by: AbstractBaseUser | None = None, *, now: datetime | None = None
) -> ControlPointVersion:
    """Freeze the service's active control points as its next version, unless they are those
    of the latest version already (then that one is returned). A service never published gets
    the default three first (controls.DEFAULT_POINTS), beside any point added already. Visits keep the version
    they were checked against. An empty list is a version too (the points were all retired)."""
    service = Service.objects.select_for_update().get(pk=service.pk)
    forget_control_version(service.pk)  # a finish in between reads the database
    versions = ControlPointVersion.objects.filter(service=service)
    latest = versions.order_by("-number").first()
    if latest is None:  # never published: the defaults first, beside any point already added
        present = set(ControlPoint.objects.filter(service=service).values_list("key", flat=True))
        ControlPoint.objects.bulk_create(
            ControlPoint(service=service, sort_order=(n + 1) * 10, **point)
            for n, point in enumerate(controls.DEFAULT_POINTS)
            if point["key"] not in present
        )
    latest = publish_snapshot(
        versions,
        snapshot=_current_points(service),
        snapshot_field="points",
        extra={
            "service": service,
            "created_at": now or timezone.now(),
            "created_by": by if by is not None and by.is_authenticated else None,
        },
        empty_is_version=True,  # all points retired is a state a visit is checked against
        latest=latest,
    )
    current = {"id": latest.pk, "number": latest.number, "points": latest.points}
    # Once committed, the current version for every process's next finish.
    transaction.on_commit(lambda: remember_control_version(service.pk, current))
    return latest


def control_version_current(*, service_id: int) -> dict:
    """The service's current control points ({"id", "number", "points"}): cached; a service
    with none published yet publishes its points (the defaults for a new one) first."""
    current = control_version_for_service(service_id=service_id)
    if current is None:
        version = control_points_publish(Service(pk=service_id))
        current = {"id": version.pk, "number": version.number, "points": version.points}
    return current


def _may_record(ticket: Ticket, by: AbstractBaseUser, branch: Branch) -> None:
    """The teller seated at the ticket's counter while it is there; after it is finished, the
    teller who served it or the branch head, the same day."""
    if ticket.status in ACTIVE_AT_COUNTER:
        counter = ticket.counter
        if counter is None or not counter.is_open or counter.teller_id != by.pk:
            raise HandlingError(
                _("Only the teller seated at this customer's counter can record an error now."),
                code="ticket",
            )
        return
    if ticket.status != TicketStatus.DONE:
        raise HandlingError(
            _("Errors are recorded for a customer being served or served today."), code="ticket"
        )
    if ticket.business_date != branch_today(branch):
        raise HandlingError(
            _("Errors of an earlier day can no longer be recorded here."), code="ticket"
        )
    if ticket.teller_id == by.pk:
        return
    if not user_has_role(user=by, branch=branch, roles=[Role.BRANCH_HEAD]):
        raise HandlingError(
            _("Only the teller who served the customer or the branch head can record this."),
            code="ticket",
        )


@transaction.atomic
def service_error_record(
    *,
    ticket: Ticket | int,
    by: AbstractBaseUser,
    branch: Branch,
    category: ErrorCategory | int,
    severity: str,
    note: str = "",
    now: datetime | None = None,
) -> ServiceError:
    """Record an error on a ticket (and its visit): counted against the teller who served it
    and the ticket's service. Several may be recorded per visit."""
    ticket_id = ticket.pk if isinstance(ticket, Ticket) else ticket
    ticket = (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("counter")
        .filter(pk=ticket_id, branch=branch)
        .first()
    )
    if ticket is None:
        raise HandlingError(_("No such ticket at this branch."), code="ticket")
    category_id = category.pk if isinstance(category, ErrorCategory) else category
    category = ErrorCategory.objects.filter(pk=category_id, branch=branch, is_active=True).first()
    if category is None:
        raise HandlingError(_("Choose an error category of this branch."), code="category")
    if severity not in ServiceError.Severity.values:
        raise HandlingError(_("Choose a severity."), code="severity")
    _may_record(ticket, by, branch)
    teller_id = ticket.teller_id or by.pk
    visit = Visit.objects.filter(ticket=ticket).first()  # a transfer moves it on
    error = ServiceError.objects.create(
        branch=branch,
        visit=visit,
        ticket=ticket,
        service_id=ticket.service_id,
        teller_id=teller_id,
        category=category,
        severity=severity,
        note=(note or "").strip()[:300],
        recorded_at=now or timezone.now(),
        recorded_by=by,
    )
    outbox.publish(
        SERVICE_ERROR_RECORDED,
        {
            "error_id": error.pk,
            "branch_id": branch.pk,
            "ticket_id": ticket.pk,
            "visit_id": visit.pk if visit else None,
            "service_id": ticket.service_id,
            "teller_id": teller_id,
            "category": category.code,
            "severity": severity,
        },
        branch_id=branch.pk,
    )
    return error
