"""``/api/``: what the API offers, as JSON links, and where its documentation is.

The README calls the API "at /api/"; a client (or a person with a browser)
opening it gets the endpoints' URLs rather than a 404. The links are
reversed from the URL names the apps register, so an app that is not
installed (the rollout kit after phase 5) simply has no entry. Public, like
the documentation it points to: it reveals nothing the schema does not.
"""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

#: ``key -> (URL name, what it is)``, in the order a newcomer reads them.
ENDPOINTS = {
    "imports": ("imports:list", "start an import (POST) and list your imports"),
    "import_template": ("imports:template", "the template of a kind to fill in (?kind=&format=)"),
    "items": ("catalog:items", "items, read-only"),
    "colors": ("catalog:colors", "colors, read-only"),
    "sizes": ("catalog:sizes", "sizes, read-only"),
    "variants": ("catalog:variants", "item variants, read-only"),
    "import_metrics": ("rollout:import-metrics", "per-importer metrics (staff)"),
    "import_health": ("rollout:import-health", "health checks, 200 or 503 (staff)"),
}


@extend_schema(exclude=True)
class ApiIndex(APIView):
    """The API's entry points and its documentation, as absolute links."""

    permission_classes = [AllowAny]

    def get_view_name(self) -> str:
        """The page's title in a browser (DRF's own page): the API's name, not "Api Index"."""
        return "MTC Catalog Imports API"

    def get(self, request):
        endpoints = {}
        for key, (name, what) in ENDPOINTS.items():
            try:
                endpoints[key] = {"url": request.build_absolute_uri(reverse(name)), "what": what}
            except NoReverseMatch:
                continue
        return Response(
            {
                "name": "MTC Catalog Imports API",
                "docs": request.build_absolute_uri(reverse("docs")),
                "schema": request.build_absolute_uri(reverse("schema")),
                "authentication": "a session (the admin's login) or 'Authorization: Token KEY'",
                "endpoints": endpoints,
            }
        )
