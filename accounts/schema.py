"""The OpenAPI document's error answers: each operation lists the 4xx it really gives.

drf-spectacular documents only the success answer. `BranchFlowAutoSchema` (REST_FRAMEWORK's
DEFAULT_SCHEMA_CLASS) adds, from what the operation takes and how its view is guarded:

- 400 when it takes a body or query parameters, or changes state (a service may refuse): a
  domain error `{"detail", "code"}`, a parse error `{"detail"}`, or validation errors
  `{field: [messages]}` (accounts.api.exception_handler);
- 403 on staff operations: not signed in, no role at the branch, or a CSRF failure. Never 401:
  SessionAuthentication comes first and sends no WWW-Authenticate challenge, so DRF answers 403;
- 404 when the path names an object (another branch's object is not found either);
- 413 when it takes a body (accounts/parsers.py);
- 429 on staff operations (HTTP basic sign-in locked out, accounts/lockout.py) and on
  throttled ones.

tests/test_api_fuzz.py holds the document to it: schemathesis fails on any answer not listed.
Descriptions are plain English, like the serializers' help_text: the document is for developers.
"""

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField(
        required=False, help_text="Machine-readable reason: on domain errors and lockouts."
    )

    class Meta:
        ref_name = "Error"


# {field: [messages]}: a serializer cannot say "any key", so this one is a plain schema.
VALIDATION_ERROR_SCHEMA = {
    "type": "object",
    "description": "Validation errors: each field named with its messages.",
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
}


class BranchFlowAutoSchema(AutoSchema):
    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses = operation["responses"]
        for code, response in self._error_responses(operation).items():
            responses.setdefault(code, response)
        # Success first, then the errors, in status order.
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _error_responses(self, operation: dict) -> dict:
        in_query = any(p["in"] == "query" for p in operation.get("parameters", []))
        in_path = any(p["in"] == "path" for p in operation.get("parameters", []))
        has_body = "requestBody" in operation
        security = operation.get("security") or []
        staff = bool(security) and {} not in security
        throttled = bool(self.view.get_throttles())

        found = {}
        if has_body or in_query or self.method not in ("GET", "HEAD", "OPTIONS"):
            found["400"] = self._response(
                "Refused: a domain error, unreadable input, or invalid fields.",
                {"oneOf": [self._error_ref(), self._validation_error_ref()]},
            )
        if staff:
            found["403"] = self._response(
                "Not signed in, no role here that may do this, or a CSRF failure.",
                self._error_ref(),
            )
        if in_path:
            found["404"] = self._response("No such object at the user's branch.", self._error_ref())
        if has_body:
            found["413"] = self._response("The request body is too large.", self._error_ref())
        if staff or throttled:
            found["429"] = self._response(
                "Too many requests, or too many failed sign-ins; see Retry-After.",
                self._error_ref(),
            )
        return found

    def _response(self, description, schema: dict) -> dict:
        return {"description": description, "content": {"application/json": {"schema": schema}}}

    def _error_ref(self) -> dict:
        return self.resolve_serializer(ErrorSerializer, "response").ref

    def _validation_error_ref(self) -> dict:
        component = ResolvedComponent(
            name="ValidationError",
            type=ResolvedComponent.SCHEMA,
            schema=VALIDATION_ERROR_SCHEMA,
            object="ValidationError",
        )
        self.registry.register_on_missing(component)
        return component.ref
