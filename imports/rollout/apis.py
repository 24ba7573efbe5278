"""``/api/metrics/imports/`` and ``/api/health/imports/``: the migration's monitoring, as JSON.

Thin doors over :mod:`imports.rollout.metrics` and :mod:`imports.rollout.health`; the JSON is
exactly what ``import_metrics --json`` and ``import_health --json`` print.

Staff with the view permission on import jobs only (as the admin's metrics
page): the health report names database sessions, their queries and
failure reasons. A monitoring system calls them with such a user's token
(``Authorization: Token <key>``, from ``manage.py drf_create_token``). The
health endpoint answers 200 when every check passes and 503 when one fails,
so a plain HTTP probe can alert on the status code alone.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission, IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from imports.access import may_see_all_imports
from imports.rollout.health import DEFAULT_WINDOW_HOURS, MAX_WINDOW_HOURS, health_report
from imports.rollout.metrics import MAX_WINDOW_DAYS, import_metrics


class CanSeeAllImports(BasePermission):
    message = "Import monitoring needs a staff user who may see every import ('Can view import job')."

    def has_permission(self, request, view):
        return may_see_all_imports(user=request.user)


@extend_schema(tags=["monitoring"])
class ImportMetricsApi(APIView):
    permission_classes = [IsAdminUser, CanSeeAllImports]

    class FilterSerializer(serializers.Serializer):
        days = serializers.FloatField(
            default=30, min_value=0.001, max_value=MAX_WINDOW_DAYS, help_text="the window, in days"
        )

    @extend_schema(
        summary="Import figures per system (count, durations, success and error rates, improvement %)",
        parameters=[FilterSerializer],
        responses={200: OpenApiTypes.OBJECT, 403: OpenApiResponse(description="Not staff")},
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        return Response(import_metrics(days=filters.validated_data["days"]))


@extend_schema(tags=["monitoring"])
class ImportHealthApi(APIView):
    permission_classes = [IsAdminUser, CanSeeAllImports]

    class FilterSerializer(serializers.Serializer):
        hours = serializers.FloatField(
            default=DEFAULT_WINDOW_HOURS,
            min_value=0.001,
            max_value=MAX_WINDOW_HOURS,
            help_text="window of the threshold checks, in hours",
        )

    @extend_schema(
        summary="Import health checks: 200 when all pass, 503 naming the ones that fail",
        parameters=[FilterSerializer],
        responses={
            200: OpenApiTypes.OBJECT,
            503: OpenApiResponse(OpenApiTypes.OBJECT, description="A check failed (see `failing`)"),
            403: OpenApiResponse(description="Not staff"),
        },
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        report = health_report(window_hours=filters.validated_data["hours"])
        code = status.HTTP_200_OK if report["healthy"] else status.HTTP_503_SERVICE_UNAVAILABLE
        return Response(report, status=code)
