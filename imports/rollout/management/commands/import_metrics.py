"""``manage.py import_metrics``: per-system import figures, the guide's section 3.3 dashboard.

Same figures as ``/api/metrics/imports/`` (definitions in ``imports.rollout.metrics``).
Dry runs are left out. Exit 0; 2 = usage error.
"""

from __future__ import annotations

import json

from django.core.management.base import CommandError

from imports.management.base import ImportCommand
from imports.models import ImportSystem
from imports.rollout.metrics import MAX_WINDOW_DAYS, import_metrics

ROWS = (
    ("imports", "count"),
    ("finished", "finished"),
    ("avg duration (s)", "avg_duration_seconds"),
    ("max duration (s)", "max_duration_seconds"),
    ("success rate (%)", "success_rate"),
    ("error rate (%)", "error_rate"),
    ("failed imports", None),
    ("failed rows", "failed_rows"),
    ("rows", "rows"),
    ("rows/s", "rows_per_second"),
)


class Command(ImportCommand):
    help = (
        "Import figures per system (legacy, upsert) over the last N days: count, average duration, success "
        "rate, error rate, errors, and the performance improvement of the new importer. Dry runs are left out."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=float, default=30, help="the window, in days (default 30)")
        parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")

    def handle(self, *args, days: float, **options):
        if not 0 < days <= MAX_WINDOW_DAYS:  # also refuses nan
            raise CommandError(f"--days must be more than 0 and at most {MAX_WINDOW_DAYS}")
        figures = import_metrics(days=days)
        if options["json"]:
            self.stdout.write(json.dumps(figures))
            return
        self.stdout.write(f"Imports over the last {days:g} days ({figures['routing']}); dry runs left out.")
        self.stdout.write("")
        systems = figures["systems"]
        table = [("", *ImportSystem.values)]
        for label, key in ROWS:
            if key is None:
                table.append((label, *(_cell(systems[s]["errors"]["failed_imports"]) for s in ImportSystem.values)))
            else:
                table.append((label, *(_cell(systems[s][key]) for s in ImportSystem.values)))
        widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
        for row in table:
            self.stdout.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
        self.stdout.write("")
        improvement = figures["improvement_percent"]
        if improvement is None:
            self.stdout.write("Performance improvement: n/a (needs completed imports on both systems)")
        else:
            self.stdout.write(f"Performance improvement: {improvement:.1f}%")
        for system in ImportSystem.values:
            for error in systems[system]["errors"]["recent"]:
                self.stdout.write(f"  {system} import #{error['import_id']} failed: {error['reason']}")


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".") if value != int(value) else f"{value:,.0f}"
    return f"{value:,}"
