"""The OpenAPI schema's error answers: one documented shape, on every operation.

Every 4xx of the API is ``{"detail", "code", ...}`` (``mtc.api_errors``).
:func:`problem` documents an answer a view declares; the postprocessing hook
(``SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]``) adds the answers no view
declares but DRF gives anyway (400 for a bad filter or parameter, 401/403
without credentials or permission, 404 for an unknown id or page number),
so clients (and schemathesis) can rely on the schema listing every status
code the API answers with.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse

PROBLEM = {
    "type": "object",
    "description": (
        "An error: `detail` (what is wrong, in words) and `code` (machine-readable: `invalid`, "
        "`not_authenticated`, `permission_denied`, `not_found`, `throttled`, `file_too_large`, "
        "`unsupported_file_type`, `empty_file`, `wrong_header`, `no_data_rows`, `unreadable_file`, "
        "`invalid_file`, `not_cancellable`, `not_retryable`, ...). A refused field or parameter also "
        "has `errors` (field -> messages); a throttled request has `retry_after` (seconds); a header that "
        "leaves a required field without a column (`wrong_header`) has `missing`, `suggestion` and `fields`, "
        "so a client can show the mapping and send it back as `mapping`."
    ),
    "properties": {
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": True},
        "retry_after": {"type": "integer"},
        "missing": {
            "type": "array",
            "items": {"type": "string"},
            "description": "wrong_header: required fields with no column",
        },
        "suggestion": {
            "type": "object",
            "additionalProperties": {"type": "string", "nullable": True},
            "description": "wrong_header: the suggested mapping, file header -> field or null",
        },
        "fields": {"type": "array", "items": {"type": "string"}, "description": "wrong_header: the kind's fields"},
    },
    "required": ["detail", "code"],
}
COMMON = {
    "400": "Invalid parameters, fields or file",
    "401": "Not authenticated (token authentication)",
    "403": "Not authenticated (session), or not allowed",
    "404": "Not found (unknown id, someone else's import, or a page number past the end)",
}
_PROBLEM_REF = {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


def problem(description: str) -> OpenApiResponse:
    """An error answer of one operation, in the one shape (the hook fills in the schema)."""
    return OpenApiResponse(OpenApiTypes.OBJECT, description=description)


def add_error_responses(result, generator, request, public):
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM
    for path, operations in result.get("paths", {}).items():
        if not path.startswith("/api/") or path.startswith("/api/schema"):
            continue
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for code, description in COMMON.items():
                responses.setdefault(code, {"description": description})
            for code, response in responses.items():
                if code.startswith("4"):
                    response["content"] = _PROBLEM_REF
    return result
