"""Schemathesis over every API operation, in-process (issue 4 of 11, item 1).

The app's own OpenAPI document (/api/schema/) drives it through the WSGI app, no server. Each
operation gets generated requests as a branch admin and as the teller seated at counter 1:
schema-valid ones (positive) and a bad-input sweep of schema-invalid ones (negative). Path ids
and a few body fields are now and then swapped for real ones (this branch's objects, another
branch's: a 404), so requests get past "not found" into the services.

Checks: no 5xx, every status is one the document lists, every body matches its schema. The
figures (operations, requests, 5xx, seconds) are printed at the end of the run; docs/benchmarks.md
records them. Deeper run: API_FUZZ_EXAMPLES=150 pytest tests/test_api_fuzz.py.
"""

import base64
import os
import time
from collections import Counter as Tally
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import Role
from crm.models import Customer, Interaction
from crm.services import interaction_record
from feedback.links import survey_token
from feedback.models import SurveyInvitation, SurveyResponse
from queueing import services as queue
from queueing.models import Ticket
from queueing.routing import PriorityClass
from reception import services as reception

from .factories import CounterFactory, MembershipFactory, ServiceFactory, UserFactory

PASSWORD = "pw"  # UserFactory's; right every time, so django-axes never locks anyone out
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
# Per operation, mode and persona. 15 keeps `make test` fast (about 35 s for both personas).
EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "15"))
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
PHONE = "13800138000"


@pytest.fixture
def wsgi_app():
    # As Django's test client does: the end of a request must not close the test's connection,
    # which holds the test's transaction.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield WSGIHandler()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def admin(branch):
    user = UserFactory(username="fuzz-admin")
    MembershipFactory(user=user, branch=branch, role=Role.ADMIN)
    return user


@pytest.fixture
def world(branch, cash, loans, counter, teller, lobby_manager, other_branch):
    """Waiting, called and visited tickets, a served customer, survey invitations; and one
    object of each kind at another branch. Returns the real values the generator may use."""
    CounterFactory(branch=branch, number=2, serves=[loans], is_open=False)
    queue.ticket_issue(branch=branch, service=cash, issued_by=lobby_manager)
    queue.ticket_issue(
        branch=branch, service=loans, priority=PriorityClass.VIP, issued_by=lobby_manager
    )
    visit = reception.visit_register(
        branch=branch, registered_by=lobby_manager, phone=PHONE, service=cash
    )
    queue.ticket_call_next(counter=counter, teller=teller)
    customer = Customer.objects.get(phone=PHONE)
    answered, open_ = (
        SurveyInvitation.objects.create(
            customer=customer,
            branch=branch,
            interaction=interaction_record(
                customer=customer,
                branch=branch,
                kind=Interaction.Kind.BRANCH_SERVICE,
                occurred_at=timezone.now() - timedelta(days=1),
                service_code="cash",
                staff=teller,
                source=f"ticket:fuzz-{status}",
            ),
            status=status,
            sent_at=timezone.now(),
        )
        for status in (SurveyInvitation.Status.ANSWERED, SurveyInvitation.Status.SENT)
    )
    SurveyResponse.objects.create(
        invitation=answered,
        branch=branch,
        channel=SurveyResponse.Channel.SMS_LINK,
        satisfaction=4,
        submitted_at=timezone.now(),
    )
    elsewhere = ServiceFactory(branch=other_branch, code="cash", prefix="A")
    other_counter = CounterFactory(branch=other_branch, number=1, serves=[elsewhere])
    other_ticket = queue.ticket_issue(branch=other_branch, service=elsewhere)
    return {
        "ids": {
            "counters": [*branch.counters.values_list("pk", flat=True), other_counter.pk],
            "tickets": [
                *Ticket.objects.filter(branch=branch).values_list("pk", flat=True),
                other_ticket.pk,
            ],
            "visits": [visit.pk],
            "customers": [customer.pk],
        },
        "fields": {
            "service": ["cash", "loan"],
            "counter": [1, 2],
            "phone": [PHONE, "+86 139 0013 9000"],
            "outcome": ["completed", "incomplete"],
            "priority": ["regular", "vip"],
            "token": [survey_token(open_.pk), survey_token(answered.pk)],
        },
    }


