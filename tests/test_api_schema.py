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
    # Issue 6: appointments, remote tickets, pre-filled forms, the lobby overview.
    "/api/queue/tickets/{id}/check-in/": {"post"},
    "/api/reception/slots/": {"get"},
    "/api/reception/appointments/": {"get", "post"},
    "/api/reception/appointments/{id}/": {"get"},
    "/api/reception/appointments/{id}/cancel/": {"post"},
    "/api/reception/appointments/{id}/reschedule/": {"post"},
    "/api/reception/appointments/{id}/check-in/": {"post"},
    "/api/reception/remote-tickets/": {"get"},
    "/api/reception/remote-tickets/{id}/check-in/": {"post"},
    "/api/reception/forms/": {"get"},
    "/api/reception/visits/{id}/form/": {"get", "put"},
    "/api/reception/overview/": {"get"},
    "/api/reception/alerts/": {"get"},
    "/api/reception/errors/": {"get", "post"},
    "/api/reception/alerts/{id}/acknowledge/": {"post"},
    "/api/crm/customers/": {"get"},
    "/api/crm/customers/{id}/": {"get"},
    "/api/crm/customers/{id}/interactions/": {"get"},
    "/api/crm/customers/{id}/notes/": {"post"},
    "/api/crm/interactions/": {"get"},
    "/api/crm/customers/{id}/profile/": {"patch"},
    "/api/crm/customers/{id}/reveal/": {"post"},
    "/api/crm/customers/{id}/merge/": {"post"},
    # Issue 7: care reminders.
    "/api/crm/reminders/": {"get", "post"},
    "/api/crm/reminders/{id}/": {"get"},
    "/api/crm/reminders/{id}/done/": {"post"},
    "/api/crm/reminders/{id}/cancel/": {"post"},
    # Issue 7: complaints.
    "/api/crm/complaints/": {"get", "post"},
    "/api/crm/complaints/{id}/": {"get"},
    "/api/crm/complaints/{id}/assign/": {"post"},
    "/api/crm/complaints/{id}/start/": {"post"},
    "/api/crm/complaints/{id}/resolve/": {"post"},
    "/api/crm/complaints/{id}/inform/": {"post"},
    "/api/crm/complaints/{id}/close/": {"post"},
    "/api/feedback/invitations/": {"get"},
    "/api/feedback/responses/": {"get"},
    "/api/feedback/public/responses/": {"post"},
    "/api/feedback/phone-survey/candidates/": {"get"},
    "/api/feedback/phone-survey/responses/": {"post"},
    "/api/feedback/surveys/current/": {"get"},
    "/api/feedback/pad-answers/": {"get"},
    "/api/feedback/follow-ups/": {"get"},
    "/api/feedback/follow-ups/{id}/call/": {"post"},
    "/api/feedback/follow-ups/{id}/close/": {"post"},
    "/api/feedback/suggestions/": {"get", "post"},
    "/api/feedback/suggestions/{id}/answer/": {"post"},
    "/api/kpi/today/": {"get"},
    # Issue 9: KPI series, the region ranking, targets (the snapshots endpoint is gone).
    "/api/kpi/series/": {"get"},
    "/api/kpi/region/": {"get"},
    "/api/kpi/targets/": {"get", "put"},
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


def _documented(schema: dict, method: str, path: str) -> set[str]:
    return set(schema["paths"][path][method]["responses"])


def test_it_documents_the_errors_each_operation_gives(schema):
    # A state change at an object: refused (400), not allowed (403), not found (404), locked out.
    assert _documented(schema, "post", "/api/queue/tickets/{id}/start/") == {
        "200",
        "400",
        "403",
        "404",
        "429",
    }
    # A body: also too large (413).
    assert _documented(schema, "post", "/api/queue/tickets/") == {
        "201",
        "400",
        "403",
        "413",
        "429",
    }
    # Nothing to refuse and nothing to look up: no 400, no 404.
    assert _documented(schema, "get", "/api/queue/services/") == {"200", "403", "429"}
    # Query parameters can be bad (a 400), an object can be missing (a 404).
    assert _documented(schema, "get", "/api/crm/customers/{id}/interactions/") >= {"400", "404"}
    # Public: no sign-in, so no 403; throttled, so 429.
    assert _documented(schema, "post", "/api/feedback/public/responses/") == {
        "201",
        "400",
        "413",
        "429",
    }


def test_it_documents_both_shapes_of_a_400(schema):
    bad = schema["paths"]["/api/queue/tickets/"]["post"]["responses"]["400"]
    refs = {option["$ref"] for option in bad["content"]["application/json"]["schema"]["oneOf"]}
    assert refs == {"#/components/schemas/Error", "#/components/schemas/ValidationError"}
    components = schema["components"]["schemas"]
    assert components["Error"]["required"] == ["detail"]
    assert "code" in components["Error"]["properties"]
    assert components["ValidationError"]["additionalProperties"]["type"] == "array"


@pytest.mark.parametrize("credentials", [None, "wrong"])
def test_not_signed_in_is_a_403_as_documented_never_a_401(branch, credentials):
    # SessionAuthentication comes first and sends no challenge, so DRF answers 403.
    client = APIClient()
    if credentials:
        client.credentials(HTTP_AUTHORIZATION="Basic " + "bm9ib2R5Ondyb25n")  # nobody:wrong
    response = client.get("/api/kpi/today/")
    assert response.status_code == 403
    assert set(response.json()) == {"detail"}


def test_the_api_is_resolved_first_and_the_schema_and_docs_still_resolve():
    """The counters' and tablets' calls are tried against the API's patterns before the
    pages' eleven includes (config/urls.py); the schema and docs, listed after the API's
    include, are still found."""
    from django.urls import get_resolver, resolve

    assert str(get_resolver().url_patterns[0].pattern) == "api/"
    assert resolve("/api/queue/counters/3/call-next/").url_name == "queue-counter-call-next"
    assert resolve("/api/schema/").url_name == "api-schema"
    assert resolve("/api/docs/").url_name == "api-docs"
    assert resolve("/").url_name == "home"
