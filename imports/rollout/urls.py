"""``/api/metrics/imports/`` and ``/api/health/imports/``: mounted under ``/api/`` while the rollout is installed."""

from django.urls import path

from imports.rollout import apis

app_name = "rollout"

urlpatterns = [
    path("metrics/imports/", apis.ImportMetricsApi.as_view(), name="import-metrics"),
    path("health/imports/", apis.ImportHealthApi.as_view(), name="import-health"),
]
