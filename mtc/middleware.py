"""The API's 404 in JSON, in DEBUG too.

With ``DEBUG=false`` Django answers an unknown URL with ``handler404``
(:func:`mtc.api_errors.not_found`, JSON under ``/api/``); with ``DEBUG=true``
(``scripts/run``) it shows its technical HTML page instead, so a developer
would see a different answer than a client in production. This middleware
turns any HTML 404 under ``/api/`` into the API's one shape; JSON answers
(a view's own 404) pass through untouched.
"""

from __future__ import annotations

from django.http import JsonResponse


class ApiNotFoundMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code == 404
            and (request.path == "/api" or request.path.startswith("/api/"))
            and response.get("Content-Type", "").startswith("text/html")
        ):
            return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
        return response
