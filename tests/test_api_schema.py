"""The OpenAPI document: valid, warning-free, and naming every endpoint of the API contract."""

import json

import pytest
import yaml
from django.core.management import call_command
from rest_framework.test import APIClient

CONTRACT = {
    "/api/queue/services/": {"get"},
    "/api/queue/counters/": {"get"},
    "/api/queue/counters/{id}/open/": {"post"},
    "/api/queue/counters/{id}/close/": {"post"},
    "/api/queue/counters/{id}/pause/": {"post"},
    "/api/queue/counters/{id}/resume/": {"post"},
    "/api/queue/counters/{id}/call-next/": {"post"},
    "/api/queue/tickets/": {"get", "post"},
    "/api/queue/tickets/{id}/": {"get"},
    "/api/queue/tickets/{id}/recall/": {"post"},
    "/api/queue/tickets/{id}/start/": {"post"},
    "/api/queue/tickets/{id}/finish/": {"post"},
    "/api/queue/tickets/{id}/no-show/": {"post"},
    "/api/queue/tickets/{id}/cancel/": {"post"},
    "/api/queue/tickets/{id}/transfer/": {"post"},
    "/api/reception/visits/": {"get", "post"},
    "/api/reception/visits/{id}/": {"get"},
    "/api/reception/visits/{id}/complete/": {"post"},
    "/api/crm/customers/": {"get"},
    "/api/crm/customers/{id}/": {"get"},
    "/api/crm/customers/{id}/interactions/": {"get"},
    "/api/crm/customers/{id}/notes/": {"post"},
    "/api/feedback/invitations/": {"get"},
    "/api/feedback/responses/": {"get"},
    "/api/feedback/public/responses/": {"post"},
    "/api/kpi/today/": {"get"},
    "/api/kpi/snapshots/": {"get"},
}


@pytest.fixture
def schema(db) -> dict:
    response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def test_it_generates_a_valid_schema_without_warnings(tmp_path):
    # --validate checks against the OpenAPI 3 JSON schema; --fail-on-warn turns any
    # spectacular warning (an undocumented body, a name clash) into an error.
    target = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    document = yaml.safe_load(target.read_text(encoding="utf-8"))
    assert document["openapi"].startswith("3.")


def test_it_serves_an_openapi_3_document_with_every_contract_path(schema):
    assert schema["openapi"].startswith("3.")
    missing = {
        f"{method.upper()} {path}"
        for path, methods in CONTRACT.items()
        for method in methods
        if method not in schema["paths"].get(path, {})
    }
    assert not missing


def test_it_documents_request_and_response_bodies(schema):
    issue = schema["paths"]["/api/queue/tickets/"]["post"]
    assert "requestBody" in issue
    assert "201" in issue["responses"]
    call_next = schema["paths"]["/api/queue/counters/{id}/call-next/"]["post"]
    assert set(call_next["responses"]) >= {"200", "204"}
    listing = schema["paths"]["/api/queue/tickets/"]["get"]
    parameter_names = {p["name"] for p in listing["parameters"]}
    assert {"status", "service", "date", "limit", "offset"} <= parameter_names
    ticket = schema["components"]["schemas"]["TicketOutput"]["properties"]
    assert "PriorityEnum" in json.dumps(ticket["priority"])


def test_it_documents_the_public_survey_endpoint_without_login(schema):
    # No document-wide security: an operation without "security" needs no credentials.
    assert "security" not in schema
    operation = schema["paths"]["/api/feedback/public/responses/"]["post"]
    assert not operation.get("security")
    staff_only = schema["paths"]["/api/kpi/today/"]["get"]
    assert {"cookieAuth": []} in staff_only["security"]


def test_it_serves_the_interactive_docs(db):
    assert APIClient().get("/api/docs/").status_code == 200
