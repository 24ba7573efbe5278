"""Top-level URLs: the admin and the API, each app's routes from its own URLconf.

Everything under ``/api/`` is an app's ``urls.py`` (imports, the catalog,
and the rollout kit's monitoring while it is installed) plus the schema and
its documentation: an endpoint added to an app's URLconf is served,
documented at ``/api/docs/`` and described at ``/api/schema/``.
"""

from django.apps import apps
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

# The admin app is installed as SimpleAdminConfig (see settings): the admin
# modules load with the URLs, not in every management command.
admin.autodiscover()

api_patterns: list[URLPattern | URLResolver] = [
    path("", include("imports.urls")),
    path("", include("catalog.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]
if apps.is_installed("imports.rollout"):
    api_patterns.append(path("", include("imports.rollout.urls")))

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include(api_patterns)),
]

handler404 = "mtc.api_errors.not_found"
