"""``manage.py import_health``: the import system's health checks (the guide's 4.2 and checklist).

Exit codes: 0 = healthy, 1 = a check failed (each failing check is named on
stderr), 2 = usage error. ``--json`` prints the report, the same as
``/api/health/imports/``. The same checks run hourly in the background worker.
"""

from __future__ import annotations

import json
import sys

from django.core.management.base import CommandError

from imports.management.base import ImportCommand
from imports.rollout.health import DEFAULT_WINDOW_HOURS, FAIL, MAX_WINDOW_HOURS, health_report

EXIT_HEALTHY, EXIT_UNHEALTHY = 0, 1
MARKS = {"ok": "ok  ", "fail": "FAIL", "skipped": "skip"}


class Command(ImportCommand):
    help = (
        "Check the import system: alert thresholds (success rate, duration, error rate) over a window, the four "
        "unique indexes, table-level locks on the masters, connections in use, a live background worker, and "
        "stuck jobs. Exit 0 = healthy, 1 = a check failed (named), 2 = usage error."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--hours",
            type=float,
            default=DEFAULT_WINDOW_HOURS,
            help=f"window of the threshold checks, in hours (default {DEFAULT_WINDOW_HOURS})",
        )
        parser.add_argument("--json", action="store_true", help="print the report as one JSON object")

    def handle(self, *args, hours: float, **options):
        if not 0 < hours <= MAX_WINDOW_HOURS:  # also refuses nan
            raise CommandError(f"--hours must be more than 0 and at most {MAX_WINDOW_HOURS}")
        report = health_report(window_hours=hours)
        if options["json"]:
            self.stdout.write(json.dumps(report))
        else:
            for check in report["checks"]:
                self.stdout.write(f"[{MARKS[check['status']]}] {check['name']}: {check['detail']}")
            self.stdout.write("healthy" if report["healthy"] else f"UNHEALTHY: {', '.join(report['failing'])}")
        if not report["healthy"]:
            for check in report["checks"]:
                if check["status"] == FAIL:
                    self.stderr.write(f"import_health: {check['name']} failed: {check['detail']}")
            sys.exit(EXIT_UNHEALTHY)
