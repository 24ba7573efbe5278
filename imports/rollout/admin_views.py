"""The admin's import metrics page: runs per day, old vs new importer, alert thresholds, recent failures.

A thin door over :mod:`imports.rollout.metrics` (the definitions) and
:mod:`imports.rollout.dashboard` (the figures arranged for a page); the
charts are drawn by the vendored Chart.js from the page's JSON
(``rollout/metrics.js``).
"""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import PermissionDenied
from django.utils import timezone

from imports.access import may_see_all_imports
from imports.admin_views import AdminPage
from imports.models import ImportSystem
from imports.rollout import dashboard
from imports.rollout.metrics import import_metrics
from imports.rollout.routing import legacy_unavailable_reason


class ImportMetricsView(AdminPage):
    """Imports per day, old vs new importer, alert thresholds and recent failures, with charts."""

    template_name = "rollout/metrics.html"
    title = "Import metrics"

    def get(self, request):
        if not may_see_all_imports(user=request.user):  # as /api/metrics/imports/ (imports.access)
            raise PermissionDenied
        try:
            days = int(request.GET.get("days", dashboard.DEFAULT_WINDOW))
        except ValueError:
            days = dashboard.DEFAULT_WINDOW
        if days not in dashboard.WINDOWS:
            days = dashboard.DEFAULT_WINDOW
        now = timezone.now()
        figures = import_metrics(days=days, now=now)
        systems = [
            {"key": system, "label": dashboard.SYSTEM_LABELS[system], **figures["systems"][system]}
            for system in ImportSystem.values
        ]
        return self.page(
            request,
            days=days,
            windows=dashboard.WINDOWS,
            figures=figures,
            legacy_unavailable=legacy_unavailable_reason(),
            systems=systems,
            chart_data={
                **dashboard.daily_runs(days=days, now=now),
                "summary": {
                    system["key"]: {
                        "label": system["label"],
                        "avg_duration": system["avg_duration_seconds"],
                        "success_rate": system["success_rate"],
                    }
                    for system in systems
                },
                "thresholds": figures["thresholds"],
            },
            alerts=dashboard.alert_table(now=now),
            failures=dashboard.recent_failures(since=now - timedelta(days=days)),
        )
