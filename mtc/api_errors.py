"""JSON error pages under ``/api/``: a client of the API never gets an HTML page.

DRF answers its own errors in JSON, but a URL that matches no route (say
``/api/items/abc/``, whose id is not a number) is answered by Django itself.
"""

from django.http import JsonResponse
from django.views import defaults


def not_found(request, exception):
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
    return defaults.page_not_found(request, exception)
