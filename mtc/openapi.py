"""The OpenAPI schema's common error answers, for every operation.

drf-spectacular documents what a view declares; DRF itself adds answers no
view declares: 400 for a bad filter or field, 401/403 without credentials or
permission, 404 for an unknown id or page number. This postprocessing hook
(``SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]``) documents them on every
operation that does not already, so clients (and schemathesis) can rely on
the schema listing every status code the API answers with.
"""

from __future__ import annotations

PROBLEM = {
    "type": "object",
    "description": "DRF's error body: `detail` (and our `code`), or field name -> list of messages.",
    "properties": {"detail": {"type": "string"}, "code": {"type": "string"}},
    "additionalProperties": True,
}
COMMON = {
    "400": "Invalid parameters, fields or file",
    "401": "Not authenticated (token authentication)",
    "403": "Not authenticated (session), or not allowed",
    "404": "Not found (unknown id, someone else's import, or a page number past the end)",
}


def add_error_responses(result, generator, request, public):
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault("Problem", PROBLEM)
    for path, operations in result.get("paths", {}).items():
        if not path.startswith("/api/") or path.startswith("/api/schema"):
            continue
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for code, description in COMMON.items():
                responses.setdefault(
                    code,
                    {
                        "description": description,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
                    },
                )
    return result