@dataclass
class Report:
    persona: str
    operations: int = 0
    requests: int = 0
    server_errors: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    statuses: Tally = field(default_factory=Tally)
    seconds: float = 0.0

    def summary(self) -> str:
        codes = ", ".join(f"{code}: {n}" for code, n in sorted(self.statuses.items()))
        return (
            f"schemathesis as {self.persona}: {self.operations} operations, "
            f"{self.requests} requests, {len(self.server_errors)} 5xx, "
            f"{len(self.failures)} check failures, {self.seconds:.1f} s ({codes})"
        )


def _ids_for(path: str, ids: dict) -> list[int]:
    return next((found for kind, found in ids.items() if f"/{kind}/{{id}}" in path), [])


def fuzz(app, user, world: dict, persona: str, only: set[str] | None = None) -> Report:
    started = time.monotonic()
    report = Report(persona)
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", app)
    credentials = base64.b64encode(f"{user.username}:{PASSWORD}".encode()).decode()
    headers = {"Authorization": f"Basic {credentials}"}
    for result in schema.get_all_operations():
        operation = result.ok()
        if only is not None and operation.label not in only:
            continue
        report.operations += 1
        for mode in MODES:
            _sweep(operation, mode, world, headers, report)
    report.seconds = time.monotonic() - started
    return report


def _sweep(operation, mode: GenerationMode, world: dict, headers: dict, report: Report) -> None:
    ids = _ids_for(operation.path, world["ids"])
    # Real ids in two draws of three or so, real field values in half; None keeps the generated.
    real_id = st.sampled_from([None, *ids, *ids]) if ids else st.none()
    real_fields = st.fixed_dictionaries(
        {name: st.sampled_from([None, *values]) for name, values in world["fields"].items()}
    )
    label = f"{operation.label} [{mode.value}]"

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,  # the same requests on every run
        database=None,
        deadline=None,
        phases=[Phase.generate],  # failures are collected, not raised: no shrinking
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode), pk=real_id, real=real_fields)
    def run(case, pk, real):
        if pk is not None:
            case.path_parameters = {**(case.path_parameters or {}), "id": pk}
        if isinstance(case.body, dict):
            for name, value in real.items():
                if value is not None and name in case.body:
                    case.body[name] = value
        response = case.call(headers=headers)
        report.requests += 1
        report.statuses[response.status_code] += 1
        if response.status_code >= 500:
            report.server_errors.append(f"{label}: {case.as_curl_command(headers=headers)}")
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except FailureGroup as failed:
            report.failures.append(f"{label}: {failed}")

    run()


@pytest.mark.parametrize("persona", ["admin", "teller"])
def test_every_operation_survives_schemathesis(request, wsgi_app, world, persona, capsys):
    user = request.getfixturevalue(persona)
    report = fuzz(wsgi_app, user, world, persona)
    with capsys.disabled():  # the figures docs/benchmarks.md records, in `make test`'s output
        print(f"\n{report.summary()}")
    assert report.operations >= 27 and report.requests >= report.operations * len(MODES) * 5
    assert not report.server_errors, "\n".join(report.server_errors)
    assert not report.failures, "\n\n".join(report.failures[:10])


def test_the_sweep_catches_a_server_error(wsgi_app, world, admin, monkeypatch):
    """The harness bites: a view that crashes is reported as a 5xx and as a check failure."""
    from queueing.api import ServiceListApi

    def crash(self, request):
        raise RuntimeError("boom")

    monkeypatch.setattr(ServiceListApi, "get", crash)
    report = fuzz(wsgi_app, admin, world, "admin", only={"GET /api/queue/services/"})
    assert report.operations == 1
    assert report.server_errors and report.statuses[500] == report.requests
    assert any("Server error" in failure for failure in report.failures)
