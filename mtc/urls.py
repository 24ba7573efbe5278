"""Top-level URLs: the admin and the API, each app's routes from its own URLconf.

``/`` leads to the admin (where people start); ``/api/`` is a JSON index of
the API (:mod:`mtc.api_index`); ``/favicon.ico`` is the admin's icon.

Everything under ``/api/`` is an app's ``urls.py`` (imports, the catalog,
and the rollout kit's monitoring while it is installed) plus the schema and
its documentation: an endpoint added to an app's URLconf is served,
documented at ``/api/docs/`` and described at ``/api/schema/``.
"""

from django.apps import apps
from django.contrib import admin
from django.templatetags.static import static
from django.urls import URLPattern, URLResolver, include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularSwaggerView

from mtc.api_index import ApiIndex
from mtc.metrics import metrics_view
from mtc.openapi import BrowsableSchemaView

# The admin app is installed as SimpleAdminConfig (see settings): the admin
# modules load with the URLs, not in every management command.
admin.autodiscover()
admin.site.site_header = admin.site.site_title = "MTC Catalog"
admin.site.index_title = "Catalog and imports"

#: Apps whose admin sections only superusers see: API tokens and the worker's
#: own task records are for whoever runs the system, not for catalog managers.
SUPERUSER_SECTIONS = ("authtoken", "django_q")


def _superusers_only(request) -> bool:
    return request.user.is_active and request.user.is_superuser


for _label in SUPERUSER_SECTIONS:
    _models = apps.get_app_config(_label).get_models() if _label in apps.app_configs else ()
    for _model in _models:
        if admin.site.is_registered(_model):
            admin.site.get_model_admin(_model).has_module_permission = _superusers_only  # type: ignore[method-assign]


class FaviconView(RedirectView):
    """``/favicon.ico`` -> the admin's icon, under its hashed name when static files are collected.

    Resolved per request, not when the URLs load: with DEBUG off the name comes
    from the manifest ``collectstatic`` writes, and ``migrate`` (which loads the
    URLs for its checks) runs before ``collectstatic`` in ``scripts/serve``.
    """

    def get_redirect_url(self, *args, **kwargs) -> str:
        return static("catalog/favicon.svg")


api_patterns: list[URLPattern | URLResolver] = [
    path("", ApiIndex.as_view(), name="api-index"),
    path("", include("imports.urls")),
    path("", include("catalog.urls")),
    path("schema/", BrowsableSchemaView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]
if apps.is_installed("imports.rollout"):
    api_patterns.append(path("", include("imports.rollout.urls")))

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index"), name="home"),
    path("favicon.ico", FaviconView.as_view()),
    path("admin/", admin.site.urls),
    path("api/", include(api_patterns)),
    path("metrics", metrics_view, name="metrics"),
]

handler404 = "mtc.api_errors.not_found"
