"""``/api/imports/...`` (mounted under ``/api/`` by ``mtc/urls.py``)."""

from django.urls import path

from imports import apis

app_name = "imports"

urlpatterns = [
    path("imports/", apis.ImportListCreateApi.as_view(), name="list"),
    path("imports/template/", apis.ImportTemplateApi.as_view(), name="template"),
    path("imports/<int:import_id>/", apis.ImportDetailApi.as_view(), name="detail"),
    path("imports/<int:import_id>/errors/", apis.ImportErrorsApi.as_view(), name="errors"),
    path("imports/<int:import_id>/cancel/", apis.ImportCancelApi.as_view(), name="cancel"),
    path("imports/<int:import_id>/retry/", apis.ImportRetryApi.as_view(), name="retry"),
    path("imports/<int:import_id>/undo/", apis.ImportUndoApi.as_view(), name="undo"),
    path("imports/<int:import_id>/corrections/", apis.ImportCorrectionsApi.as_view(), name="corrections"),
    path(
        "imports/<int:import_id>/corrections/check/",
        apis.ImportCorrectionsCheckApi.as_view(),
        name="corrections_check",
    ),
]
