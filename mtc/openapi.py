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

from django.utils.html import escape
from drf_spectacular.renderers import OpenApiYamlRenderer
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from drf_spectacular.views import SpectacularAPIView

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
    "404": "Not found",
}
#: What a 404 means, by the kind of operation (the list's own 404 is only a page past the end).
NOT_FOUND = {
    "import": (
        "No such import, or someone else's import: both answer the same 404, so the ids of other "
        "people's imports are not revealed (staff see every import)"
    ),
    "detail": "No such id (or, without ?status=, a soft-deleted row)",
    "list": "A page number past the end (for a list; never someone else's import)",
    "other": "Not found",
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
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for code, description in COMMON.items():
                responses.setdefault(code, {"description": description})
            # What a 404 means depends on the path, not on the view: a list has no "not yours".
            responses["404"]["description"] = NOT_FOUND[_operation_kind(path, method)]
            for code, response in responses.items():
                if code.startswith("4"):
                    response["content"] = _PROBLEM_REF
    return result


def _operation_kind(path: str, method: str) -> str:
    if "{import_id}" in path:
        return "import"
    if "{" in path:
        return "detail"
    return "list" if method == "get" else "other"


class YamlForBrowsersRenderer(OpenApiYamlRenderer):
    """The schema's YAML as a page a browser shows (it would download ``application/vnd.oai.openapi``)."""

    media_type = "text/html"
    format = "html"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        text = super().render(data, accepted_media_type, renderer_context).decode()
        page = (
            "<!doctype html><html lang=en><meta charset=utf-8><title>MTC Catalog Imports API: OpenAPI schema</title>"
            '<p>OpenAPI 3 schema (YAML). Readable documentation: <a href="../docs/">/api/docs/</a>; '
            'JSON: <a href="?format=json">?format=json</a>.</p>'
            f"<pre>{escape(text)}</pre></html>"
        )
        return page.encode()


class BrowsableSchemaView(SpectacularAPIView):
    """``/api/schema/``: YAML or JSON by ``Accept`` as before, and a page for a browser (``text/html``)."""

    renderer_classes = [*SpectacularAPIView.renderer_classes, YamlForBrowsersRenderer]
