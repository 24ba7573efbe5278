"""Top-level URLs: the admin (with the import screens) and the API.

Everything under ``/api/`` is listed in ``api_patterns``: add an endpoint
there (one line) and it is served, documented at ``/api/docs/`` and
described in the OpenAPI schema at ``/api/schema/``.
"""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from imports.monitoring_apis import ImportHealthApi, ImportMetricsApi

# The admin app is installed as SimpleAdminConfig (see settings): the admin
# modules load with the URLs, not in every management command.
admin.autodiscover()

api_patterns = [
    path("", include("imports.urls")),
    path("", include("catalog.urls")),
    path("metrics/imports/", ImportMetricsApi.as_view(), name="import-metrics"),
    path("health/imports/", ImportHealthApi.as_view(), name="import-health"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include(api_patterns)),
]

handler404 = "mtc.api_errors.not_found"
